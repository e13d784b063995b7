"""The drill's and the Orthanc hook's pure parts: which snapshots make the set a drill restores,
sanity queries, Orthanc's counts and storage layout, the stopped marker and what a later pass
does with it, the orthanc settings, and the drill's metrics file."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup.drill import (
    DrillError,
    orthanc_storage_file,
    parse_sanity_query,
    postgresql_index_plugin,
    render_orthanc_config,
    snapshot_set,
)
from backup.metrics import (
    DRILL_METRIC_FAMILIES,
    DrillMetrics,
    drill_metrics_path,
    write_drill_metrics,
)
from backup.orthanc import (
    OrthancError,
    marker_path,
    owner_alive,
    parse_statistics,
    read_marker,
    restore_stopped,
    write_marker,
)
from backup.restic import Snapshot
from backup.runner import manifest_path_in
from backup.settings import OrthancSource
from tests.unit.backup.test_backup_metrics import promtool_check, samples

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def snap(short: str, minutes: int, *tags: str) -> Snapshot:
    return Snapshot(short * 8, short, NOW + timedelta(minutes=minutes), ("/x",), "controller",
                    ("opsctl", "policy=his", *tags))


def test_the_set_is_the_newest_run_that_stored_a_manifest() -> None:
    snapshots = (snap("a", 0, "run=r1", "database=his"), snap("b", 1, "run=r1", "manifest"),
                 snap("c", 10, "run=r2", "database=his"), snap("d", 11, "run=r2", "manifest"),
                 snap("e", 20, "run=r3", "database=his"))  # r3 never got to its manifest: not a set
    run_id, members = snapshot_set(snapshots)
    assert run_id == "r2" and [s.short_id for s in members] == ["c", "d"]
    with pytest.raises(DrillError, match="no snapshot with a manifest"):
        snapshot_set(snapshots[4:])


def test_the_manifest_is_found_in_its_own_snapshot_or_among_the_paths() -> None:
    assert manifest_path_in(["/opsctl-manifest.json"], "his") == "/opsctl-manifest.json"
    assert manifest_path_in(["/srv/his", "/var/lib/opsctl/backup-manifest/his"], "his") == \
        "/var/lib/opsctl/backup-manifest/his/opsctl-manifest.json"
    with pytest.raises(ValueError, match="no manifest of policy his"):
        manifest_path_in(["/srv/his", "/var/lib/opsctl/backup-manifest/other"], "his")


def test_sanity_queries_with_and_without_an_expectation() -> None:
    assert parse_sanity_query("SELECT count(*) FROM patients => >= 1000") == (
        "SELECT count(*) FROM patients", "SELECT count(*) FROM patients", ">= 1000")
    assert parse_sanity_query("SELECT max(at)\n  FROM encounters") == (
        "SELECT max(at) FROM encounters", "SELECT max(at)\n  FROM encounters", "!= ''")


def test_orthanc_s_counts_and_storage_layout() -> None:
    counts = parse_statistics({"CountPatients": 2, "CountStudies": 3, "CountSeries": 4, "CountInstances": 4,
                               "TotalDiskSize": "1"})
    assert counts.to_dict() == {"patients": 2, "studies": 3, "series": 4, "instances": 4}
    with pytest.raises(OrthancError, match="lacks a count"):
        parse_statistics({"CountStudies": 3})
    assert orthanc_storage_file(Path("/s"), "0a1b2c3d-xyz") == Path("/s/0a/1b/0a1b2c3d-xyz")


def test_a_marker_of_a_live_run_is_left_alone_one_of_a_dead_run_is_started(tmp_path: Path) -> None:
    started = tmp_path / "started"
    command = [sys.executable, "-c", f"open({str(started)!r}, 'a').write('up\\n')"]
    write_marker(marker_path(tmp_path, "live"), policy="live", run_id="r-live", start_command=command,
                 stopped_at=NOW)
    dead = subprocess.Popen(["true"])
    dead.wait()
    write_marker(marker_path(tmp_path, "gone"), policy="gone", run_id="r-gone", start_command=command,
                 stopped_at=NOW, pid=dead.pid)
    live = read_marker(marker_path(tmp_path, "live"))
    assert live is not None and owner_alive(live)
    assert live["message"].startswith("PACS stopped by backup run r-live of policy live at 2026-12-05T06:00:00")
    assert oct(marker_path(tmp_path, "live").stat().st_mode & 0o777) == "0o600"

    (said,) = restore_stopped(tmp_path)
    assert "backup run r-gone of policy gone" in said and "never started again" in said
    assert started.read_text() == "up\n"
    assert not marker_path(tmp_path, "gone").exists() and marker_path(tmp_path, "live").exists()


def test_a_start_command_that_fails_keeps_its_marker(tmp_path: Path) -> None:
    write_marker(marker_path(tmp_path, "his"), policy="his", run_id="r1", start_command=["false"],
                 stopped_at=NOW, pid=2**22 + 7)
    (said,) = restore_stopped(tmp_path)
    assert "starting it again failed: Orthanc start command false exited 1" in said
    assert marker_path(tmp_path, "his").exists()


def test_the_orthanc_section_says_what_each_index_needs() -> None:
    base = {"url": "http://127.0.0.1:8042", "storage_dir": "/var/lib/orthanc/db"}
    with pytest.raises(ValueError, match="needs stop_command and start_command"):
        OrthancSource.model_validate(base)
    with pytest.raises(ValueError, match="needs index_database"):
        OrthancSource.model_validate({**base, "index": "postgresql"})
    source = OrthancSource.model_validate({**base, "stop_command": ["systemctl", "stop", "orthanc"],
                                           "start_command": ["systemctl", "start", "orthanc"]})
    assert source.index_path == Path("/var/lib/orthanc/db") and source.max_downtime == timedelta(minutes=5)


def test_the_drill_s_orthanc_loads_the_postgresql_index_plugin_only_for_a_postgresql_index(tmp_path: Path) -> None:
    plain = render_orthanc_config(storage_dir=tmp_path / "s", index_dir=tmp_path / "i", aet="OPSCTL_DRILL")
    assert plain["Plugins"] == [] and "PostgreSQL" not in plain
    plugin = tmp_path / "libOrthancPostgreSQLIndex.so"
    plugin.write_bytes(b"")
    found = postgresql_index_plugin((str(tmp_path / "absent.so"), str(plugin)))
    document = render_orthanc_config(
        storage_dir=tmp_path / "s", index_dir=tmp_path / "i", aet="OPSCTL_DRILL",
        postgresql={"plugin": found, "host": "/tmp/sock", "port": 5432, "database": "orthanc", "user": "postgres"})
    assert document["Plugins"] == [str(plugin)]
    # the index in the scratch cluster, reached over its socket (the namespace has no route to TCP);
    # the files stay the restored storage directory
    assert document["PostgreSQL"] == {"EnableIndex": True, "EnableStorage": False, "Host": "/tmp/sock",
                                      "Port": 5432, "Database": "orthanc", "Username": "postgres", "Password": "",
                                      "EnableSsl": False}
    assert document["StorageDirectory"] == str(tmp_path / "s") and document["DicomAlwaysAllowStore"] is False


def test_a_drill_without_the_postgresql_index_plugin_names_the_package(tmp_path: Path) -> None:
    with pytest.raises(DrillError, match=r"apt-get install orthanc-postgresql"):
        postgresql_index_plugin((str(tmp_path / "absent.so"),))


def test_the_drill_metrics_file(tmp_path: Path) -> None:
    path = write_drill_metrics(tmp_path, DrillMetrics("his", NOW, True, last_success=NOW, rto_seconds=42.5,
                                                      rpo_seconds=3600.0))
    assert path == drill_metrics_path(tmp_path, "his") == tmp_path / "opsctl_drill_his.prom"
    promtool_check(path)
    values = samples(path)
    assert {key.split("{")[0] for key in values} == set(DRILL_METRIC_FAMILIES)
    assert values['opsctl_drill_rto_seconds{policy="his"}'] == 42.5
    assert values['opsctl_drill_last_run_success{policy="his"}'] == 1.0
    failed = write_drill_metrics(tmp_path, DrillMetrics("his", NOW, False))
    values = samples(failed)
    assert values == {'opsctl_drill_last_run_timestamp_seconds{policy="his"}': NOW.timestamp(),
                      'opsctl_drill_last_run_success{policy="his"}': 0.0}
