"""LLDP-MIB: the device's own LLDP identity and ports, and the neighbours it hears."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from inventory.snmp.values import (
    Cells,
    RawValue,
    Rows,
    Sourced,
    cell_integer,
    cell_text,
    hex_or_text,
    integer_value,
    normalise_rows,
    table_columns,
    text_value,
)

LLDP_LOCAL = "1.0.8802.1.1.2.1.3"
LLDP_LOC_CHASSIS_ID_SUBTYPE = "1.0.8802.1.1.2.1.3.1.0"
LLDP_LOC_CHASSIS_ID = "1.0.8802.1.1.2.1.3.2.0"
LLDP_LOC_SYS_NAME = "1.0.8802.1.1.2.1.3.3.0"
LLDP_LOC_PORT_ENTRY = "1.0.8802.1.1.2.1.3.7.1"
LLDP_REM_ENTRY = "1.0.8802.1.1.2.1.4.1.1"
LLDP_TABLES = (LLDP_LOCAL, LLDP_REM_ENTRY)

# Chassis ID subtypes 4 and port ID subtype 3 are MAC addresses; chassis 5 / port 4 network addresses.
_CHASSIS_MAC, _CHASSIS_ADDRESS = 4, 5
_PORT_MAC, _PORT_ADDRESS = 3, 4


@dataclass(frozen=True)
class LldpLocalPort:
    """One lldpLocPortTable row: the local port number LLDP uses and its ID and description."""

    port_number: int
    port_id: Sourced[str] | None
    description: Sourced[str] | None


@dataclass(frozen=True)
class LldpNeighbour:
    """One lldpRemTable row: on ``local_port_number``, a neighbour with its chassis, port and name."""

    local_port_number: int
    chassis_id: Sourced[str] | None
    port_id: Sourced[str] | None
    port_description: Sourced[str] | None
    system_name: Sourced[str] | None
    system_description: Sourced[str] | None


@dataclass(frozen=True)
class LldpInfo:
    """The local LLDP identity, ports and the neighbours heard."""

    chassis_id: Sourced[str] | None = None
    system_name: Sourced[str] | None = None
    local_ports: tuple[LldpLocalPort, ...] = ()
    neighbours: tuple[LldpNeighbour, ...] = ()
    notes: tuple[str, ...] = ()


def _identifier(
    value: RawValue, oid: str, subtype: int | None, mac_subtype: int, address_subtype: int, notes: list[str]
) -> Sourced[str] | None:
    """Render a chassis or port ID by its subtype: MAC as colon hex, an address as text, else text or hex."""
    if value is None:
        return None
    if isinstance(value, int):
        notes.append(f"{oid}: expected an identifier string, got an integer; skipped")
        return None
    raw = value.encode("utf-8") if isinstance(value, str) else value
    if not raw:
        return None
    if subtype == mac_subtype and len(raw) == 6:
        return Sourced(":".join(f"{byte:02x}" for byte in raw), oid)
    if subtype == address_subtype and len(raw) in (5, 17) and raw[0] in (1, 2):
        return Sourced(str(ipaddress.ip_address(raw[1:])), oid)
    return Sourced(hex_or_text(raw).strip(), oid)


def _cell_identifier(cells: Cells, subtype_column: int, column: int, mac: int, address: int, notes: list[str]) -> Sourced[str] | None:
    cell = cells.get(column)
    if cell is None:
        return None
    subtype = cell_integer(cells, subtype_column, notes)
    return _identifier(cell[1], cell[0], None if subtype is None else subtype.value, mac, address, notes)


def parse_lldp(rows: Rows) -> LldpInfo:
    """Return the LLDP facts in ``rows``; rows with malformed indexes are skipped with a note."""
    notes: list[str] = []
    found = normalise_rows(rows, notes)
    chassis_subtype = integer_value(found.get(LLDP_LOC_CHASSIS_ID_SUBTYPE), LLDP_LOC_CHASSIS_ID_SUBTYPE, notes)
    chassis_id = _identifier(
        found.get(LLDP_LOC_CHASSIS_ID), LLDP_LOC_CHASSIS_ID,
        None if chassis_subtype is None else chassis_subtype.value, _CHASSIS_MAC, _CHASSIS_ADDRESS, notes,
    )
    local_ports = []
    for index, cells in table_columns(found, LLDP_LOC_PORT_ENTRY).items():
        if not index.isdigit():
            notes.append(f"{LLDP_LOC_PORT_ENTRY}.*.{index}: no integer port number; skipped")
            continue
        local_ports.append(
            LldpLocalPort(
                port_number=int(index),
                port_id=_cell_identifier(cells, 2, 3, _PORT_MAC, _PORT_ADDRESS, notes),
                description=cell_text(cells, 4, notes),
            )
        )
    neighbours = []
    for index, cells in table_columns(found, LLDP_REM_ENTRY).items():
        parts = index.split(".")
        if len(parts) != 3:
            notes.append(f"{LLDP_REM_ENTRY}.*.{index}: index is not timeMark.localPort.remIndex; skipped")
            continue
        neighbours.append(
            LldpNeighbour(
                local_port_number=int(parts[1]),
                chassis_id=_cell_identifier(cells, 4, 5, _CHASSIS_MAC, _CHASSIS_ADDRESS, notes),
                port_id=_cell_identifier(cells, 6, 7, _PORT_MAC, _PORT_ADDRESS, notes),
                port_description=cell_text(cells, 8, notes),
                system_name=cell_text(cells, 9, notes),
                system_description=cell_text(cells, 10, notes),
            )
        )
    local_ports.sort(key=lambda port: port.port_number)
    neighbours.sort(key=lambda neighbour: neighbour.local_port_number)
    return LldpInfo(
        chassis_id=chassis_id,
        system_name=text_value(found.get(LLDP_LOC_SYS_NAME), LLDP_LOC_SYS_NAME, notes),
        local_ports=tuple(local_ports),
        neighbours=tuple(neighbours),
        notes=tuple(notes),
    )
