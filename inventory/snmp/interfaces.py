"""IF-MIB ifTable and ifXTable: one record per interface, ifXTable values preferred."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.snmp.values import (
    Rows,
    Sourced,
    cell_enum,
    cell_integer,
    cell_mac,
    cell_text,
    normalise_rows,
    table_columns,
)

IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IF_X_ENTRY = "1.3.6.1.2.1.31.1.1.1"
INTERFACE_TABLES = (IF_ENTRY, IF_X_ENTRY)

# ifTable columns
_DESCR, _TYPE, _MTU, _SPEED, _PHYS_ADDRESS, _ADMIN, _OPER = 2, 3, 4, 5, 6, 7, 8
# ifXTable columns
_X_NAME, _X_HIGH_SPEED, _X_ALIAS = 1, 15, 18

# ifSpeed saturates at 2^32-1 for links of 4.29 Gbit/s and more.
_SPEED_SATURATED = 4294967295

STATUS_NAMES = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}

# IANAifType, the values seen on servers, switches and their virtual ports.
IF_TYPE_NAMES = {
    1: "other", 6: "ethernetCsmacd", 23: "ppp", 24: "softwareLoopback", 32: "frameRelay",
    37: "atm", 53: "propVirtual", 56: "fibreChannel", 62: "fastEther", 69: "fastEtherFX",
    71: "ieee80211", 117: "gigabitEthernet", 131: "tunnel", 135: "l2vlan", 136: "l3ipvlan",
    142: "ipForward", 161: "ieee8023adLag", 166: "mpls", 209: "bridge", 244: "wwanPP2",
}


@dataclass(frozen=True)
class Interface:
    """One interface; ``name`` is ifName when the device has it, else ifDescr; speed is in bit/s."""

    index: int
    name: Sourced[str] | None = None
    description: Sourced[str] | None = None
    alias: Sourced[str] | None = None
    type: Sourced[str] | None = None
    mac: Sourced[str] | None = None
    speed_bps: Sourced[int] | None = None
    mtu: Sourced[int] | None = None
    admin_status: Sourced[str] | None = None
    oper_status: Sourced[str] | None = None


@dataclass(frozen=True)
class InterfaceTable:
    """The interfaces in ifIndex order, and notes on what was skipped."""

    interfaces: tuple[Interface, ...]
    notes: tuple[str, ...] = ()


def parse_interfaces(rows: Rows) -> InterfaceTable:
    """Return the interfaces in ``rows`` (ifTable and ifXTable); a row without an integer index is skipped with a note."""
    notes: list[str] = []
    found = normalise_rows(rows, notes)
    base = table_columns(found, IF_ENTRY)
    extended = table_columns(found, IF_X_ENTRY)
    indexes: dict[int, str] = {}
    for index in (*base, *extended):
        if not index.isdigit():
            notes.append(f"interface row {index!r} has no integer ifIndex; skipped")
            continue
        indexes.setdefault(int(index), index)
    interfaces = []
    for number in sorted(indexes):
        row = base.get(indexes[number], {})
        x_row = extended.get(indexes[number], {})
        description = cell_text(row, _DESCR, notes)
        speed: Sourced[int] | None = None
        high_speed = cell_integer(x_row, _X_HIGH_SPEED, notes)
        if high_speed is not None and high_speed.value > 0:
            speed = Sourced(high_speed.value * 1_000_000, high_speed.oid)
        else:
            speed = cell_integer(row, _SPEED, notes)
            if speed is not None and speed.value == _SPEED_SATURATED:
                notes.append(f"{speed.oid}: ifSpeed is saturated and ifHighSpeed is missing")
        interfaces.append(
            Interface(
                index=number,
                name=cell_text(x_row, _X_NAME, notes) or description,
                description=description,
                alias=cell_text(x_row, _X_ALIAS, notes),
                type=cell_enum(row, _TYPE, IF_TYPE_NAMES, notes),
                mac=cell_mac(row, _PHYS_ADDRESS, notes),
                speed_bps=speed,
                mtu=cell_integer(row, _MTU, notes),
                admin_status=cell_enum(row, _ADMIN, STATUS_NAMES, notes),
                oper_status=cell_enum(row, _OPER, STATUS_NAMES, notes),
            )
        )
    return InterfaceTable(tuple(interfaces), tuple(notes))
