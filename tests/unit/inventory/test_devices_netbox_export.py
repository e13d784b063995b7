"""NetBox device-import CSV: the header is NetBox's own DeviceImportForm field list, the rows match a golden file."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from inventory.devices import CustomFields, Device, Location
from inventory.netbox import export_netbox_devices

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "netbox" / "devices.csv"

# Copied from NetBox's source, not from our module: netbox-community/netbox,
# netbox/dcim/forms/bulk_import.py, class DeviceImportForm, Meta.fields, as of v4.6.8
# (tag v4.6.8 = 3db98de783c02038775b78f9804a95681f78eb7b; unchanged at main
# 43fe81f9e833228c9869f7ddadb67e6c5f145060, 2026-08-22).
NETBOX_DEVICE_IMPORT_FORM_FIELDS = [
    'name', 'role', 'tenant', 'manufacturer', 'device_type', 'platform', 'serial', 'asset_tag', 'status',
    'site', 'location', 'rack', 'position', 'face', 'latitude', 'longitude', 'parent', 'device_bay', 'airflow',
    'virtual_chassis', 'vc_position', 'vc_priority', 'cluster', 'description', 'config_template', 'owner',
    'comments', 'tags',
]


def sample_devices() -> list[Device]:
    return [
        Device(
            name="ups-a01", role="ups", manufacturer="APC", model="SMX3000RMHV2U",
            serial="AS1234567890", asset_tag="HOSP-0107", site="main-campus",
            location=Location("Building A", "Server room 0.12"), rack="A-01", rack_position=1,
            tags=("Power", "UPS Tier 1"),
        ),
        Device(
            name="core-sw1", role="switch", manufacturer="Cisco", model="WS-C3850-48T",
            serial="FOC1234X0AB", asset_tag="HOSP-0042", platform="cisco_ios", os_version="16.12.4",
            sys_name="core-sw1.hospital.example", management_address="10.10.0.2", site="main-campus", location=Location("Building A"),
            rack="A-01", rack_position=40, rack_face="rear", tags=("core", "network"),
            custom_fields=CustomFields(patch_group="network-core"),
        ),
        # discovered by address only: name is the management address, no place known yet
        Device(name="10.20.0.15", role="sensor", manufacturer="Geist", model="Watchdog 100"),
    ]


def test_the_header_is_netbox_device_import_form_field_list() -> None:
    text = export_netbox_devices([])
    assert next(csv.reader(io.StringIO(text))) == NETBOX_DEVICE_IMPORT_FORM_FIELDS


def test_sample_devices_export_as_the_golden_file() -> None:
    assert export_netbox_devices(sample_devices()) == GOLDEN.read_text(encoding="utf-8")


def test_rows_read_back_by_column_name() -> None:
    rows = list(csv.DictReader(io.StringIO(export_netbox_devices(sample_devices()))))

    core = next(row for row in rows if row["name"] == "core-sw1")
    assert core["description"] == "sysName core-sw1.hospital.example"  # NetBox has no sysName field of its own

    ups = next(row for row in rows if row["name"] == "ups-a01")
    assert ups["description"] == ""
    assert (ups["device_type"], ups["location"], ups["position"], ups["face"]) == (
        "SMX3000RMHV2U", "Server room 0.12", "1", "front")
    assert ups["tags"] == "power,ups-tier-1"
    assert [row["name"] for row in rows] == ["10.20.0.15", "core-sw1", "ups-a01"]
    assert {row["status"] for row in rows} == {"active"}
