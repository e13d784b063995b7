"""A discovered device as data: what to walk for each table, and the pure assembly of a snapshot.

:func:`build_snapshot` turns the rows the client read (or a recording holds) into a
:class:`DeviceSnapshot`, so the whole pipeline after the network is tested on recordings.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from inventory.snmp.addresses import IP_ADDR_ENTRY, IP_ADDRESS_ENTRY, IpAddress, parse_addresses
from inventory.snmp.classify import Classification, Profile, classify, probe_oids
from inventory.snmp.entity import (
    ENT_PHYSICAL_ENTRY,
    EntityTable,
    PhysicalEntity,
    parse_entities,
    product_name,
)
from inventory.snmp.extend import extend_identity, release_of
from inventory.snmp.harvested import HARVESTED_FIELDS, harvested_identity
from inventory.snmp.host_resources import (
    HR_DEVICE_ENTRY,
    HR_MEMORY_SIZE,
    HR_PROCESSOR_ENTRY,
    HR_STORAGE_ENTRY,
    HR_SYSTEM_UPTIME,
    HostResources,
    parse_host_resources,
)
from inventory.snmp.identity import identity_value, says_nothing
from inventory.snmp.interfaces import IF_ENTRY, IF_X_ENTRY, Interface, parse_interfaces
from inventory.snmp.lldp import LLDP_LOCAL, LLDP_REM_ENTRY, LldpInfo, parse_lldp
from inventory.snmp.products import product_model
from inventory.snmp.role import RoleDecision, decide_role, role_probe_oids
from inventory.snmp.system import SYS_DESCR, SYSTEM_OIDS, SystemInfo, parse_system
from inventory.snmp.ups import UPS_IDENT, UPS_IDENT_SOFTWARE, UpsIdentity, parse_ups_identity
from inventory.snmp.values import RawValue, Rows, Sourced, normalise_rows, text_value
from inventory.snmp.version import (
    model_from_descr,
    os_release_from_descr,
    serial_from_descr,
    stated_model_from_descr,
    stated_version_from_descr,
    version_from_descr,
)

# what an unprofiled device gets walked: ENTITY-MIB is where most devices keep model and serial
DEFAULT_TABLES = ("interfaces", "addresses", "entity")
# Eaton XUPS-MIB xupsIdent: manufacturer, model, the UPS's firmware, the network card's firmware
XUPS_MANUFACTURER, XUPS_MODEL = "1.3.6.1.4.1.534.1.1.1.0", "1.3.6.1.4.1.534.1.1.2.0"
XUPS_SOFTWARE, XUPS_CARD_SOFTWARE = "1.3.6.1.4.1.534.1.1.3.0", "1.3.6.1.4.1.534.1.1.4.0"
# RMON2-MIB probeSoftwareRev (RFC 4502): "the software revision of this device", answered by many small switches
# (TP-Link's, D-Link's) that keep no ENTITY-MIB revision; read with the role probes of a device no profile decided
PROBE_SOFTWARE_REV = "1.3.6.1.2.1.16.19.2.0"


def _columns(entry: str, *columns: int) -> tuple[str, ...]:
    return tuple(f"{entry}.{column}" for column in columns)


# The subtrees walked for each table: only the columns the parsers read, never the counters.
TABLE_WALKS: Mapping[str, tuple[str, ...]] = {
    "interfaces": _columns(IF_ENTRY, 2, 3, 4, 5, 6, 7, 8) + _columns(IF_X_ENTRY, 1, 15, 18),
    "addresses": _columns(IP_ADDRESS_ENTRY, 3, 4, 5) + _columns(IP_ADDR_ENTRY, 2, 3),
    "entity": _columns(ENT_PHYSICAL_ENTRY, 2, 4, 5, 7, 8, 9, 10, 11, 12, 13, 15, 16),
    "host_resources": (
        HR_SYSTEM_UPTIME.removesuffix(".0"),
        HR_MEMORY_SIZE.removesuffix(".0"),
        *_columns(HR_STORAGE_ENTRY, 2, 3, 4, 5, 6),
        *_columns(HR_DEVICE_ENTRY, 2),
        *_columns(HR_PROCESSOR_ENTRY, 2),
    ),
    "lldp": (LLDP_LOCAL, *_columns(LLDP_REM_ENTRY, 4, 5, 6, 7, 8, 9, 10)),
    "ups": (UPS_IDENT,),
}

# whose version an operating system's release is (DeviceIdentity.version_of), and the provenance it gets
OPERATING_SYSTEM = "operating system"
OS_RELEASE_SOURCE = f"{SYS_DESCR} (the operating system's release)"

# the outcome of a device that answers, but with datagrams that are not readable SNMP: something
# is on its port (a broken agent, another service), so it is not reported as unreachable
GARBAGE_OUTCOME = "garbage"
OUTCOMES = ("ok", "partial", "unreachable", "auth_failed", "failed", GARBAGE_OUTCOME)


@dataclass(frozen=True)
class TableOutcome:
    """How reading one table went: ``status`` is ok, partial (truncated, loop, deadline, errors) or failed."""

    table: str
    status: str
    rows: int
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceIdentity:
    """What the device is, each value with its provenance: the profile's identity sources first, then UPS-MIB,
    then XUPS-MIB, then the ENTITY-MIB chassis (else the first entity with a serial or model; a chassis
    without a serial takes the serial of the one entity that has one), then RMON2-MIB's probeSoftwareRev for the
    version, then what the host's own net-snmp agent was set up to say (its ``hardware``, ``manufacturer`` and
    ``serial`` extends: inventory/snmp/extend.py), then sysDescr.

    ``version_of`` says whose firmware ``version`` is when a UPS or PDU reports two (``ups``, ``pdu``, ``device``
    when the profile names both for another kind, ``network card`` when the card's is the only one), and is
    ``operating system`` when ``version`` is a server's OS release (:func:`with_os_release`);
    ``card_version`` is then the network card's (the profile's ``card_version``, upsIdentAgentSoftwareVersion,
    XUPS-MIB's card firmware). ``distribution`` is the operating system its ``distro`` extend names ("Debian
    GNU/Linux 12 (bookworm)"); its release is the version of a device that is not a server and has no other
    (:func:`with_distribution_release`).
    """

    manufacturer: Sourced[str] | None = None
    model: Sourced[str] | None = None
    serial: Sourced[str] | None = None
    version: Sourced[str] | None = None
    version_of: str | None = None
    card_version: Sourced[str] | None = None
    entity_manufacturer: Sourced[str] | None = None
    distribution: Sourced[str] | None = None


@dataclass(frozen=True)
class DeviceSnapshot:
    """One device as discovered; ``outcome`` is one of :data:`OUTCOMES`, ``message`` says why when not ok."""

    target: str
    outcome: str
    message: str = ""
    system: SystemInfo | None = None
    classification: Classification | None = None
    identity: DeviceIdentity = DeviceIdentity()
    interfaces: tuple[Interface, ...] = ()
    addresses: tuple[IpAddress, ...] = ()
    entities: tuple[PhysicalEntity, ...] = ()
    host_resources: HostResources | None = None
    lldp: LldpInfo | None = None
    ups: UpsIdentity | None = None
    tables: tuple[TableOutcome, ...] = ()
    elapsed_seconds: float = 0.0
    role: RoleDecision | None = None
    # the fields (model, serial, version) that nothing before the vendor's harvested identity objects gave, nor
    # they as far as read (inventory/snmp/harvested.py): discovery reads more of them while one is missing
    identity_missing: tuple[str, ...] = ()
    # what reading the system group and the identity skipped or changed, and why (a value of the wrong type, text
    # that is not UTF-8, 'extend "serial" ... exited 1: ...'): the scan keeps them among the device's messages, so
    # an unknown serial says what was seen
    notes: tuple[str, ...] = ()

    @property
    def partial(self) -> bool:
        """Whether anything was missed: a table not fully read, or the device not fully reached."""
        return self.outcome != "ok" or any(table.status != "ok" for table in self.tables)


def failed_snapshot(target: str, outcome: str, message: str, elapsed_seconds: float = 0.0) -> DeviceSnapshot:
    """Return the snapshot of a device that could not be read at all."""
    return DeviceSnapshot(target=target, outcome=outcome, message=message, elapsed_seconds=elapsed_seconds)


def _said(value: Sourced[str] | None) -> Sourced[str] | None:
    """Return ``value`` unless it is a placeholder that says nothing (``0``, ``N/A``, all zeros)."""
    return None if value is None or says_nothing(value.value) else value


def _identity(
    classification: Classification,
    rows: Mapping[str, RawValue],
    ups: UpsIdentity | None,
    entities: tuple[PhysicalEntity, ...],
    descr: str,
    notes: list[str],
    object_id: str = "",
    sys_name: str = "",
) -> tuple[DeviceIdentity, tuple[str, ...]]:
    """Return the device's identity from the evidence in order (see :class:`DeviceIdentity`), and the fields that
    neither the vendor's harvested identity objects (as far as ``rows`` hold them) nor anything before them gave."""
    found: dict[str, Sourced[str] | None] = {
        field: identity_value(sources, rows, descr, notes) for field, sources in classification.identity
    }
    profile_version = found.get("version")
    version_of: str | None = None
    profile_card = found.pop("card_version", None)
    card = profile_card
    if ups is not None:
        found["manufacturer"] = found.get("manufacturer") or ups.manufacturer
        found["model"] = found.get("model") or ups.model
        found["version"] = found.get("version") or ups.software_version
        card = card or ups.agent_software_version
    xups_model = text_value(rows.get(XUPS_MODEL), XUPS_MODEL, notes)
    if xups_model is not None:
        found["manufacturer"] = found.get("manufacturer") or text_value(
            rows.get(XUPS_MANUFACTURER), XUPS_MANUFACTURER, notes
        )
        found["model"] = found.get("model") or xups_model
        found["version"] = found.get("version") or text_value(
            rows.get(XUPS_SOFTWARE), XUPS_SOFTWARE, notes
        )
        card = card or text_value(rows.get(XUPS_CARD_SOFTWARE), XUPS_CARD_SOFTWARE, notes)
    version = found.get("version")
    if card is not None and version is not None and version.oid in (UPS_IDENT_SOFTWARE, XUPS_SOFTWARE):
        version_of = "ups"
    elif card is not None and card is profile_card and version is not None and version is profile_version:
        # the profile names both firmwares: the version is the device's own (a UPS's, a PDU's)
        version_of = classification.role if classification.role in ("ups", "pdu") else "device"
    elif card is not None and version is None:
        found["version"], version_of = card, "network card"
    table = EntityTable(entities)
    chassis = table.chassis() if entities else None
    if chassis is not None:
        found["model"] = found.get("model") or _said(chassis.model)
        found["serial"] = found.get("serial") or _said(chassis.serial) or _said(table.only_serial())
        found["version"] = found.get("version") or _said(chassis.software_revision)
        found["version"] = found.get("version") or _said(table.software_revision())
    found["version"] = found.get("version") or _said(text_value(rows.get(PROBE_SOFTWARE_REV), PROBE_SOFTWARE_REV, notes))
    # the host's own agent, set up to say its hardware (the firmware's DMI or device tree names)
    extended = extend_identity(rows, notes)
    for field in ("manufacturer", "model", "serial"):
        found[field] = found.get(field) or extended.get(field)
    # sysDescr: what the vendor wrote there; a model it only suggests comes after the chassis's own name
    if descr:
        stated = stated_model_from_descr(descr)
        found["model"] = found.get("model") or (Sourced(stated, SYS_DESCR) if stated else None)
        # the vendor's system named with its version ("OcNOS,6.5.2.101"): before the harvested objects, which
        # can be a hardware's or a diagnostics image's version
        stated_version = stated_version_from_descr(descr)
        found["version"] = found.get("version") or (Sourced(stated_version, SYS_DESCR) if stated_version else None)
    if chassis is not None:
        # entPhysicalDescr or entPhysicalName, when ModelName is empty and the text names a product
        found["model"] = found.get("model") or _said(product_name(chassis))
    # the vendor's product MIB names the sysObjectID: after the device's own tables, before a guess
    found["model"] = found.get("model") or product_model(rows, notes, descr=descr)
    # the vendor's identity objects, harvested from its MIBs: its own answer beats a regex over sysDescr
    unfilled = tuple(field for field in HARVESTED_FIELDS if found.get(field) is None)
    harvest = harvested_identity(rows, object_id, unfilled, sys_name=sys_name, notes=notes)
    found.update(harvest)
    unfilled = tuple(field for field in unfilled if field not in harvest)
    if descr:
        if found.get("model") is None:
            code = model_from_descr(descr)
            found["model"] = Sourced(code, SYS_DESCR) if code else None
        if found.get("version") is None:
            parsed = version_from_descr(descr)
            found["version"] = Sourced(parsed, SYS_DESCR) if parsed else None
        if found.get("serial") is None and classification.sys_descr_serial:
            serial = serial_from_descr(descr)
            found["serial"] = _said(Sourced(serial, SYS_DESCR) if serial else None)
    if chassis is not None:
        found["version"] = found.get("version") or _said(chassis.firmware_revision)
    identity = DeviceIdentity(
        manufacturer=found.get("manufacturer"),
        model=found.get("model"),
        serial=found.get("serial"),
        version=found.get("version"),
        version_of=version_of,
        card_version=card if version_of not in (None, "network card") else None,
        # the chassis's entPhysicalMfgName is often its contract maker's (Sanmina) or a short code
        # (ALCL, CPS): the last evidence for the manufacturer, after the profile and the registry
        entity_manufacturer=(
            chassis.manufacturer
            if chassis is not None and chassis.entity_class is not None
            and chassis.entity_class.value in ("chassis", "stack")
            else None
        ),
        distribution=extended.get("distribution"),
    )
    return identity, unfilled


def routed_interface_count(addresses: Sequence[IpAddress]) -> int:
    """Return how many interfaces hold a unicast address other than loopback or IPv6 link-local."""
    interfaces: set[int] = set()
    for address in addresses:
        try:
            parsed = ipaddress.ip_address(address.address.value)
        except ValueError:
            continue
        if address.if_index is not None and not (parsed.is_loopback or parsed.is_link_local):
            interfaces.add(address.if_index.value)
    return len(interfaces)


def with_os_release(
    identity: DeviceIdentity, classification: Classification, role: RoleDecision, descr: str, object_id: str
) -> DeviceIdentity:
    """Return ``identity`` with the OS release from sysDescr as its version, for a general-purpose OS host.

    Only when the role is ``server`` decided by generic evidence (HOST-RESOURCES on a Linux, FreeBSD or
    Windows sysDescr, or a profile that names only the OS or its agent: net-snmp's fallback profiles,
    Windows'), no other evidence gave a version and the profile names no firmware: an ops engineer
    wants to know which kernel or Windows build a box runs, as LibreNMS reports it. A vendor's profile
    (an appliance running Linux: NAS, firewall, UPS card, intercom, hyperconverged controller VM,
    management controller) or another role keeps the kernel from being taken for its firmware.
    """
    generic = classification.profile is None or classification.fallback or not classification.vendor_is_maker
    if (
        role.role != "server"
        or not generic
        or identity.version is not None
        or classification.management_controller
        or any(field == "version" for field, _sources in classification.identity)
    ):
        return identity
    release = os_release_from_descr(descr, object_id)
    if release is None:
        return identity
    return replace(identity, version=Sourced(release, OS_RELEASE_SOURCE), version_of=OPERATING_SYSTEM)


def with_distribution_release(identity: DeviceIdentity, role: RoleDecision) -> DeviceIdentity:
    """Return ``identity`` with its distribution's release as its version, for a device that is not a server.

    An OpenWrt router or a Linux-based appliance whose agent says ``OpenWrt 21.02.0-rc4`` runs that release; a
    server keeps its kernel or Windows build (:func:`with_os_release`), its distribution shown beside it. Only when
    nothing else gave a version.
    """
    distribution = identity.distribution
    if role.role == "server" or identity.version is not None or distribution is None:
        return identity
    release = release_of(distribution.value)
    if release is None:
        return identity
    return replace(identity, version=Sourced(release, distribution.oid), version_of=OPERATING_SYSTEM)


def classify_rows(rows: Rows, profiles: Sequence[Profile] | None = None) -> tuple[SystemInfo, Classification]:
    """Return the system group and classification of a device from rows holding its system group and probe OIDs.

    ``profiles`` defaults to the shipped and site profiles (:func:`profiles_in_use`).
    """
    notes: list[str] = []
    # Looking up a few OIDs needs no full normalisation when the keys are already plain.
    plain = isinstance(rows, dict) and not any(oid.startswith(".") for oid in rows)
    found = rows if plain and isinstance(rows, dict) else normalise_rows(rows, notes)
    system = parse_system({oid: found[oid] for oid in SYSTEM_OIDS if oid in found})
    return system, classify(system, {oid: found.get(oid) for oid in probe_oids(profiles)}, profiles)


def build_snapshot(
    target: str,
    rows: Rows,
    *,
    tables: tuple[TableOutcome, ...] | None = None,
    outcome: str = "ok",
    message: str = "",
    elapsed_seconds: float = 0.0,
    profiles: Sequence[Profile] | None = None,
) -> DeviceSnapshot:
    """Return the snapshot of a device from all the rows read from it (system, probes, identity OIDs, walked tables).

    ``tables`` are the client's per-table outcomes; without them (a recording) each table the
    profile wants counts as fully read. ``profiles`` defaults to the shipped and site profiles.
    """
    notes: list[str] = []
    found = normalise_rows(rows, notes)
    system, classification = classify_rows(found, profiles)
    wanted = classification.tables or DEFAULT_TABLES

    def subset(table: str) -> dict[str, RawValue]:
        roots = tuple(root + "." for root in TABLE_WALKS[table])
        return {oid: value for oid, value in found.items() if oid.startswith(roots)}

    interfaces = parse_interfaces(subset("interfaces")) if "interfaces" in wanted else None
    addresses = parse_addresses(subset("addresses")) if "addresses" in wanted else None
    entities = parse_entities(subset("entity")) if "entity" in wanted else None
    host = parse_host_resources(subset("host_resources")) if "host_resources" in wanted else None
    lldp = parse_lldp(subset("lldp")) if "lldp" in wanted else None
    # upsIdent's model, maker and versions come with the first GET: read whatever the device answered
    ups = parse_ups_identity(subset("ups"))
    parsed_notes = {
        "interfaces": interfaces.notes if interfaces else (),
        "addresses": addresses.notes if addresses else (),
        "entity": entities.notes if entities else (),
        "host_resources": host.notes if host else (),
        "lldp": lldp.notes if lldp else (),
        "ups": ups.notes if ups else (),
    }
    if tables is None:
        tables = tuple(
            TableOutcome(table, "ok", len(subset(table)), parsed_notes[table]) for table in wanted
        )
    else:
        tables = tuple(
            TableOutcome(t.table, t.status, t.rows, t.notes + parsed_notes.get(t.table, ())) for t in tables
        )
    entity_rows = entities.entities if entities else ()
    descr = system.descr.value if system.descr else ""
    object_id = system.object_id.value if system.object_id else ""
    sys_name = system.name.value if system.name else ""
    identity, identity_missing = _identity(
        classification, found, ups if ups and ups.present else None, entity_rows, descr, notes, object_id, sys_name
    )
    role = decide_role(
        classification.role,
        f"{SYSTEM_OIDS[1]} profile {classification.profile} ({classification.matched_by})",
        classification.fallback,
        {oid: found.get(oid) for oid in role_probe_oids(object_id)},
        descr,
        object_id,
        tuple(row.type.value if row.type else None for row in interfaces.interfaces) if interfaces else (),
        deferred_by=classification.reason if classification.profile and classification.role is None else "",
        interface_names=tuple(row.name.value if row.name else None for row in interfaces.interfaces)
        if interfaces
        else (),
        routed_interfaces=routed_interface_count(addresses.addresses if addresses else ()),
        answered=found,
        kind=classification.kind,
    )
    return DeviceSnapshot(
        target=target,
        outcome=outcome,
        message=message,
        system=system,
        classification=classification,
        identity=with_distribution_release(with_os_release(identity, classification, role, descr, object_id), role),
        interfaces=interfaces.interfaces if interfaces else (),
        addresses=addresses.addresses if addresses else (),
        entities=entity_rows,
        host_resources=host,
        lldp=lldp,
        ups=ups if ups and ups.present else None,
        tables=tables,
        elapsed_seconds=elapsed_seconds,
        role=role,
        identity_missing=identity_missing,
        notes=tuple(dict.fromkeys((*system.notes, *notes))),
    )
