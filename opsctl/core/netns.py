"""Programs in a network namespace of their own, reached only through a loopback forwarder.

Some services cannot bind one address (Orthanc 1.10 always listens on 0.0.0.0), and restored
patient data must never listen beyond loopback. :func:`start_in_namespace` runs such a
program in a new network namespace whose only interface is its own ``lo``; a
:class:`Forwarder` listens on a 127.x address of the machine and, for each connection,
connects to the service's port on the namespace's ``lo`` (the connecting socket is made by a
thread that entered the namespace with ``setns``; a socket stays in the namespace it was made
in, so the bytes are then relayed by ordinary threads). Nothing listens on an external
interface. :func:`start_forwarder` runs a forwarder as a child process that may outlive its
caller (``python -m opsctl.core.netns forward ...``).

The namespace is made with ``unshare --net`` (util-linux) and ``ip link set lo up`` (iproute2)
inside it, before the program is executed; both need root (CAP_SYS_ADMIN). ``unshare`` runs
without ``--fork``: a network namespace needs no new process, so the program keeps the
launcher's pid and a signal sent to that pid reaches the program itself. This module imports
no domain package.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from opsctl.core.errors import OpsctlError

CLONE_NEWNET = 0x40000000
PROC = Path("/proc")
_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_READY_LINE = b"opsctl-netns-ready\n"
# the launcher's shell: bring lo up, say so on the ready descriptor, close it, become the program
_LAUNCH_SCRIPT = '{ip} link set lo up && echo opsctl-netns-ready >&{fd} && exec {fd}>&- && exec "$0" "$@"'
_FORWARDER_MODULE = "opsctl.core.netns"
_RELAY_CHUNK = 65536


class NetnsError(OpsctlError, RuntimeError):
    """A namespace or a forwarder could not be made, entered or stopped."""


def _find(name: str, package: str) -> str:
    search = os.pathsep.join(part for part in (os.environ.get("PATH", ""), _SYSTEM_PATH) if part)
    found = shutil.which(name, path=search)
    if found is None:
        raise NetnsError(f"{name} is not installed", hint=f"install the Debian package {package}")
    return os.path.abspath(found)


def namespace_path(pid: int, *, proc: Path = PROC) -> Path:
    """The network namespace file of process ``pid``: ``/proc/PID/ns/net``."""
    return proc / str(pid) / "ns" / "net"


def namespace_id(path: Path) -> str:
    """The namespace a ``ns/net`` file names (``net:[INODE]``); raise ``NetnsError`` if unreadable."""
    try:
        return os.readlink(path)
    except OSError as error:
        raise NetnsError(f"cannot read the network namespace {path}: {error.strerror}") from None


def launch_command(argv: Sequence[str], *, ready_fd: int) -> tuple[str, ...]:
    """The argv that runs ``argv`` in a new network namespace with ``lo`` up.

    The launcher writes one line on descriptor ``ready_fd`` once ``lo`` is up, closes it and
    executes ``argv``; ``unshare``, ``bash`` (dash refuses descriptors above 9) and ``ip`` are
    found on the system path here, so the program's own environment needs no ``PATH`` to them.
    """
    if not argv:
        raise ValueError("no program to run in the namespace")
    script = _LAUNCH_SCRIPT.format(ip=shlex.quote(_find("ip", "iproute2")), fd=ready_fd)
    return (
        _find("unshare", "util-linux"), "--net", "--",
        _find("bash", "bash"), "-c", script,
        *argv,
    )  # fmt: skip


def _is_alive(pid: int, *, proc: Path = PROC) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        stat_text = (proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    _, parenthesis, rest = stat_text.rpartition(")")
    state = rest.split()[0] if parenthesis and rest.split() else ""
    return state not in ("Z", "X", "x", "")


def _command_line(pid: int, *, proc: Path = PROC) -> bytes:
    try:
        return (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return b""


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _stop_pid(pid: int, marker: bytes, *, timeout: float) -> bool:
    """SIGTERM ``pid`` if it is alive and its command line holds ``marker``; SIGKILL after ``timeout``.

    Return True if it was running (and is now gone); raise ``NetnsError`` if it survives SIGKILL.
    """
    if not _is_alive(pid) or marker not in _command_line(pid):
        _reap(pid)
        return False
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pid)
            if not _is_alive(pid):
                return True
            time.sleep(0.05)
    raise NetnsError(f"process {pid} survived SIGKILL")


def _read_ready_line(read_fd: int, *, timeout: float) -> bool:
    """Read ``_READY_LINE`` from ``read_fd`` within ``timeout``; False on EOF or time out."""
    received = b""
    deadline = time.monotonic() + timeout
    while not received.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
            return False
        chunk = os.read(read_fd, 256)
        if not chunk:
            return False
        received += chunk
    return received == _READY_LINE


@dataclass(frozen=True)
class NamespacedProcess:
    """A program running in a network namespace of its own.

    ``pid`` is the program's (its command line is the ``argv`` it was started with);
    ``ns_path`` is ``/proc/PID/ns/net``, valid while it runs; ``ns_id`` names the namespace
    (``net:[INODE]``) so a later check can tell it from the machine's.
    """

    pid: int
    ns_path: Path
    ns_id: str
    marker: str  # text of the program's command line, checked before every signal

    def running(self) -> bool:
        """True while the program runs (not a zombie) and is still this program."""
        return _is_alive(self.pid) and self.marker.encode() in _command_line(self.pid)

    def stop(self, timeout: float = 10.0) -> bool:
        """SIGTERM the program, SIGKILL after ``timeout`` s; True if it was running.

        Its namespace disappears with it (unless a forwarder still holds it open: stop those
        too). Raise ``NetnsError`` if it survives SIGKILL.
        """
        return _stop_pid(self.pid, self.marker.encode(), timeout=timeout)


def _spawn_until_ready(
    command: Callable[[int], Sequence[str]], *, log_path: Path | None, separate_stderr: bool,
    cwd: Path | None, env: Mapping[str, str] | None, wait_seconds: float,
) -> tuple[subprocess.Popen[bytes], bool]:
    """Start ``command(ready_fd)`` detached (its own session), output to ``log_path`` (or discarded);
    return the process and whether it wrote its ready line within ``wait_seconds``.

    A process that did not get ready is killed and reaped before this returns. Raise
    ``NetnsError`` if the program cannot be run at all.
    """
    read_fd, write_fd = os.pipe()
    argv = tuple(command(write_fd))
    try:
        with open(log_path or os.devnull, "ab") as log:
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log if separate_stderr else subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=(write_fd,),
                    cwd=cwd,
                    env=dict(env) if env is not None else None,
                )
            except OSError as error:
                raise NetnsError(f"cannot run {argv[0]}: {error.strerror}") from None
        os.close(write_fd)
        write_fd = -1
        ready = _read_ready_line(read_fd, timeout=wait_seconds)
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    if not ready:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait()
    return process, ready


def start_in_namespace(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: Path | None,
    log_path: Path,
    marker: str | None = None,
    wait_seconds: float = 10.0,
) -> NamespacedProcess:
    """Start ``argv`` in a new network namespace (only ``lo``, up), detached, output to ``log_path``.

    Return once the namespace exists with ``lo`` up and the program is being executed. The
    program has its own session, so it outlives the caller. ``marker`` (default: the last
    argument) must appear in its command line; stop and status check it before signalling.
    Raise ``NetnsError`` (naming the log) if the namespace cannot be made.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    process, ready = _spawn_until_ready(lambda ready_fd: launch_command(argv, ready_fd=ready_fd),
                                        log_path=log_path, separate_stderr=False, cwd=cwd, env=env,
                                        wait_seconds=wait_seconds)  # fmt: skip
    if not ready:
        raise NetnsError(
            f"{argv[0]} did not start in a network namespace of its own (unshare --net, "
            f"ip link set lo up)",
            hint=f"see {log_path}; this needs root",
        )
    ns_path = namespace_path(process.pid)
    ns_id = namespace_id(ns_path)
    if ns_id == namespace_id(namespace_path(os.getpid())):
        process.kill()
        process.wait()
        raise NetnsError(f"{argv[0]} is still in the caller's network namespace")
    return NamespacedProcess(
        pid=process.pid, ns_path=ns_path, ns_id=ns_id, marker=marker or str(argv[-1])
    )


def _libc_setns(fd: int, nstype: int) -> None:
    """``setns(2)`` for the calling thread (``os.setns`` arrived in Python 3.12)."""
    setns = getattr(os, "setns", None)
    if setns is not None:
        setns(fd, nstype)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype)) != 0:
        number = ctypes.get_errno()
        raise OSError(number, os.strerror(number))


def _relay(source: socket.socket, target: socket.socket) -> None:
    """Copy bytes from ``source`` to ``target`` until EOF or an error, then half-close ``target``."""
    try:
        while chunk := source.recv(_RELAY_CHUNK):
            target.sendall(chunk)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)


class Forwarder:
    """A TCP forwarder from ``listen_host:listen_port`` on the machine into a namespace's ``lo``.

    It opens ``/proc/NETNS_PID/ns/net`` once at :meth:`start` and keeps it, so a later pid
    reuse cannot redirect it; a connection arriving while the service does not listen is
    closed at once. :meth:`start` binds (raising ``NetnsError`` if it cannot) and serves in
    threads; :meth:`stop` closes the listener and every open connection.
    """

    def __init__(
        self, listen_host: str, listen_port: int, netns_pid: int, target_port: int,
        *, target_host: str = "127.0.0.1",
    ) -> None:  # fmt: skip
        if not listen_host.startswith("127."):
            raise NetnsError(f"a forwarder listens on loopback only, not on {listen_host}")
        self.listen_host = listen_host
        self.listen_port = listen_port
        self.netns_pid = netns_pid
        self.target_host = target_host
        self.target_port = target_port
        self._namespace_fd = -1
        self._listener: socket.socket | None = None
        self._connector: ThreadPoolExecutor | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._accept_thread: threading.Thread | None = None

    def start(self) -> None:
        """Open the namespace, bind and listen, and serve in the background."""
        try:
            self._namespace_fd = os.open(namespace_path(self.netns_pid), os.O_RDONLY)
        except OSError as error:
            raise NetnsError(
                f"cannot open the network namespace of pid {self.netns_pid}: {error.strerror}"
            ) from None
        # one thread lives in the namespace and only makes the sockets that connect there
        self._connector = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="netns-connect", initializer=self._enter_namespace
        )
        self._connector.submit(lambda: None).result()  # raises if setns failed
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            listener.bind((self.listen_host, self.listen_port))
            listener.listen(64)
        except OSError as error:
            listener.close()
            self.stop()
            raise NetnsError(
                f"the forwarder cannot listen on {self.listen_host}:{self.listen_port}: "
                f"{error.strerror}"
            ) from None
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name="netns-accept", daemon=True
        )
        self._accept_thread.start()

    def _enter_namespace(self) -> None:
        _libc_setns(self._namespace_fd, CLONE_NEWNET)

    def _connect_inside(self) -> socket.socket:
        return socket.create_connection((self.target_host, self.target_port), timeout=10)

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._connector is not None
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        assert self._connector is not None
        try:
            upstream = self._connector.submit(self._connect_inside).result()
        except (OSError, RuntimeError):  # RuntimeError: the connector was shut down
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._connections.update((client, upstream))
        back = threading.Thread(target=_relay, args=(upstream, client), daemon=True)
        back.start()
        _relay(client, upstream)
        back.join()
        with self._lock:
            self._connections.difference_update((client, upstream))
        client.close()
        upstream.close()

    def stop(self) -> None:
        """Stop listening and close every connection; idempotent."""
        self._stopping.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
        if self._connector is not None:
            self._connector.shutdown(wait=True)
        if self._namespace_fd >= 0:
            os.close(self._namespace_fd)
            self._namespace_fd = -1


def forwarder_command(
    listen_host: str, listen_port: int, netns_pid: int, target_port: int, *, python: str | None = None
) -> tuple[str, ...]:
    """The argv of a forwarder process (``python -m opsctl.core.netns forward ...``)."""
    return (
        python or sys.executable, "-m", _FORWARDER_MODULE, "forward",
        "--listen", f"{listen_host}:{listen_port}",
        "--netns-pid", str(netns_pid),
        "--target-port", str(target_port),
    )  # fmt: skip


def forwarder_marker(listen_host: str, listen_port: int) -> str:
    """Text of a forwarder's command line that names it alone (its listening endpoint)."""
    return f"--listen\0{listen_host}:{listen_port}\0"


@dataclass(frozen=True)
class ForwarderHandle:
    """A forwarder process: rebuildable from its pid and endpoint, so any process can stop it."""

    pid: int
    listen_host: str
    listen_port: int

    def running(self) -> bool:
        """True while the forwarder process for this endpoint runs."""
        marker = forwarder_marker(self.listen_host, self.listen_port).encode()
        return _is_alive(self.pid) and marker in _command_line(self.pid)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the forwarder (SIGTERM, then SIGKILL); True if it was running."""
        marker = forwarder_marker(self.listen_host, self.listen_port).encode()
        return _stop_pid(self.pid, marker, timeout=timeout)


def start_forwarder(
    listen_host: str,
    listen_port: int,
    netns_pid: int,
    target_port: int,
    *,
    log_path: Path | None = None,
    wait_seconds: float = 10.0,
) -> ForwarderHandle:
    """Start a forwarder process (own session: it outlives the caller) and wait until it listens.

    Its diagnostics go to ``log_path`` (default: discarded). Raise ``NetnsError`` with its
    reason if it cannot enter the namespace or bind.
    """
    environment = dict(os.environ)
    # the child imports opsctl from where this module was imported
    package_root = str(Path(__file__).resolve().parents[2])
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (package_root, environment.get("PYTHONPATH", "")) if part
    )
    process, ready = _spawn_until_ready(
        lambda ready_fd: (*forwarder_command(listen_host, listen_port, netns_pid, target_port),
                          "--ready-fd", str(ready_fd)),
        log_path=log_path, separate_stderr=True, cwd=None, env=environment, wait_seconds=wait_seconds,
    )  # fmt: skip
    if not ready:
        where = f"; see {log_path}" if log_path else ""
        raise NetnsError(
            f"the forwarder {listen_host}:{listen_port} -> pid {netns_pid}'s port {target_port} "
            f"did not start{where}"
        )
    return ForwarderHandle(pid=process.pid, listen_host=listen_host, listen_port=listen_port)


def _serve_forever(arguments: Sequence[str]) -> int:
    """The forwarder process: serve until SIGTERM or SIGINT; 0 on a clean stop, 1 if it could not start."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m opsctl.core.netns forward")
    parser.add_argument("--listen", required=True, help="HOST:PORT on the machine (127.x)")
    parser.add_argument("--netns-pid", type=int, required=True)
    parser.add_argument("--target-port", type=int, required=True)
    parser.add_argument("--ready-fd", type=int, default=-1)
    options = parser.parse_args(arguments)
    host, _, port = options.listen.rpartition(":")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    forwarder = Forwarder(host, int(port), options.netns_pid, options.target_port)
    try:
        forwarder.start()
    except NetnsError as error:
        print(f"opsctl netns forwarder: {error}", file=sys.stderr, flush=True)
        return 1
    if options.ready_fd >= 0:
        os.write(options.ready_fd, _READY_LINE)
        os.close(options.ready_fd)
    print(f"opsctl netns forwarder: {options.listen} -> pid {options.netns_pid}'s "
          f"127.0.0.1:{options.target_port}", file=sys.stderr, flush=True)  # fmt: skip
    stop.wait()
    forwarder.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m opsctl.core.netns forward --listen H:P --netns-pid PID --target-port P``."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] != "forward":
        print("usage: python -m opsctl.core.netns forward --listen HOST:PORT "
              "--netns-pid PID --target-port PORT", file=sys.stderr)  # fmt: skip
        return 2
    return _serve_forever(arguments[1:])


if __name__ == "__main__":
    sys.exit(main())
