"""A unit's model, serial and firmware from the identity objects its vendor's MIBs name, harvested into a table.

``inventory/profiles/identity-objects.tsv`` (built by ``scripts/identity-objects`` from the public
netdisco/netdisco-mibs repository; its header names the commit) lists, per enterprise number and
field, the best few objects of the vendor's MIBs that hold a unit's ``model``, ``serial`` or
``version`` (``xupsIdentModel``, ``fnSysSerial``, ``panSysSwVersion``), each with its OID and rank.
For a device whose sysObjectID is under that enterprise, and whose model, serial or version no
stronger evidence gave, :data:`PER_FIELD` candidates a field are read with one GETNEXT, then the
next ones while a field is still missing, at most :data:`ROUNDS` rounds (those sharing the most
leading arcs with its sysObjectID first, then by rank): a scalar answers
at ``.0``, a column at its table's first row, whatever its index (Schleifenbauer's unit 210,
TiMOS's chassis at ``1.50331649``). The first candidate that answers a plausible value wins; its
provenance names the instance read, the descriptor and the module
("1.3.6.1.4.1.534.1.1.2.0 xupsIdentModel (XUPS-MIB, harvested)"). Never for the enterprise numbers
of SNMP agents' software (net-snmp, UCD-SNMP, Windows): their trees say nothing of the hardware.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from inventory.snmp.enterprises import AGENT_ENTERPRISES, ENTERPRISES, enterprise_number
from inventory.snmp.identity import IdentitySource, identity_value
from inventory.snmp.values import RawValue, Sourced, is_oid_text, oid_key
from opsctl.core.errors import ConfigError

IDENTITY_OBJECTS_PATH = Path(__file__).resolve().parent.parent / "profiles" / "identity-objects.tsv"
HARVESTED_FIELDS = ("model", "serial", "version")
# candidates read per field and round: with three fields, one GETNEXT of at most 15 OIDs a round
PER_FIELD = 5
# rounds at most: the next 5 a field are read only when a field is still missing after a round
ROUNDS = 3
# longer than this is a description, not a model or a serial
_LONGEST_VALUE = 64
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class IdentityObject:
    """One harvested object: the enterprise whose devices answer it, the field it holds, its OID (no instance: it
    is read with GETNEXT), its rank among the enterprise's objects for that field (1 is best), and its MIB
    descriptor and module."""

    enterprise: int
    field: str
    oid: str
    rank: int
    descriptor: str
    module: str
    # a card's, a slot's or a shelf's object: the unit's last resort, read after every object of the unit itself
    part: bool = False

    def provenance(self, instance: str) -> str:
        """Return what a value read from this object's ``instance`` says of its origin: the instance's OID, the
        descriptor and the module (and, for a part's object, that it is the first card's or slot's)."""
        whose = ", harvested: the first card's or slot's" if self.part else ", harvested"
        return f"{instance} {self.descriptor} ({self.module}{whose})"


def parse_identity_objects(text: str, where: str) -> tuple[IdentityObject, ...]:
    """Return the objects of the table ``text``; raise ``ConfigError`` naming ``where`` and the line when a line is
    not ``enterprise, field, OID, rank, descriptor, module`` with a number, a known field, a numeric OID and a rank,
    and optionally ``part`` (a card's, a slot's or a shelf's object)."""
    objects = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) not in (6, 7) or cells[6:] not in ([], ["part"]):
            raise ConfigError(
                f"{where}:{number}: expected enterprise, field, OID, rank, descriptor and module, then `part` or nothing"
            )
        enterprise, field, oid, rank, descriptor, module = cells[:6]
        if not enterprise.isdigit() or not rank.isdigit():
            raise ConfigError(f"{where}:{number}: the enterprise and the rank are numbers")
        if field not in HARVESTED_FIELDS:
            raise ConfigError(f"{where}:{number}: field {field!r} is not one of {list(HARVESTED_FIELDS)}")
        if not is_oid_text(oid):
            raise ConfigError(f"{where}:{number}: {oid!r} is not a numeric OID")
        objects.append(IdentityObject(int(enterprise), field, oid, int(rank), descriptor, module, len(cells) == 7))
    return tuple(objects)


def load_identity_objects(path: Path = IDENTITY_OBJECTS_PATH) -> Mapping[int, tuple[IdentityObject, ...]]:
    """Return the table at ``path`` by enterprise number, each enterprise's objects by field and rank; raise
    ``ConfigError`` when it cannot be read or a line is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as problem:
        raise ConfigError(f"{path}: cannot read the identity objects: {problem.strerror}") from None
    found: dict[int, list[IdentityObject]] = {}
    for item in parse_identity_objects(text, path.name):
        found.setdefault(item.enterprise, []).append(item)
    return {
        number: tuple(sorted(items, key=lambda item: (HARVESTED_FIELDS.index(item.field), item.rank)))
        for number, items in found.items()
    }


@functools.cache
def builtin_identity_objects() -> Mapping[int, tuple[IdentityObject, ...]]:
    """Return the table shipped in ``inventory/profiles/identity-objects.tsv`` (read once)."""
    return load_identity_objects(IDENTITY_OBJECTS_PATH)


def answered_enterprises(rows: Mapping[str, RawValue]) -> tuple[int, ...]:
    """Return the enterprise numbers, agents' aside, under which ``rows`` hold an answer, in order."""
    found = {enterprise_number(key) for key in rows if key.startswith(ENTERPRISES)}
    return tuple(sorted(number for number in found if number is not None and number not in AGENT_ENTERPRISES))


def enterprises_to_read(
    object_id: str,
    rows: Mapping[str, RawValue] | None = None,
    table: Mapping[int, tuple[IdentityObject, ...]] | None = None,
) -> tuple[int, ...]:
    """Return whose objects to read: the sysObjectID's enterprise when the table holds objects for it; else (an SNMP
    agent's sysObjectID, such as net-snmp's on an appliance, or a maker whose MIBs were not harvested) the other
    enterprises the device answered under (``rows``), those the table holds objects for."""
    objects = builtin_identity_objects() if table is None else table
    number = enterprise_number(object_id)
    if number is not None and number not in AGENT_ENTERPRISES and number in objects:
        return (number,)
    return tuple(other for other in answered_enterprises(rows or {}) if other in objects)


def census_wanted(
    object_id: str,
    missing: Collection[str],
    rows: Mapping[str, RawValue],
    table: Mapping[int, tuple[IdentityObject, ...]] | None = None,
) -> bool:
    """Return whether discovery should look for the enterprises a device answers under: a field is missing and
    neither the sysObjectID nor what ``rows`` hold names an enterprise with harvested objects."""
    return bool(missing) and not enterprises_to_read(object_id, rows, table)


def candidates(
    object_id: str,
    missing: Collection[str],
    table: Mapping[int, tuple[IdentityObject, ...]] | None = None,
    rows: Mapping[str, RawValue] | None = None,
    per_field: int = PER_FIELD,
) -> tuple[IdentityObject, ...]:
    """Return the objects to read for the ``missing`` fields of a device whose sysObjectID is ``object_id``, of the
    :func:`enterprises_to_read` (``rows`` are what it answered so far): at most ``per_field`` a field, by field,
    the unit's own before a part's, then those sharing the most leading arcs with ``object_id``, then rank; none
    when no enterprise has objects."""
    if not missing:
        return ()
    chosen_table = builtin_identity_objects() if table is None else table
    objects = [item for number in enterprises_to_read(object_id, rows, chosen_table) for item in chosen_table[number]]
    device = object_id.strip().lstrip(".").split(".")
    chosen: list[IdentityObject] = []
    for field in HARVESTED_FIELDS:
        if field in missing:
            # a product line's objects often sit beside its sysObjectIDs: the nearest first, then by rank
            ranked = sorted(
                (item for item in objects if item.field == field),
                key=lambda item: (item.part, -_shared_arcs(item.oid.split("."), device), item.rank),
            )
            chosen.extend(ranked[:per_field])
    return tuple(chosen)


def _shared_arcs(oid: list[str], other: list[str]) -> int:
    shared = 0
    for mine, theirs in zip(oid, other, strict=False):
        if mine != theirs:
            break
        shared += 1
    return shared


def candidate_oids(
    object_id: str,
    missing: Collection[str],
    table: Mapping[int, tuple[IdentityObject, ...]] | None = None,
    rows: Mapping[str, RawValue] | None = None,
    per_field: int = PER_FIELD,
) -> tuple[str, ...]:
    """Return the object OIDs of :func:`candidates`, each once (at most ``per_field`` a field)."""
    return tuple(dict.fromkeys(item.oid for item in candidates(object_id, missing, table, rows, per_field)))


def plausible(field: str, value: str, sys_name: str = "") -> bool:
    """Return whether ``value`` can be the unit's ``field``: printable, at most 64 characters; a version has a
    digit; a serial is one or two words with a digit (a word alone, "Main" or "SerialNumber", is a name or a
    placeholder); a model is not the device's sysName."""
    if _CONTROL.search(value) or len(value) > _LONGEST_VALUE:
        return False
    if field == "version":
        return re.search(r"[0-9]", value) is not None
    if field == "serial":
        return len(value.split()) <= 2 and len(value) >= 3 and re.search(r"[0-9]", value) is not None
    return value.casefold() != sys_name.strip().casefold() and re.search(r"[A-Za-z0-9]", value) is not None


def first_instance(rows: Mapping[str, RawValue], oid: str, under: Collection[str] = ()) -> str | None:
    """Return the first instance of the object ``oid`` that ``rows`` hold (in SNMP order: what GETNEXT answers),
    or ``None``; ``under`` narrows the search to those keys when given (the enterprise's, found once)."""
    found = column_instances(rows, oid, under)
    return found[0] if found else None


def column_instances(rows: Mapping[str, RawValue], oid: str, under: Collection[str] = ()) -> list[str]:
    """Return the instances of the object ``oid`` that ``rows`` hold, in SNMP order (a scalar's ``.0`` alone);
    ``under`` narrows the search to those keys when given (the enterprise's, found once: :func:`rows_under`)."""
    if f"{oid}.0" in rows:
        return [f"{oid}.0"]
    prefix = oid + "."
    return sorted((key for key in (under or rows) if key.startswith(prefix)), key=oid_key)


def answered_value(
    item: IdentityObject, rows: Mapping[str, RawValue], sys_name: str = "", notes: list[str] | None = None,
    under: Collection[str] = (),
) -> Sourced[str] | None:
    """Return the value of the first row of ``item``'s object in ``rows`` that carries a real, :func:`plausible`
    value (a table's first rows are often empty: an unused slot, Eltek's first control unit), with its provenance;
    ``None`` when no row read does."""
    for instance in column_instances(rows, item.oid, under):
        value = identity_value((IdentitySource(instance),), rows, "", [] if notes is None else notes)
        if value is not None and plausible(item.field, value.value, sys_name):
            return Sourced(value.value, item.provenance(instance))
    return None


def rows_under(rows: Mapping[str, RawValue], items: Collection[IdentityObject]) -> list[str]:
    """Return the keys of ``rows`` under the enterprises of ``items`` (searched once, then each object among them)."""
    prefixes = tuple(f"{ENTERPRISES}{number}." for number in {item.enterprise for item in items})
    return [key for key in rows if key.startswith(prefixes)] if prefixes else []


def continuations(
    rows: Mapping[str, RawValue], items: Collection[IdentityObject], sys_name: str = ""
) -> dict[str, str]:
    """Return, for each column of ``items`` whose rows read so far are all empty or implausible, its last instance
    read mapped to the column's OID: a GETNEXT from there reads its next row, and an answer outside the column
    (the next object) is no row of it. A scalar, or a column not read at all, is not continued."""
    found: dict[str, str] = {}
    under = rows_under(rows, items)
    for item in items:
        instances = column_instances(rows, item.oid, under)
        if not instances or instances == [f"{item.oid}.0"]:
            continue
        if answered_value(item, rows, sys_name, under=under) is None:
            found[instances[-1]] = item.oid
    return found


def harvested_identity(
    rows: Mapping[str, RawValue],
    object_id: str,
    missing: Collection[str],
    *,
    sys_name: str = "",
    notes: list[str] | None = None,
    table: Mapping[int, tuple[IdentityObject, ...]] | None = None,
) -> dict[str, Sourced[str]]:
    """Return, for each of the ``missing`` fields, the first of its :func:`candidates` with a row in ``rows`` that
    carries a real, :func:`plausible` value (:func:`answered_value`), its provenance naming the instance and the
    object; a field no candidate answers is left out."""
    found: dict[str, Sourced[str]] = {}
    chosen = candidates(object_id, missing, table, rows, PER_FIELD * ROUNDS)
    if not chosen:
        return found
    under = rows_under(rows, chosen)
    for item in chosen:
        if item.field in found:
            continue
        value = answered_value(item, rows, sys_name, notes, under)
        if value is not None:
            found[item.field] = value
    return found
