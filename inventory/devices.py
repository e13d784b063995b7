"""The device inventory model: sites, racks, devices, their components, and the result of a scan.

Provenance is kept beside the values, not wrapped around them: ``device.serial`` is a plain
string, and ``device.provenance`` maps a *component path* to a :class:`Provenance` (source,
OID or command, when seen). Paths are ``field`` for a device's own values (``serial``,
``os_version``, ``location/room``, ``custom_fields/patch_group``) and ``collection/key/field``
for components (``interfaces/Gi0/1/oper_status``, ``modules/PSU 1/serial``). A scanner may
record one provenance for a whole component (``interfaces/Gi0/1``) or for the whole device
(``""``); :meth:`Device.provenance_of` returns the most specific entry. The same paths name
values in the stored history and in diffs (:func:`flatten`).

A device's identity is its ``name`` (the inventory name, or the management address of a
discovered device), never its serial: two devices reporting one serial stay two devices and
are flagged by :func:`find_duplicate_serials`.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

ROLES = ("server", "switch", "router", "firewall", "storage", "ups", "pdu", "sensor", "wireless", "printer", "unknown")
SOURCES = ("snmp", "ssh", "cli", "manual")
LINK_SOURCES = ("declared", "lldp")
RACK_FACES = ("front", "rear")
SCAN_STATUSES = ("ok", "partial", "unreachable")
# what devices put in a serial field when they have none: never evidence of a shared serial
PLACEHOLDER_SERIALS = frozenset(
    {
        "",
        "0",
        "N/A",
        "NA",
        "NONE",
        "NULL",
        "UNKNOWN",
        "NOT SPECIFIED",
        "DEFAULT STRING",
        "TO BE FILLED BY O.E.M.",
        "0123456789",
        "SYSTEM SERIAL NUMBER",
        "123456789",
    }
)

JsonScalar = str | int | float | bool | None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass a timezone-aware one")
    return value.astimezone(UTC)


def _choice(value: str, choices: tuple[str, ...], what: str) -> str:
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}: {value!r}")
    return value


def _unique(keys: Iterable[str], what: str, device: str) -> None:
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            raise ValueError(f"device {device}: two {what} with the key {key!r}")
        seen.add(key)


# ----------------------------------------------------------------------------- provenance


@dataclass(frozen=True)
class Provenance:
    """Where a discovered value came from: the source, the OID or command, and when it was seen (UTC)."""

    source: str
    origin: str
    seen_at: datetime

    def __post_init__(self) -> None:
        _choice(self.source, SOURCES, "provenance source")
        object.__setattr__(self, "seen_at", _utc(self.seen_at))

    def to_dict(self) -> dict[str, Any]:
        """Return the provenance as JSON-safe data (``seen_at`` as ISO 8601 text)."""
        return {"source": self.source, "origin": self.origin, "seen_at": self.seen_at.isoformat()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Provenance:
        """Build a provenance from :meth:`to_dict` data; raise ``KeyError``/``ValueError`` if malformed."""
        return cls(
            source=data["source"],
            origin=data["origin"],
            seen_at=datetime.fromisoformat(data["seen_at"]),
        )


# ----------------------------------------------------------------------------- places


@dataclass(frozen=True)
class Location:
    """A place inside a site: a building and, optionally, a room in it."""

    building: str
    room: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the location as JSON-safe data."""
        return {"building": self.building, "room": self.room}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Location:
        """Build a location from :meth:`to_dict` data."""
        return cls(building=data["building"], room=data.get("room"))


@dataclass(frozen=True)
class Site:
    """A site (a campus or data centre) and its locations."""

    name: str
    description: str | None = None
    locations: tuple[Location, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the site as JSON-safe data."""
        return {
            "name": self.name,
            "description": self.description,
            "locations": [location.to_dict() for location in self.locations],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Site:
        """Build a site from :meth:`to_dict` data."""
        return cls(
            name=data["name"],
            description=data.get("description"),
            locations=tuple(Location.from_dict(item) for item in data.get("locations", ())),
        )


@dataclass(frozen=True)
class Rack:
    """A rack at a site, optionally in a location, ``u_height`` units tall."""

    name: str
    site: str
    location: Location | None = None
    u_height: int = 42

    def to_dict(self) -> dict[str, Any]:
        """Return the rack as JSON-safe data."""
        return {
            "name": self.name,
            "site": self.site,
            "location": None if self.location is None else self.location.to_dict(),
            "u_height": self.u_height,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rack:
        """Build a rack from :meth:`to_dict` data."""
        location = data.get("location")
        return cls(
            name=data["name"],
            site=data["site"],
            location=None if location is None else Location.from_dict(location),
            u_height=int(data.get("u_height", 42)),
        )


# ----------------------------------------------------------------------------- components


@dataclass(frozen=True)
class Interface:
    """A network interface: IANA ifType name, MAC, speed in bits per second, MTU, admin and oper status."""

    name: str
    type: str | None = None
    mac_address: str | None = None
    speed_bps: int | None = None
    mtu: int | None = None
    admin_status: str | None = None
    oper_status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the interface as JSON-safe data."""
        return {
            "name": self.name,
            "type": self.type,
            "mac_address": self.mac_address,
            "speed_bps": self.speed_bps,
            "mtu": self.mtu,
            "admin_status": self.admin_status,
            "oper_status": self.oper_status,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Interface:
        """Build an interface from :meth:`to_dict` data."""
        return cls(
            name=data["name"],
            type=data.get("type"),
            mac_address=data.get("mac_address"),
            speed_bps=data.get("speed_bps"),
            mtu=data.get("mtu"),
            admin_status=data.get("admin_status"),
            oper_status=data.get("oper_status"),
        )


@dataclass(frozen=True)
class IPAddress:
    """An address with its prefix length (``10.0.0.5/24``), on an interface if known; normalised on creation."""

    address: str
    interface: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "address", str(ipaddress.ip_interface(self.address)))

    def to_dict(self) -> dict[str, Any]:
        """Return the address as JSON-safe data."""
        return {"address": self.address, "interface": self.interface}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IPAddress:
        """Build an address from :meth:`to_dict` data; raise ``ValueError`` for a malformed address."""
        return cls(address=data["address"], interface=data.get("interface"))


@dataclass(frozen=True)
class Module:
    """A hardware module in a slot (line card, PSU, fan, disk, transceiver); the slot is its key."""

    slot: str
    model: str | None = None
    serial: str | None = None
    field_replaceable: bool = False
    description: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the module as JSON-safe data."""
        return {
            "slot": self.slot,
            "model": self.model,
            "serial": self.serial,
            "field_replaceable": self.field_replaceable,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Module:
        """Build a module from :meth:`to_dict` data."""
        return cls(
            slot=data["slot"],
            model=data.get("model"),
            serial=data.get("serial"),
            field_replaceable=bool(data.get("field_replaceable", False)),
            description=data.get("description"),
        )


@dataclass(frozen=True)
class LldpNeighbour:
    """What LLDP reports on a local port: the remote chassis id, port and system name."""

    local_port: str
    remote_chassis_id: str | None = None
    remote_port: str | None = None
    remote_system_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the neighbour as JSON-safe data."""
        return {
            "local_port": self.local_port,
            "remote_chassis_id": self.remote_chassis_id,
            "remote_port": self.remote_port,
            "remote_system_name": self.remote_system_name,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LldpNeighbour:
        """Build a neighbour from :meth:`to_dict` data."""
        return cls(
            local_port=data["local_port"],
            remote_chassis_id=data.get("remote_chassis_id"),
            remote_port=data.get("remote_port"),
            remote_system_name=data.get("remote_system_name"),
        )


@dataclass(frozen=True)
class Link:
    """A cable between two device ports, declared in the inventory or learned from LLDP."""

    a_device: str
    a_port: str
    b_device: str
    b_port: str
    source: str = "declared"

    def __post_init__(self) -> None:
        _choice(self.source, LINK_SOURCES, "link source")

    @property
    def key(self) -> str:
        """The link's key among its device's links: ``source:local port``."""
        return f"{self.source}:{self.a_port}"

    def to_dict(self) -> dict[str, Any]:
        """Return the link as JSON-safe data."""
        return {
            "a_device": self.a_device,
            "a_port": self.a_port,
            "b_device": self.b_device,
            "b_port": self.b_port,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Link:
        """Build a link from :meth:`to_dict` data."""
        return cls(
            a_device=data["a_device"],
            a_port=data["a_port"],
            b_device=data["b_device"],
            b_port=data["b_port"],
            source=data.get("source", "declared"),
        )


@dataclass(frozen=True)
class PowerLink:
    """A power feed: a UPS or PDU (and its outlet, if known) feeds a device."""

    source_device: str
    target_device: str
    outlet: str | None = None

    @property
    def key(self) -> str:
        """The feed's key among its device's feeds: ``source device`` or ``source device:outlet``."""
        return self.source_device if self.outlet is None else f"{self.source_device}:{self.outlet}"

    def to_dict(self) -> dict[str, Any]:
        """Return the power link as JSON-safe data."""
        return {
            "source_device": self.source_device,
            "target_device": self.target_device,
            "outlet": self.outlet,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PowerLink:
        """Build a power link from :meth:`to_dict` data."""
        return cls(
            source_device=data["source_device"],
            target_device=data["target_device"],
            outlet=data.get("outlet"),
        )


# ----------------------------------------------------------------------------- devices


# the custom field that names what a known device is when the roles have no name for it ("camera")
DEVICE_KIND = "device_kind"


@dataclass(frozen=True)
class CustomFields:
    """The custom fields other features read (patch group, backup policy, clinical criticality) and free-form others."""

    patch_group: str | None = None
    backup_policy: str | None = None
    clinical_criticality: str | None = None
    extra: Mapping[str, JsonScalar] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def items(self) -> dict[str, JsonScalar]:
        """Return every set field by name, the named ones first, ``None`` values left out."""
        named: dict[str, JsonScalar] = {
            "patch_group": self.patch_group,
            "backup_policy": self.backup_policy,
            "clinical_criticality": self.clinical_criticality,
        }
        named.update(self.extra)
        return {name: value for name, value in named.items() if value is not None}

    def to_dict(self) -> dict[str, Any]:
        """Return the custom fields as JSON-safe data."""
        return {
            "patch_group": self.patch_group,
            "backup_policy": self.backup_policy,
            "clinical_criticality": self.clinical_criticality,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CustomFields:
        """Build custom fields from :meth:`to_dict` data."""
        return cls(
            patch_group=data.get("patch_group"),
            backup_policy=data.get("backup_policy"),
            clinical_criticality=data.get("clinical_criticality"),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True)
class Device:
    """One device, its place, its components, and the provenance of its discovered values by path.

    Raise ``ValueError`` for an unknown role or rack face, two components with one key, or a
    link or power feed that does not end at this device.
    """

    name: str
    role: str
    manufacturer: str | None = None
    model: str | None = None
    serial: str | None = None
    asset_tag: str | None = None
    platform: str | None = None
    os_version: str | None = None
    # what the device calls itself (SNMPv2-MIB sysName), which need not be its inventory name
    sys_name: str | None = None
    management_address: str | None = None
    site: str | None = None
    location: Location | None = None
    rack: str | None = None
    rack_position: int | None = None
    rack_face: str | None = None
    tags: tuple[str, ...] = ()
    custom_fields: CustomFields = CustomFields()
    interfaces: tuple[Interface, ...] = ()
    ip_addresses: tuple[IPAddress, ...] = ()
    modules: tuple[Module, ...] = ()
    lldp_neighbours: tuple[LldpNeighbour, ...] = ()
    links: tuple[Link, ...] = ()
    power_feeds: tuple[PowerLink, ...] = ()
    provenance: Mapping[str, Provenance] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        _choice(self.role, ROLES, f"device {self.name}: role")
        if self.rack_face is not None:
            _choice(self.rack_face, RACK_FACES, f"device {self.name}: rack face")
        object.__setattr__(self, "tags", tuple(self.tags))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        _unique((i.name for i in self.interfaces), "interfaces", self.name)
        _unique((a.address for a in self.ip_addresses), "IP addresses", self.name)
        _unique((m.slot for m in self.modules), "modules", self.name)
        _unique((n.local_port for n in self.lldp_neighbours), "LLDP neighbours", self.name)
        _unique((link.key for link in self.links), "links", self.name)
        _unique((feed.key for feed in self.power_feeds), "power feeds", self.name)
        for link in self.links:
            if link.a_device != self.name:
                raise ValueError(
                    f"device {self.name}: a link must start here, not at {link.a_device}"
                )
        for feed in self.power_feeds:
            if feed.target_device != self.name:
                raise ValueError(
                    f"device {self.name}: a power feed must end here, not at {feed.target_device}"
                )

    def provenance_of(self, path: str) -> Provenance | None:
        """Return the provenance recorded for ``path`` or, failing that, for its nearest parent path (``""`` last)."""
        candidate = path
        while True:
            found = self.provenance.get(candidate)
            if found is not None or candidate == "":
                return found
            candidate = candidate.rpartition("/")[0]

    def to_dict(self) -> dict[str, Any]:
        """Return the device as JSON-safe data that :meth:`from_dict` turns back into an equal device."""
        return {
            "name": self.name,
            "role": self.role,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "serial": self.serial,
            "asset_tag": self.asset_tag,
            "platform": self.platform,
            "os_version": self.os_version,
            "sys_name": self.sys_name,
            "management_address": self.management_address,
            "site": self.site,
            "location": None if self.location is None else self.location.to_dict(),
            "rack": self.rack,
            "rack_position": self.rack_position,
            "rack_face": self.rack_face,
            "tags": list(self.tags),
            "custom_fields": self.custom_fields.to_dict(),
            "interfaces": [item.to_dict() for item in self.interfaces],
            "ip_addresses": [item.to_dict() for item in self.ip_addresses],
            "modules": [item.to_dict() for item in self.modules],
            "lldp_neighbours": [item.to_dict() for item in self.lldp_neighbours],
            "links": [item.to_dict() for item in self.links],
            "power_feeds": [item.to_dict() for item in self.power_feeds],
            "provenance": {path: item.to_dict() for path, item in sorted(self.provenance.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Device:
        """Build a device from :meth:`to_dict` data; raise ``KeyError``/``ValueError`` if malformed."""
        location = data.get("location")
        return cls(
            name=data["name"],
            role=data["role"],
            manufacturer=data.get("manufacturer"),
            model=data.get("model"),
            serial=data.get("serial"),
            asset_tag=data.get("asset_tag"),
            platform=data.get("platform"),
            os_version=data.get("os_version"),
            sys_name=data.get("sys_name"),
            management_address=data.get("management_address"),
            site=data.get("site"),
            location=None if location is None else Location.from_dict(location),
            rack=data.get("rack"),
            rack_position=data.get("rack_position"),
            rack_face=data.get("rack_face"),
            tags=tuple(data.get("tags", ())),
            custom_fields=CustomFields.from_dict(data.get("custom_fields", {})),
            interfaces=tuple(Interface.from_dict(i) for i in data.get("interfaces", ())),
            ip_addresses=tuple(IPAddress.from_dict(i) for i in data.get("ip_addresses", ())),
            modules=tuple(Module.from_dict(i) for i in data.get("modules", ())),
            lldp_neighbours=tuple(
                LldpNeighbour.from_dict(i) for i in data.get("lldp_neighbours", ())
            ),
            links=tuple(Link.from_dict(i) for i in data.get("links", ())),
            power_feeds=tuple(PowerLink.from_dict(i) for i in data.get("power_feeds", ())),
            provenance={
                path: Provenance.from_dict(item)
                for path, item in data.get("provenance", {}).items()
            },
        )


_DEVICE_FIELDS = (
    "role",
    "manufacturer",
    "model",
    "serial",
    "asset_tag",
    "platform",
    "os_version",
    "sys_name",
    "management_address",
    "site",
    "rack",
    "rack_position",
    "rack_face",
)


def flatten(device: Device) -> dict[str, Any]:
    """Return every set value of ``device`` by component path (``None`` values left out, the name itself excluded)."""
    values: dict[str, Any] = {}

    def put(path: str, value: Any) -> None:
        if value is not None:
            values[path] = value

    for name in _DEVICE_FIELDS:
        put(name, getattr(device, name))
    if device.location is not None:
        put("location/building", device.location.building)
        put("location/room", device.location.room)
    if device.tags:
        values["tags"] = sorted(device.tags)
    for name, custom in device.custom_fields.items().items():
        put(f"custom_fields/{name}", custom)
    components: list[tuple[str, str, dict[str, Any]]] = []
    components += [("interfaces", i.name, i.to_dict()) for i in device.interfaces]
    components += [("ip_addresses", a.address, a.to_dict()) for a in device.ip_addresses]
    components += [("modules", m.slot, m.to_dict()) for m in device.modules]
    components += [("lldp_neighbours", n.local_port, n.to_dict()) for n in device.lldp_neighbours]
    components += [("links", link.key, link.to_dict()) for link in device.links]
    components += [("power_feeds", feed.key, feed.to_dict()) for feed in device.power_feeds]
    for collection, key, data in components:
        # the key names the component in its path; a component with no other value still shows
        put(f"{collection}/{key}/present", True)
        for name, value in data.items():
            if name not in _COMPONENT_KEY_FIELDS:
                put(f"{collection}/{key}/{name}", value)
    return dict(sorted(values.items()))


_COMPONENT_KEY_FIELDS = frozenset(
    {"name", "address", "slot", "local_port", "a_device", "a_port", "source", "target_device"}
)


_COLLECTIONS = ("interfaces", "ip_addresses", "modules", "lldp_neighbours", "links", "power_feeds")


def merge_partial(previous: Device, partial: Device) -> Device:
    """Return ``partial`` with what it lacks (unset fields, empty component lists) taken from ``previous``, provenance included.

    A value taken from ``previous`` keeps the provenance it had there, so its ``seen_at`` stays
    the time it was really seen. Raise ``ValueError`` if the two are not the same device.
    """
    if previous.name != partial.name:
        raise ValueError(f"cannot merge device {previous.name} into {partial.name}")
    updates: dict[str, Any] = {}
    provenance = dict(partial.provenance)
    for name in (*_DEVICE_FIELDS, "location", "tags", "custom_fields", *_COLLECTIONS):
        value = getattr(partial, name)
        if value not in (None, (), CustomFields()) or getattr(previous, name) in (None, ()):
            continue
        updates[name] = getattr(previous, name)
        for path, item in previous.provenance.items():
            if path == name or path.startswith(f"{name}/"):
                provenance[path] = item
        inherited = previous.provenance_of(name)
        if name not in provenance and inherited is not None:
            provenance[name] = inherited
    if not updates:
        return partial
    return replace(partial, **updates, provenance=provenance)


# ----------------------------------------------------------------------------- scans


@dataclass(frozen=True)
class DeviceScan:
    """One device as a scan saw it: ``ok``, ``partial`` (some values missing) or ``unreachable``, with messages."""

    device: Device
    status: str = "ok"
    messages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _choice(self.status, SCAN_STATUSES, f"device {self.device.name}: scan status")


@dataclass(frozen=True)
class ScanResult:
    """What one scan found: its scope (pattern or subnet), operator, times and the devices it reached or tried."""

    scope: str
    operator: str
    started_at: datetime
    finished_at: datetime
    devices: tuple[DeviceScan, ...] = ()
    scan_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "started_at", _utc(self.started_at))
        object.__setattr__(self, "finished_at", _utc(self.finished_at))
        object.__setattr__(self, "devices", tuple(self.devices))
        _unique((scanned.device.name for scanned in self.devices), "devices", f"scan {self.scope}")


# ----------------------------------------------------------------------------- duplicate serials


@dataclass(frozen=True)
class DuplicateSerial:
    """One serial reported by several devices (by name, sorted); the devices stay separate."""

    serial: str
    devices: tuple[str, ...]

    @property
    def message(self) -> str:
        """A one-line message for each of the devices involved."""
        return (
            f"serial {self.serial} is reported by {len(self.devices)} devices "
            f"({', '.join(self.devices)}); they are kept apart, check the hardware or the scan"
        )


def normalise_serial(serial: str | None) -> str | None:
    """Return ``serial`` stripped and upper-cased, or ``None`` for a blank or placeholder serial."""
    if serial is None:
        return None
    text = " ".join(serial.split()).upper()
    return None if text in PLACEHOLDER_SERIALS else text


def find_duplicate_serials(devices: Iterable[Device]) -> list[DuplicateSerial]:
    """Return every serial (compared case- and space-insensitively) that more than one device reports, sorted by serial."""
    by_serial: dict[str, set[str]] = defaultdict(set)
    for device in devices:
        serial = normalise_serial(device.serial)
        if serial is not None:
            by_serial[serial].add(device.name)
    return [
        DuplicateSerial(serial=serial, devices=tuple(sorted(names)))
        for serial, names in sorted(by_serial.items())
        if len(names) > 1
    ]
