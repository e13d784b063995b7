"""IP-MIB addresses: ipAddressTable (IPv4 and IPv6) merged with the older ipAddrTable (IPv4)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from inventory.snmp.values import (
    Rows,
    Sourced,
    cell_integer,
    cell_oid,
    normalise_rows,
    table_columns,
)

IP_ADDR_ENTRY = "1.3.6.1.2.1.4.20.1"
IP_ADDRESS_ENTRY = "1.3.6.1.2.1.4.34.1"
ADDRESS_TABLES = (IP_ADDR_ENTRY, IP_ADDRESS_ENTRY)

_ADDR_IF_INDEX, _ADDR_NETMASK = 2, 3
_ADDRESS_IF_INDEX, _ADDRESS_TYPE, _ADDRESS_PREFIX = 3, 4, 5
_ADDRESS_TYPES = {1: "unicast", 2: "anycast", 3: "broadcast"}
# InetAddressType: ipv4, ipv6, ipv4z, ipv6z (the zoned forms carry a 4-byte zone index).
_FAMILIES = {1: (4, 0), 2: (16, 0), 3: (4, 4), 4: (16, 4)}


@dataclass(frozen=True)
class IpAddress:
    """One address of the device: ``address`` as text, its interface and prefix length when known."""

    address: Sourced[str]
    version: int
    if_index: Sourced[int] | None = None
    prefix_length: Sourced[int] | None = None


@dataclass(frozen=True)
class AddressTable:
    """The device's unicast addresses, and notes on what was skipped."""

    addresses: tuple[IpAddress, ...]
    notes: tuple[str, ...] = ()


def _address_from_index(index: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]:
    """Return the address and InetAddressType encoded in an ipAddressTable index; raise ``ValueError`` if malformed."""
    parts = [int(part) for part in index.split(".")]
    if len(parts) < 2 or parts[0] not in _FAMILIES:
        raise ValueError("unknown address type")
    size, zone = _FAMILIES[parts[0]]
    body = parts[1:]
    if body[0] == size + zone and len(body) == size + zone + 1:
        body = body[1:]  # length-prefixed, as RFC 4293 says
    elif len(body) != size + zone:
        raise ValueError("address length does not match its type")
    if any(part > 255 for part in body):
        raise ValueError("address byte out of range")
    raw = bytes(body[:size])
    address = ipaddress.IPv4Address(raw) if size == 4 else ipaddress.IPv6Address(raw)
    return address, parts[0]


def parse_addresses(rows: Rows) -> AddressTable:
    """Return the unicast addresses in ``rows``; ipAddressTable wins over ipAddrTable for the same address."""
    notes: list[str] = []
    found = normalise_rows(rows, notes)
    result: dict[str, IpAddress] = {}
    for index, cells in table_columns(found, IP_ADDRESS_ENTRY).items():
        try:
            address, _family = _address_from_index(index)
        except ValueError as problem:
            notes.append(f"{IP_ADDRESS_ENTRY}.*.{index}: {problem}; skipped")
            continue
        kind = cell_integer(cells, _ADDRESS_TYPE, notes)
        if kind is not None and _ADDRESS_TYPES.get(kind.value) != "unicast":
            continue
        prefix_length: Sourced[int] | None = None
        pointer = cell_oid(cells, _ADDRESS_PREFIX, notes)
        if pointer is not None and pointer.value not in ("0.0", "0"):
            last = int(pointer.value.rsplit(".", 1)[-1])
            if last <= address.max_prefixlen:
                prefix_length = Sourced(last, pointer.oid)
        row_oid = next(iter(cells.values()))[0]
        result[str(address)] = IpAddress(
            address=Sourced(str(address), row_oid),
            version=address.version,
            if_index=cell_integer(cells, _ADDRESS_IF_INDEX, notes),
            prefix_length=prefix_length,
        )
    for index, cells in table_columns(found, IP_ADDR_ENTRY).items():
        try:
            address4 = ipaddress.IPv4Address(index)
        except ValueError:
            notes.append(f"{IP_ADDR_ENTRY}.*.{index}: not an IPv4 address index; skipped")
            continue
        if str(address4) in result:
            continue
        prefix_length = None
        mask_cell = cells.get(_ADDR_NETMASK)
        if mask_cell is not None and isinstance(mask_cell[1], str | bytes):
            mask = mask_cell[1]
            try:
                mask_text = mask if isinstance(mask, str) else str(ipaddress.IPv4Address(mask))
                network = ipaddress.IPv4Network(f"0.0.0.0/{mask_text}")
                prefix_length = Sourced(network.prefixlen, mask_cell[0])
            except ValueError:
                notes.append(f"{mask_cell[0]}: not a netmask; skipped")
        row_oid = next(iter(cells.values()))[0]
        result[str(address4)] = IpAddress(
            address=Sourced(str(address4), row_oid),
            version=4,
            if_index=cell_integer(cells, _ADDR_IF_INDEX, notes),
            prefix_length=prefix_length,
        )
    return AddressTable(tuple(result.values()), tuple(notes))
