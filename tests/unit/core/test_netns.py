"""opsctl.core.netns without a namespace: its command lines, its loopback rule, and that it
signals only its own processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from opsctl.core.netns import (
    Forwarder,
    ForwarderHandle,
    NamespacedProcess,
    NetnsError,
    forwarder_command,
    forwarder_marker,
    launch_command,
    namespace_path,
)


def test_the_program_runs_after_lo_is_up_in_a_new_network_namespace() -> None:
    command = launch_command(("/usr/sbin/Orthanc", "/lab/config"), ready_fd=7)

    assert Path(command[0]).name == "unshare" and command[1:3] == ("--net", "--")
    assert "--fork" not in command  # the program keeps the launcher's pid: signals reach it
    script = command[5]
    assert command[4] == "-c"
    assert script.index("/ip link set lo up") < script.index("echo opsctl-netns-ready >&7")
    assert script.endswith('exec "$0" "$@"') and "exec 7>&-" in script
    assert command[6:] == ("/usr/sbin/Orthanc", "/lab/config")
    with pytest.raises(ValueError, match="no program"):
        launch_command((), ready_fd=7)


def test_a_forwarder_process_is_named_by_its_endpoint() -> None:
    command = forwarder_command("127.9.60.1", 18042, 4242, 8042, python="/venv/bin/python")

    assert command == (
        "/venv/bin/python", "-m", "opsctl.core.netns", "forward",
        "--listen", "127.9.60.1:18042", "--netns-pid", "4242", "--target-port", "8042",
    )  # fmt: skip
    assert forwarder_marker("127.9.60.1", 18042).encode() in "\0".join(command).encode() + b"\0"
    assert forwarder_marker("127.9.60.1", 1804).encode() not in "\0".join(command).encode() + b"\0"


def test_a_forwarder_listens_on_loopback_only() -> None:
    for address in ("0.0.0.0", "10.0.0.5", "192.168.1.1"):
        with pytest.raises(NetnsError, match=f"loopback only, not on {address}"):
            Forwarder(address, 18042, 1, 8042)


def test_a_forwarder_into_a_missing_process_is_an_error_naming_the_pid(tmp_path: Path) -> None:
    dead = subprocess.Popen((sys.executable, "-c", "pass"))
    dead.wait()
    forwarder = Forwarder("127.0.0.1", 0, dead.pid, 8042)
    with pytest.raises(NetnsError, match=f"network namespace of pid {dead.pid}"):
        forwarder.start()


def test_stop_leaves_a_process_that_is_not_its_own_alone() -> None:
    stranger = subprocess.Popen((sys.executable, "-c", "import time; time.sleep(60)"))
    try:
        handle = ForwarderHandle(pid=stranger.pid, listen_host="127.9.60.1", listen_port=18042)
        process = NamespacedProcess(
            pid=stranger.pid, ns_path=namespace_path(stranger.pid), ns_id="net:[1]",
            marker="/no/such/orthanc/config",
        )  # fmt: skip

        assert not handle.running() and not process.running()
        assert handle.stop() is False and process.stop() is False
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()

