"""Firewalls and appliances: one maker's products of several kinds, and firewalls behind net-snmp.

The identity of each recording of ``tests/fixtures/snmp-identity/firewalls`` and ``appliances`` is
in ``test_vendor_identity.py``; these are the behaviours behind it.
"""

from __future__ import annotations

import pytest

from tests.unit.inventory.snmp.vendor_fixtures import profile_matched, scan_fixture


@pytest.mark.parametrize(
    ("family", "name", "role"),
    [
        (".", "fortigate-other-row", "firewall"),
        ("firewalls", "fortiweb", "firewall"),
        ("firewalls", "fortiauthenticator", "firewall"),
        ("firewalls", "fortianalyzer", "server"),  # a log server
        ("firewalls", "fortivoice", "server"),  # a telephone system
    ],
)
def test_fortinet_products_get_the_role_of_what_they_are(family: str, name: str, role: str) -> None:
    assert scan_fixture(family, name).device.role == role


@pytest.mark.parametrize(
    ("name", "profile", "evidence"),
    [
        ("barracuda-waf", "barracuda-waf", "sysDescr"),  # "Barracuda Web Application Firewall"
        ("trellix-nsp", "trellix-nsp", "probe"),  # a bare Linux sysDescr: its own MIB tells
    ],
)
def test_a_firewall_behind_net_snmp_is_a_firewall_not_a_linux_server(
    name: str, profile: str, evidence: str
) -> None:
    scanned = scan_fixture("firewalls", name)
    assert profile_matched("firewalls", name) == profile
    assert scanned.device.role == "firewall"
    assert evidence in scanned.device.provenance["role"].origin


def test_a_firmware_version_is_cut_from_the_text_around_it() -> None:
    # BWS-MIB currentFirmwareVersion is "12.1.0.008 (Tue Feb  6 10:11:12 2024)"
    assert scan_fixture("firewalls", "barracuda-waf").device.os_version == "12.1.0.008"
    # FortiWeb's fwSysVersion is "FortiWeb-1000F 7.0.3,build0128,230602": model, then version
    device = scan_fixture("firewalls", "fortiweb").device
    assert (device.model, device.os_version) == ("FortiWeb-1000F", "7.0.3")


def test_a_known_appliance_with_no_inventory_role_keeps_its_identity_and_records_its_kind() -> None:
    # its profile names what it is, so nothing was left undetermined: role unknown, the kind recorded, the scan ok
    scanned = scan_fixture("appliances", "seh-myutn")
    assert (scanned.device.role, scanned.status) == ("unknown", "ok")
    assert scanned.device.custom_fields.extra["device_kind"] == "USB device server"
    assert (scanned.device.manufacturer, scanned.device.serial) == ("SEH", "27120599999999")
