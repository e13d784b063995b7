"""Where a profile reads a device's identity: an OID, an OID through a regex, sysDescr through a regex, or a list.

A profile's ``identity`` maps ``model``, ``serial``, ``version``, ``manufacturer`` and
``card_version`` (a UPS's or PDU's network card firmware) to one of

- an OID string: the answer as it is;
- ``{oid: OID, regex: PATTERN}``: the answer's first group (else the whole match) when it matches;
- ``{sys_descr: PATTERN}``: the first group (else the whole match) of a match in sysDescr;
- a list of these: the first that gives a value wins (vendors move objects between firmware).

A value that says nothing (empty, ``n/a``, ``unknown``, ``0``, all zeros, ``reserved``, a
vendor's placeholder) gives nothing, so the next source, or the next evidence, is used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inventory.snmp.system import SYS_DESCR
from inventory.snmp.values import RawValue, Sourced, ValueProblem, decode_text, is_oid_text
from opsctl.core.errors import ConfigError

IDENTITY_FIELDS = frozenset({"model", "serial", "version", "manufacturer", "card_version"})

# what agents answer when they have nothing to say; compared whole, case-insensitively
_SAYS_NOTHING = re.compile(
    r"""^(?:
        n/?a | none | null | nil | unknown | undefined | unspecified | unavailable | empty | invalid
      | not[ ._-]?(?:available|applicable|specified|set|supported|present|defined|installed)
      | reserved | default(?:[ _]string)? | to[ ]be[ ]filled[ ]by[ ]o\.?e\.?m\.?
      | (?:system|chassis)?[ ]?serial[ ]?(?:number)? | (?:system[ ])?product[ ]?name | model[ ]?(?:name)?
      | system[ ](?:manufacturer|version)   # a PC board's firmware placeholders
      | 0123456789 | 123456789 | 1234567890
      | [0.:\s_/-]+          # 0, 0.0, 00:00:00:00:00:00, all zeros
      | [x?*#._\s-]+         # XXXXXXXX, ???, ----
    )$""",
    re.IGNORECASE | re.VERBOSE,
)


def says_nothing(text: str) -> bool:
    """Return whether ``text`` is an agent's way of saying it has no value (empty, ``n/a``, all zeros, ...)."""
    stripped = text.strip()
    return not stripped or _SAYS_NOTHING.match(stripped) is not None


@dataclass(frozen=True)
class IdentitySource:
    """One place to read an identity value: ``oid`` (its answer, through ``regex`` if given), or sysDescr
    through ``regex`` when ``oid`` is ``None``."""

    oid: str | None
    regex: re.Pattern[str] | None = None

    def describe(self) -> str:
        """Return the source as a profile states it (``OID``, ``OID =~ /re/``, ``sysDescr =~ /re/``)."""
        if self.oid is None:
            return f"sysDescr =~ /{self.regex.pattern if self.regex else ''}/"
        return self.oid if self.regex is None else f"{self.oid} =~ /{self.regex.pattern}/"


def _oid(value: Any, where: str) -> str:
    if not isinstance(value, str) or not is_oid_text(value.strip(".")):
        raise ConfigError(f"{where}: expected a numeric OID")
    return value.strip(".")


def _regex(value: Any, where: str) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a regular expression")
    try:
        return re.compile(value)
    except re.error as problem:
        raise ConfigError(f"{where}: invalid regular expression: {problem}") from None


def _source(data: Any, where: str) -> IdentitySource:
    if isinstance(data, str):
        return IdentitySource(_oid(data, where))
    if not isinstance(data, dict):
        raise ConfigError(
            f"{where}: expected an OID, {{oid, regex}}, {{sys_descr}} or a list of them"
        )
    unknown = set(data) - {"oid", "regex", "sys_descr"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    if "sys_descr" in data:
        if "oid" in data or "regex" in data:
            raise ConfigError(
                f"{where}: give either {{sys_descr: PATTERN}} or {{oid: OID, regex: PATTERN}}"
            )
        return IdentitySource(None, _regex(data["sys_descr"], f"{where}.sys_descr"))
    if "oid" not in data:
        raise ConfigError(f"{where}: an identity source needs oid or sys_descr")
    regex = None if data.get("regex") is None else _regex(data["regex"], f"{where}.regex")
    return IdentitySource(_oid(data["oid"], f"{where}.oid"), regex)


def identity_sources_from_data(
    data: Any, where: str
) -> tuple[tuple[str, tuple[IdentitySource, ...]], ...]:
    """Return a profile's ``identity`` mapping as (field, sources) pairs sorted by field.

    Raise ``ConfigError`` naming ``where`` and the field when a field is unknown or a source is invalid.
    """
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a mapping of {sorted(IDENTITY_FIELDS)} to identity sources")
    unknown = set(data) - IDENTITY_FIELDS
    if unknown:
        raise ConfigError(
            f"{where}: unknown fields {sorted(unknown)}; expected {sorted(IDENTITY_FIELDS)}"
        )
    fields = []
    for field, value in sorted(data.items()):
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ConfigError(f"{where}.{field}: an empty list of sources")
        fields.append(
            (
                field,
                tuple(
                    _source(
                        item,
                        f"{where}.{field}[{n}]" if isinstance(value, list) else f"{where}.{field}",
                    )
                    for n, item in enumerate(items)
                ),
            )
        )
    return tuple(fields)


def _text(value: RawValue, oid: str, notes: list[str]) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    try:
        return decode_text(value, oid, notes)
    except ValueProblem as problem:
        notes.append(f"{problem}; skipped")
        return None


def _matched(regex: re.Pattern[str] | None, text: str) -> str | None:
    if regex is None:
        return text
    match = regex.search(text)
    if match is None:
        return None
    found = (
        next((group for group in match.groups() if group is not None), None)
        if match.groups()
        else None
    )
    return match.group(0) if found is None else found


def identity_value(
    sources: tuple[IdentitySource, ...], rows: Mapping[str, RawValue], descr: str, notes: list[str]
) -> Sourced[str] | None:
    """Return the first value the ``sources`` give from ``rows`` (and ``descr`` for sysDescr sources), with the
    OID it came from; a value that :func:`says_nothing` is passed over. ``None`` when no source gives one."""
    for source in sources:
        if source.oid is None:
            text: str | None = descr
            oid = SYS_DESCR
        else:
            text = _text(rows.get(source.oid), source.oid, notes)
            oid = source.oid
        if not text:
            continue
        value = _matched(source.regex, text)
        if value is None:
            continue
        value = value.strip()
        if value and not says_nothing(value):
            return Sourced(value, oid)
    return None


def identity_oids(
    identity: tuple[tuple[str, tuple[IdentitySource, ...]], ...],
) -> tuple[tuple[str, str], ...]:
    """Return the (field, OID) pairs the sources read with a GET, in order, each OID once."""
    seen: dict[str, None] = {}
    pairs = []
    for field, sources in identity:
        for source in sources:
            if source.oid is not None and source.oid not in seen:
                seen[source.oid] = None
                pairs.append((field, source.oid))
    return tuple(pairs)
