"""The Orthanc hook against Debian's Orthanc 1.10 (one of the test's own, since the hook stops it):
storage and index in one snapshot while Orthanc is stopped, started again, the downtime measured
and published; and opsctl SIGKILLed in the middle of the hook (a FIFO makes "the middle" a
place, not a time): the forked watchdog starts the PACS again, which answers C-ECHO with its
studies intact, and the next run succeeds.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetcli import Cli
from orthancsite import OwnOrthanc, PacsSite, orthanc_policy, own_orthanc_fixture

from backup.orthanc import PAUSE_FIFO_VARIABLE, marker_path
from backup.runner import manifest_path_in
from lab.orthanc.config import CLIENT_AET
from lab.orthanc.dicom import c_echo

pytestmark = pytest.mark.integration


@pytest.fixture
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnOrthanc]:
    yield from own_orthanc_fixture(tmp_path_factory.mktemp("orthanc-hook-lab"))


@pytest.fixture
def site(own: OwnOrthanc, tmp_path: Path) -> PacsSite:
    root = tmp_path / "site"
    root.mkdir()
    (root / "pw").write_text("pacs restic secret\n")
    (root / "pw").chmod(0o600)
    details = own.details()
    config = root / "opsctl.yaml"
    config.write_text(
        "backup:\n"
        f"  textfile_dir: {root}/textfile\n"
        f"  cache_dir: {root}/restic-cache\n"
        "  repositories:\n"
        f"    local: {{type: local, path: {root}/repo, password: file:{root}/pw}}\n"
        "  policies:\n"
        "    pacs:\n"
        + orthanc_policy(details)
        + "      repository: local\n"
    )
    made = PacsSite(root, Cli.create(root, root / "no-inventory.yaml"), config, own.peer, details)
    done = made.run("backup", "init", "local")
    assert done.returncode == 0, done.stderr
    return made


def _c_echo(site: PacsSite) -> None:
    dicom = site.details["dicom"]
    c_echo(dicom["host"], dicom["port"], called_aet=dicom["aet"], calling_aet=CLIENT_AET, timeout=10)


def test_a_run_stops_orthanc_copies_storage_and_index_and_starts_it_again(site: PacsSite) -> None:
    before = site.statistics()
    pid = site.peer.running_pid()
    code, result = site.json("backup", "run", "pacs", "--full")
    assert code == 0, result
    assert [s["source"] for s in result["snapshots"]] == ["orthanc", "manifest"]
    assert site.peer.running_pid() not in (None, pid)  # it was stopped and started again
    _c_echo(site)
    after = site.statistics()
    assert (after["CountStudies"], after["CountInstances"]) == (before["CountStudies"], before["CountInstances"])

    restic = site.restic()
    (manifest_snapshot,) = restic.snapshots(tags=("manifest", "policy=pacs"))
    manifest = json.loads(restic.dump(manifest_snapshot.id, manifest_path_in(manifest_snapshot.paths, "pacs")))
    orthanc = manifest["orthanc"]
    assert orthanc["counts"]["studies"] == before["CountStudies"] == 3
    assert orthanc["counts"]["instances"] == before["CountInstances"] == 4
    assert orthanc["index"] == "sqlite" and orthanc["downtime_seconds"] > 0
    (snapshot,) = restic.snapshots(tags=("orthanc", "policy=pacs"))
    assert set(snapshot.paths) == {site.details["storage_dir"], site.details["index_dir"]}
    assert snapshot.id.startswith(orthanc["snapshot_id"])
    downtime = site.metrics("opsctl_backup_pacs.prom")['opsctl_backup_pacs_downtime_seconds{policy="pacs"}']
    assert downtime == pytest.approx(orthanc["downtime_seconds"], abs=0.01)
    assert not marker_path(site.cli.state_dir, "pacs").exists()


def _wait_paused(fifo: Path, process: subprocess.Popen[str]) -> str:
    """What the hook writes into the FIFO once Orthanc is stopped; fail (with the run's words) if
    the run ends first. The FIFO is opened without blocking, so a run that dies never hangs this."""
    descriptor = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    said = b""
    try:
        while not said.endswith(b"\n"):
            ready, _, _ = select.select([descriptor], [], [], 0.5)
            if ready:
                said += os.read(descriptor, 64)
            elif process.poll() is not None:
                out, err = process.communicate()
                raise AssertionError(f"the run ended (exit {process.returncode}) before the hook paused: {out} {err}")
    finally:
        os.close(descriptor)
    return said.decode()


def _run_paused(site: PacsSite, *args: str,
                config: Path | None = None) -> tuple[subprocess.Popen[str], Path]:
    """Start ``backup run pacs ARGS`` with the hook told to wait on a FIFO once the PACS is
    stopped; return the run and the FIFO."""
    fifo = site.root / "pause"
    os.mkfifo(fifo)
    site.cli.env[PAUSE_FIFO_VARIABLE] = str(fifo)
    return site.cli.popen("-c", str(config or site.config), "backup", "run", "pacs", *args), fifo


def test_opsctl_killed_in_the_middle_of_the_hook_the_pacs_comes_back(site: PacsSite) -> None:
    before = site.statistics()
    process, fifo = _run_paused(site)
    try:
        assert _wait_paused(fifo, process) == "stopped\n"
        marker = marker_path(site.cli.state_dir, "pacs")
        assert site.peer.running_pid() is None  # the PACS is down, the run holds it there
        assert json.loads(marker.read_text())["message"].startswith("PACS stopped by backup run ")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL

    # the forked watchdog sees its run gone and starts the PACS: wait for that condition (bounded)
    deadline = time.monotonic() + 180
    while marker.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not marker.exists(), "the watchdog never started the PACS again"
    log = marker.with_suffix(".log").read_text()
    assert "died with the PACS stopped; started it again" in log
    _c_echo(site)
    after = site.statistics()
    assert (after["CountStudies"], after["CountInstances"]) == (before["CountStudies"], before["CountInstances"])

    del site.cli.env[PAUSE_FIFO_VARIABLE]
    code, result = site.json("backup", "run", "pacs")
    assert code == 0, result
    assert result["interrupted_runs"] != [] and result["pacs_restarted"] == []


def test_the_next_run_starts_a_pacs_a_killed_run_left_stopped(site: PacsSite) -> None:
    from backup.orthanc import write_marker

    stopped = subprocess.run(site.details["stop_command"], capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    dead = subprocess.Popen(["true"])
    dead.wait()
    from datetime import UTC, datetime

    write_marker(marker_path(site.cli.state_dir, "pacs"), policy="pacs", run_id="killed-run",
                 start_command=site.details["start_command"], stopped_at=datetime.now(UTC), pid=dead.pid)
    code, status = site.json("backup", "status", "pacs")  # says so, changes nothing
    assert code == 1 and "backup run killed-run" in status["policies"][0]["pacs_stopped"]  # type: ignore[index]
    assert marker_path(site.cli.state_dir, "pacs").exists() and site.peer.running_pid() is None
    code, result = site.json("backup", "run", "pacs")
    assert code == 0, result
    (said,) = result["pacs_restarted"]
    assert "backup run killed-run of policy pacs" in said and "started" in said
    _c_echo(site)


def test_a_run_stopped_by_sigterm_in_the_middle_of_the_hook_starts_the_pacs_itself(site: PacsSite) -> None:
    process, fifo = _run_paused(site)
    try:
        assert _wait_paused(fifo, process) == "stopped\n"
        assert site.peer.running_pid() is None
        process.send_signal(signal.SIGTERM)  # systemctl stop, timeout: the run's own finally starts the PACS
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, out + err
    assert "Orthanc started again after" in err
    assert not marker_path(site.cli.state_dir, "pacs").exists()
    assert site.peer.running_pid() is not None
    _c_echo(site)
    assert site.metrics("opsctl_backup_pacs.prom")['opsctl_backup_last_run_success{policy="pacs"}'] == 0.0


def test_a_pacs_held_down_past_max_downtime_fails_the_run_and_comes_back(site: PacsSite) -> None:
    """The hook is held (the FIFO) with Orthanc stopped until the policy's 2 s max_downtime has
    passed: the run fails naming the downtime, starts Orthanc again, and counts nothing as good."""
    config = site.root / "short.yaml"
    config.write_text(site.config.read_text().replace("max_downtime: 5m", "max_downtime: 2s"))
    assert "max_downtime: 2s" in config.read_text()
    process, fifo = _run_paused(site, "--json", config=config)
    try:
        assert _wait_paused(fifo, process) == "stopped\n"
        held = time.monotonic()
        while time.monotonic() - held < 2.5:  # past the limit: the condition, not a race
            time.sleep(0.1)
        assert site.peer.running_pid() is None
        with open(fifo, "w", encoding="utf-8"):
            pass  # let the hook go on
        out, err = process.communicate(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1, out + err
    result = json.loads(out)
    assert result["outcome"] == "failed"
    assert "over max_downtime 2 s" in result["error"] and "started again" in result["error"]
    assert site.peer.running_pid() is not None
    _c_echo(site)
    metrics = site.metrics("opsctl_backup_pacs.prom")
    assert metrics['opsctl_backup_last_run_success{policy="pacs"}'] == 0.0
    assert metrics['opsctl_backup_pacs_downtime_seconds{policy="pacs"}'] > 2.0
    del site.cli.env[PAUSE_FIFO_VARIABLE]
    code, status = site.json("backup", "status", "pacs")
    (policy,) = status["policies"]  # type: ignore[misc]
    assert code != 0 and policy["last_success_at"] is None and policy["latest_snapshot"] is None
