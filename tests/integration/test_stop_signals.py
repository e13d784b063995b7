"""SIGTERM, SIGHUP (a closed terminal) and SIGKILL against `opsctl run` on the lab's real sshd.

SIGTERM and SIGHUP stop the run as Ctrl-C does: the remote commands are stopped, the run is
recorded as interrupted, and the exit code names the signal (143, 129). SIGKILL cannot be
handled: the run's start, recorded before it changed anything, shows it as begun and never
ended, its owner dead.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import threading
import time
from typing import Any

import pytest
from fleetcli import OPSCTL, Cli, default_sighup

pytestmark = pytest.mark.integration

LAB_SSH_HOSTS = 5


def _pids_running(command: str) -> list[int]:
    """Pids of processes whose whole command line is ``command`` (the remote commands)."""
    found = subprocess.run(["pgrep", "-f", f"^{command}$"], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def _wait_for_remote(marker: str, count: int = LAB_SSH_HOSTS) -> None:
    deadline = time.monotonic() + 20
    while len(_pids_running(marker)) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_pids_running(marker)) == count


def _assert_remote_gone(marker: str) -> None:
    deadline = time.monotonic() + 5
    while _pids_running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _pids_running(marker) == []


def _assert_recorded_interrupted(cli: Cli, marker: str) -> None:
    code, log = cli.json("audit", "log")
    assert code == 0
    assert log["entries"][-1]["outcome"] == "interrupted"
    assert log["entries"][-1]["command"].endswith(marker)
    assert log["unfinished_runs"] == []  # its end is recorded too
    assert cli("audit", "verify").returncode == 0


@pytest.fixture
def trusted(lab: Any, tmp_path: Any) -> Cli:
    cli = Cli.create(tmp_path, lab.publication.inventory_path)
    done = cli("hosts", "trust", "all", "--fingerprints-from", str(lab.publication.fingerprints_path))
    assert done.returncode == 0, done.stderr
    return cli


@pytest.mark.parametrize(("signum", "code", "marker"), [
    (signal.SIGTERM, 143, "sleep 63.41"),
    (signal.SIGHUP, 129, "sleep 63.42"),
])
def test_a_stop_signal_stops_remote_commands_records_and_names_itself(
    trusted: Cli, signum: int, code: int, marker: str
) -> None:
    process = trusted.popen("run", "ssh_hosts", "--", marker)
    _wait_for_remote(marker)
    sent = time.monotonic()
    process.send_signal(signum)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == code, err
    assert time.monotonic() - sent < 5
    assert f"stopped by {signal.Signals(signum).name}" in err
    _assert_remote_gone(marker)
    _assert_recorded_interrupted(trusted, marker)


def test_a_closed_terminal_stops_the_run_with_129(trusted: Cli) -> None:
    """The real thing: opsctl runs on a terminal that goes away (the kernel sends SIGHUP)."""
    import fcntl
    import termios

    marker = "sleep 63.43"
    master, terminal = pty.openpty()

    def take_terminal() -> None:  # in the child, after setsid: the pty becomes its controlling tty
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        default_sighup()  # as a login shell would start it, even under a nohup'ed test run

    process = subprocess.Popen(
        [OPSCTL, "run", "ssh_hosts", "--", marker], env={**trusted.env, "TERM": "xterm"},
        stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True,
        preexec_fn=take_terminal,
    )
    os.close(terminal)
    shown: list[bytes] = []

    def read_terminal() -> None:  # what a terminal does: take the output as it comes
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            shown.append(data)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        _wait_for_remote(marker)
    finally:
        os.close(master)  # the terminal window is closed
    assert process.wait(timeout=30) == 129
    _assert_remote_gone(marker)
    _assert_recorded_interrupted(trusted, marker)


def test_a_run_killed_with_sigkill_is_shown_begun_and_never_ended(trusted: Cli) -> None:
    marker = "sleep 6.44"  # nothing can stop these: they end by themselves
    process = trusted.popen("run", "ssh_hosts", "--", marker)
    _wait_for_remote(marker)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)

    code, log = trusted.json("audit", "log")
    assert code == 0
    assert not any(entry["command"].endswith(marker) for entry in log["entries"])
    [run] = log["unfinished_runs"]
    assert run["command"] == marker and run["target"] == "ssh_hosts"
    assert run["state"] == "dead" and run["owner"]["pid"] == process.pid

    verified = trusted("audit", "verify")
    assert verified.returncode == 0  # the chain is intact: a warning, not a failure
    assert f"run {run['run_id']} (run ssh_hosts -- {marker})" in " ".join(verified.stderr.split())
    assert "is dead" in verified.stderr
    assert trusted("audit", "acknowledge", "--reason", "killed in a test").returncode == 0
    assert trusted.json("audit", "verify")[1]["unfinished_runs"] == []
