"""Metric profiles as data: load ``monitoring/profiles/*.yaml`` and turn a device's SNMP rows into samples.

A profile names the MIB it reads, which devices it is for (``select``: ``standard`` profiles
are tried on every device; others need one of ``vendors`` in the device's manufacturer, and
``roles`` when given), and its tables. A table's metrics name a family of the monitoring
catalogue and the numeric OIDs it is read from (the first source that answers wins, so a
64-bit counter falls back to its 32-bit column), with the table's own scale and precision
applied and a ``valid`` range in base units. A value that is NaN, not a number, outside its
range or not in its ``map`` is *invalid*: counted and named, never exposed. A UPS profile's
``ups_status`` maps status OIDs to NUT's flags. Evaluation (:func:`evaluate`) is pure: rows in,
samples out, so every profile is tested on recordings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory.snmp.values import RawValue, is_oid_text
from monitoring.catalogue import DEVICE_LABELS, FAMILIES
from opsctl.core.errors import ConfigError

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"


@dataclass(frozen=True)
class Source:
    """One OID a metric may be read from, and the factor that turns its value into base units."""

    oid: str
    scale: float = 1.0


@dataclass(frozen=True)
class Condition:
    """A row is read only if the value at ``oid`` (a column, or a scalar ending in ``.0``) is one of ``values``."""

    oid: str
    values: frozenset[int]


@dataclass(frozen=True)
class MetricSpec:
    """How one family's value is read from a table row (see the module's docstring)."""

    family: str
    sources: tuple[Source, ...] = ()
    constant: float | None = None
    value_map: Mapping[int, float] | None = None
    when: tuple[Condition, ...] = ()
    multiply_by: str | None = None
    entity_scale: tuple[str, str] | None = None  # (entPhySensorScale, entPhySensorPrecision) columns
    fahrenheit_when: Condition | None = None
    valid: tuple[float, float] | None = None


@dataclass(frozen=True)
class LabelSpec:
    """A label read from the first of ``oids`` that has text at the row's index (or ``index_slice`` of it)."""

    name: str
    oids: tuple[str, ...] = ()
    from_index: bool = False
    index_slice: tuple[int, int] | None = None


@dataclass(frozen=True)
class TableSpec:
    """A table (or, with ``scalar``, a group of scalars fetched by GET) and the metrics read from its rows."""

    name: str
    metrics: tuple[MetricSpec, ...]
    labels: tuple[LabelSpec, ...] = ()
    scalar: bool = False
    rows_from: str | None = None

    def oids(self) -> tuple[str, ...]:
        """Every OID this table reads: columns to walk, or scalars to GET (in a column table, those ending in ``.0``)."""
        found: dict[str, None] = {}
        if self.rows_from:
            found[self.rows_from] = None
        for label in self.labels:
            found.update(dict.fromkeys(label.oids))
        for metric in self.metrics:
            found.update(dict.fromkeys(source.oid for source in metric.sources))
            found.update(dict.fromkeys(condition.oid for condition in metric.when))
            if metric.multiply_by:
                found[metric.multiply_by] = None
            if metric.entity_scale:
                found.update(dict.fromkeys(metric.entity_scale))
            if metric.fahrenheit_when:
                found[metric.fahrenheit_when.oid] = None
        return tuple(found)

    def walk_oids(self) -> tuple[str, ...]:
        """The columns to walk (none for a scalar group)."""
        return () if self.scalar else tuple(oid for oid in self.oids() if not oid.endswith(".0"))

    def get_oids(self) -> tuple[str, ...]:
        """The scalars to GET."""
        return self.oids() if self.scalar else tuple(oid for oid in self.oids() if oid.endswith(".0"))


@dataclass(frozen=True)
class StatusSpec:
    """A status OID and the NUT flags each of its values means (``"OL TRIM"``; ``""`` for none)."""

    oid: str
    flags: Mapping[int, tuple[str, ...]]


@dataclass(frozen=True)
class Profile:
    """One metric profile: its MIB, which devices it is for, its tables and UPS status OIDs."""

    name: str
    mib: str
    tables: tuple[TableSpec, ...]
    standard: bool = False
    roles: tuple[str, ...] = ()
    vendors: tuple[str, ...] = ()
    ups_status: tuple[StatusSpec, ...] = ()
    path: str = ""

    def applies_to(self, role: str, manufacturer: str | None) -> bool:
        """Whether a device of ``role`` made by ``manufacturer`` should be asked for this profile's tables.

        A standard profile is asked of every device (what it does not answer is dropped after the
        first poll); a vendor profile only of that vendor's devices, and of ``roles`` when given.
        """
        if self.roles and role not in self.roles and role != "unknown":
            return False
        if self.standard:
            return True
        maker = (manufacturer or "").casefold()
        return any(vendor.casefold() in maker for vendor in self.vendors)


@dataclass(frozen=True)
class Sample:
    """One value of a family, with the profile's own labels (the device's are added by the poller)."""

    family: str
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(frozen=True)
class Evaluation:
    """What one device's rows gave: samples, NUT status flags (``None``: no status OID answered),
    the tables that had rows, and each invalid value as ``family at OID: why``."""

    samples: tuple[Sample, ...]
    status_flags: tuple[str, ...] | None
    answered_tables: frozenset[str]
    invalid: tuple[str, ...] = field(default=())


# ----------------------------------------------------------------------------- loading


def _fail(path: Path, where: str, why: str) -> ConfigError:
    return ConfigError(f"metric profile {where}: {why}", path=str(path))


def _oid(path: Path, where: str, value: Any) -> str:
    text = str(value).strip(".") if value is not None else ""
    if not is_oid_text(text):
        raise _fail(path, where, f"{value!r} is not a numeric OID")
    return text


def _condition(path: Path, where: str, data: Any) -> Condition:
    if not isinstance(data, Mapping) or "oid" not in data or not isinstance(data.get("in"), list):
        raise _fail(path, where, "a condition is {oid: OID, in: [values]}")
    return Condition(_oid(path, where, data["oid"]), frozenset(int(value) for value in data["in"]))


def _metric(path: Path, where: str, data: Mapping[str, Any], table_labels: Sequence[str]) -> MetricSpec:
    known = {"family", "sources", "constant", "map", "when", "multiply_by", "entity_scale", "fahrenheit_when", "valid"}
    unknown = set(data) - known
    if unknown:
        raise _fail(path, where, f"unknown keys {sorted(unknown)}; expected some of {sorted(known)}")
    name = str(data.get("family", ""))
    family = FAMILIES.get(name)
    if family is None:
        raise _fail(path, where, f"family {name!r} is not in the monitoring catalogue")
    expected = (*DEVICE_LABELS, *table_labels)
    if family.labels != expected:
        raise _fail(path, where, f"{name} has labels {list(family.labels)} in the catalogue, the table gives {list(expected)}")
    sources = tuple(
        Source(_oid(path, f"{where}.sources", item.get("oid")), float(item.get("scale", 1.0)))
        for item in data.get("sources", ()) if isinstance(item, Mapping)
    )
    constant = data.get("constant")
    if not sources and constant is None:
        raise _fail(path, where, "a metric needs sources or a constant")
    scale = data.get("entity_scale")
    valid = data.get("valid")
    if valid is not None and (not isinstance(valid, list) or len(valid) != 2):
        raise _fail(path, where, "valid is [minimum, maximum] in base units")
    return MetricSpec(
        family=name,
        sources=sources,
        constant=None if constant is None else float(constant),
        value_map=None if data.get("map") is None else {int(k): float(v) for k, v in data["map"].items()},
        when=tuple(_condition(path, f"{where}.when", item) for item in data.get("when", ())),
        multiply_by=None if data.get("multiply_by") is None else _oid(path, f"{where}.multiply_by", data["multiply_by"]),
        entity_scale=None if scale is None else (
            _oid(path, f"{where}.entity_scale", scale.get("scale")),
            _oid(path, f"{where}.entity_scale", scale.get("precision")),
        ),
        fahrenheit_when=None if data.get("fahrenheit_when") is None
        else _condition(path, f"{where}.fahrenheit_when", data["fahrenheit_when"]),
        valid=None if valid is None else (float(valid[0]), float(valid[1])),
    )


def _label(path: Path, where: str, data: Mapping[str, Any]) -> LabelSpec:
    index_slice = data.get("index_slice")
    return LabelSpec(
        name=str(data["name"]),
        oids=tuple(_oid(path, where, oid) for oid in data.get("oids", ())),
        from_index=bool(data.get("index", False)),
        index_slice=None if index_slice is None else (int(index_slice[0]), int(index_slice[1])),
    )


def _table(path: Path, where: str, data: Mapping[str, Any]) -> TableSpec:
    labels = tuple(_label(path, f"{where}.labels", item) for item in data.get("labels", ()))
    names = [label.name for label in labels]
    metrics = tuple(
        _metric(path, f"{where}.metrics[{number}]", item, names)
        for number, item in enumerate(data.get("metrics", ()))
    )
    if not metrics:
        raise _fail(path, where, "a table needs metrics")
    rows_from = data.get("rows_from")
    return TableSpec(
        name=str(data["name"]), metrics=metrics, labels=labels, scalar=bool(data.get("scalar", False)),
        rows_from=None if rows_from is None else _oid(path, f"{where}.rows_from", rows_from),
    )


def profile_from_mapping(data: Mapping[str, Any], path: Path) -> Profile:
    """Build a profile from a parsed file; raise ConfigError naming the file and the part that is wrong."""
    if not isinstance(data, Mapping) or not data.get("name") or not data.get("mib"):
        raise _fail(path, "", "a profile needs name: and mib:")
    name = str(data["name"])
    select = data.get("select") or {}
    standard = bool(select.get("standard", False))
    vendors = tuple(str(vendor) for vendor in select.get("vendors", ()))
    if not standard and not vendors:
        raise _fail(path, name, "select: needs standard: true or vendors:")
    statuses = tuple(
        StatusSpec(
            _oid(path, f"{name}.ups_status", item.get("oid")),
            {int(key): tuple(str(value or "").split()) for key, value in (item.get("flags") or {}).items()},
        )
        for item in data.get("ups_status", ())
    )
    return Profile(
        name=name,
        mib=str(data["mib"]),
        tables=tuple(_table(path, f"{name}.tables[{n}]", item) for n, item in enumerate(data.get("tables", ()))),
        standard=standard,
        roles=tuple(str(role) for role in select.get("roles", ())),
        vendors=vendors,
        ups_status=statuses,
        path=str(path),
    )


def load_profiles(directory: Path = PROFILES_DIR) -> tuple[Profile, ...]:
    """Every profile in ``directory``'s ``*.yaml`` files, by file name; raise ConfigError on a bad file or a duplicate name."""
    from opsctl.core.yamlfile import load_yaml

    profiles: list[Profile] = []
    for path in sorted(directory.glob("*.yaml")):
        profile = profile_from_mapping(load_yaml(path).data, path)
        if any(other.name == profile.name for other in profiles):
            raise _fail(path, profile.name, "two profiles share this name")
        profiles.append(profile)
    return tuple(profiles)


# ----------------------------------------------------------------------------- evaluation


def _number(value: RawValue) -> float | None:
    """A row value as a number: integers as they are, text that reads as a number (some agents send
    readings as strings); ``None`` for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return float(value)
    if isinstance(value, bytes | str):
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        try:
            return float(text.strip())
        except ValueError:
            return None
    return None


def _text(value: RawValue) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip().strip("\x00").strip()
    return "" if value is None else str(value).strip()


def _at(oid: str, index: str | None) -> str:
    # a scalar (ending in .0) is the same for every row of a table
    return oid if index is None or oid.endswith(".0") else f"{oid}.{index}"


def _indices(rows: Mapping[str, RawValue], columns: Iterable[str]) -> list[str]:
    found: dict[str, None] = {}
    for column in columns:
        prefix = column + "."
        for oid in rows:
            if oid.startswith(prefix):
                found[oid[len(prefix):]] = None
    return sorted(found, key=lambda index: tuple(int(part) for part in index.split(".") if part.isdigit()))


def _label_value(spec: LabelSpec, rows: Mapping[str, RawValue], index: str) -> str:
    if spec.from_index:
        return index
    part = index
    if spec.index_slice is not None:
        part = ".".join(index.split(".")[spec.index_slice[0]:spec.index_slice[1]])
    for oid in spec.oids:
        text = _text(rows.get(f"{oid}.{part}"))
        if text:
            return text
    return part


def _matches(condition: Condition, rows: Mapping[str, RawValue], index: str | None) -> bool:
    value = _number(rows.get(_at(condition.oid, index)))
    return value is not None and int(value) in condition.values


def _metric_value(spec: MetricSpec, rows: Mapping[str, RawValue], index: str | None) -> tuple[float | None, str]:
    """The metric's value in base units, or ``(None, "")`` when the row has none, or ``(None, why)`` when invalid."""
    if spec.constant is not None:
        return spec.constant, ""
    for source in spec.sources:
        oid = _at(source.oid, index)
        raw = rows.get(oid)
        if raw is None:
            continue
        value = _number(raw)
        if value is None:
            return None, f"{spec.family} at {oid}: not a number"
        if spec.value_map is not None:
            if int(value) not in spec.value_map:
                return None, f"{spec.family} at {oid}: {int(value)} is not a known value"
            return spec.value_map[int(value)], ""
        value *= source.scale
        if spec.multiply_by is not None:
            factor = _number(rows.get(_at(spec.multiply_by, index)))
            if factor is None:
                return None, f"{spec.family} at {oid}: no unit size at {_at(spec.multiply_by, index)}"
            value *= factor
        if spec.entity_scale is not None:
            scale = _number(rows.get(_at(spec.entity_scale[0], index)))
            precision = _number(rows.get(_at(spec.entity_scale[1], index)))
            value *= 10.0 ** (3 * ((9 if scale is None else int(scale)) - 9))
            value *= 10.0 ** -(0 if precision is None else int(precision))
        if spec.fahrenheit_when is not None and _matches(spec.fahrenheit_when, rows, index):
            value = (value - 32.0) * 5.0 / 9.0
        if source.scale != 1.0 or spec.entity_scale is not None or spec.fahrenheit_when is not None:
            value = _tidy(value)
        if math.isnan(value) or math.isinf(value):
            return None, f"{spec.family} at {oid}: not a finite number"
        if spec.valid is not None and not spec.valid[0] <= value <= spec.valid[1]:
            return None, f"{spec.family} at {oid}: {value:g} is outside {spec.valid[0]:g}..{spec.valid[1]:g}"
        return value, ""
    return None, ""


def _tidy(value: float) -> float:
    """A scaled reading without binary noise (41 x 0.01 is 0.41, not 0.41000000000000003); 12 digits is
    more than any sensor has. Unscaled counters never come here: a 64-bit counter keeps every digit."""
    return float(f"{value:.12g}") if math.isfinite(value) else value


def _status_flags(profiles: Sequence[Profile], rows: Mapping[str, RawValue]) -> tuple[str, ...] | None:
    flags: dict[str, None] = {}
    answered = False
    for profile in profiles:
        for status in profile.ups_status:
            value = _number(rows.get(status.oid))
            if value is None:
                continue
            answered = True
            flags.update(dict.fromkeys(status.flags.get(int(value), ())))
    return tuple(flags) if answered else None


def redundant_columns(profiles: Sequence[Profile], rows: Mapping[str, RawValue]) -> frozenset[str]:
    """The fallback columns ``rows`` show a device does not need: where a metric's first source (a 64-bit
    counter, ifHighSpeed) or a label's first column (ifName) answered for every row of its table, the
    later ones are never read, so the poller need not walk them until it probes the device again."""
    redundant: set[str] = set()
    for profile in profiles:
        for table in profile.tables:
            if table.scalar:
                continue
            choices = [tuple(source.oid for source in metric.sources) for metric in table.metrics]
            choices += [label.oids for label in table.labels if label.index_slice is None]
            for oids in choices:
                if len(oids) < 2:
                    continue
                every = set(_indices(rows, oids))
                first = {index for index in _indices(rows, oids[:1]) if _text(rows.get(f"{oids[0]}.{index}")) != ""
                         or isinstance(rows.get(f"{oids[0]}.{index}"), int)}
                if every and first >= every:
                    redundant.update(oids[1:])
    return frozenset(redundant)


def evaluate(profiles: Sequence[Profile], rows: Mapping[str, RawValue]) -> Evaluation:
    """The samples ``profiles`` read from a device's ``rows`` (numeric OID to value), its UPS status flags,
    which tables had rows, and the invalid values (not exposed). Two rows with the same labels keep
    the first; the next gets its index appended to its first label, so no series is lost or doubled.
    A value without labels (a UPS's charge) read by two profiles keeps the first profile's: vendor
    profiles sort before the standard ones they refine (``apc-powernet-ups`` before ``ups-mib``)."""
    samples: list[Sample] = []
    invalid: list[str] = []
    answered: set[str] = set()
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for profile in profiles:
        for table in profile.tables:
            key = f"{profile.name}/{table.name}"
            if table.scalar:
                indices: list[str | None] = [None]
                if any(oid in rows for oid in table.get_oids()):
                    answered.add(key)
            else:
                columns = [table.rows_from] if table.rows_from else [s.oid for m in table.metrics for s in m.sources]
                indices = list(_indices(rows, columns))
                if indices:
                    answered.add(key)
            for index in indices:
                labels = tuple((spec.name, _label_value(spec, rows, index)) for spec in table.labels) if index else ()
                for metric in table.metrics:
                    if not all(_matches(condition, rows, index) for condition in metric.when):
                        continue
                    value, why = _metric_value(metric, rows, index)
                    if value is None:
                        if why:
                            invalid.append(why)
                        continue
                    these = labels
                    if (metric.family, these) in seen:
                        if not these:
                            continue  # a device's scalar read by two profiles: the first (vendor) one's wins
                        these = ((these[0][0], f"{these[0][1]} ({index})"), *these[1:])
                    seen.add((metric.family, these))
                    samples.append(Sample(metric.family, these, value))
    return Evaluation(tuple(samples), _status_flags(profiles, rows), frozenset(answered), tuple(invalid))


__all__ = [
    "PROFILES_DIR",
    "Evaluation",
    "MetricSpec",
    "Profile",
    "Sample",
    "TableSpec",
    "evaluate",
    "load_profiles",
    "profile_from_mapping",
    "redundant_columns",
]
