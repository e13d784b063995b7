"""UPS-MIB (RFC 1628) upsIdent: who made the UPS and what it runs."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.snmp.values import Rows, Sourced, normalise_rows, text_value

UPS_IDENT = "1.3.6.1.2.1.33.1.1"
UPS_IDENT_MANUFACTURER = "1.3.6.1.2.1.33.1.1.1.0"
UPS_IDENT_MODEL = "1.3.6.1.2.1.33.1.1.2.0"
UPS_IDENT_SOFTWARE = "1.3.6.1.2.1.33.1.1.3.0"
UPS_IDENT_AGENT_SOFTWARE = "1.3.6.1.2.1.33.1.1.4.0"
UPS_IDENT_NAME = "1.3.6.1.2.1.33.1.1.5.0"


@dataclass(frozen=True)
class UpsIdentity:
    """upsIdent; every value is ``None`` when the device does not speak UPS-MIB."""

    manufacturer: Sourced[str] | None = None
    model: Sourced[str] | None = None
    software_version: Sourced[str] | None = None
    agent_software_version: Sourced[str] | None = None
    name: Sourced[str] | None = None
    notes: tuple[str, ...] = ()

    @property
    def present(self) -> bool:
        """Whether the device answered any upsIdent value."""
        return any((self.manufacturer, self.model, self.software_version, self.agent_software_version, self.name))


def parse_ups_identity(rows: Rows) -> UpsIdentity:
    """Return upsIdent from ``rows``; a value of the wrong type is skipped with a note."""
    notes: list[str] = []
    found = normalise_rows(rows, notes)

    def text(oid: str) -> Sourced[str] | None:
        return text_value(found.get(oid), oid, notes)

    return UpsIdentity(
        manufacturer=text(UPS_IDENT_MANUFACTURER),
        model=text(UPS_IDENT_MODEL),
        software_version=text(UPS_IDENT_SOFTWARE),
        agent_software_version=text(UPS_IDENT_AGENT_SOFTWARE),
        name=text(UPS_IDENT_NAME),
        notes=tuple(notes),
    )
