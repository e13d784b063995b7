"""Keep ``opsctl-agent`` running on a host without systemd as PID 1 (``opsctl agent install`` starts it).

Run as ``python3 -I supervise.py --pid-file P --log L -- ARGV...``: it writes its own pid to
``P``, starts ``ARGV`` with its output appended to ``L``, and starts it again when it dies
(after 1 s, doubling to at most 30 s while it keeps dying within a minute of its start).
SIGTERM or SIGINT stops the agent (TERM, then KILL after 10 s), removes ``P`` and exits 0.
Standard library only: this file is copied to hosts beside the agent and imports nothing of it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time

STOP_GRACE_SECONDS = 10.0
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
STABLE_SECONDS = 60.0


def _log(log_path: str, event: str, **fields: object) -> None:
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event,
              "source": "supervisor", **fields}
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def supervise(argv: list[str], *, pid_file: str, log_path: str) -> int:
    """Run ``argv`` until SIGTERM/SIGINT, restarting it whenever it exits; return 0 when stopped."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open(pid_file + ".tmp", "w", encoding="utf-8") as out:
        out.write(f"{os.getpid()}\n")
    os.replace(pid_file + ".tmp", pid_file)
    backoff = FIRST_BACKOFF_SECONDS
    try:
        while not stop.is_set():
            started = time.monotonic()
            with open(log_path, "ab") as log:
                child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         close_fds=True)
            _log(log_path, "started", pid=child.pid)
            while child.poll() is None and not stop.is_set():
                stop.wait(0.5)
            if stop.is_set():
                _stop_child(child)
                _log(log_path, "stopped", pid=child.pid)
                break
            if time.monotonic() - started > STABLE_SECONDS:
                backoff = FIRST_BACKOFF_SECONDS
            _log(log_path, "exited", pid=child.pid, status=child.returncode, restart_in_seconds=backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pid_file)
    return 0


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is not None:
        return
    child.terminate()
    try:
        child.wait(STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supervise.py", description="keep opsctl-agent running")
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("argv", nargs="+")
    args = parser.parse_args(arguments)
    return supervise(args.argv, pid_file=args.pid_file, log_path=args.log)


if __name__ == "__main__":
    sys.exit(main())
