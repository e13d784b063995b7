"""Pure conversions of what discovery read into inventory devices, each value with its provenance.

An SNMP :class:`~inventory.snmp.snapshot.DeviceSnapshot`, Linux :class:`~inventory.facts.HostFacts`
and switch :class:`~inventory.netcli.SwitchFacts` each become a :class:`~inventory.devices.DeviceScan`:
the device (named by its inventory name, its management address the inventory's address) and a
status: ``ok``, ``partial`` (something was not read; the messages say what) or ``unreachable``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from inventory.devices import (
    DEVICE_KIND,
    CustomFields,
    Device,
    DeviceScan,
    Interface,
    IPAddress,
    LldpNeighbour,
    Module,
    Provenance,
)

if TYPE_CHECKING:
    from inventory.facts import HostFacts
    from inventory.netcli import SwitchFacts
    from inventory.snmp.enterprises import EnterpriseRegistry
    from inventory.snmp.snapshot import DeviceSnapshot
    from inventory.snmp.values import Sourced

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYSTEM_GROUP = "1.3.6.1.2.1.1"
DEFAULT_ROLE = "server"
UNKNOWN_ROLE = "unknown"
# the snapshot's notes kept among a device's messages (a device of garbage can give one per OID it was asked)
MAX_IDENTITY_NOTES = 5
# the entPhysicalClass values worth listing as hardware modules
_MODULE_CLASSES = frozenset({"module", "powerSupply", "fan", "storageDrive", "battery", "cpu"})
_SWITCH_VENDORS = {
    "cisco": "Cisco",
    "hp_": "HPE",
    "aruba": "Aruba",
    "huawei": "Huawei",
    "juniper": "Juniper",
}


def _unique_key(key: str, seen: set[str], fallback: str) -> str:
    """``key`` if not taken yet, else ``key (fallback)``: devices do report one name twice."""
    chosen = key if key not in seen else f"{key} ({fallback})"
    number = 2
    while chosen in seen:
        chosen = f"{key} ({fallback} {number})"
        number += 1
    seen.add(chosen)
    return chosen


def _address(text: str, prefix: int | None) -> str | None:
    try:
        return str(ipaddress.ip_interface(text if prefix is None else f"{text}/{prefix}"))
    except ValueError:
        return None


def _inventory_address(provenance: dict[str, Provenance], address: str | None, seen_at: datetime) -> None:
    if address is not None:
        provenance["management_address"] = Provenance("manual", "inventory: ansible_host", seen_at)


def _value(sourced: Sourced[Any] | None) -> Any:
    return None if sourced is None else sourced.value


# ----------------------------------------------------------------------------- SNMP


def snmp_manufacturer(
    snapshot: DeviceSnapshot, registry: EnterpriseRegistry | None = None
) -> tuple[str | None, str | None, str | None]:
    """Return (manufacturer, the evidence that decided it, a note when the evidence was missing).

    The evidence, in order: a vendor OID the device answered (a profile's identity OID,
    UPS-MIB upsIdentManufacturer, XUPS xupsIdentManufacturer), shortened through the registry's
    table (:meth:`EnterpriseRegistry.short_name`: "CPS" is CyberPower); the matched profile's vendor,
    unless it names software rather than a maker; the enterprise number of sysObjectID through
    IANA's registry (``registry``, else the system's, read once), unless it is an SNMP agent's;
    the ENTITY-MIB chassis's entPhysicalMfgName (often a contract maker's name, so after those); for an agent's
    sysObjectID, the maker whose own MIB objects gave the model, serial or version (harvested). Nothing else: a
    net-snmp host's manufacturer is unknown (None), and that is no problem of the scan. The note is set only when
    the registry itself is missing.
    """
    from inventory.snmp.enterprises import AGENT_ENTERPRISES, default_registry, enterprise_number

    identity = snapshot.identity.manufacturer
    if identity is not None and identity.value.strip():
        return (registry or default_registry()).short_name(identity.value), identity.oid, None
    classification = snapshot.classification
    if classification is not None and classification.vendor and classification.vendor_is_maker:
        return classification.vendor, f"{SYS_OBJECT_ID} profile {classification.profile}", None
    object_id = snapshot.system.object_id.value if snapshot.system and snapshot.system.object_id else None
    number = enterprise_number(object_id)
    entity = snapshot.identity.entity_manufacturer
    active = registry or default_registry()
    from_entity = (
        (active.short_name(entity.value), entity.oid, None) if entity is not None and entity.value.strip() else None
    )
    if number is None or number in AGENT_ENTERPRISES:
        return from_entity or _maker_of_harvested_objects(snapshot, active) or (None, None, None)
    found = active.manufacturer(number)
    if found is None:
        return from_entity or (None, None, active.problem)
    return found, f"{SYS_OBJECT_ID} enterprise {number} (IANA registry)", None


def _maker_of_harvested_objects(
    snapshot: DeviceSnapshot, registry: EnterpriseRegistry
) -> tuple[str, str, None] | None:
    """Return the maker whose own MIB objects gave the device's model, serial or version (an appliance whose
    sysObjectID is net-snmp's answering Barracuda's ``systemSerialNumber``), through IANA's registry, or None."""
    from inventory.snmp.enterprises import AGENT_ENTERPRISES, enterprise_number

    for sourced in (snapshot.identity.model, snapshot.identity.serial, snapshot.identity.version):
        if sourced is None or not sourced.oid.endswith(", harvested)"):
            continue
        instance = sourced.oid.split(" ", 1)[0]
        number = enterprise_number(instance)
        if number is None or number in AGENT_ENTERPRISES:
            continue
        found = registry.manufacturer(number)
        if found is not None:
            return found, f"{instance} answered: enterprise {number}'s own MIB (IANA registry)", None
    return None


def device_from_snapshot(
    name: str,
    address: str | None,
    snapshot: DeviceSnapshot,
    seen_at: datetime,
    *,
    role: str | None = None,
    registry: EnterpriseRegistry | None = None,
) -> DeviceScan:
    """Return the device an SNMP snapshot describes; ``role`` (an inventory hint) wins over the profile's.

    The manufacturer comes from :func:`snmp_manufacturer` (``registry`` defaults to the system's).
    """
    if snapshot.outcome in ("unreachable", "auth_failed", "failed"):
        return unreachable_device(name, address, role or DEFAULT_ROLE, snapshot.message or snapshot.outcome)
    messages: list[str] = [snapshot.message] if snapshot.message else []
    provenance: dict[str, Provenance] = {"": Provenance("snmp", SYSTEM_GROUP, seen_at)}
    _inventory_address(provenance, address, seen_at)

    def sourced(path: str, value: Sourced[Any] | None) -> Any:
        if value is None:
            return None
        provenance[path] = Provenance("snmp", value.oid, seen_at)
        return value.value

    classification = snapshot.classification
    extra: dict[str, str | int | float | bool | None] = {}
    chosen_role = role
    role_unsure = False  # unknown, or a guess: the scan is partial
    if chosen_role is None and snapshot.role is not None:
        chosen_role = snapshot.role.role
        if snapshot.role.role == UNKNOWN_ROLE and snapshot.role.kind:
            # a known device the roles have no name for (a camera): its profile decided, so the scan is not partial
            provenance["role"] = Provenance("snmp", snapshot.role.evidence, seen_at)
            extra[DEVICE_KIND] = snapshot.role.kind
            provenance[f"custom_fields/{DEVICE_KIND}"] = provenance["role"]
        elif snapshot.role.role == UNKNOWN_ROLE:
            role_unsure = True
            messages.append(f"role unknown: nothing identifies the device ({snapshot.role.seen})")
        else:
            provenance["role"] = Provenance("snmp", snapshot.role.evidence, seen_at)
            if snapshot.role.guess:
                role_unsure = True
                messages.append(f"role {chosen_role} guessed from the maker alone: {snapshot.role.evidence}")
    if chosen_role is None:
        reason = classification.reason if classification is not None else "no system group"
        messages.append(f"role unknown: not classified ({reason or 'no profile matched'})")
        chosen_role, role_unsure = UNKNOWN_ROLE, True
    management_controller = bool(classification is not None and classification.management_controller)
    identity = snapshot.identity
    manufacturer, evidence, note = snmp_manufacturer(snapshot, registry)
    if manufacturer is not None and evidence is not None:
        provenance["manufacturer"] = Provenance("snmp", evidence, seen_at)
    if note:
        messages.append(note)
    platform = None
    if classification is not None and classification.platform:
        platform = classification.platform
        provenance["platform"] = Provenance("snmp", SYS_OBJECT_ID, seen_at)
    interfaces, names = _snmp_interfaces(snapshot, provenance, seen_at)
    if management_controller and classification is not None:
        # an iLO, iDRAC, XCC or CIMC: the server it manages, marked as its management controller
        extra["management_controller"] = True
        provenance["custom_fields/management_controller"] = Provenance(
            "snmp", f"{SYS_OBJECT_ID} profile {classification.profile}", seen_at
        )
    if identity.version_of is not None and identity.version is not None:
        # a UPS or PDU reports its own firmware and its network card's: say whose the version is
        extra["firmware_of"] = identity.version_of
        provenance["custom_fields/firmware_of"] = Provenance("snmp", identity.version.oid, seen_at)
    if identity.card_version is not None:
        extra["card_firmware"] = identity.card_version.value
        provenance["custom_fields/card_firmware"] = Provenance("snmp", identity.card_version.oid, seen_at)
    if identity.distribution is not None:
        # the operating system the host's agent names (its ``distro`` extend): "Debian GNU/Linux 12 (bookworm)"
        extra["os_distribution"] = identity.distribution.value
        provenance["custom_fields/os_distribution"] = Provenance("snmp", identity.distribution.oid, seen_at)
    partial_tables = [table for table in snapshot.tables if table.status != "ok"]
    for table in partial_tables:
        detail = f": {'; '.join(table.notes[:3])}" if table.notes else ""
        messages.append(f"table {table.table} {table.status}{detail}")
    # what reading the system group and the identity skipped or changed (a value not text, text not UTF-8, an
    # extend whose command failed): seen, and said
    messages.extend(snapshot.notes[:MAX_IDENTITY_NOTES])
    if len(snapshot.notes) > MAX_IDENTITY_NOTES:
        messages.append(f"{len(snapshot.notes) - MAX_IDENTITY_NOTES} more notes on the identity's values")
    model = identity.model
    descr = snapshot.system.descr if snapshot.system else None
    if model is None and manufacturer is not None and descr is not None:
        # the last evidence for a model: the product code sysDescr names right after the maker's name
        from inventory.snmp.values import Sourced as Found
        from inventory.snmp.version import model_after_maker

        code = model_after_maker(descr.value, manufacturer)
        model = Found(code, f"{descr.oid} (sysDescr: the product code after {manufacturer!r})") if code else None
    device = Device(
        name=name,
        role=chosen_role,
        manufacturer=manufacturer,
        model=sourced("model", model),
        serial=sourced("serial", identity.serial),
        os_version=sourced("os_version", identity.version),
        sys_name=sourced("sys_name", snapshot.system.name if snapshot.system else None),
        platform=platform,
        management_address=address,
        custom_fields=CustomFields(extra=extra),
        interfaces=interfaces,
        ip_addresses=_snmp_addresses(snapshot, names, provenance, seen_at),
        modules=_snmp_modules(snapshot, provenance, seen_at),
        lldp_neighbours=_snmp_lldp(snapshot, provenance, seen_at),
        provenance=provenance,
    )
    partial = snapshot.partial or bool(partial_tables) or role_unsure
    return DeviceScan(device, "partial" if partial else "ok", tuple(messages))


def _snmp_interfaces(
    snapshot: DeviceSnapshot, provenance: dict[str, Provenance], seen_at: datetime
) -> tuple[tuple[Interface, ...], dict[int, str]]:
    seen: set[str] = set()
    names: dict[int, str] = {}
    found: list[Interface] = []
    for row in snapshot.interfaces:
        label = _value(row.name) or _value(row.description) or f"ifIndex {row.index}"
        key = _unique_key(str(label), seen, f"ifIndex {row.index}")
        names[row.index] = key
        origin = row.name.oid if row.name is not None else f"1.3.6.1.2.1.2.2.1.1.{row.index}"
        provenance[f"interfaces/{key}"] = Provenance("snmp", origin, seen_at)
        found.append(
            Interface(
                name=key,
                type=_value(row.type),
                mac_address=_value(row.mac),
                speed_bps=_value(row.speed_bps),
                mtu=_value(row.mtu),
                admin_status=_value(row.admin_status),
                oper_status=_value(row.oper_status),
            )
        )
    return tuple(found), names


def _snmp_addresses(
    snapshot: DeviceSnapshot, names: dict[int, str], provenance: dict[str, Provenance], seen_at: datetime
) -> tuple[IPAddress, ...]:
    found: dict[str, IPAddress] = {}
    for row in snapshot.addresses:
        text = _address(row.address.value, _value(row.prefix_length))
        if text is None or text in found:
            continue
        index = _value(row.if_index)
        found[text] = IPAddress(text, names.get(index) if isinstance(index, int) else None)
        provenance[f"ip_addresses/{text}"] = Provenance("snmp", row.address.oid, seen_at)
    return tuple(found.values())


def _snmp_modules(
    snapshot: DeviceSnapshot, provenance: dict[str, Provenance], seen_at: datetime
) -> tuple[Module, ...]:
    seen: set[str] = set()
    found: list[Module] = []
    for entity in snapshot.entities:
        if _value(entity.entity_class) not in _MODULE_CLASSES:
            continue
        if entity.model is None and entity.serial is None and entity.description is None:
            continue
        label = _value(entity.name) or _value(entity.description) or f"entity {entity.index}"
        slot = _unique_key(str(label), seen, f"entPhysicalIndex {entity.index}")
        origin = next(
            (v.oid for v in (entity.serial, entity.model, entity.name, entity.description) if v is not None), ""
        )
        provenance[f"modules/{slot}"] = Provenance("snmp", origin, seen_at)
        found.append(
            Module(
                slot=slot,
                model=_value(entity.model),
                serial=_value(entity.serial),
                field_replaceable=bool(_value(entity.field_replaceable)),
                description=_value(entity.description),
            )
        )
    return tuple(found)


def _snmp_lldp(
    snapshot: DeviceSnapshot, provenance: dict[str, Provenance], seen_at: datetime
) -> tuple[LldpNeighbour, ...]:
    if snapshot.lldp is None:
        return ()
    ports = {
        port.port_number: _value(port.description) or _value(port.port_id) or str(port.port_number)
        for port in snapshot.lldp.local_ports
    }
    seen: set[str] = set()
    found: list[LldpNeighbour] = []
    for neighbour in snapshot.lldp.neighbours:
        local = ports.get(neighbour.local_port_number, str(neighbour.local_port_number))
        key = _unique_key(str(local), seen, str(neighbour.local_port_number))
        origin = next(
            (v.oid for v in (neighbour.system_name, neighbour.chassis_id, neighbour.port_id) if v is not None), ""
        )
        provenance[f"lldp_neighbours/{key}"] = Provenance("snmp", origin, seen_at)
        found.append(
            LldpNeighbour(
                local_port=key,
                remote_chassis_id=_value(neighbour.chassis_id),
                remote_port=_value(neighbour.port_id),
                remote_system_name=_value(neighbour.system_name),
            )
        )
    return tuple(found)


# ----------------------------------------------------------------------------- Linux over SSH


def device_from_facts(
    name: str, address: str | None, facts: HostFacts, seen_at: datetime, *, role: str | None = None
) -> DeviceScan:
    """Return the Linux host that gathered facts describe (role ``server`` unless ``role`` says otherwise)."""
    provenance: dict[str, Provenance] = {}

    def fact(fact_name: str, path: str | None = None) -> Any:
        found = facts.values.get(fact_name)
        if found is None:
            return None
        if path is not None:
            provenance[path] = Provenance("ssh", found.command, found.collected_at or seen_at)
        return found.value

    first = next(iter(facts.values.values()), None)
    provenance[""] = Provenance("ssh", first.command if first else "ssh", seen_at)
    _inventory_address(provenance, address, seen_at)
    os_release = fact("os_release", "os_version")
    # what the host calls itself, as its net-snmp agent's sysName.0 and its LLDP neighbours name it
    hostname = fact("hostname", "sys_name")
    os_version = None
    if os_release is not None:
        os_version = os_release.pretty_name or " ".join(
            part for part in (os_release.name, os_release.version_id) if part
        )
    platform = "Linux" if os_release is not None or "kernel" in facts.values else None
    if platform is not None:
        provenance["platform"] = provenance.get("os_version") or Provenance(
            "ssh", facts.values["kernel"].command, seen_at
        )
    extra: dict[str, str | int | float | bool | None] = {}
    readers: tuple[tuple[str, str, Callable[[Any], Any]], ...] = (
        ("kernel", "kernel", lambda v: v.release),
        ("cpu", "cpu_count", lambda v: v.count),
        ("cpu", "cpu_model", lambda v: v.model),
        ("memory", "memory_bytes", lambda v: v.total_bytes),
        ("packages", "packages_installed", lambda v: v.installed),
        ("pending_updates", "pending_updates", lambda v: v.count),
        ("boot_id", "boot_id", lambda v: v.boot_id),
    )
    for fact_name, field_name, read in readers:
        value = fact(fact_name, f"custom_fields/{field_name}")
        if value is not None and read(value) is not None:
            extra[field_name] = read(value)
        else:
            provenance.pop(f"custom_fields/{field_name}", None)
    interfaces: list[Interface] = []
    addresses: dict[str, IPAddress] = {}
    net = fact("interfaces")
    if net is not None:
        command = facts.values["interfaces"].command
        for interface in net.interfaces:
            interfaces.append(
                Interface(
                    name=interface.name,
                    type=interface.link_type,
                    mac_address=interface.mac,
                    mtu=interface.mtu,
                    admin_status="up" if "UP" in interface.flags else "down",
                    oper_status=(interface.oper_state or "").lower() or None,
                )
            )
            provenance[f"interfaces/{interface.name}"] = Provenance("ssh", command, seen_at)
            for item in interface.addresses:
                text = _address(item.address, item.prefix_length)
                if text is not None and text not in addresses:
                    addresses[text] = IPAddress(text, interface.name)
                    provenance[f"ip_addresses/{text}"] = Provenance("ssh", command, seen_at)
    modules: list[Module] = []
    disks = fact("block_devices")
    if disks is not None:
        command = facts.values["block_devices"].command
        seen: set[str] = set()
        for disk in disks.disks:
            slot = _unique_key(disk.name, seen, "disk")
            modules.append(
                Module(slot=slot, model=disk.model, serial=disk.serial, field_replaceable=True,
                       description=f"disk, {disk.size_bytes} bytes" if disk.size_bytes else "disk")
            )
            provenance[f"modules/{slot}"] = Provenance("ssh", command, seen_at)
    # the firmware's own names (SMBIOS): a server's maker, model and serial; none without DMI (the lab)
    dmi = fact("dmi")
    hardware = {} if dmi is None else {"manufacturer": dmi.vendor, "model": dmi.product, "serial": dmi.serial}
    for field_name, value in hardware.items():
        if value is not None:
            provenance[field_name] = Provenance("ssh", facts.values["dmi"].command, seen_at)
    device = Device(
        name=name,
        role=role or DEFAULT_ROLE,
        manufacturer=hardware.get("manufacturer"),
        model=hardware.get("model"),
        serial=hardware.get("serial"),
        platform=platform,
        os_version=os_version,
        sys_name=hostname.hostname if hostname is not None else None,
        management_address=address,
        custom_fields=CustomFields(extra=extra),
        interfaces=tuple(interfaces),
        ip_addresses=tuple(addresses.values()),
        modules=tuple(modules),
        provenance=provenance,
    )
    return DeviceScan(device, "partial" if facts.partial else "ok", facts.notes)


# ----------------------------------------------------------------------------- switch CLIs


def switch_vendor(device_type: str) -> str | None:
    """The manufacturer a netmiko device type stands for (``cisco_ios`` → Cisco), or None."""
    return next((vendor for prefix, vendor in _SWITCH_VENDORS.items() if device_type.startswith(prefix)), None)


def speed_bps(text: str | None) -> int | None:
    """A CLI speed (``a-1000``, ``100``, ``10G``, ``1000Mb/s``) in bit/s; None when it says no number."""
    if not text:
        return None
    match = re.search(r"(\d+(?:\.\d+)?)\s*([GMK]?)", text.upper().removeprefix("A-"))
    if match is None:
        return None
    number = float(match[1])
    scale = {"G": 1_000_000_000, "M": 1_000_000, "K": 1_000, "": 1_000_000}[match[2]]
    return int(number * scale)


def device_from_switch(
    name: str, address: str | None, facts: SwitchFacts, seen_at: datetime, *, role: str | None = None
) -> DeviceScan:
    """Return the switch its CLI facts describe (role ``switch`` unless ``role`` says otherwise)."""
    when = facts.collected_at or seen_at
    provenance: dict[str, Provenance] = {}

    def cli(path: str, key: str) -> None:
        command = facts.provenance.get(key)
        if command is not None:
            provenance[path] = Provenance("cli", command, when)

    identity = facts.identity
    provenance[""] = Provenance("cli", next(iter(facts.provenance.values()), "ssh"), when)
    _inventory_address(provenance, address, when)
    cli("model", "model")
    cli("serial", "serials")
    cli("os_version", "os_version")
    manufacturer = switch_vendor(facts.device_type)
    if manufacturer is not None:
        provenance["manufacturer"] = Provenance("cli", f"netmiko device type {facts.device_type}", when)
    provenance["platform"] = Provenance("cli", f"netmiko device type {facts.device_type}", when)
    seen: set[str] = set()
    modules: list[Module] = []
    for module in facts.modules:
        slot = _unique_key(module.name, seen, module.pid or "module")
        modules.append(Module(slot=slot, model=module.pid, serial=module.serial, description=module.description))
        cli(f"modules/{slot}", "modules")
    interfaces: list[Interface] = []
    seen = set()
    for interface in facts.interfaces:
        key = _unique_key(interface.name, seen, "duplicate")
        interfaces.append(
            Interface(
                name=key,
                mac_address=interface.mac,
                speed_bps=speed_bps(interface.speed),
                mtu=interface.mtu,
                admin_status=interface.admin_status,
                oper_status=interface.oper_status,
            )
        )
        cli(f"interfaces/{key}", "interfaces")
    device = Device(
        name=name,
        role=role or "switch",
        manufacturer=manufacturer,
        model=identity.model,
        serial=identity.serials[0] if identity.serials else None,
        os_version=identity.os_version,
        platform=facts.device_type,
        management_address=address,
        interfaces=tuple(interfaces),
        modules=tuple(modules),
        provenance=provenance,
    )
    return DeviceScan(device, "partial" if facts.partial else "ok", facts.notes)


# ----------------------------------------------------------------------------- not reached


def unreachable_device(name: str, address: str | None, role: str, message: str) -> DeviceScan:
    """Return a device the scan could not read: only its name, role and address, status ``unreachable``."""
    return DeviceScan(Device(name=name, role=role, management_address=address), "unreachable", (message,))

