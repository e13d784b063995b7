"""SNMP discovery: pure parsers of walked rows, classification by profile, and (in ``client``/``discovery``) the network side.

Importing this package stays light: pysnmp is imported only by :mod:`inventory.snmp.client`
and :mod:`inventory.snmp.discovery`.
"""

from __future__ import annotations

from inventory.snmp.addresses import AddressTable, IpAddress, parse_addresses
from inventory.snmp.classify import (
    Classification,
    Profile,
    builtin_profiles,
    classify,
    load_profiles,
    probe_oids,
)
from inventory.snmp.entity import EntityTable, PhysicalEntity, parse_entities
from inventory.snmp.host_resources import HostResources, StorageArea, parse_host_resources
from inventory.snmp.interfaces import Interface, InterfaceTable, parse_interfaces
from inventory.snmp.lldp import LldpInfo, LldpLocalPort, LldpNeighbour, parse_lldp
from inventory.snmp.recording import Recording, parse_snmprec, read_snmprec
from inventory.snmp.snapshot import DeviceIdentity, DeviceSnapshot, TableOutcome, build_snapshot
from inventory.snmp.system import SystemInfo, parse_system
from inventory.snmp.ups import UpsIdentity, parse_ups_identity
from inventory.snmp.values import RawValue, Rows, Sourced

__all__ = [
    "AddressTable", "Classification", "DeviceIdentity", "DeviceSnapshot", "EntityTable",
    "HostResources", "Interface", "InterfaceTable", "IpAddress", "LldpInfo", "LldpLocalPort",
    "LldpNeighbour", "PhysicalEntity", "Profile", "RawValue", "Recording", "Rows", "Sourced",
    "StorageArea", "SystemInfo", "TableOutcome", "UpsIdentity", "build_snapshot", "builtin_profiles",
    "classify", "load_profiles", "parse_addresses", "parse_entities", "parse_host_resources",
    "parse_interfaces", "parse_lldp", "parse_snmprec", "parse_system", "parse_ups_identity",
    "probe_oids", "read_snmprec",
]
