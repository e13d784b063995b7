"""UPS, PDUs and DC power systems: what tells one kind from another, and whose firmware a version is.

The identity each recording of ``tests/fixtures/snmp-identity/power`` and ``power-dc`` gets is in
``test_vendor_identity.py``; these are the behaviours a user of a mixed power fleet relies on.
"""

from __future__ import annotations

import pytest

from tests.unit.inventory.snmp.vendor_fixtures import profile_matched, scan_fixture


def test_one_tripp_lite_card_is_a_ups_or_a_pdu_by_its_pdu_count() -> None:
    # the same sysObjectID and agent: tlpPduIdentNumPdus 0 on a UPS, 1 on a PDU
    assert profile_matched("power", "tripplite-ups") == "tripplite-ups"
    assert profile_matched("power", "tripplite-pdu") == "tripplite-pdu"


@pytest.mark.parametrize(
    ("family", "name", "profile"),
    [
        ("power", "orvaldi-ups", "orvaldi-ups"),
        ("power", "dataprobe-iboot", "dataprobe-iboot"),
        ("power-dc", "vertiv-ncu", "vertiv-netsure-controller"),
    ],
)
def test_a_power_device_behind_net_snmp_is_told_by_its_own_mib(
    family: str, name: str, profile: str
) -> None:
    # sysObjectID is net-snmp's and sysDescr says Linux: only the vendor OID the probe reads tells
    # it from a Linux server
    scanned = scan_fixture(family, name)
    assert profile_matched(family, name) == profile
    assert scanned.device.role != "server"
    assert "probe" in scanned.device.provenance["role"].origin


@pytest.mark.parametrize(
    ("name", "card"),
    [
        ("riello-netman", "NetMan 204 02.15"),  # UPS-MIB upsIdentAgentSoftwareVersion
        ("delta-amplon", "01.11.12h"),  # DeltaUPS-MIB dupsIdentAgentSoftwareVersion
        ("socomec-netvision", "v6.12"),  # the NetVision card's software
    ],
)
def test_a_ups_card_says_the_version_is_the_ups_and_names_its_own_firmware(
    name: str, card: str
) -> None:
    extra = scan_fixture("power", name).device.custom_fields.extra
    assert (extra["firmware_of"], extra["card_firmware"]) == ("ups", card)


def test_an_ats_card_that_names_only_its_own_firmware_says_so() -> None:
    # "SNMP Smart II Card v1.06": the version the inventory shows is the card's, and says so
    device = scan_fixture("power", "ablerex-ats").device
    assert device.os_version == "1.06"
    assert device.custom_fields.extra["firmware_of"] == "network card"


@pytest.mark.parametrize(
    ("name", "version", "card"),
    [
        ("apc-masterswitch", "v3.7.4", "v3.7.3"),  # sPDUIdentFirmwareRev; the card's AOS
        ("apc-pdu2", "v6.9.6", "6.9.6"),  # rPDU2IdentFirmwareRev; no experimental OID: "PF:v6.9.6"
    ],
)
def test_an_apc_pdu_shows_its_firmware_and_names_its_cards(
    name: str, version: str, card: str
) -> None:
    extra = scan_fixture("power", name).device.custom_fields.extra
    assert scan_fixture("power", name).device.os_version == version
    assert (extra["firmware_of"], extra["card_firmware"]) == ("pdu", card)


def test_an_apc_device_no_profile_names_gets_its_kind_from_its_tables() -> None:
    # the generic APC profile reads the identity groups and leaves the role to the device's answers
    scanned = scan_fixture("power", "apc-environment-monitor")
    assert profile_matched("power", "apc-environment-monitor") == "apc"
    assert scanned.device.role == "sensor"
    assert scanned.device.provenance["role"].origin.startswith("1.3.6.1.4.1.318.1.1.10.4.1.2.1.2.1")
