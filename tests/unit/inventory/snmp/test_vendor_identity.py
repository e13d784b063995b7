"""Each vendor family's identity tables, read from one small recording per profile.

One recording per profile of the power, sensor, storage, server, firewall and appliance profile
files (in ``tests/fixtures/snmp-identity/<family>/``, or the top directory for the profiles that had
one before), each with the role and identity a user sees in ``opsctl inventory devices``: the
evidence discovery reads, not what a vendor's brochure says.
"""

from __future__ import annotations

import pytest

from inventory.snmp.classify import builtin_profiles
from tests.unit.inventory.snmp.vendor_fixtures import (
    Identity,
    fixture_names,
    identity_of,
    profile_names,
    profiles_matched,
    scan_fixture,
)

# recording -> (role, manufacturer, model, serial, version)
POWER: dict[str, Identity] = {
    "ablerex-ats": ("pdu", "Ablerex", "ATS16A", "11230031899999", "1.06"),
    "apc-ats": ("pdu", "APC", "AP4423", "5A1840E12345", "v6.5.6"),
    "apc-cpdu": ("pdu", "APC", "EPDU1016B", "5A2101Y00042", "2.1.0.4"),
    # an APC device no specific profile knows: the identity groups answered, the role from its tables
    # an EMU is its management card: the card's serial ("SN: ...", sysDescr) is the device's
    "apc-environment-monitor": (
        "sensor", "APC", "Environmental Monitoring Unit", "ZA0734001234", "v3.7.1",
    ),
    "apc-masterswitch": ("pdu", "APC", "AP9212", "ZA0521009876", "v3.7.4"),
    "apc-pdu2": ("pdu", "APC", "AP8958EU3", "5A1947E01234", "v6.9.6"),
    "cyberpower-pdu": ("pdu", "CyberPower", "PDU41004", "NV8HP2000456", "1.2.3"),
    "cyberpower-ups": ("ups", "CyberPower", "OR1500ERM1U", "GBHLV2000123", "CR01802BAH19"),
    "dataprobe-iboot": ("pdu", "Dataprobe", "iBoot-PDU4-N20", None, "1.04.01102019"),
    "dell-ups-tower": (
        "ups", "Dell", "Dell UPS Tower 1920W HV", "CN-0J735N-75162-2AB-0123-A01", "01.16",
    ),
    "delta-amplon": ("ups", "Delta", "RT-3K", None, "01.12.09"),
    "eastpower-ups": ("ups", "EAST", "EA9010", None, "V1.60"),
    "eaton-epdu-ma": ("pdu", "Eaton", "EMAB03", "WA00B99999", "02.00.0051"),
    "emerson-ups": ("ups", "Emerson Network Power", "UHA1R-0100L", None, "V2.04"),
    "geist-v4-pdu": ("pdu", "Vertiv (Geist)", "RCXB308-103IN6TL30", None, "3.2.0"),
    "gude-epc-1202": ("pdu", "Gude", "Expert Power Control 1202-1", None, "1.14.0"),
    "hpe-pdu": ("pdu", "HPE", "P9Q41A", "4CE9210ABC", "2.1.0.K"),
    "majorpower-mts": ("ups", "Majorpower", "MTS-COM", None, "0052"),
    "orvaldi-ups": ("ups", "Orvaldi", "V10KL", "09876543210987", "VERFW:02011.0300"),
    "phoenixtec-ups": ("ups", "Phoenixtec", "PPC 3000", None, None),
    "planet-ipm": ("pdu", "PLANET", "IPM-8221", None, "1.31.2"),
    # Riello UPS is RPS S.p.A.: the UPS-MIB's upsIdentManufacturer names the company
    "riello-netman": ("ups", "RPS SpA", "SEP 3000", None, "SWM062-01-03"),
    "rigrunner": ("pdu", "West Mountain Radio", "RIGRunner 4007U", None, "4.10"),
    "rnx-updu": ("pdu", "Riedo Networks (RNX)", "RN3216", "100987", "2.8.1-6a1b2c3d"),
    # a maker whose whole tree is PDUs (pdu-makers): the role from its enterprise number, the identity from its MIB
    "schleifenbauer-hpdu": ("pdu", "Schleifenbauer", "DPM27/E", "SVNL00012345", None),
    "socomec-netvision": ("ups", "Socomec", "MASTERYS BC 40 kVA", "R1922044110", "2.31"),
    "tripplite-pdu": ("pdu", "Tripp Lite", "PDUMH20NET2LX", "3012AY0PD882100456", "15.5.3"),
    "tripplite-ups": ("ups", "Tripp Lite", "SU3000RTXLCD3U", "2931BV0SM881500123", "2.03"),
    "wti-vmr": ("pdu", "Western Telematic (WTI)", "VMR-16HD20-1", None, None),
    # UPS-MIB names no serial: the card puts the unit's in sysDescr
    "webpower-smart-ii": ("ups", "ONLINE", "XANTO 3000", "11200099999999", "V2.70"),
}  # fmt: skip
DC_POWER: dict[str, Identity] = {
    "argus-cxc": ("ups", "Argus Technologies (Alpha)", "CXC HP", None, "4.10"),
    # a maker whose tree is site power and its monitoring (dc-power-makers); the model is what sysDescr says
    "asentria-siteboss": ("ups", "Asentria", "SiteBoss 571", "571-00123456", "2.12.271"),
    "eaton-sc300": ("ups", "Eaton", "SY107999", "331234", "1.19"),
    "eltek-enexus": ("ups", "Eltek", "Flatpack2 System", None, None),
    "eltek-smartpack": ("ups", "Eltek", None, "152301234567", "4.12"),
    "ge-pulsar": ("ups", "GE", "NE843_M2", "17KZ46099999", "3.4.02"),
    "ict-inverter": ("ups", "Innovative Circuit Technology (ICT)", None, None, "1.05"),
    "imco-and-ls": ("ups", "IMCO", "LS130.HS 24481999R", "1806599999", "1.3.6"),
    "imco-big": ("ups", "IMCO", "BIG3.0", "201399999", "3.0"),
    "samlex-psr": ("ups", "Samlex", "PSR-1600-48", None, "1.0.2810"),
    "valere-bc2000": ("ups", "Eltek", "BC2000", None, "4.05.01"),
    "vertiv-esure": ("ups", "Vertiv", "M830B", "03201008888", "2.3.01"),
    "vertiv-ncu": ("ups", "Vertiv", "NCU", "03231009999", "5.4.01"),
}
SENSORS: dict[str, Identity] = {
    # an old Network Management Card names only itself: no model, the versions still. The "SN:"
    # its sysDescr states is the management card's, not the cooling unit's: the profile turns
    # sysDescr serials off (sys_descr_serial: false), so no serial rather than the card's
    "apc-airfm-old-card": ("sensor", "APC", None, None, "3.5.9"),
    "apc-inrow": ("sensor", "APC", "InRow RC", None, "6.4.1"),
    "apc-netbotz": ("sensor", "APC", None, None, None),
    "akcp-sensorprobe": ("sensor", "AKCP", "SP2+", None, None),
    "dantherm-freecooling": ("sensor", "Dantherm", None, "2051099999", "1.60"),
    "liebert-crv": ("sensor", "Vertiv (Liebert)", "Liebert CRV", "1817900123AF", "4.4.1.0"),
    "nti-enviromux": ("sensor", "Network Technologies", "E-16D", "E16D0012345", "4.40"),
    "pentair-spectracool": (
        "sensor", "Pentair", "00000N121216G170", "0000025099999-31-A", None,
    ),
    "rittal-cmc-iii": ("sensor", "Rittal", "CMCIII-PU", "51234567", "3.19.00"),
    "rittal-cmc-tc": ("sensor", "Rittal", None, "08812", "6.52.00"),
    "serverscheck": ("sensor", "ServersCheck", None, None, "2.14"),
}  # fmt: skip
STORAGE: dict[str, Identity] = {
    "dell-compellent": ("storage", "Dell", None, None, None),
    "dell-equallogic": ("storage", "Dell", None, None, None),
    "hpe-3par": ("storage", "HPE", "3PAR 8200", "4UW0001234", "3.3.1"),
    "isilon-onefs": (
        "storage", "Dell EMC (Isilon)", "H400-4U-Single-192GB-1x1GE-2x10GE SFP+-120TB-3277GB SSD",
        "JWXER123400001", "9.1.0.0",
    ),
    "pure-flasharray": ("storage", "Pure Storage", None, None, None),
    # QuantaStor is software on another maker's server: no manufacturer over SNMP
    "quantastor": ("storage", None, None, "2c3dd08a", "5.10.1.003+2234567"),
    "truenas": ("storage", "iXsystems", None, None, "12.0-U8"),
}  # fmt: skip
SERVERS: dict[str, Identity] = {
    "efficientip-solidserver": ("server", "EfficientIP", "SOLIDserver-1100", "7HJM9Z2", "8.2.1"),
    "ibm-aix": ("server", "IBM", None, None, None),
    # Supervyse is Insyde's BMC firmware on another maker's board
    "insyde-supervyse": ("server", None, None, None, "3.05.00000700"),
    "net-snmp-solaris": ("server", None, None, None, None),
    # a vendor's appliance VM: its kernel is not reported as its version (only a general-purpose OS
    # host's is, as Windows' build below, named by Microsoft's server sysObjectID)
    "nutanix-cvm": ("server", "Nutanix", None, None, None),
    "panasonic-kx-ns": ("server", "Panasonic", "KX-NS700", None, "Ver00500113"),
    "supermicro-bmc": ("server", "Supermicro", None, None, None),
    "windows-server": ("server", None, None, None, "Server 2019 (1809) build 17763"),
    "zenitel-alphacom": ("server", "Zenitel", None, None, None),
}
FIREWALLS: dict[str, Identity] = {
    "barracuda-waf": ("firewall", "Barracuda", None, "1234567", "12.1.0.008"),
    "clavister": ("firewall", "Clavister", None, None, "14.00.09"),
    "fireeye-nx": ("firewall", "FireEye (Trellix)", "FireEyeNX4500", None, "9.2.1"),
    "forcepoint-ngfw": ("firewall", "Forcepoint", "N1402", "N1402A0012345", "6.10.9.26089"),
    # a FortiAnalyzer is a log server and a FortiVoice a telephone system: servers, not firewalls
    "fortianalyzer": (
        "server", "Fortinet", None, "FAZ-VM0000012345", "v7.2.5-build1574 230926 (GA.M)",
    ),
    "fortiauthenticator": (
        "firewall", "Fortinet", "FAC-300F", "FAC3HF3A20000123", "v6.4.5-build1074",
    ),
    "fortivoice": (
        "server", "Fortinet", "FortiVoice-200F", "FO200FT920000456",
        "v6.4.7(GA), build0430, 2023.01.12",
    ),
    "fortiweb": ("firewall", "Fortinet", "FortiWeb-1000F", "FV-1KF3R19000123", "7.0.3"),
    "juniper-ssg": ("firewall", "Juniper", "SSG140-SH", "0185062010001234", "6.3.0r27.0"),
    "legend-firewall": ("firewall", "Legend", None, None, None),
    "netentsec": ("firewall", "Netentsec", None, None, None),
    "nsfocus": ("firewall", "NSFOCUS", None, None, None),
    "pfsense": ("firewall", None, None, None, "2.7.2-RELEASE"),
    "sangfor-ngaf": ("firewall", "Sangfor", None, None, None),
    "sangfor-wlc": ("wireless", "Sangfor", None, None, None),
    # a maker of firewalls alone (firewall-makers); SNWL-COMMON-MIB snwlSys, read as the harvested identity objects
    "sonicwall-tz": ("firewall", "SonicWall", "TZ 370", "2CB8ED123456", "SonicOS 7.0.1-5145-R5175"),
    "sophos-cyberoam": ("firewall", "Sophos", "CR50iNG", "C0500012345678", "10.6.6 MR-1"),
    "stormshield-sns": ("firewall", "Stormshield", "SN910", "SN910A19K0001234", "4.3.21"),
    "topsec": ("firewall", "Topsec", "Topsec NGFW4000", None, None),
    "trellix-nsp": ("firewall", "McAfee (Trellix)", "IPS-NS7500", "B9876543210", None),
    "venustech": ("firewall", "Venustech", None, None, None),
    "zyxel-usg": ("firewall", "Zyxel", "USG60W", "S162L20190123", "V4.73(AAKZ.1)"),
}  # fmt: skip
APPLIANCES: dict[str, Identity] = {
    "allworx-connect": ("server", "Allworx", "Allworx Connect 536", None, "8.5.2.7"),
    "endrun-sonoma": (
        "server", "EndRun Technologies", "Sonoma_D12 GPS 6010-0065-000", None, "3.10",
    ),
    "infoblox-nios": ("server", "Infoblox", "IB-1425", "0806201912340001", "8.6.2"),
    "genieatm": ("server", "Genie Networks", "GenieATM 6810", None, "7.3.0-RP1(MP)"),
}  # fmt: skip
# known appliances the inventory's roles do not name (a camera, a video recorder, a KVM switch, a
# console server, a USB device server): identity read, role unknown by the profile's decision, and
# what the device is recorded as its kind; the scan is ok, since nothing was left undetermined
NO_ROLE_KINDS = {
    "axis-camera": "camera", "dahua-nvr": "video recorder", "avocent-mpu": "KVM switch",
    "opengear-cm8100": "console server", "seh-myutn": "USB device server",
}  # fmt: skip
NO_ROLE: dict[str, Identity] = {
    "axis-camera": ("unknown", "Axis", "AXIS M3106-L Mk II", None, "10.12.114"),
    "dahua-nvr": ("unknown", "Dahua", "DHI-NVR5216-16P-I", "6J01ABCPAZ12345", "4.001.0000000.3"),
    "avocent-mpu": ("unknown", "Avocent (Vertiv)", "MPU4032DAC", None, "2.12.1.30012"),
    "opengear-cm8100": ("unknown", "Opengear", "CM8148", "81482310009999", "24.07.1"),
    "seh-myutn": ("unknown", "SEH", "myUTN-80", "27120599999999", "15.0.6"),
}
FAMILIES: dict[str, dict[str, Identity]] = {
    "power": POWER,
    "power-dc": DC_POWER,
    "sensors": SENSORS,
    "storage": STORAGE,
    "servers": SERVERS,
    "firewalls": FIREWALLS,
    "appliances": APPLIANCES | NO_ROLE,
}
PROFILE_FILES = (
    "power-ups.yaml", "power-pdu.yaml", "power-dc.yaml", "sensors.yaml", "storage.yaml",
    "servers.yaml", "servers-management.yaml", "firewalls.yaml", "appliances.yaml",
)  # fmt: skip


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_vendor_recording_has_an_expected_identity(family: str) -> None:
    assert fixture_names(family) == sorted(FAMILIES[family])


@pytest.mark.parametrize(
    ("family", "name"),
    [(family, name) for family, table in FAMILIES.items() for name in sorted(table)],
)
def test_a_vendor_device_gets_its_role_and_identity(family: str, name: str) -> None:
    scanned = scan_fixture(family, name)
    assert identity_of(scanned) == FAMILIES[family][name]
    assert scanned.device.sys_name is not None
    if name in NO_ROLE:
        assert scanned.status == "ok", scanned.messages
        assert scanned.device.custom_fields.extra["device_kind"] == NO_ROLE_KINDS[name]
        assert "1.3.6.1.2.1.1.2.0 profile " in scanned.device.provenance["role"].origin
        assert not any(message.startswith("role unknown") for message in scanned.messages)
    else:
        assert scanned.status == "ok", scanned.messages
        assert scanned.device.provenance["role"].origin


def test_every_vendor_profile_is_tested_on_a_recording() -> None:
    # the top directory's recordings (test_snmp_identity_fixtures.py) cover the profiles that had one
    matched = profiles_matched(*FAMILIES, ".")
    assert profile_names(*PROFILE_FILES) - matched == set()


def test_every_shipped_profile_is_the_match_of_a_recording_the_tests_check() -> None:
    # the network families' recordings (test_identity_network_profiles.py), and the real devices' recordings of
    # snmpsim-data that test_snmp_recordings.py checks, cover the network and maker's-tree profile files
    from tests.unit.inventory.snmp.test_snmp_recordings import EXPECTED as REAL_DEVICES

    matched = profiles_matched(*FAMILIES, ".", "network", "netvendors") | {profile for profile, _, _ in REAL_DEVICES.values()}
    assert {profile.name for profile in builtin_profiles()} - matched == set()
