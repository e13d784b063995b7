"""Environment monitors and cooling units: whose firmware a version is, and what tells them apart.

The identity of each recording of ``tests/fixtures/snmp-identity/sensors`` is in
``test_vendor_identity.py``; these are the behaviours behind it.
"""

from __future__ import annotations

import pytest

from tests.unit.inventory.snmp.vendor_fixtures import profile_matched, scan_fixture


def test_an_apc_cooling_unit_shows_its_own_firmware_and_names_the_cards() -> None:
    # sysDescr "(MB:v4.0.1 PF:v6.4.0 ... AF1:v6.4.1 ...)": MB is the card's boot monitor, PF its
    # operating system, AF1 the unit's application
    device = scan_fixture("sensors", "apc-inrow").device
    assert device.os_version == "6.4.1"
    assert device.custom_fields.extra["firmware_of"] == "device"
    assert device.custom_fields.extra["card_firmware"] == "6.4.0"


def test_a_rittal_cmc_iii_version_is_its_firmware_not_the_embedded_linux() -> None:
    # its ENTITY-MIB chassis row answers the kernel (4.14.193-fslc) as software revision
    scanned = scan_fixture("sensors", "rittal-cmc-iii")
    assert scanned.device.os_version == "3.19.00"
    assert scanned.device.provenance["os_version"].origin == "1.3.6.1.4.1.2606.7.2.4.0"


def test_an_akcp_probe_named_in_sysdescr_gets_its_own_profile_not_only_its_makers_tree() -> None:
    assert profile_matched("sensors", "akcp-sensorprobe") == "akcp-sensorprobe"
    assert scan_fixture("sensors", "akcp-sensorprobe").device.model == "SP2+"


@pytest.mark.parametrize(
    ("name", "profile"),
    [("dantherm-freecooling", "dantherm-cooling"), ("pentair-spectracool", "pentair-spectracool")],
)
def test_a_cooling_unit_without_a_sysobjectid_is_told_by_its_own_mib(
    name: str, profile: str
) -> None:
    # sysObjectID 1.3.6.1.4.1.0 or 0.0 names nobody: the vendor OID the probe reads does
    scanned = scan_fixture("sensors", name)
    assert profile_matched("sensors", name) == profile
    assert scanned.device.role == "sensor"
    assert "probe" in scanned.device.provenance["role"].origin
