"""Stop or start the lab's Orthanc from any process: ``python -m lab.orthanc stop|start|status --lab-dir DIR``.

What ``services.json`` publishes as the PACS's ``stop_command`` and ``start_command``, so a
backup hook can stop Orthanc for a consistent copy of its storage and index and start it
again without importing the lab. Exit 0 when done (``start``: once it answers), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from lab.errors import LabError
from lab.files import locked
from lab.layout import LabLayout
from lab.orthanc.config import ORTHANC_NAME
from lab.orthanc.peer import ORTHANC, OrthancPeer
from lab.peer import RECORD_FILE, PeerRecord, wait_ready

_WAIT_SECONDS = 60.0


def _peer(lab_dir: Path) -> OrthancPeer:
    layout = LabLayout(lab_dir.absolute())
    peer_dir = layout.peer_dir(ORTHANC_NAME)
    try:
        record = PeerRecord.from_mapping(
            json.loads((peer_dir / RECORD_FILE).read_text(encoding="utf-8"))
        )
    except (OSError, ValueError) as error:
        raise LabError(f"no lab Orthanc recorded in {peer_dir}: {error}") from None
    peer = ORTHANC.load(layout, record, peer_dir)
    assert isinstance(peer, OrthancPeer)
    return peer


def run(action: str, lab_dir: Path) -> tuple[bool, str]:
    """Do ``action`` (stop, start, status) on the lab's Orthanc in ``lab_dir``; return (ok, detail)."""
    peer = _peer(lab_dir)
    if action == "status":
        status = peer.status(check=True)
        return status.answering, status.detail
    with locked(peer.layout.lock):
        if action == "stop":
            was_running = peer.stop()
            return True, "stopped" if was_running else "was not running"
        peer.stop()  # a silent process or stale forwarders: start from nothing
        peer.prepare()
        peer.start()
        answer = wait_ready(peer, wait_seconds=_WAIT_SECONDS)
        if not answer.ok:
            peer.stop()
            return False, peer.failure(answer.detail).describe()
        return True, answer.detail


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.orthanc")
    parser.add_argument("action", choices=("stop", "start", "status"))
    parser.add_argument("--lab-dir", type=Path, required=True)
    options = parser.parse_args(argv)
    try:
        ok, detail = run(options.action, options.lab_dir)
    except LabError as error:
        print(f"lab-orthanc: {error}", file=sys.stderr)
        return 1
    print(f"{ORTHANC_NAME}: {detail}", file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
