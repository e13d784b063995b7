"""Start, recognise and stop the lab's long-running programs by their recorded pid.

A pid alone is not proof: the kernel reuses pids, so a process counts as ours only while
``/proc/PID/cmdline`` contains the peer's marker (its config path) and it is not a zombie.
The ``/proc`` root is a parameter so tests can point it at a fake tree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

PROC = Path("/proc")


def spawn(
    argv: Sequence[str], *, log_path: Path, pid_path: Path, env: Mapping[str, str] | None = None
) -> int:
    """Start ``argv`` detached (own session, stdin closed, output appended to ``log_path``).

    Write its pid to ``pid_path`` and return it; raise ``OSError`` if it cannot be executed.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            tuple(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=dict(env) if env is not None else None,
        )
    pid_path.write_text(f"{process.pid}\n", encoding="utf-8")
    # Popen reaps the child later if it exits while we still run; we only need the pid.
    return process.pid


def read_pid(pid_path: Path) -> int | None:
    """Return the pid recorded in ``pid_path``, or None if it is missing or not a number."""
    try:
        text = pid_path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def parse_stat_state(stat_text: str) -> str:
    """Return the one-letter state from the text of ``/proc/PID/stat`` ('' if malformed)."""
    # the command name may contain spaces and parentheses; the state follows the last ')'
    _, parenthesis, rest = stat_text.rpartition(")")
    fields = rest.split() if parenthesis else []
    return fields[0] if fields else ""


def is_ours(pid: int, marker: str, *, proc: Path = PROC, settle_seconds: float = 0.5) -> bool:
    """True if ``pid`` is alive (not a zombie) and its command line contains ``marker``.

    A process in the middle of ``exec`` shows an empty command line for a moment, so an
    empty one is read again for up to ``settle_seconds`` before the answer is no.
    """
    deadline = time.monotonic() + settle_seconds
    while True:
        try:
            cmdline = (proc / str(pid) / "cmdline").read_bytes()
            stat_text = (proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
        if parse_stat_state(stat_text) in ("Z", "X", "x", ""):
            return False
        if cmdline or time.monotonic() >= deadline:
            return marker.encode() in cmdline
        time.sleep(0.02)


def _reap(pid: int) -> None:
    # when we are the parent, collect the exit status so no zombie is left behind
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop_process(pid: int, marker: str, *, timeout: float = 5.0, proc: Path = PROC) -> bool:
    """Stop ``pid`` if it is ours: SIGTERM, wait up to ``timeout`` seconds, then SIGKILL.

    Return True if it was running and is now stopped, False if it was not ours to stop.
    Raise ``OSError`` only if it survives SIGKILL (which should not happen).
    """
    if not is_ours(pid, marker, proc=proc):
        _reap(pid)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    for sig in (signal.SIGKILL, None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            if not is_ours(pid, marker, proc=proc):
                return True
            time.sleep(0.05)
        if sig is None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
    raise OSError(f"process {pid} survived SIGKILL")


def log_tail(path: Path, lines: int = 10) -> str:
    """Return the last ``lines`` lines of the log at ``path`` ('' if missing or empty)."""
    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - 16384))
            data = stream.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return "\n".join(text.splitlines()[-lines:])
