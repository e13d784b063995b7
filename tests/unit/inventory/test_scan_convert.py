"""What discovery read becomes inventory devices: SNMP recordings, Linux fact fixtures, switch CLI outputs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inventory.devices import flatten
from inventory.facts import ALL_FACTS, FactValue, HostFacts, MissingFact
from inventory.netcli import facts_from_outputs, platform_for
from inventory.scan_convert import (
    device_from_facts,
    device_from_snapshot,
    device_from_switch,
    speed_bps,
    switch_vendor,
)
from inventory.snmp import build_snapshot, read_snmprec
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.snapshot import TableOutcome, failed_snapshot

snmpsim_data = pytest.importorskip("snmpsim_data")
DATA = Path(snmpsim_data.__file__).parent / "data"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SEEN = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)

# the lab's six recordings: role, manufacturer (as the device says it, in manufacturers.tsv's short
# name: the UPS answers "EATON"), model and serial read from the recording
LAB_RECORDINGS = {
    "network/switch/cisco-c3750.snmprec.bz2": ("switch", "Cisco", "WS-C3750G-12S-S", "FDO1622Y10H"),
    "UPS/eaton-93e-80.snmprec.bz2": ("ups", "Eaton", "EATON 93E 80", "4K234LXX06"),
    "UPS/apc-8641.snmprec": ("pdu", "APC", "AP8641", "3F3452A52295"),
    "storage/isilon-onefs.snmprec.bz2": (
        "storage", "Dell EMC (Isilon)", "X210-2U-Single-48GB-2x1GE-2x10GE SFP+-36TB", "CEGER155100014"),
    "bmc/hp-onboard-administrator.snmprec.bz2": ("server", "HPE", "BladeSystem c7000 Enclosure G2", "6CU250TV5C"),
    "iot/geist-temperature-sensor.snmprec": ("sensor", "Geist", "Geist WD15", "TB19020610"),
}


def _snapshot(recording: str) -> Any:
    return build_snapshot("192.0.2.10", read_snmprec(DATA / recording).rows)


@pytest.mark.parametrize("recording", sorted(LAB_RECORDINGS))
def test_a_recorded_device_becomes_a_device_with_its_identity_and_where_each_value_came_from(recording: str) -> None:
    scanned = device_from_snapshot("dev-1", "192.0.2.10", _snapshot(recording), SEEN)
    device = scanned.device
    assert scanned.status == "ok", scanned.messages
    assert (device.role, device.manufacturer, device.model, device.serial) == LAB_RECORDINGS[recording]
    assert (device.name, device.management_address) == ("dev-1", "192.0.2.10")
    assert device.interfaces, "every recording has an interface table"
    for path in ("role", "model", "manufacturer", "platform", "interfaces/" + device.interfaces[0].name + "/mtu"):
        provenance = device.provenance_of(path)
        assert provenance is not None and provenance.source == "snmp" and provenance.seen_at == SEEN, path
        assert provenance.origin.startswith("1.3.6.1."), (path, provenance.origin)
    address = device.provenance_of("management_address")
    assert address is not None and address.source == "manual"


def test_the_serial_provenance_names_the_oid_the_serial_was_read_from() -> None:
    device = device_from_snapshot("sw", None, _snapshot("network/switch/cisco-c3750.snmprec.bz2"), SEEN).device
    provenance = device.provenance["serial"]
    assert provenance.origin.startswith("1.3.6.1.2.1.47.1.1.1.1.11.")  # entPhysicalSerialNum
    assert {m.slot for m in device.modules} and all(m.slot for m in device.modules)
    addresses = {a.address for a in device.ip_addresses}
    assert addresses and all("/" in a for a in addresses)


def test_a_table_not_fully_read_makes_a_partial_device_saying_which() -> None:
    snapshot = _snapshot("UPS/eaton-93e-80.snmprec.bz2")
    cut = replace(snapshot, tables=(TableOutcome("interfaces", "partial", 3, ("deadline reached",)),))
    scanned = device_from_snapshot("ups-1", None, cut, SEEN)
    assert scanned.status == "partial"
    assert scanned.messages == ("table interfaces partial: deadline reached",)
    assert scanned.device.serial == "4K234LXX06"  # what was read still counts


@pytest.mark.parametrize("outcome", ["unreachable", "auth_failed", "failed"])
def test_a_device_that_did_not_answer_is_unreachable_with_the_reason(outcome: str) -> None:
    snapshot = failed_snapshot("192.0.2.9", outcome, "v2c: timeout: no answer")
    scanned = device_from_snapshot("gone", "192.0.2.9", snapshot, SEEN, role="ups")
    assert scanned.status == "unreachable"
    assert scanned.messages == ("v2c: timeout: no answer",)
    assert (scanned.device.role, scanned.device.serial) == ("ups", None)


def test_an_unidentified_device_is_unknown_partial_and_says_what_was_seen() -> None:
    rows = {"1.3.6.1.2.1.1.1.0": b"Mystery box", "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.99999.1"}
    scanned = device_from_snapshot("box", None, build_snapshot("box", rows), SEEN)
    assert (scanned.device.role, scanned.status) == ("unknown", "partial")
    (message,) = [message for message in scanned.messages if message.startswith("role unknown")]
    assert "1.3.6.1.4.1.99999.1" in message and "'Mystery box'" in message
    assert "role" not in scanned.device.provenance


def test_a_device_known_only_by_a_network_makers_name_is_a_router_guessed_and_the_scan_says_so() -> None:
    # IANA's registry (Debian's libwireshark-data) names 11606 "Pacific Broadbank Networks" and 368 "Axis
    # Communications AB"; no profile names either
    rows = {"1.3.6.1.2.1.1.1.0": b"Traffic box", "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.11606.99.99"}
    scanned = device_from_snapshot("adc", None, build_snapshot("adc", rows), SEEN)
    assert (scanned.device.role, scanned.status) == ("router", "partial")
    (message,) = [message for message in scanned.messages if "guessed from the maker alone" in message]
    assert "enterprise 11606" in message and "Pacific Broadbank Networks" in message
    assert "a guess" in scanned.device.provenance["role"].origin
    camera = {"1.3.6.1.2.1.1.1.0": b"Camera box", "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.368.4"}
    assert device_from_snapshot("cam", None, build_snapshot("cam", camera), SEEN).device.role == "unknown"


# ----------------------------------------------------------------------------- the manufacturer from evidence

# a registry of four numbers, as IANA names them, and the short names opsctl shows
REGISTRY = EnterpriseRegistry(
    registered={318: "American Power Conversion Corp.", 8072: "net-snmp", 24681: "QNAP SYSTEMS, INC",
                20916: "AVTECH Software, Inc."},
    short_names={318: "APC", 24681: "QNAP"},
)  # fmt: skip
SYS_DESCR, SYS_OBJECT_ID, UPS_MANUFACTURER = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.33.1.1.1.0"
HR_UPTIME = "1.3.6.1.2.1.25.1.1.0"


def _scan(rows: dict[str, object], registry: EnterpriseRegistry = REGISTRY) -> Any:
    return device_from_snapshot("dev", None, build_snapshot("dev", rows), SEEN, registry=registry)


def test_a_net_snmp_host_has_no_manufacturer_and_that_is_no_problem_of_the_scan() -> None:
    rows = {SYS_DESCR: b"Linux web-1 6.1.0-13-amd64", SYS_OBJECT_ID: "1.3.6.1.4.1.8072.3.2.10", HR_UPTIME: 4242}
    scanned = _scan(rows)
    assert (scanned.device.role, scanned.device.platform, scanned.device.manufacturer) == ("server", "Linux", None)
    assert scanned.device.provenance["role"].origin.startswith(HR_UPTIME)
    assert "manufacturer" not in scanned.device.provenance
    assert (scanned.status, scanned.messages) == ("ok", ())


def test_a_nas_running_net_snmp_under_its_own_enterprise_is_its_own_profile_not_a_linux_server() -> None:
    scanned = _scan({SYS_DESCR: b"Linux TS-453 4.14.24-qnap", SYS_OBJECT_ID: "1.3.6.1.4.1.24681.1.2.1"})
    assert (scanned.device.manufacturer, scanned.device.role) == ("QNAP", "storage")  # its own tree beats ^Linux
    assert scanned.device.provenance["manufacturer"].origin == "1.3.6.1.2.1.1.2.0 profile qnap-qts"


def test_an_unprofiled_device_keeps_the_registered_name_without_its_legal_form_when_there_is_no_short_one() -> None:
    scanned = _scan({SYS_DESCR: b"Room Alert 4E", SYS_OBJECT_ID: "1.3.6.1.4.1.20916.1.6"})
    assert scanned.device.manufacturer == "AVTECH Software"  # registered as "AVTECH Software, Inc."


def test_a_profile_vendor_beats_the_registry_and_says_which_profile() -> None:
    scanned = _scan({SYS_DESCR: b"APC Web/SNMP Management Card", SYS_OBJECT_ID: "1.3.6.1.4.1.318.1.3.4.6"})
    assert scanned.device.manufacturer == "APC"
    assert scanned.device.provenance["manufacturer"].origin.startswith("1.3.6.1.2.1.1.2.0 profile apc-")


def test_what_the_device_answers_for_its_maker_beats_the_profile_and_the_registry() -> None:
    rows = {SYS_DESCR: b"UPS card", SYS_OBJECT_ID: "1.3.6.1.4.1.8072.3.2.10", UPS_MANUFACTURER: b"Santak"}
    scanned = _scan(rows)
    assert scanned.device.manufacturer == "Santak"
    assert scanned.device.provenance["manufacturer"].origin == UPS_MANUFACTURER


def test_without_the_registry_a_manufacturer_is_unknown_and_the_device_says_why() -> None:
    missing = EnterpriseRegistry({}, {318: "APC"}, problem="IANA enterprise registry missing (apt-get install x)")
    scanned = _scan({SYS_DESCR: b"Room Alert 4E", SYS_OBJECT_ID: "1.3.6.1.4.1.20916.1.6"}, missing)
    assert scanned.device.manufacturer is None
    assert scanned.status == "ok" and scanned.messages[-1] == "IANA enterprise registry missing (apt-get install x)"


# ----------------------------------------------------------------------------- Linux facts


def _host_facts(case: str = "debian12", leave_out: tuple[str, ...] = ()) -> HostFacts:
    values: dict[str, FactValue] = {}
    missing: dict[str, MissingFact] = {}
    for fact in ALL_FACTS:
        folder = FIXTURES / "facts" / type(fact).__name__
        fixture = json.loads((folder / f"{case}.json").read_text())
        if fact.name in leave_out:
            missing[fact.name] = MissingFact(fact.name, fact.command(), "command not found on the host (lsblk)", 127)
            continue
        values[fact.name] = FactValue(fact.name, fact.process(fixture["output"]), fact.command(), collected_at=SEEN)
    return HostFacts("web-1", values, missing, collected_at=SEEN)


def test_linux_facts_become_a_server_with_os_interfaces_addresses_and_disks() -> None:
    scanned = device_from_facts("web-1", "192.0.2.2", _host_facts(), SEEN)
    device = scanned.device
    assert scanned.status == "ok"
    assert (device.role, device.platform) == ("server", "Linux")
    assert device.os_version is not None and "Debian" in device.os_version
    names = {interface.name for interface in device.interfaces}
    assert {"lo", "eth0"} <= names
    assert "192.0.2.2/24" in {a.address for a in device.ip_addresses}
    eth0 = next(i for i in device.interfaces if i.name == "eth0")
    assert (eth0.mtu, eth0.oper_status, eth0.admin_status) == (1400, "up", "up")
    assert device.custom_fields.extra["kernel"]
    assert device.provenance_of("ip_addresses/192.0.2.2/24/interface") == device.provenance["ip_addresses/192.0.2.2/24"]
    provenance = device.provenance_of("interfaces/eth0/mtu")
    assert provenance is not None and (provenance.source, provenance.origin) == ("ssh", "ip -j addr show")
    assert device.provenance["os_version"].origin.startswith("cat /etc/os-release")
    assert all(m.field_replaceable for m in device.modules)
    # what the host calls itself is its sysName, as its own SNMP agent and its LLDP neighbours name it
    assert device.sys_name == "vm"  # uname -n on the machine the fixture was captured on
    assert (device.provenance["sys_name"].source, device.provenance["sys_name"].origin) == ("ssh", "uname -n")
    assert device_from_facts("web-1", None, _host_facts(leave_out=("hostname",)), SEEN).device.sys_name is None


def test_a_host_without_lsblk_is_partial_and_says_why() -> None:
    scanned = device_from_facts("web-1", None, _host_facts(leave_out=("block_devices",)), SEEN)
    assert scanned.status == "partial"
    assert scanned.messages == ("block_devices: command not found on the host (lsblk)",)
    assert scanned.device.modules == () and scanned.device.interfaces


# ----------------------------------------------------------------------------- switch CLIs


def _raw(platform: str, command: str) -> str:
    return sorted((FIXTURES / "cli" / platform / command.replace(" ", "_")).glob("*.raw"))[0].read_text()


def test_cisco_ios_outputs_become_a_switch_with_modules_interfaces_and_the_commands_as_provenance() -> None:
    platform = platform_for("cisco_ios")
    outputs = {command: _raw("cisco_ios", command)
               for command in ("show version", "show inventory", "show interfaces status")}
    facts = facts_from_outputs("core-1", platform, outputs, collected_at=SEEN)
    scanned = device_from_switch("core-1", "192.0.2.1", facts, SEEN)
    device = scanned.device
    assert (device.role, device.manufacturer, device.platform) == ("switch", "Cisco", "cisco_ios")
    assert device.model and device.serial and device.os_version
    assert device.provenance["os_version"].origin == "show version"
    assert device.modules and device.interfaces
    module = device.modules[0]
    assert device.provenance_of(f"modules/{module.slot}/serial").origin == "show inventory"  # type: ignore[union-attr]
    interface = device.interfaces[0]
    assert device.provenance_of(f"interfaces/{interface.name}/oper_status").source == "cli"  # type: ignore[union-attr]
    assert len({i.name for i in device.interfaces}) == len(device.interfaces)


def test_the_lab_fake_switch_is_partial_for_the_commands_it_does_not_answer() -> None:
    outputs = {"show version": (FIXTURES / "cli" / "lab_fake_switch" / "show_version.raw").read_text(),
               "show inventory": "", "show interfaces status": ""}
    facts = facts_from_outputs("lab-switch-01", platform_for("cisco_ios"), outputs)
    scanned = device_from_switch("lab-switch-01", "127.0.30.1", facts, SEEN)
    assert scanned.status == "partial"
    assert scanned.messages == ("show inventory: empty answer", "show interfaces status: empty answer")
    assert (scanned.device.model, scanned.device.serial) == ("WS-C3750G-24TS-1U", "FOC1530X2F7")
    assert "serial" in flatten(scanned.device)


@pytest.mark.parametrize(("text", "expected"), [
    ("a-1000", 1_000_000_000), ("100", 100_000_000), ("10G", 10_000_000_000), ("auto", None), (None, None),
])
def test_cli_speeds_in_bits_per_second(text: str | None, expected: int | None) -> None:
    assert speed_bps(text) == expected


def test_switch_vendors_from_device_types() -> None:
    assert [switch_vendor(t) for t in ("cisco_nxos", "hp_procurve", "aruba_aoscx", "huawei", "juniper_junos", "x")] == [
        "Cisco", "HPE", "Aruba", "Huawei", "Juniper", None]


def test_the_sys_name_is_stored_as_the_device_says_it_with_its_oid() -> None:
    # a hostile name is kept as data (people see it escaped: tests/unit/cli/test_hostile_rendering.py)
    name = "ups-b1\x1b]0;x\x07.example"
    scanned = _scan({SYS_DESCR: b"Linux " + b"x" * 5000, SYS_OBJECT_ID: "1.3.6.1.4.1.8072.3.2.10",
                     "1.3.6.1.2.1.1.5.0": name.encode()})
    assert scanned.device.sys_name == name
    assert scanned.device.provenance["sys_name"].origin == "1.3.6.1.2.1.1.5.0"
    assert flatten(scanned.device)["sys_name"] == name


def test_a_device_without_sys_name_has_none() -> None:
    scanned = _scan({SYS_DESCR: b"Room Alert 4E", SYS_OBJECT_ID: "1.3.6.1.4.1.20916.1.6"})
    assert scanned.device.sys_name is None and "sys_name" not in scanned.device.provenance
