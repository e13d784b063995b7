"""Bring back a PACS a killed backup run left stopped.

``python -m backup.orthanc_watchdog --watch MARKER --parent PID``: forked by the Orthanc hook
(:func:`backup.orthanc.capture_orthanc`) in a session of its own; it polls until the marker is
removed (the run started Orthanc itself: exit 0) or the run's process is gone while the marker
is still there (SIGKILL): then it runs the marker's start command, removes the marker, says so
on stderr and in ``MARKER.log``, and exits 0 (1 if the start failed).

``python -m backup.orthanc_watchdog --state-dir DIR``: one pass over every marker in ``DIR``
whose run is gone (what the next ``backup run`` and ``backup status`` do), for cron or by hand.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from backup.orthanc import OrthancError, owner_alive, read_marker, restore_stopped, run_command


def watch(marker: Path, *, poll_seconds: float = 0.5, start_timeout: float = 300.0) -> int:
    """Wait until ``marker`` is removed (0) or its run died with it in place: start the PACS."""
    while True:
        document = read_marker(marker)
        if document is None:
            return 0
        if not owner_alive(document):
            break
        time.sleep(poll_seconds)
    command = [str(word) for word in document.get("start_command", [])]
    log = marker.with_suffix(".log")
    try:
        run_command(command, what="start command", timeout=start_timeout)
    except OrthancError as error:
        text = f"{datetime.now(UTC).isoformat()} watchdog: {document.get('message')}; start failed: {error.message}"
        print(text, file=sys.stderr)
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(text + "\n")
        return 1
    text = (f"{datetime.now(UTC).isoformat()} watchdog: backup run {document.get('run_id')} of policy "
            f"{document.get('policy')} died with the PACS stopped; started it again")
    print(text, file=sys.stderr)
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(text + "\n")
    marker.unlink(missing_ok=True)  # last: whoever waits on the marker finds the log written
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backup.orthanc_watchdog")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--watch", type=Path, help="the marker of a running hook")
    group.add_argument("--state-dir", type=Path, help="restore every orphaned marker here, once")
    parser.add_argument("--parent", type=int, help="(informational) the run's pid")
    parser.add_argument("--poll", type=float, default=0.5)
    options = parser.parse_args(argv)
    if options.watch is not None:
        return watch(options.watch, poll_seconds=options.poll)
    said = restore_stopped(options.state_dir)
    for line in said:
        print(line, file=sys.stderr)
    return 1 if any("failed" in line for line in said) else 0


if __name__ == "__main__":
    sys.exit(main())
