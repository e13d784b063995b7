#!/usr/bin/env python3
"""Split the shared device corpus into a tuning part and a held-out quarter, by LibreNMS ``os``.

Run once, before any profile work: `.venv/bin/python bench/corpus/split.py ../shared/device-corpus`.
It reads only the corpus's index.tsv (name, os, type), never a recording or an expected file, and
writes bench/corpus/held-out.txt and bench/corpus/tuning.txt. The choice is deterministic:

- a recording's group is its ``os``; a group's type is the most common ``type`` of its recordings;
- each type's held-out target is round(25% of that type's recordings), so the held-out part spans
  every type (network, power, appliance, firewall, server, environment, management, storage);
- the groups are ordered by sha256(SALT + os) and taken in that order into the held-out part while
  their type is under its target (a whole group always, so a two-recording group may pass it by one).
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter, defaultdict
from pathlib import Path

SALT = "opsctl issue 10: held-out quarter, 2026-12-05\n"
SHARE = 0.25
HERE = Path(__file__).resolve().parent


def read_index(corpus: Path) -> dict[str, tuple[str, str]]:
    """Return recording name -> (os, type) from index.tsv; lines that continue a quoted field are skipped."""
    names = {path.name.removesuffix(".snmprec") for path in (corpus / "recordings").glob("*.snmprec")}
    found: dict[str, tuple[str, str]] = {}
    for line in (corpus / "index.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        fields = line.split("\t")
        if len(fields) >= 3 and fields[0] in names:
            found[fields[0]] = (fields[1], fields[2])
    missing = sorted(names - set(found))
    if missing:
        raise SystemExit(f"index.tsv does not list {missing}")
    return found


def split(index: dict[str, tuple[str, str]]) -> tuple[list[str], list[str]]:
    """Return (held-out names, tuning names), each sorted."""
    groups: dict[str, list[str]] = defaultdict(list)
    for name, (os_name, _type) in index.items():
        groups[os_name].append(name)
    group_type = {
        os_name: sorted(Counter(index[name][1] for name in members).most_common(),
                        key=lambda item: (-item[1], item[0]))[0][0]
        for os_name, members in groups.items()
    }
    per_type = Counter(index[name][1] for name in index)
    target = {kind: round(count * SHARE) for kind, count in per_type.items()}
    held: Counter[str] = Counter()
    held_out: list[str] = []
    order = sorted(groups, key=lambda os_name: hashlib.sha256((SALT + os_name).encode()).hexdigest())
    for os_name in order:
        kind = group_type[os_name]
        if held[kind] < target[kind]:
            held[kind] += len(groups[os_name])
            held_out.extend(groups[os_name])
    tuning = sorted(set(index) - set(held_out))
    return sorted(held_out), tuning


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: split.py CORPUS_DIR", file=sys.stderr)
        return 2
    index = read_index(Path(argv[0]))
    held_out, tuning = split(index)
    kinds = Counter(index[name][1] for name in held_out)
    summary = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
    header = [
        "# Chosen by bench/corpus/split.py from the corpus's index.tsv alone, before any profile work:",
        "# whole LibreNMS `os` groups, ordered by sha256 of a fixed salt and the os name, taken until",
        "# each type holds round(25%) of its recordings.",
    ]
    (HERE / "held-out.txt").write_text(
        "\n".join([*header, f"# held-out: {len(held_out)} of {len(index)} recordings ({summary})",
                   "# Never tune on these: they are read only through bench/corpus-accuracy's totals.",
                   *held_out]) + "\n", encoding="utf-8")  # fmt: skip
    (HERE / "tuning.txt").write_text(
        "\n".join([*header, f"# tuning: the other {len(tuning)} recordings", *tuning]) + "\n", encoding="utf-8"
    )
    print(f"held-out {len(held_out)} ({summary}), tuning {len(tuning)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
