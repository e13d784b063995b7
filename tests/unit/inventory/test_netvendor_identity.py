"""Network vendors' devices whose ENTITY-MIB says nothing: the model from the vendor's product MIB, and
model, serial and version from the vendor's own identity objects.

Each recording in tests/fixtures/snmp-identity/netvendors holds only what such a device answers
to the OIDs discovery reads (written for these tests: sysObjectIDs from the vendors' product
MIBs, sysDescr in each vendor's format, the identity objects the profiles name; serials and
names invented). Where nothing names the model but the sysObjectID, the model comes from the
product tables, its provenance naming the MIB; the role comes from the profile, which names the
product MIB's branch where it says the kind (a Juniper SRX, by the SRX branch of
JUNIPER-CHASSIS-DEFINES-MIB, is a firewall; HUAWEI-MIB's usg branch holds firewalls, its wlan and
wlanAp branches wireless controllers and access points).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory.scan_convert import device_from_snapshot
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.recording import read_snmprec
from inventory.snmp.snapshot import build_snapshot

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "snmp-identity" / "netvendors"
SEEN = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
REGISTRY = EnterpriseRegistry(
    registered={248: "Richard Hirschmann GmbH & Co.", 1916: "Extreme Networks"}, short_names={}
)
PRODUCT = "1.3.6.1.2.1.1.2.0 in "  # a model read from a product MIB through sysObjectID

# recording -> (role, manufacturer, model, serial, version, where the model came from)
EXPECTED: dict[str, tuple[str, str, str, str | None, str, str]] = {
    "arista-no-entity": ("switch", "Arista", "DCS-7050TX-64", None, "4.28.3M", PRODUCT + "ARISTA-PRODUCTS-MIB"),
    "cisco-catalyst-no-entity": (
        "switch", "Cisco", "WS-C2960S-48TS-L", None, "15.2(2)E7", PRODUCT + "CISCO-PRODUCTS-MIB",
    ),
    "extreme-summit": (
        "switch", "Extreme Networks", "Summit X440-24p", "1322N-41077", "15.3.1.4", PRODUCT + "EXTREME-BASE-MIB",
    ),
    "huawei-lansw": ("switch", "Huawei", "S5700-24TP-PWR-SI", None, "5.170", PRODUCT + "HUAWEI-MIB"),
    "huawei-usg": ("firewall", "Huawei", "USG6350E", None, "5.170", PRODUCT + "HUAWEI-MIB"),
    "huawei-wlan-ac": ("wireless", "Huawei", "AC6605", None, "5.170", PRODUCT + "HUAWEI-MIB"),
    "juniper-srx": ("firewall", "Juniper", "SRX220", None, "12.1X46-D40.2", PRODUCT + "JUNIPER-CHASSIS-DEFINES-MIB"),
    # the vendors' identity objects (each profile's comment names the MIB objects)
    "aruba-controller-wlsx": (
        "wireless", "Aruba", "Aruba7030", "CV0012345", "6.4.4.16", "1.3.6.1.4.1.14823.2.2.1.1.1.2.0",
    ),
    "cisco-sb-physdescr": (
        "switch", "Cisco", "SG350-28P", "DNI21350A1B", "2.5.0.83", "1.3.6.1.4.1.9.6.1.101.53.14.1.11.1",
    ),
    "dlink-agent-serial": (
        "switch", "D-Link", "DGS-1210-28P/ME/B1", "SY1T2J8000412", "6.13.B036", "1.3.6.1.2.1.1.1.0",
    ),
    "hirschmann-rail": (
        "switch", "Richard Hirschmann", "RS20-0800T1T1SDAUHC", "943434003401102211", "08.0.02",
        "1.3.6.1.4.1.248.14.2.16.1.4.0",
    ),
    "microsens-g6": (
        "switch", "MICROSENS", "MS650919PM-48G6+", "02211877", "10.6.2", "1.3.6.1.4.1.3181.10.6.1.32.1.0",
    ),
    "netonix-wisp": ("switch", "Netonix", "WS-8-150-DC", None, "1.4.2", "1.3.6.1.2.1.1.1.0"),
    "ruckus-zonedirector": (
        "wireless", "Ruckus", "ZD1200", "461612000123", "10.4.1.0 build 185", "1.3.6.1.4.1.25053.1.2.1.1.1.1.9.0",
    ),
    "tplink-smart": (
        "switch", "TP-Link", "TL-SG2216 1.0", None, "1.0.3 Build 20150605 Rel.61325", "1.3.6.1.2.1.16.19.3.0",
    ),
    # Zyxel's tree holds every kind of device: the role comes from sysServices (datalink layer)
    "zyxel-es-switch": (
        "switch", "Zyxel", "XGS2210-28", "S182L21000123", "V4.50(AAZI.3)", "1.3.6.1.4.1.890.1.15.3.1.11.0",
    ),
}  # fmt: skip


def test_every_netvendor_fixture_has_an_expected_identity() -> None:
    assert sorted(path.stem for path in FIXTURES.glob("*.snmprec")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_network_device_gets_its_role_and_identity_from_its_vendors_mibs(name: str) -> None:
    recording = read_snmprec(FIXTURES / f"{name}.snmprec")
    assert not recording.notes, recording.notes
    scanned = device_from_snapshot(name, None, build_snapshot(name, recording.rows), SEEN, registry=REGISTRY)
    device = scanned.device
    role, manufacturer, model, serial, version, model_from = EXPECTED[name]
    got = (device.role, device.manufacturer, device.model, device.serial, device.os_version)
    assert got == (role, manufacturer, model, serial, version)
    assert device.provenance["model"].origin.startswith(model_from)
    assert scanned.status == "ok", scanned.messages
