"""Role and identity of one small recording per vendor family (tests/fixtures/snmp-identity).

Each recording holds only the OIDs discovery reads for that family (written for these tests
from what the vendors' MIBs define); it is parsed into rows, classified, assembled into a
snapshot and converted into an inventory device, as ``opsctl inventory scan`` does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory.devices import DeviceScan
from inventory.scan_convert import device_from_snapshot
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.recording import read_snmprec
from inventory.snmp.snapshot import build_snapshot
from inventory.snmp.version import model_from_descr, version_from_descr

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "snmp-identity"
SEEN = datetime(2026, 12, 5, 7, 0, tzinfo=UTC)
REGISTRY = EnterpriseRegistry(
    registered={11: "Hewlett-Packard", 8072: "net-snmp"}, short_names={11: "HP"}
)

# recording -> (role, manufacturer, model, serial, version)
EXPECTED: dict[str, tuple[str, str | None, str | None, str | None, str | None]] = {
    "eaton-9px-xups": ("ups", "EATON", "Eaton 9PX 3000", "G123A45678", "INV: 1.34"),
    "apc-smart-ups": ("ups", "APC", "Smart-UPS X 3000", "AS1234567890", "UPS 15.5 (ID20)"),
    "apc-rack-pdu": ("pdu", "APC", "AP8641", "5A1234E56789", "v6.8.2"),
    "apc-galaxy-mge": ("ups", "APC", "Galaxy 5500", "QD0912345678", "2.1"),
    "raritan-px2": ("pdu", "Raritan", "PX2-5496", "QFC1234567", "3.6.10.5-46834"),
    "servertech-sentry3": ("pdu", "Server Technology", "CS-24V4-P32MA", "ABCD1234567", "7.1f"),
    "servertech-sentry4": ("pdu", "Server Technology", "C2W36VE-DQEA2B08", "AEYC0012345", "8.0m"),
    "geist-pdu": ("pdu", "Vertiv (Geist)", None, None, None),
    "geist-watchdog-sensor": ("sensor", "Geist", "Watchdog 100", "28C4A2B30C80", "5.2.1"),
    "cisco-asa": ("firewall", "Cisco", "ASA5516", "JAD12345678", "9.8(4)26"),
    "cisco-cimc": ("server", "Cisco", "UCSC-C220-M5SX", "WZP23450ABC", "4.1(2f)"),
    "cisco-ios-router": ("router", "Cisco", "ISR4331/K9", "FDO21234ABC", "16.9.4"),
    "fortigate-other-row": (
        "firewall",
        "Fortinet",
        "FGT_60F",
        "FGT60FTK20000001",
        "v7.2.10,build1706,240918 (GA.M)",
    ),
    "paloalto-pa": ("firewall", "Palo Alto Networks", "PA-3220", "016201001234", "10.2.9-h1"),
    "juniper-mx": (
        "router",
        "Juniper",
        "Juniper MX480 Internet Backbone Router",
        "JN1234ABCDEF",
        "21.4R3-S5.4",
    ),
    "arista-eos": ("switch", "Arista", "DCS-7050SX3-48YC8", "JPE12345678", "4.28.3M"),
    "synology-dsm": ("storage", "Synology", "DS920+", "2150PEN123456", "DSM 7.1.1-42962"),
    "qnap-qts": ("storage", "QNAP", "TS-453D", None, None),
    "sophos-xg": ("firewall", "Sophos", "XG 135", "X13101ABCDEF", "19.5.3 MR-3"),
    "checkpoint-gaia": ("firewall", "Check Point", "Check Point 6200", "1811BA1234", "R81.10"),
    "hpe-ilo5": ("server", "HPE", "ProLiant DL380 Gen10", "CZ2D1A2B3C", "2.72"),
    "dell-idrac9": ("server", "Dell", "PowerEdge R740", "7XK2Q33", "6.10.30.00"),
    "lenovo-xcc": ("server", "Lenovo", "ThinkSystem SR630 V3", "J701ABCD", "ESX334M 5.50"),
    "ups-mib-on-net-snmp": ("ups", "Santak", "C3KS", None, "V2.0"),
    "bridge-switch": ("switch", None, None, None, None),
    "services-router": ("router", None, None, None, None),
    "printer-mib": ("printer", "HP", None, None, None),
    "linux-host-resources": ("server", None, None, None, "6.1.0-13-amd64"),
    "mystery-box": ("unknown", None, None, None, None),
    "netapp-ontap": ("storage", "NetApp", "FAS8200", "701812000123", "NetApp Release 9.8P6"),
    "vertiv-liebert-ups": ("ups", "Liebert", "GXT5-3000MVRT2UXLN", "0622100123AF", "4.3.0.0"),
    "huawei-ups": ("ups", "Huawei", "UPS5000-E-120K", "2102311ABC10K3000123", "V100R001C10SPC120"),
}
MANAGEMENT_CONTROLLERS = {"cisco-cimc", "hpe-ilo5", "dell-idrac9", "lenovo-xcc"}


def scan_of(name: str) -> DeviceScan:
    recording = read_snmprec(FIXTURES / f"{name}.snmprec")
    assert not recording.notes, recording.notes
    snapshot = build_snapshot(name, recording.rows)
    return device_from_snapshot(name, None, snapshot, SEEN, registry=REGISTRY)


def test_every_fixture_has_an_expected_identity() -> None:
    assert sorted(
        path.name.removesuffix(".snmprec") for path in FIXTURES.glob("*.snmprec")
    ) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_vendor_family_gets_its_role_and_identity(name: str) -> None:
    """Each recording's role, manufacturer, model, serial and version, as ``inventory devices`` shows them.

    A plain Linux host (linux-host-resources) reports its kernel release as its version: it was
    once required to report none, since a kernel is no firmware, but for a general-purpose OS
    host the OS release is what an ops engineer asks for ("which kernel is that box on?") and
    what LibreNMS reports; the record says it is the OS's release (see
    test_evidence_os_release.py). Appliances running Linux still never report their kernel.
    """
    device = scan_of(name).device
    got = (device.role, device.manufacturer, device.model, device.serial, device.os_version)
    assert got == EXPECTED[name]
    assert device.sys_name is not None  # every fixture answers sysName.0
    assert bool(device.custom_fields.extra.get("management_controller")) == (
        name in MANAGEMENT_CONTROLLERS
    )


@pytest.mark.parametrize("name", sorted(set(EXPECTED) - {"mystery-box"}))
def test_the_role_names_the_evidence_that_decided_it(name: str) -> None:
    scanned = scan_of(name)
    assert scanned.device.provenance["role"].origin
    assert scanned.status == "ok", scanned.messages


def test_the_evidence_is_the_probe_or_rule_that_decided() -> None:
    assert (
        scan_of("bridge-switch").device.provenance["role"].origin.startswith("1.3.6.1.2.1.17.1.2.0")
    )
    assert (
        scan_of("services-router").device.provenance["role"].origin.startswith("1.3.6.1.2.1.1.7.0")
    )
    assert (
        scan_of("printer-mib")
        .device.provenance["role"]
        .origin.startswith("1.3.6.1.2.1.43.5.1.1.16.1")
    )
    assert scan_of("cisco-asa").device.provenance["role"].origin == (
        "1.3.6.1.2.1.1.2.0 profile cisco-asa (sysObjectID + sysDescr)"
    )


def test_a_device_nothing_identifies_is_unknown_and_partial_with_what_was_seen() -> None:
    scanned = scan_of("mystery-box")
    assert (scanned.device.role, scanned.status) == ("unknown", "partial")
    assert any("1.3.6.1.4.1.99999.1" in m and "Mystery box" in m for m in scanned.messages)


def test_a_ups_says_whose_firmware_its_version_is() -> None:
    eaton = scan_of("eaton-9px-xups").device
    assert eaton.custom_fields.extra["firmware_of"] == "ups"
    assert eaton.custom_fields.extra["card_firmware"] == "3.1.5"
    # the Liebert's version is its IntelliSlot card's own (the profile says so): not labelled the UPS's
    assert "firmware_of" not in scan_of("vertiv-liebert-ups").device.custom_fields.extra
    santak = scan_of("ups-mib-on-net-snmp").device
    assert (
        santak.custom_fields.extra["firmware_of"],
        santak.custom_fields.extra["card_firmware"],
    ) == ("ups", "CARD 1.1")


@pytest.mark.parametrize(
    ("descr", "version"),
    [
        ("Cisco IOS Software, C3750 Software (C3750-IPSERVICESK9-M), Version 12.2(55)SE7, RELEASE SOFTWARE (fc1)", "12.2(55)SE7"),
        ("Cisco NX-OS(tm) n9000, Software (n9000-dk9), Version 9.3(8), RELEASE SOFTWARE", "9.3(8)"),
        ("Juniper Networks, Inc. ex4300-48t Ethernet Switch, kernel JUNOS 20.4R3.8, Build date: 2021-09-01", "20.4R3.8"),
        ("Arista Networks EOS version 4.28.3M running on an Arista Networks DCS-7050SX3", "4.28.3M"),
        ("Palo Alto Networks PA-220 series firewall, PAN-OS 10.1.6", "10.1.6"),
        ("ExtremeXOS (X440-24p) version 15.5.1.6 v1551b6 by release-manager", "15.5.1.6"),
        ("MICROSENS G6 Switch, Version: 10.8.1", "10.8.1"),
        ("Linux web-1 6.1.0-13-amd64 #1 SMP Debian 6.1.55-1", None),
        ("Mystery box", None),
    ],
)
def test_the_version_written_in_sysdescr(descr: str, version: str | None) -> None:
    assert version_from_descr(descr) == version


@pytest.mark.parametrize(
    ("descr", "model"),
    [("ECS2100-10T", "ECS2100-10T"), ("IKS-6728A", "IKS-6728A"), ("Mystery box", None), ("1.2.3", None), ("--", None)],
)
def test_a_sysdescr_that_is_one_product_code_is_the_model(descr: str, model: str | None) -> None:
    assert model_from_descr(descr) == model
