"""The lab NUT peer's supervisor: ``python -m lab.nut supervise --dir PEER_DIR``.

Runs ``dummy-ups`` and then ``upsd`` in the foreground (their configuration in ``PEER_DIR/conf``,
their sockets in ``PEER_DIR/state``, from ``NUT_CONFPATH``/``NUT_STATEPATH`` in its environment)
and stays until it is signalled or one of them exits; then it stops the other and exits, so the
lab stops both by stopping this one process. Each child dies with it (``PR_SET_PDEATHSIG``) even
if it is killed outright.
"""

from __future__ import annotations

import argparse
import ctypes
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

from lab.nut.config import driver_command, upsd_command

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def supervise(programs: Sequence[tuple[str, ...]]) -> int:
    """Start ``programs`` in order and wait; on SIGTERM/SIGINT or when one exits, stop the rest. Return an exit status."""
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children: list[subprocess.Popen[bytes]] = []
    for argv in programs:
        children.append(subprocess.Popen(argv, preexec_fn=_die_with_parent))
        time.sleep(0.5)  # upsd finds the driver's socket at start, and retries every few seconds otherwise
    while not stopping and all(child.poll() is None for child in children):
        time.sleep(0.2)
    for child in reversed(children):
        if child.poll() is None:
            child.terminate()
    for child in reversed(children):
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 0 if stopping else 1  # a program that exits on its own is a failure the lab's log shows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.nut")
    parser.add_argument("action", choices=["supervise"])
    parser.add_argument("--dir", required=True, help="the peer's directory (its command-line marker)")
    parser.parse_args(argv)
    return supervise((driver_command("/lib/nut/dummy-ups"), upsd_command("/lib/nut/upsd")))


if __name__ == "__main__":
    sys.exit(main())
