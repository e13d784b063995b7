"""SNMPv2-MIB system group: what a device says it is."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.snmp.values import (
    Rows,
    Sourced,
    integer_value,
    normalise_rows,
    oid_value,
    text_value,
)

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UP_TIME = "1.3.6.1.2.1.1.3.0"
SYS_CONTACT = "1.3.6.1.2.1.1.4.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"
SYSTEM_OIDS = (SYS_DESCR, SYS_OBJECT_ID, SYS_UP_TIME, SYS_CONTACT, SYS_NAME, SYS_LOCATION)


@dataclass(frozen=True)
class SystemInfo:
    """The system group; ``uptime_ticks`` is sysUpTime in hundredths of a second."""

    descr: Sourced[str] | None = None
    object_id: Sourced[str] | None = None
    name: Sourced[str] | None = None
    location: Sourced[str] | None = None
    contact: Sourced[str] | None = None
    uptime_ticks: Sourced[int] | None = None
    notes: tuple[str, ...] = ()


def parse_system(rows: Rows) -> SystemInfo:
    """Return the system group found in ``rows``; missing or malformed values are ``None`` (with a note)."""
    notes: list[str] = []
    found = normalise_rows(rows, notes)
    return SystemInfo(
        descr=text_value(found.get(SYS_DESCR), SYS_DESCR, notes),
        object_id=oid_value(found.get(SYS_OBJECT_ID), SYS_OBJECT_ID, notes),
        name=text_value(found.get(SYS_NAME), SYS_NAME, notes),
        location=text_value(found.get(SYS_LOCATION), SYS_LOCATION, notes),
        contact=text_value(found.get(SYS_CONTACT), SYS_CONTACT, notes),
        uptime_ticks=integer_value(found.get(SYS_UP_TIME), SYS_UP_TIME, notes),
        notes=tuple(notes),
    )
