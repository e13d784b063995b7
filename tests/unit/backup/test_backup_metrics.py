"""The policy's textfile: written atomically, lint-clean under promtool, on success, failure and misconfiguration."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup.metrics import METRIC_FAMILIES, PolicyMetrics, metrics_path, write_policy_metrics
from backup.runner import publish_failure, textfile_dir_of
from opsctl.core.errors import ConfigError, LockHeld

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def promtool_check(path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (apt-get install prometheus; ./bootstrap does)")
    done = subprocess.run([promtool, "check", "metrics"], input=path.read_bytes(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()


def samples(path: Path) -> dict[str, float]:
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in path.read_text().splitlines() if line and not line.startswith("#")}


def test_a_successful_run(tmp_path: Path) -> None:
    path = write_policy_metrics(tmp_path, PolicyMetrics(
        "his", NOW, True, 12.5, 4096, 10, last_success=NOW, repository="local",
        latest_snapshot=NOW - timedelta(seconds=30), rpo_seconds=86400, last_check_ok=True,
        pacs_downtime_seconds=4.25,
        offsite_repository="offsite", offsite_latest_snapshot=NOW - timedelta(seconds=90),
        offsite_last_success=NOW, offsite_last_copy=NOW, offsite_last_copy_ok=True))
    assert path == metrics_path(tmp_path, "his") == tmp_path / "opsctl_backup_his.prom"
    promtool_check(path)
    values = samples(path)
    assert values['opsctl_backup_last_run_success{policy="his"}'] == 1.0
    assert values['opsctl_backup_last_success_timestamp_seconds{policy="his"}'] == NOW.timestamp()
    assert values['opsctl_backup_snapshot_age_seconds{policy="his",repository="local"}'] == 30.0
    assert values['opsctl_backup_last_run_added_bytes{policy="his"}'] == 4096
    assert values['opsctl_backup_pacs_downtime_seconds{policy="his"}'] == 4.25
    assert values['opsctl_backup_snapshot_age_seconds{policy="his",repository="offsite"}'] == 90.0
    assert values['opsctl_backup_offsite_last_success_timestamp_seconds{policy="his"}'] == NOW.timestamp()
    assert values['opsctl_backup_offsite_last_copy_success{policy="his"}'] == 1.0
    assert {key.split("{")[0] for key in values} == set(METRIC_FAMILIES)


def test_a_failed_copy_keeps_the_last_off_site_success_and_says_it_failed(tmp_path: Path) -> None:
    earlier = NOW - timedelta(hours=5)
    path = write_policy_metrics(tmp_path, PolicyMetrics(
        "his", NOW, True, has_run=False, written_at=NOW, offsite_repository="offsite",
        offsite_latest_snapshot=earlier, offsite_last_success=earlier, offsite_last_copy=NOW,
        offsite_last_copy_ok=False))
    promtool_check(path)
    values = samples(path)
    assert values['opsctl_backup_offsite_last_copy_success{policy="his"}'] == 0.0
    assert values['opsctl_backup_offsite_last_success_timestamp_seconds{policy="his"}'] == earlier.timestamp()
    assert values['opsctl_backup_snapshot_age_seconds{policy="his",repository="offsite"}'] == 5 * 3600
    assert not any(key.startswith("opsctl_backup_last_run_") for key in values)


def test_a_failed_run_keeps_the_last_success(tmp_path: Path) -> None:
    earlier = NOW - timedelta(days=2)
    path = write_policy_metrics(tmp_path, PolicyMetrics("his", NOW, False, 0.5, last_success=earlier,
                                                        repository="local", latest_snapshot=earlier))
    promtool_check(path)
    values = samples(path)
    assert values['opsctl_backup_last_run_success{policy="his"}'] == 0.0
    assert values['opsctl_backup_last_success_timestamp_seconds{policy="his"}'] == earlier.timestamp()
    assert values['opsctl_backup_snapshot_age_seconds{policy="his",repository="local"}'] == 2 * 86400


def test_a_misconfigured_run_publishes_its_failure(tmp_path: Path) -> None:
    path = publish_failure(None, "his", started=NOW, finished=NOW + timedelta(seconds=1),
                           error=ConfigError("bad"), textfile_dir=tmp_path)
    assert path is not None
    promtool_check(path)
    values = samples(path)
    assert values['opsctl_backup_last_run_success{policy="his"}'] == 0.0
    assert 'opsctl_backup_last_success_timestamp_seconds{policy="his"}' not in values  # never: absent()


def test_nothing_is_written_for_a_refused_run_or_a_name_that_is_no_file_name(tmp_path: Path) -> None:
    refused = LockHeld.__new__(LockHeld)
    assert publish_failure(None, "his", started=NOW, finished=NOW, error=refused, textfile_dir=tmp_path) is None
    assert publish_failure(None, "../etc", started=NOW, finished=NOW, error=ConfigError("x"),
                           textfile_dir=tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_where_metrics_go_when_the_configuration_does_not_load(tmp_path: Path) -> None:
    config = tmp_path / "opsctl.yaml"
    config.write_text(f"backup:\n  textfile_dir: {tmp_path}/tf\n  policies: [broken\n")
    assert textfile_dir_of(config, {}) == Path("/var/lib/prometheus/node-exporter")  # does not parse
    config.write_text(f"backup:\n  textfile_dir: {tmp_path}/tf\n  policies: 3\n")
    assert textfile_dir_of(config, {}) == tmp_path / "tf"
    assert textfile_dir_of(config, {"OPSCTL_BACKUP__TEXTFILE_DIR": "/x"}) == Path("/x")


def test_the_last_success_a_file_publishes_is_read_back_and_a_missing_one_is_none(tmp_path: Path) -> None:
    from backup.metrics import published_timestamp

    path = write_policy_metrics(tmp_path, PolicyMetrics(policy="his", run_finished=NOW, run_ok=True, last_success=NOW))
    assert published_timestamp(path, "opsctl_backup_last_success_timestamp_seconds") == NOW
    assert published_timestamp(path, "opsctl_backup_no_such_family") is None
    assert published_timestamp(tmp_path / "missing.prom", "opsctl_backup_last_success_timestamp_seconds") is None
