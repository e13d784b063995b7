"""What the inventory declares about a device (placement, custom fields, links, power) over what a scan found."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from inventory.declared import declare, declared_links, declared_power, links_from_lldp
from inventory.devices import Device, LldpNeighbour, Location, Provenance, flatten
from inventory.model import Host
from opsctl.core.errors import ConfigError

SEEN = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
SCANNED_AT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def _scanned(**fields: Any) -> Device:
    return Device("db1", "server", serial="CZ1234", asset_tag="found-tag",
                  provenance={"serial": Provenance("ssh", "cat /sys/class/dmi/id/product_serial", SCANNED_AT),
                              "lldp_neighbours/eth0": Provenance("snmp", "1.0.8802.1.1.2.1.4.1.1", SCANNED_AT)},
                  **fields)


def test_placement_and_custom_fields_come_from_the_inventory_with_manual_provenance() -> None:
    host = Host("db1", {
        "opsctl_site": "main-campus", "opsctl_building": "Building A", "opsctl_room": "Server room 0.12",
        "opsctl_rack": "A-01", "opsctl_rack_position": "12", "opsctl_rack_face": "rear",
        "opsctl_asset_tag": "HOSP-0042", "opsctl_tags": "pacs, clinical",
        "opsctl_patch_group": "wave-2", "opsctl_backup_policy": "postgres-nightly",
        "opsctl_clinical_criticality": "critical",
    })
    device = declare(_scanned(), host, SEEN)
    assert (device.site, device.location, device.rack, device.rack_position, device.rack_face) == (
        "main-campus", Location("Building A", "Server room 0.12"), "A-01", 12, "rear")
    assert device.asset_tag == "HOSP-0042"  # declared over found
    assert device.serial == "CZ1234"  # never declared over
    assert device.tags == ("clinical", "pacs")
    assert (device.custom_fields.patch_group, device.custom_fields.backup_policy,
            device.custom_fields.clinical_criticality) == ("wave-2", "postgres-nightly", "critical")
    assert device.provenance_of("site") == Provenance("manual", "inventory opsctl_site", SEEN)
    assert device.provenance_of("location/room") == Provenance(
        "manual", "inventory opsctl_building/opsctl_room", SEEN)
    assert device.provenance_of("custom_fields/backup_policy") == Provenance(
        "manual", "inventory opsctl_backup_policy", SEEN)
    assert device.provenance_of("serial") == Provenance("ssh", "cat /sys/class/dmi/id/product_serial", SCANNED_AT)


def test_a_host_that_declares_nothing_keeps_the_scanned_device_as_it_is() -> None:
    scanned = _scanned()
    assert declare(scanned, Host("db1", {"ansible_host": "10.0.0.5"}), SEEN) is scanned


def test_declared_links_and_power_feeds_end_at_the_device_and_show_in_its_flat_values() -> None:
    host = Host("db1", {"opsctl_links": {"eth0": "core-sw1:Gi1/0/12", "eth1": "core-sw2:Gi1/0/12"},
                        "opsctl_power": ["ups-1", "pdu-a:12"]})
    device = declare(_scanned(), host, SEEN)
    assert [(link.a_port, link.b_device, link.b_port, link.source) for link in device.links] == [
        ("eth0", "core-sw1", "Gi1/0/12", "declared"), ("eth1", "core-sw2", "Gi1/0/12", "declared")]
    assert [(feed.source_device, feed.outlet, feed.target_device) for feed in device.power_feeds] == [
        ("pdu-a", "12", "db1"), ("ups-1", None, "db1")]
    values = flatten(device)
    assert values["links/declared:eth0/b_device"] == "core-sw1"
    assert values["power_feeds/pdu-a:12/present"] is True
    assert device.provenance_of("power_feeds/ups-1") == Provenance("manual", "inventory opsctl_power", SEEN)


def test_lldp_neighbours_that_name_system_and_port_become_links_with_the_neighbour_s_provenance() -> None:
    scanned = _scanned(lldp_neighbours=(
        LldpNeighbour("eth0", "00:11:22:33:44:55", "Gi1/0/12", "core-sw1"),
        LldpNeighbour("eth1", "00:11:22:33:44:66", None, None),  # says too little to be a link
    ))
    assert [(link.a_port, link.b_device, link.b_port) for link in links_from_lldp(scanned)] == [
        ("eth0", "core-sw1", "Gi1/0/12")]
    device = declare(scanned, Host("db1", {}), SEEN)
    assert [link.key for link in device.links] == ["lldp:eth0"]
    assert device.provenance_of("links/lldp:eth0") == Provenance("snmp", "1.0.8802.1.1.2.1.4.1.1", SCANNED_AT)


@pytest.mark.parametrize(("variables", "problem"), [
    ({"opsctl_links": ["core-sw1:Gi1/0/12"]}, "opsctl_links must map each local port"),
    ({"opsctl_links": {"eth0": "core-sw1"}}, "opsctl_links entry 'core-sw1' is not DEVICE:PORT"),
    ({"opsctl_links": {"eth0": "{{ uplink }}"}}, "opsctl_links entries must be text"),
    ({"opsctl_power": {"ups": 1}}, "opsctl_power must be a list"),
    ({"opsctl_power": ["pdu-a:"]}, "opsctl_power entry 'pdu-a:' is not DEVICE or DEVICE:OUTLET"),
    ({"opsctl_rack_position": 3}, "opsctl_rack_position needs opsctl_rack"),
    ({"opsctl_rack_position": "top", "opsctl_rack": "A"}, "whole number of rack units"),
    ({"opsctl_room": "0.12"}, "opsctl_room needs opsctl_building"),
    ({"opsctl_rack_face": "side"}, "opsctl_rack_face must be one of front, rear"),
    ({"opsctl_site": "{{ site }}"}, "opsctl_site is a Jinja template"),
])
def test_an_unusable_declaration_is_a_config_error_naming_host_and_variable(
        variables: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=f"host db1: .*{re.escape(problem)}"):
        declare(_scanned(), Host("db1", variables), SEEN)


def test_a_single_power_source_may_be_written_as_text() -> None:
    assert [feed.key for feed in declared_power(Host("db1", {"opsctl_power": "ups-1"}))] == ["ups-1"]
    assert declared_links(Host("db1", {})) == ()
