"""Parsers and classification against the real-device recordings shipped in snmpsim-data.

Every small recording in the folders the profiles cover (switches, routers, firewalls, UPS and
PDUs, storage, server controllers, hosts, sensors) is classified and parsed end to end; a few
are hand-checked against values read from the recording itself.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from inventory.snmp.recording import read_snmprec
from inventory.snmp.snapshot import DeviceSnapshot, build_snapshot

snmpsim_data = pytest.importorskip("snmpsim_data")
DATA = Path(snmpsim_data.__file__).parent / "data"
SMALL_BYTES = 250_000  # on disk; about 5 MB of text once decompressed
COVERED_FOLDERS = (
    "UPS", "bmc", "iot", "storage", "cloud", "os/linux", "os/windows",
    "network/switch", "network/router", "network/firewall",
)

# recording -> (profile, vendor, role), from what each recording's sysObjectID, sysDescr and
# vendor MIBs say it is (the folder names of snmpsim-data are not always right: the APC
# recordings under UPS/ are rack PDUs, vertiv-power is a Liebert PEX cooling unit).
EXPECTED = {
    "UPS/apc-7902b.snmprec": ("apc-pdu", "APC", "pdu"),
    "UPS/apc-8641.snmprec": ("apc-pdu", "APC", "pdu"),
    "UPS/apc-8932.snmprec": ("apc-pdu", "APC", "pdu"),
    "UPS/eastpower-istars-swv053.snmprec.bz2": ("eastpower-ups", "EAST", "ups"),
    "UPS/eaton-93e-80.snmprec.bz2": ("eaton-ups", "Eaton", "ups"),
    "UPS/eaton-9px-partial.snmprec.bz2": ("eaton-ups", "Eaton", "ups"),
    "UPS/emerson-network-power.snmprec.bz2": ("emerson-ups", "Emerson Network Power", "ups"),
    "UPS/huawei-gse200m.snmprec.bz2": ("huawei-ups", "Huawei", "ups"),
    "UPS/ingrasys-power-switch.snmprec.bz2": ("ups-mib", "Santak", "ups"),
    "UPS/phoenixtec-power.snmprec.bz2": ("phoenixtec-ups", "Phoenixtec", "ups"),
    "UPS/vertiv-power.snmprec.bz2": ("vertiv-liebert-cooling", "Vertiv (Liebert)", "sensor"),
    "bmc/hp-onboard-administrator.snmprec.bz2": ("hpe-onboard-administrator", "HPE", "server"),
    "cloud/arista-dcs-7150s-52-cl.snmprec.bz2": ("arista-eos", "Arista", "switch"),
    "iot/geist-temperature-sensor.snmprec": ("geist-environment", "Geist", "sensor"),
    "network/firewall/clavister-amaranten.snmprec.bz2": ("clavister", "Clavister", "firewall"),
    "network/firewall/legend-holdings-firewall-2.snmprec.bz2": ("legend-firewall", "Legend", "firewall"),
    "network/firewall/legend-holdings-firewall.snmprec.bz2": ("legend-firewall", "Legend", "firewall"),
    "network/firewall/netentsec-ngfw.snmprec.bz2": ("netentsec", "Netentsec", "firewall"),
    "network/firewall/nsfocus-osms.snmprec.bz2": ("nsfocus", "NSFOCUS", "firewall"),
    "network/firewall/paloalto-pa-5000.snmprec.bz2": ("paloalto-panos", "Palo Alto Networks", "firewall"),
    "network/firewall/sangfor-ad1800-fp2.snmprec.bz2": ("sangfor", "Sangfor", "firewall"),
    "network/firewall/sangfor-vad1.snmprec.bz2": ("sangfor", "Sangfor", "firewall"),
    "network/firewall/topsec-ngfw4000-uf.snmprec.bz2": ("topsec", "Topsec", "firewall"),
    "network/firewall/venus-unknown-001.snmprec.bz2": ("venus", "Venustech", "firewall"),
    "network/firewall/venus-vsos-v0600r0705b20180507.snmprec.bz2": ("venus", "Venustech", "firewall"),
    "network/firewall/venus-vsos-v070060600.snmprec.bz2": ("venus", "Venustech", "firewall"),
    # A Brocade Fabric OS fibre-channel switch, although filed under router/.
    "network/router/brocade-unknown-001.snmprec.bz2": ("brocade-fabric-os", "Brocade", "switch"),
    "network/router/cisco-unmarked-0.snmprec.bz2": ("cisco-ios", "Cisco", "router"),
    "network/router/huawei-s5720.snmprec.bz2": ("huawei-vrp-switch", "Huawei", "switch"),
    "network/router/juniper-mx960-12-3r6-6.snmprec.bz2": ("juniper-junos", "Juniper", "router"),
    "network/router/juniper-mx960-13-3r9-13.snmprec.bz2": ("juniper-junos", "Juniper", "router"),
    "network/router/vyatta-unknown.snmprec.bz2": ("vyatta", "Vyatta", "router"),
    "network/switch/bdcom-s5612.snmprec.bz2": ("bdcom", "BDCOM", "switch"),
    "network/switch/brocade-ds-5100b.snmprec.bz2": ("brocade-fabric-os", "Brocade", "switch"),
    "network/switch/brocade-fiber-channel.snmprec.bz2": ("brocade-fabric-os", "Brocade", "switch"),
    "network/switch/brocade-icx6430-24.snmprec.bz2": ("brocade-ironware", "Brocade", "switch"),
    "network/switch/cisco-c3560.snmprec.bz2": ("cisco-ios-switch", "Cisco", "switch"),
    "network/switch/cisco-c3750.snmprec.bz2": ("cisco-ios-switch", "Cisco", "switch"),
    "network/switch/cisco-n5000-uk9.snmprec.bz2": ("cisco-nxos", "Cisco", "switch"),
    "network/switch/cisco-n5000.snmprec.bz2": ("cisco-nxos", "Cisco", "switch"),
    "network/switch/cts-media-converter.snmprec.bz2": ("cts-media-converter", "CTS", "switch"),
    "network/switch/dcrs-5980-28t-dc.snmprec.bz2": ("dcn", "DCN", "switch"),
    "network/switch/dcs-3726c.snmprec.bz2": ("dcn", "DCN", "switch"),
    "network/switch/dlink-des3038.snmprec.bz2": ("dlink", "D-Link", "switch"),
    "network/switch/dlink-des3200.snmprec.bz2": ("dlink", "D-Link", "switch"),
    "network/switch/dptech-dpx800-a5.snmprec.bz2": ("dptech", "DPtech", "switch"),
    "network/switch/h3c-comware-lsq1wcmd0.snmprec.bz2": ("h3c-comware", "H3C", "switch"),
    "network/switch/h3c-e528-2.snmprec.bz2": ("h3c-comware", "H3C", "switch"),
    "network/switch/hpe-procurve-516733-b21.snmprec.bz2": ("hpe-procurve", "HPE", "switch"),
    "network/switch/maipu-sm4200-16gef8ge-ac.snmprec.bz2": ("maipu", "Maipu", "switch"),
    "network/switch/metel-poe-box.snmprec.bz2": ("metel", "Metel", "switch"),
    "network/switch/ruijie-s5750-24gt12sfp.snmprec.bz2": ("ruijie", "Ruijie", "switch"),
    "os/linux/ibm-power-chrp.snmprec.bz2": ("ibm-power", "IBM", "server"),
    "os/linux/ibm-x3550-m3.snmprec.bz2": ("net-snmp-linux", "net-snmp", "server"),
    # A host sending a dummy sysObjectID and a deliberately garbled sysDescr: stays unknown.
    "os/linux/netmanage.snmprec.bz2": (None, None, None),
    "os/linux/sangfor.snmprec.bz2": ("sangfor", "Sangfor", "firewall"),
    "os/linux/slackware.snmprec.bz2": ("net-snmp-linux", "net-snmp", "server"),
    "os/linux/unknown-001.snmprec.bz2": ("net-snmp-linux", "net-snmp", "server"),
    "os/linux/unknown-002.snmprec.bz2": ("net-snmp-linux", "net-snmp", "server"),
    "os/linux/unknown-003.snmprec.bz2": ("net-snmp-linux", "net-snmp", "server"),
    "os/linux/unknown-004.snmprec.bz2": ("net-snmp-linux", "net-snmp", "server"),
    "os/linux/unknown-005.snmprec.bz2": ("sangfor", "Sangfor", "firewall"),
    "os/linux/unknown-006.snmprec.bz2": ("net-snmp-linux", "net-snmp", "server"),
    "os/linux/unknown-007.snmprec.bz2": ("net-snmp-linux", "net-snmp", "server"),
    "os/linux/unknown-008.snmprec.bz2": ("sangfor", "Sangfor", "firewall"),
    "os/windows/XP.snmprec.bz2": ("windows", "Microsoft", "server"),
    "os/windows/server-2003-5-2.snmprec.bz2": ("windows", "Microsoft", "server"),
    "storage/isilon-onefs.snmprec.bz2": ("isilon-onefs", "Dell EMC (Isilon)", "storage"),
    "storage/netapp-fas3270.snmprec.bz2": ("netapp-ontap", "NetApp", "storage"),
    "storage/netapp-ontap-8-2-3.snmprec.bz2": ("netapp-ontap", "NetApp", "storage"),
}


def _small_covered_recordings() -> set[str]:
    found = set()
    for folder in COVERED_FOLDERS:
        for path in (DATA / folder).glob("*.snmprec*"):
            if path.stat().st_size <= SMALL_BYTES:
                found.add(path.relative_to(DATA).as_posix())
    return found


@functools.cache
def snapshot_of(name: str) -> DeviceSnapshot:
    return build_snapshot(name, read_snmprec(DATA / name).rows)


@functools.cache
def rows_of(name: str) -> dict[str, object]:
    return dict(read_snmprec(DATA / name).rows)


def test_every_small_recording_in_the_covered_folders_has_an_expectation() -> None:
    assert _small_covered_recordings() == set(EXPECTED)


def test_the_required_vendors_are_all_covered_by_recordings() -> None:
    vendors = {vendor for _profile, vendor, _role in EXPECTED.values()}
    required = {"Cisco", "HPE", "Huawei", "H3C", "Juniper", "Brocade", "APC", "Eaton",
                "Vertiv (Liebert)", "Emerson Network Power", "NetApp", "Dell EMC (Isilon)", "Geist", "net-snmp"}
    assert required <= vendors


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recording_is_classified_and_parsed(name: str) -> None:
    profile, vendor, role = EXPECTED[name]
    snapshot = snapshot_of(name)
    classification = snapshot.classification
    assert classification is not None
    assert (classification.profile, classification.vendor, classification.role) == (profile, vendor, role), (
        classification.matched_by, classification.reason,
    )
    if profile is None:
        assert classification.reason
    # Every interface the recording's ifTable / ifXTable hold comes out once, in ifIndex order.
    rows = rows_of(name)
    if "interfaces" in (classification.tables or ("interfaces",)):
        indexes = {
            oid.rsplit(".", 1)[1]
            for oid in rows
            if oid.startswith(("1.3.6.1.2.1.2.2.1.2.", "1.3.6.1.2.1.31.1.1.1.1."))
        }
        numbers = [interface.index for interface in snapshot.interfaces]
        assert numbers == sorted(numbers)
        assert {str(number) for number in numbers} >= indexes
    for interface in snapshot.interfaces:
        for value in (interface.name, interface.mac, interface.speed_bps, interface.admin_status):
            assert value is None or (value.source == "snmp" and value.oid in rows)
    assert not snapshot.partial


def test_apc_rack_pdu_is_a_pdu_with_its_powernet_model_and_serial() -> None:
    name = "UPS/apc-8641.snmprec"
    snapshot = snapshot_of(name)
    assert snapshot.classification is not None and snapshot.classification.role == "pdu"
    assert snapshot.identity.model is not None and snapshot.identity.model.value == "AP8641"
    serial = snapshot.identity.serial
    assert serial is not None and serial.oid == "1.3.6.1.4.1.318.1.1.12.1.6.0"
    assert serial.value == rows_of(name)[serial.oid].decode() == "3F3452A52295"  # type: ignore[attr-defined]


def test_no_apc_pdu_recording_is_taken_for_a_ups() -> None:
    for name in ("UPS/apc-7902b.snmprec", "UPS/apc-8641.snmprec", "UPS/apc-8932.snmprec"):
        classification = snapshot_of(name).classification
        assert classification is not None and classification.role == "pdu", name


def test_eaton_93e_is_a_ups_with_the_ups_mib_model() -> None:
    snapshot = snapshot_of("UPS/eaton-93e-80.snmprec.bz2")
    assert snapshot.ups is not None
    assert snapshot.ups.model is not None and snapshot.ups.model.value == "EATON 93E 80"
    assert snapshot.ups.model.oid == "1.3.6.1.2.1.33.1.1.2.0"
    assert snapshot.ups.manufacturer is not None and snapshot.ups.manufacturer.value == "EATON"
    assert snapshot.identity.model == snapshot.ups.model
    assert snapshot.identity.serial is not None and snapshot.identity.serial.value == "4K234LXX06"


def test_ups_mib_card_on_a_net_snmp_linux_is_a_ups_not_a_server() -> None:
    snapshot = snapshot_of("UPS/huawei-gse200m.snmprec.bz2")
    system = snapshot.system
    assert system is not None and system.object_id is not None
    assert system.object_id.value == "1.3.6.1.4.1.8072.3.2.10"
    assert snapshot.classification is not None and snapshot.classification.role == "ups"
    assert snapshot.ups is not None and snapshot.ups.manufacturer is not None
    assert snapshot.ups.manufacturer.value == "HUAWEI"


def test_netapp_is_storage_with_its_serial() -> None:
    snapshot = snapshot_of("storage/netapp-fas3270.snmprec.bz2")
    assert snapshot.identity.serial is not None
    assert (snapshot.identity.serial.value, snapshot.identity.serial.oid) == ("940001051000", "1.3.6.1.4.1.789.1.1.9.0")
    assert snapshot.identity.model is not None and snapshot.identity.model.value == "FAS3270"


def test_cisco_3560_is_a_switch_with_the_entity_chassis_serial() -> None:
    snapshot = snapshot_of("network/switch/cisco-c3560.snmprec.bz2")
    serial = snapshot.identity.serial
    assert serial is not None and (serial.value, serial.oid) == ("FOC1408Z61U", "1.3.6.1.2.1.47.1.1.1.1.11.1001")
    assert snapshot.identity.model is not None and snapshot.identity.model.value == "WS-C3560G-48TS-E"
    first = snapshot.interfaces[0]
    assert first.name is not None and first.name.value == "Vl1"  # ifName preferred over ifDescr "Vlan1"
    assert first.mac is not None and first.mac.value == "e8:04:62:78:f2:40"
    assert first.speed_bps is not None and first.speed_bps.oid.startswith("1.3.6.1.2.1.31.1.1.1.15.")
    addresses = {address.address.value for address in snapshot.addresses}
    assert "2001:da8:215:100::148" in addresses


@pytest.mark.parametrize(
    ("name", "serial"),
    [
        ("network/router/juniper-mx960-12-3r6-6.snmprec.bz2", "JN11FCEC5AFA"),
        ("network/switch/hpe-procurve-516733-b21.snmprec.bz2", "3C421900TX"),
        ("network/router/huawei-s5720.snmprec.bz2", "210235956210F7000410"),
        ("network/switch/h3c-e528-2.snmprec.bz2", "210235A0GKC158000929"),
        ("network/switch/brocade-ds-5100b.snmprec.bz2", "ALM2534F019"),
        ("network/switch/cisco-c3750.snmprec.bz2", "FDO1622Y10H"),
        ("storage/isilon-onefs.snmprec.bz2", "CEGER155100014"),
        ("bmc/hp-onboard-administrator.snmprec.bz2", "6CU250TV5C"),
        ("UPS/huawei-gse200m.snmprec.bz2", "2102310NYJ10EB000045"),
    ],
)
def test_serial_is_read_from_where_the_recording_holds_it(name: str, serial: str) -> None:
    found = snapshot_of(name).identity.serial
    assert found is not None and found.value == serial
    raw = rows_of(name)[found.oid]
    assert isinstance(raw, bytes) and raw.decode().strip() == serial


def test_lldp_neighbours_of_a_procurve() -> None:
    lldp = snapshot_of("network/switch/hpe-procurve-516733-b21.snmprec.bz2").lldp
    assert lldp is not None
    assert lldp.chassis_id is not None and lldp.chassis_id.value == "ac:16:2d:92:7d:21"
    neighbour = lldp.neighbours[0]
    assert neighbour.local_port_number == 8
    assert neighbour.chassis_id is not None and neighbour.chassis_id.value == "e8:39:35:1a:ca:99"
    assert neighbour.system_description is not None
    assert neighbour.system_description.value == "Emulex OneConnect 10Gb Multi function Adapter"


def test_host_resources_of_a_linux_host() -> None:
    host = snapshot_of("os/linux/unknown-006.snmprec.bz2").host_resources
    assert host is not None
    assert host.memory_bytes is not None and host.memory_bytes.value == 3975221248  # hrMemorySize KiB * 1024
    assert host.processor_count is not None and host.processor_count.value == 4
    ram = host.storage[0]
    assert ram.storage_type is not None and ram.storage_type.value == "ram"
    assert ram.size_bytes is not None and ram.size_bytes.value == 3975221248


def test_vertiv_liebert_cooling_unit_is_a_sensor_with_its_device_model() -> None:
    snapshot = snapshot_of("UPS/vertiv-power.snmprec.bz2")
    assert snapshot.identity.model is not None and snapshot.identity.model.value == "Liebert PEX"


# Vendors whose recordings hold no ENTITY-MIB chassis: their profiles' identity OIDs, each
# expected value read from the recording by hand (hex strings decoded).
@pytest.mark.parametrize(
    ("name", "field", "oid", "value"),
    [
        # LIEBERT-GP-AGENT-MIB lgpAgentDeviceModel.1, lgpAgentIdentSerialNumber.0,
        # lgpAgentIdentFirmwareVersion.0
        ("UPS/vertiv-power.snmprec.bz2", "model", "1.3.6.1.4.1.476.1.42.2.4.2.1.4.1", "Liebert PEX"),
        ("UPS/vertiv-power.snmprec.bz2", "serial", "1.3.6.1.4.1.476.1.42.2.1.4.0", "416791G106T2010SEP230036"),
        ("UPS/vertiv-power.snmprec.bz2", "version", "1.3.6.1.4.1.476.1.42.2.1.3.0", "3.210.0"),
        # the Emerson agent's identification group (model, firmware version)
        ("UPS/emerson-network-power.snmprec.bz2", "model", "1.3.6.1.4.1.13400.2.1.2.1.1.1.0", "US11R0030L"),
        ("UPS/emerson-network-power.snmprec.bz2", "version", "1.3.6.1.4.1.13400.2.1.2.1.2.1.0", "13.00"),
        # VERTIV-BB-MIB productTitle.0, productSerialNumber.0, productVersion.0
        ("iot/geist-temperature-sensor.snmprec", "model", "1.3.6.1.4.1.21239.5.1.1.1.0", "Geist WD15"),
        ("iot/geist-temperature-sensor.snmprec", "serial", "1.3.6.1.4.1.21239.5.1.1.10.0", "TB19020610"),
        ("iot/geist-temperature-sensor.snmprec", "version", "1.3.6.1.4.1.21239.5.1.1.2.0", "3.4.0"),
        # CPQRACK-MIB cpqRackCommonEnclosureFWRev.1: the enclosure's firmware, its Onboard Administrator's
        ("bmc/hp-onboard-administrator.snmprec.bz2", "version", "1.3.6.1.4.1.232.22.2.3.1.1.1.8.1", "3.60"),
        # FOUNDRY-SN-STACKING-MIB snStackingConfigUnitType.1, FOUNDRY-SN-AGENT-MIB snChasSerNum.0,
        # snAgImgVer.0
        ("network/switch/brocade-icx6430-24.snmprec.bz2", "model", "1.3.6.1.4.1.1991.1.1.3.31.2.1.1.5.1", "ICX6430-24"),
        ("network/switch/brocade-icx6430-24.snmprec.bz2", "serial", "1.3.6.1.4.1.1991.1.1.1.1.2.0", "BZN3215N09A"),
        ("network/switch/brocade-icx6430-24.snmprec.bz2", "version", "1.3.6.1.4.1.1991.1.1.2.1.11.0", "08.0.30tT311"),
    ],
)
def test_identity_is_read_from_the_vendor_mib_of_the_profile(name: str, field: str, oid: str, value: str) -> None:
    found = getattr(snapshot_of(name).identity, field)
    assert found is not None, field
    assert (found.value, found.oid, found.source) == (value, oid, "snmp")


def test_a_placeholder_serial_is_not_read_as_the_emerson_ups_serial() -> None:
    name = "UPS/emerson-network-power.snmprec.bz2"
    assert rows_of(name)["1.3.6.1.4.1.13400.2.1.2.1.2.3.0"] == b"reserved"
    assert snapshot_of(name).identity.serial is None
