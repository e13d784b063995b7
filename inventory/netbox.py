"""Export devices as a CSV for NetBox's device bulk import (DCIM > Devices > Import).

The columns are those of NetBox's own ``DeviceImportForm`` (``netbox/dcim/forms/bulk_import.py``,
``Meta.fields``, NetBox v4.6.8), in that order; values use the form's CSV conventions: related
objects by name (the device type by model), choices by value, tags as comma-separated slugs.
NetBox has no device roles for our roles until they are created, so ``role`` is our role name.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping

from inventory.devices import Device

# DeviceImportForm.Meta.fields, NetBox v4.6.8 (netbox/dcim/forms/bulk_import.py)
NETBOX_DEVICE_IMPORT_FIELDS = (
    "name",
    "role",
    "tenant",
    "manufacturer",
    "device_type",
    "platform",
    "serial",
    "asset_tag",
    "status",
    "site",
    "location",
    "rack",
    "position",
    "face",
    "latitude",
    "longitude",
    "parent",
    "device_bay",
    "airflow",
    "virtual_chassis",
    "vc_position",
    "vc_priority",
    "cluster",
    "description",
    "config_template",
    "owner",
    "comments",
    "tags",
)


# columns NetBox reads as numbers: a number there keeps its sign (a latitude of -33.9)
NUMERIC_FIELDS = frozenset({"position", "latitude", "longitude", "vc_position", "vc_priority"})
# what makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(field: str, value: str) -> str:
    """Return ``value`` safe to open in a spreadsheet: a text cell starting with ``= + - @``, tab or CR gets a leading ``'``.

    A number in one of :data:`NUMERIC_FIELDS` is returned as it is.
    """
    if not value.startswith(FORMULA_STARTS):
        return value
    if field in NUMERIC_FIELDS:
        try:
            float(value)
        except ValueError:
            pass
        else:
            return value
    return "'" + value


def netbox_tag_slug(tag: str) -> str:
    """Return the NetBox slug of a tag name: lower case, runs of other characters as one hyphen."""
    return re.sub(r"[^a-z0-9_]+", "-", tag.lower()).strip("-")


def netbox_device_row(device: Device, *, status: str = "active") -> dict[str, str]:
    """Return one device as a NetBox device-import row, every column present (empty when unknown)."""
    row = dict.fromkeys(NETBOX_DEVICE_IMPORT_FIELDS, "")
    location = device.location
    # NetBox names the leaf location: the room when there is one, else the building
    location_name = "" if location is None else (location.room or location.building)
    row.update(
        name=device.name,
        role=device.role,
        manufacturer=device.manufacturer or "",
        device_type=device.model or "",
        platform=device.platform or "",
        serial=device.serial or "",
        asset_tag=device.asset_tag or "",
        status=status,
        site=device.site or "",
        location=location_name,
        rack=device.rack or "",
        position="" if device.rack_position is None else str(device.rack_position),
        # NetBox refuses a rack position without a face
        face=device.rack_face or ("front" if device.rack_position is not None else ""),
        # NetBox has no sysName field; its description (200 characters at most) carries it
        description="" if not device.sys_name else f"sysName {device.sys_name}"[:200],
        tags=",".join(sorted({netbox_tag_slug(tag) for tag in device.tags})),
    )
    return row


def export_netbox_devices(
    devices: Iterable[Device], *, status: str = "active", statuses: Mapping[str, str] | None = None
) -> str:
    """Return the devices, sorted by name, as NetBox device-import CSV text with a header row.

    Each device has ``status``, unless ``statuses`` gives another for its name. Cells a
    spreadsheet would read as formulas are neutralised (:func:`neutralise_cell`).
    """
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=NETBOX_DEVICE_IMPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for device in sorted(devices, key=lambda item: item.name):
        device_status = status if statuses is None else statuses.get(device.name, status)
        row = netbox_device_row(device, status=device_status)
        writer.writerow({field: neutralise_cell(field, value) for field, value in row.items()})
    return buffer.getvalue()
