"""Role and identity of one small recording per network vendor family (tests/fixtures/snmp-identity/network).

Each recording holds only the OIDs that family's profile reads (written for these tests from what
the vendors' MIBs define and the sysDescr formats they use; serials and names are invented). It is
parsed, classified, assembled and converted as ``opsctl inventory scan`` does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory.devices import DeviceScan
from inventory.scan_convert import device_from_snapshot
from inventory.snmp.enterprises import MANUFACTURERS_PATH, EnterpriseRegistry, parse_short_names
from inventory.snmp.recording import read_snmprec
from inventory.snmp.snapshot import build_snapshot

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "snmp-identity" / "network"
SEEN = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
REGISTRY = EnterpriseRegistry(
    registered={
        1916: "Extreme Networks", 2356: "LANCOM Systems", 4413: "Broadcom Limited", 8072: "net-snmp",
        8691: "Moxa Technologies Co., Ltd.", 17713: "Cambium Networks Limited", 20916: "AVTECH Software, Inc.",
    },
    short_names=parse_short_names(MANUFACTURERS_PATH.read_text(encoding="utf-8")),
)

# recording -> (profile, role, manufacturer, model, serial, version)
EXPECTED: dict[str, tuple[str, str, str | None, str | None, str | None, str | None]] = {
    "aruba-controller": ("aruba-controller", "wireless", "Aruba", "Aruba7210", None, "8.10.0.7"),
    # a room monitor of a maker whose whole tree is sensors (sensor-makers); model and firmware from sysDescr
    "avtech-roomalert": ("sensor-makers", "sensor", "AVTECH Software", "Room Alert 12E", None, "2.2.0"),
    # a point-to-multipoint access point of a maker of wireless gear alone (wireless-makers)
    "cambium-epmp": ("wireless-makers", "wireless", "Cambium Networks", None, None, None),
    # an AireOS wireless LAN controller: sysDescr "Cisco Controller", ENTITY-MIB's chassis row
    "cisco-aireos-wlc": (
        "cisco-wireless-controller", "wireless", "Cisco", "AIR-CT5520-K9", "FCH2134V0AB", "8.10.185.0",
    ),
    # an ISE node: Cisco's tree, a server by its sysDescr; ENTITY-MIB's chassis row holds the rest
    "cisco-ise": ("cisco-appliance-server", "server", "Cisco", "ISE-VM-K9", "9JKLM4N5P6Q", "3.2.0.542"),
    # IOS XR on an NCS 5501: no Cisco profile names it, so its answers decide (sysServices: network layer)
    "cisco-ios-xr-ncs": ("cisco", "router", "Cisco", "NCS-5501", "FOC2233R0AB", "7.5.2"),
    "cisco-viptela": ("cisco-viptela", "router", "Cisco", None, "11OG412345678", "20.9.3"),
    "dell-os10": ("dell-os10", "switch", "Dell", "S5248F-ON", "CN0A1B2C3D4E5F", "10.5.4.2"),
    "dell-powerconnect": ("dell-powerconnect", "switch", "Dell", "N3048P", "CN0XYZ12345678", "6.6.3.17"),
    "edgeswitch-fastpath": (
        "broadcom-fastpath-switch", "switch", "Broadcom", "ES-24-250W", "F09FC2A1B2C3", "1.9.3.5438003",
    ),
    "extreme-exos": ("extreme-exos", "switch", "Extreme Networks", "X465-48W", None, "31.7.1.4"),
    "gigamon-gigavue": ("gigamon-gigavue", "switch", "Gigamon", "CHS-HC1", "B2345C", "5.16.00"),
    "h3c-comware": (
        "h3c-comware", "switch", "H3C", "5140 24G 4SFP+ EI Switch", "CN12KXZ0AB", "7.1.070 Release 6635P07",
    ),
    # a Comware wireless controller; ENTITY-MIB's chassis row
    "h3c-wx-controller": (
        "h3c-wireless-controller", "wireless", "H3C", "WX3540H", "219801A1B2C3D4E5F6G7", "7.1.064 Release 5435P03",
    ),
    "hpe-arubaos-switch": ("hpe-procurve", "switch", "HPE", "JL322A", "SG9ZKM1234", "WC.16.11.0012"),
    # an AR router's VRP: "Versatile Routing Platform" in sysDescr; ENTITY-MIB's chassis row
    "huawei-ar-router": ("huawei-vrp", "router", "Huawei", "AR2220E", "2102113183P0K8000123", "5.160"),
    # a server's management controller and a storage array under Huawei's tree: the role and the maker
    "huawei-ibmc": ("huawei-ibmc", "server", "Huawei", None, None, None),
    "huawei-oceanstor": ("huawei-oceanstor-ism", "storage", "Huawei", None, None, None),
    "huawei-vrp": ("huawei-vrp-switch", "switch", "Huawei", "S5735-L48T4X-A1", "2102353AB10000000123", "5.170"),
    # JUNIPER-MIB jnxBoxDescr and jnxBoxSerialNo; the version from sysDescr's "JUNOS 21.4R3-S5.4"
    "juniper-ex": (
        "juniper-junos-switch", "switch", "Juniper", "Juniper EX4300-48T Switch", "PE3719AF0123", "21.4R3-S5.4",
    ),
    # a Trapeze-derived WLC: the model is the code after the maker's name in sysDescr
    "juniper-wlc": ("juniper-wlc", "wireless", "Juniper", "WLC880R", None, None),
    # a router of a maker of routers and access gear alone (router-makers); the model after the maker's name.
    # LANCOM ends sysDescr with firmware, date and serial, which a maker's-tree profile does not read: a
    # LANCOM profile of its own would
    "lancom-router": ("router-makers", "router", "LANCOM Systems", "1781VA", None, None),
    "mikrotik-routeros": ("mikrotik-routeros", "router", "MikroTik", "CCR2004-16G-2S+", "HEB08A1B2C3", "7.12.1"),
    "mikrotik-swos": ("mikrotik-swos", "switch", "MikroTik", "CSS610-8G-2S+", "HD1208F0A1B2", "2.16"),
    # a maker whose whole tree is switches (switch-makers); its own MIB's switchModel, serialNumber, firmwareVersion
    "moxa-eds": ("switch-makers", "switch", "Moxa", "EDS-G508E", "TAIBB1091234", "V6.3 build 22101716"),
    "netgear-prosafe": ("netgear-switch", "switch", "Netgear", "GS728TPv2", "4A2B1C5D00123", "6.0.1.12"),
    "peplink-balance": (
        "peplink", "router", "Peplink", "Peplink Balance 380", "1824-A1B2-C3D4", "8.3.0 build 5190",
    ),
    "ruckus-icx": ("brocade-ironware", "switch", "Brocade", "ICX7150-24P-4X1G", "FEK1234L0AB", "08.0.95fT211"),
    # a Ruijie wireless controller: its branch of Ruijie's tree
    "ruijie-ac": ("ruijie-wireless", "wireless", "Ruijie", None, None, None),
    "teltonika-rutos": ("teltonika-rutos", "router", "Teltonika", "RUT241", "1107654321", "RUT2M_R_00.07.06.3"),
    "tplink-jetstream": (
        "tplink-switch", "switch", "TP-Link", "T2600G-28TS 3.0", "2178000123456", "3.0.4 Build 20220719 Rel.51234",
    ),
    "ubiquiti-uisp-olt": (
        "ubiquiti-uisp-olt", "router", "Ubiquiti", "UISP Fiber OLT", "74:ac:b9:00:11:22", "OLT.ufiber.v4.6.1.a1b2c3d",
    ),
    # an airOS bridge: Ubiquiti's airOS sysObjectID; its sysDescr is the Linux kernel's
    "ubiquiti-airos": ("ubiquiti-airos", "wireless", "Ubiquiti", None, None, None),
    "ubiquiti-unifi": ("ubiquiti-unifi", "wireless", "Ubiquiti", "U6-Pro", None, "6.5.62.14789"),
    # a ZXR10 switch: ZTE's switch branch; ENTITY-MIB's chassis row
    "zte-zxr10": ("zte-zxr10", "switch", "ZTE", "ZXR10 5960-56QU-HF", "219836012345", "V5.00.10.06"),
}  # fmt: skip


def scan_of(name: str) -> tuple[str | None, DeviceScan]:
    recording = read_snmprec(FIXTURES / f"{name}.snmprec")
    assert not recording.notes, recording.notes
    snapshot = build_snapshot(name, recording.rows)
    profile = snapshot.classification.profile if snapshot.classification else None
    return profile, device_from_snapshot(name, None, snapshot, SEEN, registry=REGISTRY)


def test_every_network_fixture_has_an_expected_identity() -> None:
    assert sorted(path.stem for path in FIXTURES.glob("*.snmprec")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_network_family_gets_its_profile_role_and_identity(name: str) -> None:
    profile, scanned = scan_of(name)
    device = scanned.device
    got = (profile, device.role, device.manufacturer, device.model, device.serial, device.os_version)
    assert got == EXPECTED[name]
    assert device.sys_name is not None
    assert scanned.status == "ok", scanned.messages


def test_a_value_read_from_the_vendor_mib_names_its_oid() -> None:
    _profile, scanned = scan_of("tplink-jetstream")
    provenance = scanned.device.provenance
    assert provenance["model"].origin == "1.3.6.1.4.1.11863.6.1.1.5.0"
    assert provenance["serial"].origin == "1.3.6.1.4.1.11863.6.1.1.8.0"
    _profile, scanned = scan_of("dell-os10")
    assert scanned.device.provenance["model"].origin == "1.3.6.1.2.1.1.1.0"  # sysDescr "System Type: ..."


def test_a_teltonika_router_under_net_snmp_is_told_from_a_linux_server_by_its_mib() -> None:
    _profile, scanned = scan_of("teltonika-rutos")
    assert scanned.device.role == "router"
    origin = scanned.device.provenance["role"].origin
    assert "teltonika-rutos" in origin and "1.3.6.1.4.1.48690.1.1.0" in origin, origin
