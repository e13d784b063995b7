"""Reader of snmpsim ``.snmprec`` recordings (``OID|TAG|VALUE`` lines), for tests and the lab.

Tags are ASN.1 type numbers; an ``x`` suffix means the value is hex. Values come out as the
client hands them over (see :mod:`inventory.snmp.values`); variation modules (``TAG:module``)
and unknown tags are skipped with a note.
"""

from __future__ import annotations

import bz2
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from inventory.snmp.values import RawValue, is_oid_text

_INTEGER_TAGS = {2, 65, 66, 67, 70}
_OCTET_TAGS = {4, 68}  # OCTET STRING, Opaque
_NULL_TAGS = {5, 128, 129, 130}  # NULL, noSuchObject, noSuchInstance, endOfMibView


@dataclass(frozen=True)
class Recording:
    """The rows of one recording, and notes on lines that were skipped."""

    rows: dict[str, RawValue]
    notes: tuple[str, ...] = ()


def parse_snmprec(text: str) -> Recording:
    """Return the rows of ``.snmprec`` text in file order (snmpsim keeps them in OID order); malformed lines are skipped with a note."""
    rows: dict[str, RawValue] = {}
    notes: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.rstrip("\r")
        if not line or line.startswith("#"):
            continue
        parts = line.split("|", 2)
        if len(parts) != 3 or not is_oid_text(parts[0].lstrip(".")):
            notes.append(f"line {number}: not OID|TAG|VALUE; skipped")
            continue
        oid, tag_text, value_text = parts[0].lstrip("."), parts[1], parts[2]
        if ":" in tag_text:
            notes.append(f"line {number}: variation module {tag_text!r}; skipped")
            continue
        hexed = tag_text.endswith("x")
        try:
            tag = int(tag_text.rstrip("x"))
            rows[oid] = _value(tag, value_text, hexed)
        except ValueError as problem:
            notes.append(f"line {number}: {problem}; skipped")
    return Recording(rows, tuple(notes))


def _value(tag: int, text: str, hexed: bool) -> RawValue:
    raw = bytes.fromhex(text) if hexed else text.encode("utf-8", errors="surrogateescape")
    if tag in _OCTET_TAGS:
        return raw
    if tag in _INTEGER_TAGS:
        return int(raw.decode("ascii"))
    if tag == 6:
        return raw.decode("ascii").lstrip(".")
    if tag == 64:
        return str(ipaddress.IPv4Address(raw)) if hexed else raw.decode("ascii")
    if tag in _NULL_TAGS:
        return None
    raise ValueError(f"unknown tag {tag}")


def read_snmprec(path: Path) -> Recording:
    """Return the rows of a ``.snmprec`` or ``.snmprec.bz2`` file; raise ``OSError`` if it cannot be read."""
    data = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
    return parse_snmprec(data.decode("utf-8", errors="surrogateescape"))
