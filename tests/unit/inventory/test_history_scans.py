"""Scans stored in the state store: two scans and their diff, the state at a time, one device's history."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inventory.devices import (
    Device,
    DeviceScan,
    Interface,
    Module,
    Provenance,
    ScanResult,
)
from inventory.diff import Change, diff_scans, diff_since
from inventory.history import (
    device_history,
    devices_at,
    list_scans,
    load_scan,
    record_scan,
)
from opsctl.core.errors import StateError
from opsctl.core.state import StateStore

T1 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
T3 = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)
ENTITY_SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11.1000"
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8.10101"


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def switch(at: datetime, *, serial: str, gi1: str, os_version: str = "16.12.4") -> Device:
    return Device(
        name="core-sw1",
        role="switch",
        manufacturer="Cisco",
        model="WS-C3850-48T",
        serial=serial,
        os_version=os_version,
        management_address="10.10.0.2",
        interfaces=(Interface("Gi1/0/1", "ethernetCsmacd", oper_status=gi1, admin_status="up"),
                    Interface("Gi1/0/2", "ethernetCsmacd", oper_status="up", admin_status="up")),
        modules=(Module("PSU 1", "PWR-C1-350WAC", "LIT1", True),),
        provenance={
            "": Provenance("snmp", "1.3.6.1.2.1.1", at),
            "serial": Provenance("snmp", ENTITY_SERIAL, at),
            "interfaces/Gi1/0/1/oper_status": Provenance("snmp", IF_OPER_STATUS, at),
        },
    )


def server(name: str, at: datetime, serial: str) -> Device:
    return Device(name=name, role="server", serial=serial, os_version="Debian 12",
                  provenance={"": Provenance("ssh", "cat /etc/os-release", at)})


def first_scan() -> ScanResult:
    return ScanResult("all", "alice", T1, T1 + timedelta(minutes=2), (
        DeviceScan(switch(T1, serial="FOC1111", gi1="up")),
        DeviceScan(server("old-srv", T1, "OLD1")),
        DeviceScan(server("pacs1", T1, "PACS1")),
    ), scan_id="scan-1")


def second_scan() -> ScanResult:
    return ScanResult("all", "bob", T2, T2 + timedelta(minutes=2), (
        DeviceScan(switch(T2, serial="FOC2222", gi1="down")),
        DeviceScan(server("pacs1", T2, "PACS1")),
        DeviceScan(server("new-srv", T2, "NEW1")),
    ), scan_id="scan-2")


def by_name(scan: ScanResult) -> ScanResult:
    return replace(scan, devices=tuple(sorted(scan.devices, key=lambda s: s.device.name)))


def expected_changes() -> list[Change]:
    return [
        Change("core-sw1", "changed", "interfaces/Gi1/0/1/oper_status", "up", "down",
               Provenance("snmp", IF_OPER_STATUS, T2)),
        Change("core-sw1", "changed", "serial", "FOC1111", "FOC2222",
               Provenance("snmp", ENTITY_SERIAL, T2)),
        Change("new-srv", "appeared", "", None, None, Provenance("ssh", "cat /etc/os-release", T2)),
        Change("old-srv", "vanished", "", None, None, None),
    ]


def test_two_hand_built_scans_differ_with_provenance() -> None:
    assert diff_scans(first_scan(), second_scan()) == expected_changes()


def test_two_recorded_scans_differ_the_same_way_since_the_first(store: StateStore) -> None:
    assert record_scan(store, first_scan()) == "scan-1"
    assert record_scan(store, second_scan()) == "scan-2"

    assert diff_since(store, T1) == expected_changes()
    assert diff_since(store, T2) == []


def test_a_recorded_scan_loads_back_and_diffs_as_recorded(store: StateStore) -> None:
    record_scan(store, first_scan())
    record_scan(store, second_scan())

    old, new = load_scan(store, "scan-1"), load_scan(store, "scan-2")

    assert old == by_name(first_scan()) and new == by_name(second_scan())
    assert diff_scans(old, new) == expected_changes()
    assert load_scan(store, "no-such-scan") is None


def test_scan_counts_are_recorded(store: StateStore) -> None:
    record_scan(store, first_scan())
    record_scan(store, second_scan())

    newest, oldest = list_scans(store)

    assert (oldest.scan_id, oldest.found, oldest.changed, oldest.vanished) == ("scan-1", 3, 3, 0)
    assert (newest.scan_id, newest.scope, newest.operator) == ("scan-2", "all", "bob")
    assert (newest.found, newest.changed, newest.partial, newest.unreachable, newest.vanished) == (
        3, 2, 0, 0, 1)
    assert newest.started_at == T2 and newest.finished_at == T2 + timedelta(minutes=2)


def test_devices_at_gives_the_latest_known_state_at_a_time(store: StateStore) -> None:
    record_scan(store, first_scan())
    record_scan(store, second_scan())

    assert [d.name for d in devices_at(store, T1 - timedelta(seconds=1))] == []
    then = devices_at(store, T1 + timedelta(hours=1))
    now = devices_at(store)

    assert [d.name for d in then] == ["core-sw1", "old-srv", "pacs1"]
    assert then[0].serial == "FOC1111"
    assert [d.name for d in now] == ["core-sw1", "new-srv", "pacs1"]
    assert now[0].serial == "FOC2222"
    assert now[0].provenance_of("serial") == Provenance("snmp", ENTITY_SERIAL, T2)


def test_a_device_history_shows_each_scan_and_its_vanishing(store: StateStore) -> None:
    record_scan(store, first_scan())
    record_scan(store, second_scan())

    history = device_history(store, "old-srv")

    assert [(h.scan_id, h.status) for h in history] == [("scan-1", "ok"), ("scan-2", "vanished")]
    assert history[1].device.serial == "OLD1"
    assert "not found by this scan of all" in history[1].messages[0]
    assert [h.device.serial for h in device_history(store, "core-sw1")] == ["FOC1111", "FOC2222"]
    assert device_history(store, "ghost") == []


def test_an_unreachable_device_neither_vanishes_nor_changes(store: StateStore) -> None:
    record_scan(store, first_scan())
    third = ScanResult("all", "alice", T2, T2, (
        DeviceScan(switch(T2, serial="FOC1111", gi1="up")),
        DeviceScan(server("old-srv", T2, "OLD1")),
        DeviceScan(Device("pacs1", "server"), "unreachable", ("pacs1: timed out after 10 s",)),
    ))

    scan_id = record_scan(store, third)

    assert diff_scans(first_scan(), third) == []
    assert diff_since(store, T1) == []
    pacs = [d for d in devices_at(store) if d.name == "pacs1"]
    assert pacs and pacs[0].serial == "PACS1"
    summary = list_scans(store, limit=1)[0]
    assert (summary.scan_id, summary.found, summary.unreachable, summary.changed) == (scan_id, 2, 1, 0)
    assert device_history(store, "pacs1")[-1].messages == ("pacs1: timed out after 10 s",)


def test_a_partial_scan_keeps_what_it_could_not_read_with_its_old_provenance(
    store: StateStore,
) -> None:
    record_scan(store, first_scan())
    half = Device("core-sw1", "switch", serial="FOC1111", os_version="17.3.1",
                  provenance={"": Provenance("cli", "show version", T3)})
    partial = ScanResult("all", "alice", T3, T3, (
        DeviceScan(half, "partial", ("core-sw1: ifTable walk timed out",)),
        DeviceScan(server("old-srv", T3, "OLD1")),
        DeviceScan(server("pacs1", T3, "PACS1")),
    ))

    record_scan(store, partial)

    changes = diff_since(store, T1)
    assert [(c.device, c.path, c.old, c.new) for c in changes] == [
        ("core-sw1", "os_version", "16.12.4", "17.3.1")]
    assert changes[0].provenance == Provenance("cli", "show version", T3)
    switch_now = next(d for d in devices_at(store) if d.name == "core-sw1")
    assert [i.name for i in switch_now.interfaces] == ["Gi1/0/1", "Gi1/0/2"]
    assert switch_now.provenance_of("interfaces/Gi1/0/1/oper_status") == Provenance(
        "snmp", IF_OPER_STATUS, T1)
    assert switch_now.provenance_of("interfaces/Gi1/0/2/mtu") == Provenance("snmp", "1.3.6.1.2.1.1", T1)
    assert list_scans(store, limit=1)[0].partial == 1


def test_a_reappearing_device_appears_again(store: StateStore) -> None:
    record_scan(store, first_scan())
    record_scan(store, second_scan())
    back = ScanResult("all", "alice", T3, T3, (
        DeviceScan(switch(T3, serial="FOC2222", gi1="down")),
        DeviceScan(server("pacs1", T3, "PACS1")),
        DeviceScan(server("new-srv", T3, "NEW1")),
        DeviceScan(server("old-srv", T3, "OLD1")),
    ))

    record_scan(store, back)

    assert [(c.device, c.kind) for c in diff_since(store, T2)] == [("old-srv", "appeared")]
    assert list_scans(store, limit=1)[0].changed == 1


def test_a_scan_of_another_scope_does_not_make_devices_vanish(store: StateStore) -> None:
    record_scan(store, first_scan())
    other = ScanResult("10.20.0.0/24", "alice", T2, T2, (DeviceScan(server("lab1", T2, "LAB1")),))

    record_scan(store, other)

    assert [d.name for d in devices_at(store)] == ["core-sw1", "lab1", "old-srv", "pacs1"]


def test_recording_a_scan_id_twice_is_a_state_error(store: StateStore) -> None:
    record_scan(store, first_scan())
    with pytest.raises(StateError, match="cannot record inventory scan scan-1"):
        record_scan(store, first_scan())
    assert len(list_scans(store)) == 1


def test_a_recorded_device_keeps_its_sys_name_in_the_snapshot_and_as_a_column(store: StateStore) -> None:
    import sqlalchemy as sa

    from inventory.state import inventory_snapshots

    long_name = "core-sw1." + "x" * 300  # more than the column holds: the snapshot keeps it whole
    device = replace(switch(T1, serial="FOC1", gi1="up"), sys_name=long_name)
    scan_id = record_scan(store, ScanResult("all", "alice", T1, T1, (DeviceScan(device),)))
    assert load_scan(store, scan_id).devices[0].device.sys_name == long_name
    with store.transaction("read") as conn:
        column = conn.execute(sa.select(inventory_snapshots.c.sys_name)).scalar_one()
    assert column == long_name[:255]
