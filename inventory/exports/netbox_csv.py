"""NetBox's device-import CSV from the inventory: one row per host, read from ``opsctl_*`` variables.

A host becomes an :class:`~inventory.devices.Device` (:func:`device_from_host`), written by
:mod:`inventory.netbox` in NetBox's ``DeviceImportForm`` columns. NetBox cannot create a device
without a role, a device type (manufacturer and model) and a site, so a host must set
``opsctl_role`` (one of :data:`~inventory.devices.ROLES`, as for ``opsctl inventory scan``),
``opsctl_manufacturer``, ``opsctl_model`` and ``opsctl_site``, usually in ``group_vars``.
``opsctl_status`` defaults to ``active``. Optional: ``opsctl_serial``, ``opsctl_asset_tag``,
``opsctl_platform``, ``opsctl_building`` and ``opsctl_room`` (NetBox's location: the room, else
the building), ``opsctl_rack``, ``opsctl_rack_position`` (the lowest U; needs a rack),
``opsctl_rack_face`` (front or rear; front when a position is given) and ``opsctl_tags`` (a list,
or comma-separated text; NetBox wants each tag to exist already). Names of related objects
(site, rack, device type, platform) must match what NetBox holds. Inventory groups are not
exported: NetBox has no place for them on a device. The export is one-way: nothing reads it back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from inventory.declared import choice_variable as _choice
from inventory.declared import declare
from inventory.declared import location as _location
from inventory.declared import rack_position as _rack_position
from inventory.declared import tags as _tags
from inventory.declared import text_variable as _text
from inventory.devices import RACK_FACES, ROLES, Device
from inventory.model import Host, Inventory
from inventory.netbox import export_netbox_devices
from opsctl.core.errors import ConfigError

ROLE_VARIABLE = "opsctl_role"
# NetBox refuses a device without these; no default would be right for every host
REQUIRED_VARIABLES = (ROLE_VARIABLE, "opsctl_manufacturer", "opsctl_model", "opsctl_site")
STATUS_VARIABLE = "opsctl_status"
DEFAULT_STATUS = "active"
# DeviceStatusChoices, NetBox v4.6 (netbox/dcim/choices.py)
NETBOX_DEVICE_STATUSES = (
    "offline",
    "active",
    "planned",
    "staged",
    "failed",
    "inventory",
    "decommissioning",
)
MISSING_HINT = (
    "set opsctl_role, opsctl_manufacturer, opsctl_model and opsctl_site for every host, "
    "e.g. in group_vars (opsctl_site in group_vars/all)"
)


def device_from_host(host: Host) -> Device:
    """Return the device ``host`` declares with its ``opsctl_*`` variables (see the module's docstring).

    Raise :class:`ConfigError` naming the host and the variables when a required one is not set
    or a value is not usable.
    """
    missing = [variable for variable in REQUIRED_VARIABLES if _text(host, variable) is None]
    if missing:
        raise ConfigError(
            f"host {host.name}: NetBox needs {', '.join(missing)} (not set)", hint=MISSING_HINT
        )
    role = _choice(host, ROLE_VARIABLE, ROLES)
    assert role is not None  # checked with the other required variables
    rack = _text(host, "opsctl_rack")
    position = _rack_position(host)
    if position is not None and rack is None:
        raise ConfigError(f"host {host.name}: opsctl_rack_position needs opsctl_rack")
    return Device(
        name=host.name,
        role=role,
        manufacturer=_text(host, "opsctl_manufacturer"),
        model=_text(host, "opsctl_model"),
        serial=_text(host, "opsctl_serial"),
        asset_tag=_text(host, "opsctl_asset_tag"),
        platform=_text(host, "opsctl_platform"),
        management_address=host.address,
        site=_text(host, "opsctl_site"),
        location=_location(host),
        rack=rack,
        rack_position=position,
        rack_face=_choice(host, "opsctl_rack_face", RACK_FACES),
        tags=_tags(host),
    )


def netbox_status(host: Host) -> str:
    """Return the NetBox status of ``host``: ``opsctl_status``, ``active`` when unset; ``ConfigError`` for another value."""
    return _choice(host, STATUS_VARIABLE, NETBOX_DEVICE_STATUSES) or DEFAULT_STATUS


def netbox_devices_csv(inventory: Inventory) -> str:
    """Return every host of ``inventory`` as NetBox device-import CSV, rows sorted by name.

    Raise one :class:`ConfigError` for the first host (in inventory order) that cannot be
    written, saying how many other hosts cannot either.
    """
    devices: list[Device] = []
    statuses: dict[str, str] = {}
    problems: list[ConfigError] = []
    for host in inventory.hosts.values():
        try:
            device = device_from_host(host)
            statuses[host.name] = netbox_status(host)
        except ConfigError as error:
            problems.append(error)
            continue
        devices.append(device)
    if problems:
        first = problems[0]
        others = len(problems) - 1
        more = f" ({others} more host{'s' if others > 1 else ''} cannot be exported either)"
        raise ConfigError(
            f"{first.message}{more if others else ''}", path=inventory.source, hint=first.hint
        )
    return export_netbox_devices(devices, statuses=statuses)


def _declared(host: Host, scanned: Device) -> tuple[Device, str]:
    """``scanned`` with what ``host`` declares on top, and its status.

    Placement, asset tag and tags as every scan lays them over (:func:`inventory.declared.declare`),
    read again in case the inventory changed since; then the names NetBox must know (role,
    manufacturer, device type, platform). A serial the device reported stays.
    """
    device = declare(scanned, host, datetime.now(UTC))
    device = replace(
        device,
        role=_choice(host, ROLE_VARIABLE, ROLES) or device.role,
        manufacturer=_text(host, "opsctl_manufacturer") or device.manufacturer,
        model=_text(host, "opsctl_model") or device.model,
        serial=device.serial or _text(host, "opsctl_serial"),
        platform=_text(host, "opsctl_platform"),
    )
    return device, netbox_status(host)


def scanned_devices_csv(
    devices: Sequence[Device], hosts: Mapping[str, Host] | None = None, *, site: str | None = None
) -> tuple[str, list[str]]:
    """Return the devices the scans found as NetBox device-import CSV, and what was left out and why.

    A device that is also an inventory host (by name) takes that host's ``opsctl_*`` variables
    over what the scan found: placement (site, location, rack), and names that must match NetBox
    (``opsctl_model`` for the device type, ``opsctl_platform``: a scan's platform is not a NetBox
    platform name, so it is left out). ``site`` is for devices with no site of their own.
    A device NetBox would refuse (no manufacturer, model or site) is left out, and named in the
    list: NetBox refuses a whole import for one bad row. Raise ConfigError for a bad variable.
    """
    rows: list[Device] = []
    statuses: dict[str, str] = {}
    left_out: list[str] = []
    for found in devices:
        # a scan's platform is a profile's description; NetBox's is an object that must exist
        scanned = replace(found, platform=None)
        host = (hosts or {}).get(scanned.name)
        device, status = (scanned, DEFAULT_STATUS) if host is None else _declared(host, scanned)
        if device.site is None and site is not None:
            device = replace(device, site=site)
        missing = [what for what, value in (("manufacturer", device.manufacturer), ("model", device.model),
                                            ("site", device.site)) if not value]
        if missing:
            left_out.append(f"{device.name}: no {', no '.join(missing)}")
            continue
        rows.append(device)
        statuses[device.name] = status
    return export_netbox_devices(rows, statuses=statuses), left_out


class NetboxDevicesCsvExporter:
    """NetBox's device-import CSV (DCIM > Devices > Import): one row per host, from its ``opsctl_*`` variables."""

    name = "netbox-devices-csv"

    def export(self, inventory: Inventory) -> str:
        """Return the CSV; see :func:`netbox_devices_csv`."""
        return netbox_devices_csv(inventory)
