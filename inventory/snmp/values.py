"""Walked SNMP rows and the tolerant conversions every parser shares.

A row value is what the client or a recording hands over: ``bytes`` for an OCTET STRING,
``int`` for INTEGER, counters, gauges and TimeTicks, ``str`` for an OBJECT IDENTIFIER or an
IpAddress (dotted), ``None`` for a missing value. A value of the wrong kind is skipped with a
note, never raised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

RawValue = bytes | int | str | None
# Parsers take anything shaped like rows; values of an unexpected type are dropped with a note.
Rows = Mapping[str, object] | Iterable[tuple[str, object]]

T = TypeVar("T")

_OID_TEXT = re.compile(r"^\d+(\.\d+)*$")
_MAC_TEXT = re.compile(r"^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$")


@dataclass(frozen=True)
class Sourced(Generic[T]):
    """One discovered value with its provenance: where it came from (``source``) and the OID."""

    value: T
    oid: str
    source: str = "snmp"


class ValueProblem(ValueError):
    """A value that cannot be read as the wanted kind; the message names the OID, never the value."""


def oid_key(oid: str) -> tuple[int, ...]:
    """Return ``oid`` as a tuple of integers, for sorting in SNMP order; raise ``ValueError`` if it is not dotted numbers."""
    if not _OID_TEXT.match(oid):
        raise ValueError("not a numeric OID")
    return tuple(int(part) for part in oid.split("."))


def is_oid_text(text: str) -> bool:
    """Return whether ``text`` is a dotted numeric OID."""
    return bool(_OID_TEXT.match(text))


def normalise_rows(rows: Rows, notes: list[str]) -> dict[str, RawValue]:
    """Return ``rows`` as a dict keyed by numeric OID (leading dot dropped), noting and dropping malformed keys."""
    items: Iterable[tuple[object, object]]
    items = rows.items() if isinstance(rows, Mapping) else rows
    result: dict[str, RawValue] = {}
    for item in items:
        try:
            oid, value = item
        except (TypeError, ValueError):
            notes.append("a row that is not an (OID, value) pair was skipped")
            continue
        if not isinstance(oid, str) or not is_oid_text(oid.lstrip(".")):
            notes.append("a row with a non-numeric OID was skipped")
            continue
        if value is not None and not isinstance(value, bytes | int | str):
            notes.append(f"{oid.lstrip('.')}: unsupported value type {type(value).__name__}, skipped")
            continue
        result[oid.lstrip(".")] = value
    return result


def table_columns(
    rows: Mapping[str, RawValue], entry_oid: str
) -> dict[str, dict[int, tuple[str, RawValue]]]:
    """Split the rows under a table's entry OID into ``{index: {column: (oid, value)}}``, in row order."""
    prefix = entry_oid + "."
    table: dict[str, dict[int, tuple[str, RawValue]]] = {}
    for oid, value in rows.items():
        if not oid.startswith(prefix):
            continue
        column_text, _, index = oid[len(prefix) :].partition(".")
        if not index:
            continue
        table.setdefault(index, {})[int(column_text)] = (oid, value)
    return table


def subtree(rows: Mapping[str, RawValue], prefix: str) -> Iterator[tuple[str, RawValue]]:
    """Yield the rows at or under ``prefix``."""
    dotted = prefix + "."
    for oid, value in rows.items():
        if oid == prefix or oid.startswith(dotted):
            yield oid, value


def decode_text(value: RawValue, oid: str, notes: list[str]) -> str | None:
    """Return an OCTET STRING as text: UTF-8, NULs and surrounding whitespace stripped; undecodable bytes are
    replaced with a note.

    An agent that sends a fixed-size buffer pads its string with NULs ("10.7.110.17" and five NULs in 16 bytes);
    a NUL inside a text (a hostile or broken agent) goes too, and the text around it is kept."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bytes):
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            text = value.decode("utf-8", errors="replace")
            notes.append(f"{oid}: text is not UTF-8; undecodable bytes replaced")
    else:
        raise ValueProblem(f"{oid}: expected a string, got an integer")
    return text.replace("\x00", "").strip()


def text_value(value: RawValue, oid: str, notes: list[str]) -> Sourced[str] | None:
    """Return a non-empty string value with its provenance, or ``None`` (with a note when the type is wrong)."""
    try:
        text = decode_text(value, oid, notes)
    except ValueProblem as problem:
        notes.append(f"{problem}; skipped")
        return None
    return Sourced(text, oid) if text else None


def integer_value(value: RawValue, oid: str, notes: list[str]) -> Sourced[int] | None:
    """Return an integer value with its provenance; a digit string is accepted, anything else is skipped with a note."""
    if value is None:
        return None
    if isinstance(value, bool):
        notes.append(f"{oid}: expected an integer, got a boolean; skipped")
        return None
    if isinstance(value, int):
        return Sourced(value, oid)
    text = value.decode("ascii", errors="replace") if isinstance(value, bytes) else value
    text = text.strip()
    if re.fullmatch(r"-?\d{1,20}", text):
        return Sourced(int(text), oid)
    notes.append(f"{oid}: expected an integer, got a string; skipped")
    return None


def oid_value(value: RawValue, oid: str, notes: list[str]) -> Sourced[str] | None:
    """Return an OBJECT IDENTIFIER value (dotted, no leading dot) with its provenance, or ``None`` with a note."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            notes.append(f"{oid}: expected an OID, got binary data; skipped")
            return None
    if isinstance(value, int):
        notes.append(f"{oid}: expected an OID, got an integer; skipped")
        return None
    text = value.strip().lstrip(".")
    if not is_oid_text(text):
        notes.append(f"{oid}: expected an OID, got text; skipped")
        return None
    return Sourced(text, oid)


def mac_value(value: RawValue, oid: str, notes: list[str]) -> Sourced[str] | None:
    """Return a MAC address as lower-case colon hex; empty or all-zero is ``None``, a wrong length is skipped with a note."""
    if value is None:
        return None
    if isinstance(value, int):
        notes.append(f"{oid}: expected a MAC address, got an integer; skipped")
        return None
    if isinstance(value, str):
        if _MAC_TEXT.match(value.strip()):
            return Sourced(value.strip().replace("-", ":").lower(), oid)
        value = value.encode("latin-1", errors="replace")
    if not value or not any(value):
        return None
    if len(value) not in (6, 8):
        notes.append(f"{oid}: a MAC address of {len(value)} bytes; skipped")
        return None
    return Sourced(":".join(f"{byte:02x}" for byte in value), oid)


def hex_or_text(value: bytes) -> str:
    """Return bytes as text when they are printable UTF-8, otherwise as colon hex."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return ":".join(f"{byte:02x}" for byte in value)
    if text and all(character.isprintable() for character in text):
        return text
    return ":".join(f"{byte:02x}" for byte in value)


def enum_name(number: int, names: Mapping[int, str]) -> str:
    """Return the name of an enumerated INTEGER, or ``unknown(N)`` for a number the MIB does not define."""
    return names.get(number, f"unknown({number})")


Cells = Mapping[int, tuple[str, RawValue]]


def cell_text(cells: Cells, column: int, notes: list[str]) -> Sourced[str] | None:
    """Return a table cell as text (see :func:`text_value`), ``None`` when the column is absent."""
    cell = cells.get(column)
    return None if cell is None else text_value(cell[1], cell[0], notes)


def cell_integer(cells: Cells, column: int, notes: list[str]) -> Sourced[int] | None:
    """Return a table cell as an integer (see :func:`integer_value`), ``None`` when the column is absent."""
    cell = cells.get(column)
    return None if cell is None else integer_value(cell[1], cell[0], notes)


def cell_oid(cells: Cells, column: int, notes: list[str]) -> Sourced[str] | None:
    """Return a table cell as an OID (see :func:`oid_value`), ``None`` when the column is absent."""
    cell = cells.get(column)
    return None if cell is None else oid_value(cell[1], cell[0], notes)


def cell_enum(cells: Cells, column: int, names: Mapping[int, str], notes: list[str]) -> Sourced[str] | None:
    """Return an enumerated INTEGER cell by name (``unknown(N)`` for an undefined number)."""
    number = cell_integer(cells, column, notes)
    return None if number is None else Sourced(enum_name(number.value, names), number.oid)


def cell_mac(cells: Cells, column: int, notes: list[str]) -> Sourced[str] | None:
    """Return a table cell as a MAC address (see :func:`mac_value`), ``None`` when the column is absent."""
    cell = cells.get(column)
    return None if cell is None else mac_value(cell[1], cell[0], notes)
