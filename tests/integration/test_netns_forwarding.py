"""opsctl.core.netns against the real kernel: a real ``python -m http.server`` in a network
namespace of its own, reached only through a forwarder on a 127.x address.

Needs root (unshare --net, setns). Addresses are under ``TEST_SMALL_LAB_PREFIX``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from opsctl.core.netns import (
    Forwarder,
    NamespacedProcess,
    NetnsError,
    namespace_id,
    namespace_path,
    start_forwarder,
    start_in_namespace,
)

pytestmark = pytest.mark.integration

PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")
LISTEN = f"{PREFIX}.99.1"
SERVICE_PORT = 18979  # inside the namespace
FORWARD_PORT = 18981  # on the machine


@pytest.fixture
def web_root(tmp_path: Path) -> Path:
    root = tmp_path / "www"
    root.mkdir()
    (root / "hello.txt").write_text("hello from inside the namespace\n", encoding="utf-8")
    return root


@pytest.fixture
def served(web_root: Path, tmp_path: Path) -> Iterator[NamespacedProcess]:
    """``python -m http.server`` on every address of its own namespace, stopped afterwards."""
    process = start_in_namespace(
        (sys.executable, "-m", "http.server", "--directory", str(web_root), str(SERVICE_PORT)),
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        log_path=tmp_path / "http.log",
        marker=str(web_root),
    )
    try:
        yield process
    finally:
        process.stop()


def _get(url: str) -> str:
    deadline_attempts = 100
    for attempt in range(deadline_attempts):  # the server binds a moment after it is executed
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode("utf-8"))
        except OSError:
            if attempt == deadline_attempts - 1:
                raise
            import time

            time.sleep(0.1)
    raise AssertionError("unreachable")


def _listening(pid: int) -> set[tuple[str, int]]:
    return {
        (connection.laddr.ip, connection.laddr.port)
        for connection in psutil.Process(pid).net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    }


def _machine_listeners() -> set[str]:
    """Every listening TCP endpoint of the machine's own namespace, as ``ss`` shows it."""
    table = subprocess.run(("ss", "-Hltn"), capture_output=True, text=True, check=True).stdout
    return {line.split()[3] for line in table.splitlines()}


def test_the_service_is_reached_through_the_forwarder_and_nothing_else_listens(
    served: NamespacedProcess, tmp_path: Path
) -> None:
    assert served.running()
    assert served.ns_id != namespace_id(namespace_path(os.getpid()))
    assert namespace_id(served.ns_path) == served.ns_id

    handle = start_forwarder(LISTEN, FORWARD_PORT, served.pid, SERVICE_PORT,
                             log_path=tmp_path / "forwarder.log")  # fmt: skip
    try:
        assert _get(f"http://{LISTEN}:{FORWARD_PORT}/hello.txt") == "hello from inside the namespace\n"
        # on the machine: the forwarder alone, on its 127.x address; the service's port nowhere
        assert _listening(handle.pid) == {(LISTEN, FORWARD_PORT)}
        machine = _machine_listeners()
        assert f"{LISTEN}:{FORWARD_PORT}" in machine
        assert [endpoint for endpoint in machine if endpoint.endswith(f":{SERVICE_PORT}")] == []
        # inside the namespace: the service on its 0.0.0.0, and the namespace has only lo
        inside = subprocess.run(
            ("nsenter", f"--net={served.ns_path}", "ss", "-Hltn"),
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert f"0.0.0.0:{SERVICE_PORT} " in inside
        links = subprocess.run(
            ("nsenter", f"--net={served.ns_path}", "ip", "-o", "link"),
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert [line.split(":")[1].strip() for line in links.splitlines()] == ["lo"]
        with socket.socket() as direct, pytest.raises(ConnectionRefusedError):
            direct.connect(("127.0.0.1", SERVICE_PORT))  # not on the machine's own loopback
    finally:
        assert handle.stop()
    assert not handle.running()
    with socket.socket() as after, pytest.raises(ConnectionRefusedError):
        after.connect((LISTEN, FORWARD_PORT))


def test_the_forwarder_process_outlives_its_caller(served: NamespacedProcess, tmp_path: Path) -> None:
    code = (
        "import sys; from opsctl.core.netns import start_forwarder; "
        f"print(start_forwarder({LISTEN!r}, {FORWARD_PORT}, {served.pid}, {SERVICE_PORT}).pid)"
    )
    caller = subprocess.run((sys.executable, "-c", code), capture_output=True, text=True,
                            check=True, timeout=60)  # fmt: skip
    from opsctl.core.netns import ForwarderHandle

    handle = ForwarderHandle(pid=int(caller.stdout), listen_host=LISTEN, listen_port=FORWARD_PORT)
    try:
        assert handle.running()
        assert "hello" in _get(f"http://{LISTEN}:{FORWARD_PORT}/hello.txt")
    finally:
        assert handle.stop()


def test_an_in_process_forwarder_serves_many_connections_and_stops(
    served: NamespacedProcess,
) -> None:
    forwarder = Forwarder(LISTEN, FORWARD_PORT + 1, served.pid, SERVICE_PORT)
    forwarder.start()
    try:
        bodies = {_get(f"http://{LISTEN}:{FORWARD_PORT + 1}/hello.txt") for _ in range(20)}
        assert bodies == {"hello from inside the namespace\n"}
    finally:
        forwarder.stop()
    with socket.socket() as after, pytest.raises(ConnectionRefusedError):
        after.connect((LISTEN, FORWARD_PORT + 1))


def test_a_taken_address_is_refused_naming_it(served: NamespacedProcess) -> None:
    with socket.socket() as squatter:
        squatter.bind((LISTEN, FORWARD_PORT + 2))
        squatter.listen()
        with pytest.raises(NetnsError, match=f"cannot listen on {LISTEN}:{FORWARD_PORT + 2}"):
            Forwarder(LISTEN, FORWARD_PORT + 2, served.pid, SERVICE_PORT).start()
        with pytest.raises(NetnsError, match="did not start"):
            start_forwarder(LISTEN, FORWARD_PORT + 2, served.pid, SERVICE_PORT)


def test_stopping_the_program_removes_its_namespace(served: NamespacedProcess) -> None:
    ns_id = served.ns_id
    assert served.stop()
    assert not served.running()
    holders = [
        path for path in Path("/proc").glob("[0-9]*/ns/net")
        if _readlink(path) == ns_id
    ]  # fmt: skip
    assert holders == []


def _readlink(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""
