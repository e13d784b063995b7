"""Network vendors' devices whose ENTITY-MIB says nothing: the model from the vendor's product MIB.

Each recording in tests/fixtures/snmp-identity/netvendors holds only the system group a device
answers (written for these tests; sysObjectIDs from the vendors' product MIBs, sysDescr in each
vendor's format, names invented). Nothing in it names the model but the sysObjectID, so the
model comes from the product tables, with provenance naming the MIB; the role comes from the
profile, which names the product MIB's branch where it says the kind (a Juniper SRX, by the SRX
branch of JUNIPER-CHASSIS-DEFINES-MIB, is a firewall; HUAWEI-MIB's usg branch holds firewalls,
its wlan and wlanAp branches wireless controllers and access points).
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
REGISTRY = EnterpriseRegistry(registered={1916: "Extreme Networks"}, short_names={})

# recording -> (role, manufacturer, model, version, the MIB module that named the model)
EXPECTED: dict[str, tuple[str, str, str, str, str]] = {
    "arista-no-entity": ("switch", "Arista", "DCS-7050TX-64", "4.28.3M", "ARISTA-PRODUCTS-MIB"),
    "cisco-catalyst-no-entity": ("switch", "Cisco", "WS-C2960S-48TS-L", "15.2(2)E7", "CISCO-PRODUCTS-MIB"),
    "extreme-summit": ("switch", "Extreme Networks", "Summit X440-24p", "15.3.1.4", "EXTREME-BASE-MIB"),
    "huawei-lansw": ("switch", "Huawei", "S5700-24TP-PWR-SI", "5.170", "HUAWEI-MIB"),
    "huawei-usg": ("firewall", "Huawei", "USG6350E", "5.170", "HUAWEI-MIB"),
    "huawei-wlan-ac": ("wireless", "Huawei", "AC6605", "5.170", "HUAWEI-MIB"),
    "juniper-srx": ("firewall", "Juniper", "SRX220", "12.1X46-D40.2", "JUNIPER-CHASSIS-DEFINES-MIB"),
}  # fmt: skip


def test_every_netvendor_fixture_has_an_expected_identity() -> None:
    assert sorted(path.stem for path in FIXTURES.glob("*.snmprec")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_device_without_entity_mib_gets_its_model_from_the_product_mib(name: str) -> None:
    recording = read_snmprec(FIXTURES / f"{name}.snmprec")
    assert not recording.notes, recording.notes
    scanned = device_from_snapshot(name, None, build_snapshot(name, recording.rows), SEEN, registry=REGISTRY)
    device = scanned.device
    role, manufacturer, model, version, module = EXPECTED[name]
    assert (device.role, device.manufacturer, device.model, device.os_version) == (role, manufacturer, model, version)
    assert device.provenance["model"].origin.startswith(f"1.3.6.1.2.1.1.2.0 in {module} (")
    assert scanned.status == "ok", scanned.messages
