"""A tee in Python between a dump and restic: copies stdin to stdout, counting and hashing.

``python -m backup.hashpipe RESULT`` writes ``{"bytes": N, "sha256": HEX}`` to ``RESULT``
once its input ends, so a manifest records each dump's size and digest as it streams, with no
second read of the database. It dies of SIGPIPE (and writes no result) when its reader went away.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
from pathlib import Path

CHUNK = 1 << 20


def copy_and_hash(source: int, destination: int) -> tuple[int, str]:
    """Copy ``source`` to ``destination`` (file descriptors) until EOF; return (bytes, sha256)."""
    digest = hashlib.sha256()
    total = 0
    while True:
        chunk = os.read(source, CHUNK)
        if not chunk:
            return total, digest.hexdigest()
        digest.update(chunk)
        total += len(chunk)
        view = memoryview(chunk)
        while view:
            written = os.write(destination, view)
            view = view[written:]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m backup.hashpipe RESULT_FILE\n")
        return 2
    # a filter whose reader went away dies of SIGPIPE, as cat would: the pipeline's status then
    # names the member that failed first, not this one (Python ignores SIGPIPE by default)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    size, sha256 = copy_and_hash(sys.stdin.fileno(), sys.stdout.fileno())
    result = Path(args[0])
    temporary = result.with_name(result.name + ".tmp")
    temporary.write_text(json.dumps({"bytes": size, "sha256": sha256}), encoding="utf-8")
    os.replace(temporary, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
