"""diff_scans on hand-built scans: a module swapped, an LLDP neighbour changed, firmware, partial and unreachable devices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from inventory.devices import (
    Device,
    DeviceScan,
    Interface,
    Link,
    LldpNeighbour,
    Module,
    Provenance,
    ScanResult,
)
from inventory.diff import Change, diff_devices, diff_scans

T1 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def access_switch(at: datetime) -> Device:
    return Device(
        name="acc-sw7",
        role="switch",
        os_version="WC.16.10.0009",
        interfaces=(Interface("1/1/1", oper_status="up"), Interface("1/1/2", oper_status="up")),
        modules=(Module("Fan tray 1", "JL070A", "CN11AAA", True),),
        lldp_neighbours=(LldpNeighbour("1/1/1", "00:50:56:00:00:01", "eth0", "ris1"),),
        links=(Link("acc-sw7", "1/1/1", "ris1", "eth0", "lldp"),),
        provenance={"": Provenance("snmp", "1.3.6.1.2.1.1", at),
                    "lldp_neighbours": Provenance("snmp", "1.0.8802.1.1.2.1.4.1", at),
                    "modules/Fan tray 1": Provenance("cli", "show inventory", at)},
    )


def scan(at: datetime, *devices: DeviceScan) -> ScanResult:
    return ScanResult("access", "alice", at, at, devices)


def test_a_swapped_module_a_new_neighbour_and_new_firmware_are_changes() -> None:
    before = access_switch(T1)
    after = replace(
        access_switch(T2),
        os_version="WC.16.11.0012",
        modules=(Module("Fan tray 1", "JL070A", "CN22BBB", True),),
        lldp_neighbours=(LldpNeighbour("1/1/1", "00:50:56:00:00:09", "eth1", "ris2"),),
        links=(Link("acc-sw7", "1/1/1", "ris2", "eth1", "lldp"),),
    )

    changes = diff_scans(scan(T1, DeviceScan(before)), scan(T2, DeviceScan(after)))

    lldp = Provenance("snmp", "1.0.8802.1.1.2.1.4.1", T2)
    assert [(c.path, c.old, c.new, c.provenance) for c in changes] == [
        ("links/lldp:1/1/1/b_device", "ris1", "ris2", Provenance("snmp", "1.3.6.1.2.1.1", T2)),
        ("links/lldp:1/1/1/b_port", "eth0", "eth1", Provenance("snmp", "1.3.6.1.2.1.1", T2)),
        ("lldp_neighbours/1/1/1/remote_chassis_id", "00:50:56:00:00:01", "00:50:56:00:00:09", lldp),
        ("lldp_neighbours/1/1/1/remote_port", "eth0", "eth1", lldp),
        ("lldp_neighbours/1/1/1/remote_system_name", "ris1", "ris2", lldp),
        ("modules/Fan tray 1/serial", "CN11AAA", "CN22BBB", Provenance("cli", "show inventory", T2)),
        ("os_version", "WC.16.10.0009", "WC.16.11.0012", Provenance("snmp", "1.3.6.1.2.1.1", T2)),
    ]
    assert {c.kind for c in changes} == {"changed"} and {c.device for c in changes} == {"acc-sw7"}


def test_a_removed_interface_is_reported_unless_the_scan_was_partial() -> None:
    before = access_switch(T1)
    after = replace(access_switch(T2), interfaces=(Interface("1/1/1", oper_status="up"),))

    full = diff_scans(scan(T1, DeviceScan(before)), scan(T2, DeviceScan(after)))
    partial = diff_scans(scan(T1, DeviceScan(before)), scan(T2, DeviceScan(after, "partial")))

    assert [(c.path, c.old, c.new) for c in full] == [
        ("interfaces/1/1/2/oper_status", "up", None),
        ("interfaces/1/1/2/present", True, None),
    ]
    assert partial == []


def test_an_unreachable_device_is_not_vanished_and_unknown_before_is_not_appeared() -> None:
    reached = DeviceScan(access_switch(T1))
    lost = DeviceScan(Device("acc-sw7", "switch"), "unreachable", ("acc-sw7: wrong community",))

    assert diff_scans(scan(T1, reached), scan(T2, lost)) == []
    assert diff_scans(scan(T1, lost), scan(T2, reached)) == []


def test_identical_scans_have_no_changes_even_when_seen_at_differs() -> None:
    assert diff_scans(scan(T1, DeviceScan(access_switch(T1))), scan(T2, DeviceScan(access_switch(T2)))) == []


def test_a_change_is_json_ready() -> None:
    change = Change("acc-sw7", "changed", "os_version", "a", "b", Provenance("cli", "show version", T2))
    assert change.to_dict() == {
        "device": "acc-sw7", "kind": "changed", "path": "os_version", "old": "a", "new": "b",
        "provenance": {"source": "cli", "origin": "show version", "seen_at": "2026-11-02T08:00:00+00:00"},
    }
    assert diff_devices([], [Device("x", "sensor")])[0].provenance is None
