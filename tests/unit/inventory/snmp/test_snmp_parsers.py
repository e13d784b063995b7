"""The pure parsers on bad input: truncated tables, wrong types, odd encodings, huge tables."""

from __future__ import annotations

import time

from inventory.snmp.addresses import parse_addresses
from inventory.snmp.entity import parse_entities
from inventory.snmp.host_resources import parse_host_resources
from inventory.snmp.interfaces import parse_interfaces
from inventory.snmp.lldp import parse_lldp
from inventory.snmp.recording import parse_snmprec
from inventory.snmp.system import parse_system
from inventory.snmp.ups import parse_ups_identity
from inventory.snmp.values import RawValue

IF = "1.3.6.1.2.1.2.2.1"
IFX = "1.3.6.1.2.1.31.1.1.1"


def test_system_group_with_wrong_types_keeps_the_good_values_and_notes_the_rest() -> None:
    system = parse_system(
        {
            "1.3.6.1.2.1.1.1.0": 42,  # sysDescr as an integer
            ".1.3.6.1.2.1.1.2.0": "not an oid",
            "1.3.6.1.2.1.1.3.0": b"garbage",
            "1.3.6.1.2.1.1.5.0": b"core-sw1\x00\x00",
            "1.3.6.1.2.1.1.6.0": b"Room \xff 12",  # not UTF-8
        }
    )
    assert system.descr is None and system.object_id is None and system.uptime_ticks is None
    assert system.name is not None and system.name.value == "core-sw1"
    assert system.location is not None and system.location.value == "Room \ufffd 12"
    assert len(system.notes) == 4
    assert all("garbage" not in note for note in system.notes)  # notes name the OID, not the value


def test_a_buffers_nul_padding_and_nuls_inside_a_text_go_and_the_text_stays() -> None:
    system = parse_system(
        {
            # a fixed 16-byte buffer: the string, then NULs
            "1.3.6.1.2.1.1.1.0": b"10.7.110.17\x00\x00\x00\x00\x00",
            "1.3.6.1.2.1.1.4.0": b"\x00\x00noc@hospital.example\x00",
            "1.3.6.1.2.1.1.6.0": "Room 12".encode("utf-16-le"),  # UTF-16: a NUL after each character
        }
    )
    assert system.descr is not None and system.descr.value == "10.7.110.17"
    assert system.contact is not None and system.contact.value == "noc@hospital.example"
    assert system.location is not None and system.location.value == "Room 12"


def test_rows_given_as_pairs_and_malformed_keys_are_skipped_with_notes() -> None:
    rows: list[tuple[str, RawValue]] = [("1.3.6.1.2.1.1.5.0", b"sw"), ("not.an.oid", b"x"), ("", 1)]
    system = parse_system(rows)
    assert system.name is not None and system.name.value == "sw"
    assert sum("non-numeric OID" in note for note in system.notes) == 2
    garbage = parse_system([("1.3.6.1.2.1.1.5.0",)])  # type: ignore[list-item]
    assert garbage.name is None and garbage.notes


def test_truncated_interface_table_yields_what_is_there() -> None:
    table = parse_interfaces(
        {
            f"{IF}.2.1": b"eth0", f"{IF}.3.1": 6, f"{IF}.5.1": 1_000_000_000, f"{IF}.8.1": 1,
            f"{IF}.2.2": b"eth1",  # the walk stopped here: no type, speed or status
            f"{IFX}.1.3": b"Gi0/3",  # only in ifXTable
        }
    )
    assert [interface.index for interface in table.interfaces] == [1, 2, 3]
    first, second, third = table.interfaces
    assert first.type is not None and first.type.value == "ethernetCsmacd"
    assert first.oper_status is not None and first.oper_status.value == "up"
    assert second.name is not None and second.name.value == "eth1" and second.speed_bps is None
    assert third.name is not None and third.name.value == "Gi0/3" and third.description is None


def test_interface_values_of_the_wrong_type_are_skipped_with_a_note() -> None:
    table = parse_interfaces(
        {
            f"{IF}.2.1": 17, f"{IF}.4.1": b"fifteen hundred", f"{IF}.6.1": b"\x00\x11\x22",
            f"{IF}.7.1": 99, f"{IF}.2.x": b"bad index", f"{IF}.2.1.5": b"two-part index",
        }
    )
    assert len(table.interfaces) == 1
    interface = table.interfaces[0]
    assert interface.description is None and interface.mtu is None and interface.mac is None
    assert interface.admin_status is not None and interface.admin_status.value == "unknown(99)"
    assert any("MAC address of 3 bytes" in note for note in table.notes)
    assert any("no integer ifIndex" in note for note in table.notes)


def test_if_high_speed_is_preferred_and_a_saturated_if_speed_is_noted() -> None:
    table = parse_interfaces(
        {f"{IF}.5.1": 4294967295, f"{IFX}.15.1": 10_000, f"{IF}.5.2": 4294967295, f"{IFX}.15.2": 0}
    )
    fast, saturated = table.interfaces
    assert fast.speed_bps is not None and fast.speed_bps.value == 10_000_000_000
    assert fast.speed_bps.oid == f"{IFX}.15.1"
    assert saturated.speed_bps is not None and saturated.speed_bps.oid == f"{IF}.5.2"
    assert any("saturated" in note for note in table.notes)


def test_ten_thousand_interfaces_parse_fast() -> None:
    rows: dict[str, RawValue] = {}
    for index in range(1, 10_001):
        rows[f"{IF}.2.{index}"] = f"port{index}".encode()
        rows[f"{IF}.3.{index}"] = 6
        rows[f"{IF}.6.{index}"] = index.to_bytes(6, "big")
        rows[f"{IF}.7.{index}"] = 1
        rows[f"{IF}.8.{index}"] = 2
        rows[f"{IFX}.1.{index}"] = f"Gi1/{index}".encode()
        rows[f"{IFX}.15.{index}"] = 1000
    started = time.process_time()  # CPU time: a loaded machine does not make it flaky
    table = parse_interfaces(rows)
    elapsed = time.process_time() - started
    assert len(table.interfaces) == 10_000 and not table.notes
    last = table.interfaces[-1]
    assert last.mac is not None and last.mac.value == "00:00:00:00:27:10"
    assert elapsed < 2.0


def test_ip_address_tables_with_odd_indexes() -> None:
    ip_address = "1.3.6.1.2.1.4.34.1"
    table = parse_addresses(
        {
            # length-prefixed IPv4, unicast, prefix pointer ending in /24
            f"{ip_address}.3.1.4.10.0.0.1": 2,
            f"{ip_address}.4.1.4.10.0.0.1": 1,
            f"{ip_address}.5.1.4.10.0.0.1": "1.3.6.1.2.1.4.32.1.5.2.1.4.10.0.0.0.24",
            # without the length byte (some agents)
            f"{ip_address}.3.1.192.168.1.1": 3,
            # a broadcast address is not an address of the device
            f"{ip_address}.3.1.4.10.0.0.255": 2,
            f"{ip_address}.4.1.4.10.0.0.255": 3,
            # garbage: IPv6 type with 4 bytes, a byte above 255, an unknown type
            f"{ip_address}.3.2.4.10.0.0.9": 2,
            f"{ip_address}.3.1.4.300.0.0.1": 2,
            f"{ip_address}.3.9.4.1.2.3.4": 2,
            # the old table: a netmask, and one that is not a netmask
            "1.3.6.1.2.1.4.20.1.2.172.16.0.1": 4,
            "1.3.6.1.2.1.4.20.1.3.172.16.0.1": "255.255.0.0",
            "1.3.6.1.2.1.4.20.1.2.172.17.0.1": 5,
            "1.3.6.1.2.1.4.20.1.3.172.17.0.1": "255.0.255.0",
            "1.3.6.1.2.1.4.20.1.2.10.0.0.1": 9,  # already known from ipAddressTable
        }
    )
    found = {address.address.value: address for address in table.addresses}
    assert set(found) == {"10.0.0.1", "192.168.1.1", "172.16.0.1", "172.17.0.1"}
    assert found["10.0.0.1"].prefix_length is not None and found["10.0.0.1"].prefix_length.value == 24
    assert found["10.0.0.1"].if_index is not None and found["10.0.0.1"].if_index.value == 2
    assert found["172.16.0.1"].prefix_length is not None and found["172.16.0.1"].prefix_length.value == 16
    assert found["172.17.0.1"].prefix_length is None
    assert len(table.notes) == 4


def test_entity_table_picks_the_chassis_with_a_serial_and_reads_fru() -> None:
    entry = "1.3.6.1.2.1.47.1.1.1.1"
    table = parse_entities(
        {
            f"{entry}.5.1": 11, f"{entry}.7.1": b"Stack", f"{entry}.4.1": 0,
            f"{entry}.5.2": 3, f"{entry}.4.2": 1, f"{entry}.11.2": b"FDO123", f"{entry}.13.2": b"WS-C3750",
            f"{entry}.5.3": 6, f"{entry}.16.3": 1, f"{entry}.11.3": 7,  # serial of the wrong type
            f"{entry}.5.4": b"module",  # class of the wrong type
        }
    )
    chassis = table.chassis()
    assert chassis is not None and chassis.index == 2
    assert chassis.serial is not None and chassis.serial.value == "FDO123"
    power = table.entities[2]
    assert power.field_replaceable is not None and power.field_replaceable.value is True
    assert power.serial is None
    assert table.entities[3].entity_class is None
    assert len(table.notes) == 2
    assert parse_entities({}).chassis() is None


def test_host_resources_multiplies_allocation_units_and_ignores_a_zero_unit() -> None:
    storage = "1.3.6.1.2.1.25.2.3.1"
    host = parse_host_resources(
        {
            "1.3.6.1.2.1.25.2.2.0": 2048,
            f"{storage}.2.1": "1.3.6.1.2.1.25.2.1.4", f"{storage}.3.1": b"/", f"{storage}.4.1": 4096,
            f"{storage}.5.1": 100, f"{storage}.6.1": 50,
            f"{storage}.2.2": "1.3.6.1.2.1.25.2.1.4", f"{storage}.4.2": 0, f"{storage}.5.2": 100,
            "1.3.6.1.2.1.25.3.2.1.2.1": "1.3.6.1.2.1.25.3.1.3",
            "1.3.6.1.2.1.25.3.2.1.2.2": "1.3.6.1.2.1.25.3.1.4",
            "1.3.6.1.2.1.25.3.2.1.2.3": "1.3.6.1.2.1.25.3.1.3",
        }
    )
    assert host.memory_bytes is not None and host.memory_bytes.value == 2 * 1024 * 1024
    root, broken = host.storage
    assert root.storage_type is not None and root.storage_type.value == "fixedDisk"
    assert root.size_bytes is not None and root.size_bytes.value == 409_600
    assert root.used_bytes is not None and root.used_bytes.value == 204_800
    assert broken.size_bytes is None
    assert host.processor_count is not None and host.processor_count.value == 2


def test_lldp_identifiers_by_subtype_and_malformed_indexes() -> None:
    remote = "1.0.8802.1.1.2.1.4.1.1"
    lldp = parse_lldp(
        {
            "1.0.8802.1.1.2.1.3.1.0": 4, "1.0.8802.1.1.2.1.3.2.0": bytes.fromhex("001122334455"),
            f"{remote}.4.0.7.1": 5, f"{remote}.5.0.7.1": bytes([1, 10, 0, 0, 2]),
            f"{remote}.6.0.7.1": 5, f"{remote}.7.0.7.1": b"Gi0/1", f"{remote}.9.0.7.1": b"core-sw2",
            f"{remote}.6.0.8.1": 3, f"{remote}.7.0.8.1": bytes.fromhex("00aabbccddee"),
            f"{remote}.5.0.9.1": bytes.fromhex("deadbeef00"),  # unknown subtype, binary
            f"{remote}.9.7.1": b"two-part index",
        }
    )
    assert lldp.chassis_id is not None and lldp.chassis_id.value == "00:11:22:33:44:55"
    first, second, third = lldp.neighbours
    assert first.local_port_number == 7
    assert first.chassis_id is not None and first.chassis_id.value == "10.0.0.2"
    assert first.port_id is not None and first.port_id.value == "Gi0/1"
    assert first.system_name is not None and first.system_name.value == "core-sw2"
    assert second.port_id is not None and second.port_id.value == "00:aa:bb:cc:dd:ee"
    assert third.chassis_id is not None and third.chassis_id.value == "de:ad:be:ef:00"
    assert any("timeMark.localPort.remIndex" in note for note in lldp.notes)


def test_ups_identity_absent_and_garbage() -> None:
    assert not parse_ups_identity({}).present
    ups = parse_ups_identity({"1.3.6.1.2.1.33.1.1.1.0": 5, "1.3.6.1.2.1.33.1.1.2.0": b"  9PX 3000  "})
    assert ups.present and ups.manufacturer is None
    assert ups.model is not None and ups.model.value == "9PX 3000"
    assert ups.notes


def test_snmprec_reader_tags_hex_variations_and_broken_lines() -> None:
    recording = parse_snmprec(
        "1.3.6.1.2.1.1.1.0|4|Linux box\r\n"
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.8072.3.2.10\n"
        "1.3.6.1.2.1.1.3.0|67|12345\n"
        "1.3.6.1.2.1.1.5.0|4x|6877\n"
        "1.3.6.1.2.1.4.20.1.1.10.0.0.1|64x|0a000001\n"
        "1.3.6.1.2.1.4.20.1.1.10.0.0.2|64|10.0.0.2\n"
        "1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615\n"
        "1.3.6.1.4.1.1.1.0|2:numeric|min=1,max=2\n"
        "a continuation line of a multi-line value\n"
        "1.3.6.1.4.1.1.2.0|99|?\n"
        "1.3.6.1.4.1.1.3.0|2|not a number\n"
        "1.3.6.1.4.1.1.4.0|4x|zz\n"
        "1.3.6.1.4.1.1.5.0|129|\n"
    )
    rows = recording.rows
    assert rows["1.3.6.1.2.1.1.1.0"] == b"Linux box"
    assert rows["1.3.6.1.2.1.1.2.0"] == "1.3.6.1.4.1.8072.3.2.10"
    assert rows["1.3.6.1.2.1.1.3.0"] == 12345
    assert rows["1.3.6.1.2.1.1.5.0"] == b"hw"
    assert rows["1.3.6.1.2.1.4.20.1.1.10.0.0.1"] == "10.0.0.1"
    assert rows["1.3.6.1.2.1.4.20.1.1.10.0.0.2"] == "10.0.0.2"
    assert rows["1.3.6.1.2.1.31.1.1.1.6.1"] == 2**64 - 1
    assert rows["1.3.6.1.4.1.1.5.0"] is None
    assert len(recording.notes) == 5
