"""UPS, PDUs and DC power systems: each vendor's identity table, read from a small recording.

One recording per profile of ``power-ups.yaml``, ``power-pdu.yaml`` and ``power-dc.yaml`` (in
``tests/fixtures/snmp-identity/power`` and ``power-dc``, or the top directory for the profiles
that had one before), each with the identity a user sees in ``opsctl inventory devices``.
"""

from __future__ import annotations

import pytest

from tests.unit.inventory.snmp.vendor_fixtures import (
    Identity,
    fixture_names,
    identity_of,
    profile_matched,
    profile_names,
    profiles_matched,
    scan_fixture,
)

# recording -> (role, manufacturer, model, serial, version)
POWER: dict[str, Identity] = {
    "ablerex-ats": ("pdu", "Ablerex", "ATS16A", None, "1.06"),
    "apc-cpdu": ("pdu", "APC", "EPDU1016B", "5A2101Y00042", "2.1.0.4"),
    "apc-pdu2": ("pdu", "APC", "AP8958EU3", "5A1947E01234", "v6.9.6"),
    "cyberpower-pdu": ("pdu", "CyberPower", "PDU41004", "NV8HP2000456", "1.2.3"),
    "cyberpower-ups": ("ups", "CyberPower", "OR1500ERM1U", "GBHLV2000123", "CR01802BAH19"),
    "dataprobe-iboot": ("pdu", "Dataprobe", "iBoot-PDU4-N20", None, "1.04.01102019"),
    "dell-ups-tower": (
        "ups", "Dell", "Dell UPS Tower 1920W HV", "CN-0J735N-75162-2AB-0123-A01", "01.16",
    ),
    "delta-amplon": ("ups", "Delta", "RT-3K", None, "01.12.09"),
    "eastpower-ups": ("ups", "EAST", "EA9010", None, "V1.60"),
    "eaton-epdu": ("pdu", "Eaton", None, None, None),
    "emerson-ups": ("ups", "Emerson Network Power", "UHA1R-0100L", None, "V2.04"),
    "hpe-pdu": ("pdu", "HPE", "P9Q41A", None, "2.1.0.K"),
    "majorpower-mts": ("ups", "Majorpower", "MTS-COM", None, "0052"),
    "orvaldi-ups": ("ups", "Orvaldi", "V10KL", "09876543210987", "VERFW:02011.0300"),
    "phoenixtec-ups": ("ups", "Phoenixtec", "PPC 3000", None, None),
    "planet-ipm": ("pdu", "PLANET", None, None, None),
    # Riello UPS is RPS S.p.A.: the UPS-MIB's upsIdentManufacturer names the company
    "riello-netman": ("ups", "RPS SpA", "SEP 3000", None, "SWM062-01-03"),
    "socomec-netvision": ("ups", "Socomec", "MASTERYS BC 40 kVA", "R1922044110", "UPS 2.31"),
    "tripplite-pdu": ("pdu", "Tripp Lite", "PDUMH20NET2LX", "3012AY0PD882100456", "15.5.3"),
    "tripplite-ups": ("ups", "Tripp Lite", "SU3000RTXLCD3U", "2931BV0SM881500123", "2.03"),
    "wti-vmr": ("pdu", "Western Telematic (WTI)", "VMR-16HD20-1", None, None),
}  # fmt: skip
DC_POWER: dict[str, Identity] = {
    "argus-cxc": ("ups", "Argus Technologies (Alpha)", "CXC HP", None, "4.10"),
    "eltek-enexus": ("ups", "Eltek", "Flatpack2 System", None, None),
    "eltek-smartpack": ("ups", "Eltek", None, "152301234567", None),
    "ge-pulsar": ("ups", "GE", "NE843_M2", "17KZ46099999", "3.4.02"),
    "imco-and-ls": ("ups", "IMCO", "LS130.HS 24481999R", "1806599999", "1.3.6"),
    "imco-big": ("ups", "IMCO", "BIG3.0", "201399999", "3.0"),
    "samlex-psr": ("ups", "Samlex", "PSR-1600-48", None, "1.0.2810"),
    "valere-bc2000": ("ups", "Eltek", "BC2000", None, "4.05.01"),
    "vertiv-esure": ("ups", "Vertiv", "M830B", "03201008888", "2.3.01"),
    "vertiv-ncu": ("ups", "Vertiv", "NCU", "03231009999", "5.4.01"),
}
FAMILIES = {"power": POWER, "power-dc": DC_POWER}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_power_recording_has_an_expected_identity(family: str) -> None:
    assert fixture_names(family) == sorted(FAMILIES[family])


@pytest.mark.parametrize(
    ("family", "name"),
    [(family, name) for family, table in FAMILIES.items() for name in sorted(table)],
)
def test_a_power_device_gets_its_role_and_identity(family: str, name: str) -> None:
    scanned = scan_fixture(family, name)
    assert identity_of(scanned) == FAMILIES[family][name]
    assert scanned.status == "ok", scanned.messages
    assert scanned.device.sys_name is not None


def test_every_power_profile_is_tested_on_a_recording() -> None:
    shipped = profile_names("power-ups.yaml", "power-pdu.yaml", "power-dc.yaml")
    # ups-mib is the fallback of any UPS-MIB agent: the top directory's ups-mib-on-net-snmp matches it
    assert shipped - profiles_matched("power", "power-dc", ".") == set()


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


def test_a_netman_card_says_its_version_is_the_ups_and_names_the_card_firmware() -> None:
    extra = scan_fixture("power", "riello-netman").device.custom_fields.extra
    assert (extra["firmware_of"], extra["card_firmware"]) == ("ups", "NetMan 204 02.15")
