"""Reading SMI MIB text, shared by scripts/product-tables and scripts/identity-objects.

Pure functions over a MIB file's text: the quoted strings taken out (so a ``::=`` or ``--`` in a
DESCRIPTION is never read as code), the comments dropped, and the arcs of an ``::= { parent N }``
assignment. Neither script loads a MIB compiler: the facts they keep are names, arcs, syntaxes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# the OIDs every MIB builds on, named as SNMPv2-SMI names them
SEEDS = {
    "iso": "1", "org": "1.3", "dod": "1.3.6", "internet": "1.3.6.1", "mgmt": "1.3.6.1.2",
    "mib-2": "1.3.6.1.2.1", "experimental": "1.3.6.1.3", "private": "1.3.6.1.4", "enterprises": "1.3.6.1.4.1",
}  # fmt: skip
_STRING = re.compile(r'"[^"]*"')
MODULE = re.compile(r"^\s*([A-Z][\w-]*)\s+DEFINITIONS\s*::=\s*BEGIN", re.MULTILINE)


@dataclass(frozen=True)
class MaskedText:
    """A MIB's text with each quoted string replaced by ``"N"`` (its index in ``strings``), line count kept.

    ``code`` has the comments dropped too; ``raw_lines`` keeps them (some MIBs name things in comments).
    """

    code: str
    raw_lines: tuple[str, ...]
    strings: tuple[str, ...]


def mask_strings(text: str) -> MaskedText:
    """Return ``text`` with its quoted strings numbered and set aside, and its comments dropped from ``code``."""
    strings: list[str] = []

    def keep(match: re.Match[str]) -> str:
        strings.append(match.group(0)[1:-1])
        # keep the line count, so comments and definitions are found by line
        return f'"{len(strings) - 1}"' + "\n" * match.group(0).count("\n")

    plain = _STRING.sub(keep, text)
    raw_lines = plain.splitlines()
    code = "\n".join(line.split("--", 1)[0] for line in raw_lines)
    return MaskedText(code, tuple(raw_lines), tuple(strings))


def parse_arcs(body: str) -> tuple[str, tuple[int, ...]] | None:
    """Return the parent and arcs of an assignment's body (``hwDev 3`` or ``iso org(3) dod(6)``), else ``None``."""
    parts = body.split()
    if len(parts) < 2:
        return None
    arcs = []
    for part in parts[1:]:
        number = re.search(r"\((\d+)\)$", part) or re.fullmatch(r"(\d+)", part)
        if number is None:
            return None
        arcs.append(int(number.group(1)))
    return parts[0], tuple(arcs)
