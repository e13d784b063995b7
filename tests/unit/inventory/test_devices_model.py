"""The device model: round trips through JSON, provenance by path, validation, duplicate serials."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from inventory.devices import (
    CustomFields,
    Device,
    DeviceScan,
    Interface,
    IPAddress,
    Link,
    LldpNeighbour,
    Location,
    Module,
    PowerLink,
    Provenance,
    Rack,
    ScanResult,
    Site,
    find_duplicate_serials,
    flatten,
)

SEEN = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def snmp(oid: str) -> Provenance:
    return Provenance("snmp", oid, SEEN)


def core_switch() -> Device:
    return Device(
        name="core-sw1",
        role="switch",
        manufacturer="Cisco",
        model="WS-C3850-48T",
        serial="FOC1234X0AB",
        asset_tag="HOSP-0042",
        platform="cisco_ios",
        os_version="16.12.4",
        sys_name="core-sw1.hospital.example",
        management_address="10.10.0.2",
        site="main-campus",
        location=Location("Building A", "Server room 0.12"),
        rack="A-01",
        rack_position=40,
        rack_face="front",
        tags=("core", "network"),
        custom_fields=CustomFields(
            patch_group="network-core", backup_policy="configs", clinical_criticality="high",
            extra={"owner": "netops", "support_contract": 2027},
        ),
        interfaces=(
            Interface("Gi1/0/1", "ethernetCsmacd", "00:1a:2b:3c:4d:01", 1_000_000_000, 1500, "up", "up"),
            Interface("Vlan10", "propVirtual", None, None, 1500, "up", "down"),
        ),
        ip_addresses=(IPAddress("10.10.0.2/24", "Vlan10"),),
        modules=(Module("PSU 1", "PWR-C1-350WAC", "LIT2020ABCD", True, "350W AC power supply"),),
        lldp_neighbours=(LldpNeighbour("Gi1/0/1", "00:50:56:aa:bb:cc", "eth0", "pacs1"),),
        links=(Link("core-sw1", "Gi1/0/1", "pacs1", "eth0", "lldp"),),
        power_feeds=(PowerLink("pdu-a01", "core-sw1", "12"),),
        provenance={
            "": Provenance("snmp", "1.3.6.1.2.1.1", SEEN),
            "serial": snmp("1.3.6.1.2.1.47.1.1.1.1.11.1000"),
            "os_version": Provenance("cli", "show version", SEEN + timedelta(seconds=3)),
            "interfaces/Gi1/0/1": snmp("1.3.6.1.2.1.2.2.1"),
            "interfaces/Gi1/0/1/oper_status": snmp("1.3.6.1.2.1.2.2.1.8.10101"),
            "rack": Provenance("manual", "inventory.yaml", SEEN),
        },
    )


def test_a_device_round_trips_through_json_unchanged() -> None:
    device = core_switch()

    text = json.dumps(device.to_dict())
    again = Device.from_dict(json.loads(text))

    assert again == device
    assert again.provenance_of("os_version") == Provenance("cli", "show version", SEEN + timedelta(seconds=3))
    assert again.custom_fields.extra == {"owner": "netops", "support_contract": 2027}


def test_places_round_trip() -> None:
    site = Site("main-campus", "Main hospital", (Location("Building A", "0.12"), Location("Building B")))
    rack = Rack("A-01", "main-campus", Location("Building A", "0.12"), 47)

    assert Site.from_dict(json.loads(json.dumps(site.to_dict()))) == site
    assert Rack.from_dict(json.loads(json.dumps(rack.to_dict()))) == rack


def test_provenance_is_the_most_specific_recorded_for_a_path() -> None:
    device = core_switch()

    assert device.provenance_of("interfaces/Gi1/0/1/oper_status") == snmp("1.3.6.1.2.1.2.2.1.8.10101")
    assert device.provenance_of("interfaces/Gi1/0/1/mtu") == snmp("1.3.6.1.2.1.2.2.1")
    assert device.provenance_of("model") == snmp("1.3.6.1.2.1.1")
    assert Device("bare", "server").provenance_of("serial") is None


def test_provenance_times_are_kept_in_utc_and_naive_times_refused() -> None:
    local = datetime(2026, 11, 2, 10, 30, tzinfo=timezone(timedelta(hours=1)))
    assert Provenance("ssh", "cat /etc/os-release", local).seen_at == SEEN
    with pytest.raises(ValueError, match="naive"):
        Provenance("ssh", "uname -r", datetime(2026, 11, 2))
    with pytest.raises(ValueError, match="provenance source must be one of snmp, ssh, cli, manual"):
        Provenance("guess", "", SEEN)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Device("x", "toaster"), "role must be one of"),
        (lambda: Device("x", "server", rack_face="side"), "rack face must be one of front, rear"),
        (lambda: Device("x", "switch", interfaces=(Interface("Gi1"), Interface("Gi1"))), "two interfaces"),
        (lambda: Device("x", "switch", links=(Link("y", "Gi1", "z", "eth0"),)), "a link must start here"),
        (lambda: Device("x", "server", power_feeds=(PowerLink("ups1", "y"),)), "power feed must end here"),
        (lambda: IPAddress("10.0.0.300/24"), "does not appear to be an IPv4 or IPv6"),
    ],
)
def test_malformed_devices_are_refused(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_flatten_names_values_by_path_and_leaves_out_unknowns() -> None:
    values = flatten(core_switch())

    assert values["serial"] == "FOC1234X0AB"
    assert values["location/room"] == "Server room 0.12"
    assert values["tags"] == ["core", "network"]
    assert values["custom_fields/clinical_criticality"] == "high"
    assert values["custom_fields/owner"] == "netops"
    assert values["interfaces/Gi1/0/1/oper_status"] == "up"
    assert values["interfaces/Vlan10/present"] is True
    assert "interfaces/Vlan10/mac_address" not in values
    assert values["modules/PSU 1/serial"] == "LIT2020ABCD"
    assert values["lldp_neighbours/Gi1/0/1/remote_system_name"] == "pacs1"
    assert values["links/lldp:Gi1/0/1/b_device"] == "pacs1"
    assert values["power_feeds/pdu-a01:12/outlet"] == "12"
    assert "name" not in values


def test_two_devices_with_one_serial_are_flagged_and_stay_two() -> None:
    devices = [
        Device("ups-a", "ups", serial="AS1234567890"),
        Device("ups-b", "ups", serial=" as1234567890 "),
        Device("ups-c", "ups", serial="AS0000000001"),
        Device("srv1", "server", serial="To be filled by O.E.M."),
        Device("srv2", "server", serial="To Be Filled By O.E.M."),
        Device("srv3", "server", serial=None),
        Device("srv4", "server", serial=""),
    ]

    duplicates = find_duplicate_serials(devices)

    assert [(d.serial, d.devices) for d in duplicates] == [("AS1234567890", ("ups-a", "ups-b"))]
    assert "ups-a, ups-b" in duplicates[0].message and "kept apart" in duplicates[0].message
    assert len(devices) == 7


def test_a_scan_refuses_one_device_twice() -> None:
    with pytest.raises(ValueError, match="two devices with the key 'sw1'"):
        ScanResult("all", "alice", SEEN, SEEN, (DeviceScan(Device("sw1", "switch")),) * 2)
    with pytest.raises(ValueError, match="scan status must be one of ok, partial, unreachable"):
        DeviceScan(Device("sw1", "switch"), "gone")
