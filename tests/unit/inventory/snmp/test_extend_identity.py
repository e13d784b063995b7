"""A host's own net-snmp agent saying its hardware and distribution (NET-SNMP-EXTEND-MIB, inventory/snmp/extend.py),
and the notes on what the identity's reading saw and did not use, kept among the device's messages.

Rows are written for these tests in the form net-snmp answers them with the extends of LibreNMS's public
``snmpd.conf.example``; names and serials are made up. The real agent is exercised in
tests/integration/test_snmp_agents.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from inventory.devices import Device, DeviceScan
from inventory.scan_convert import MAX_IDENTITY_NOTES, device_from_snapshot
from inventory.snmp.enterprises import default_registry
from inventory.snmp.extend import EXTEND_IDENTITY_OIDS, NS_EXTEND_RESULT, extend_oid, release_of
from inventory.snmp.snapshot import build_snapshot

SEEN = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
DESCR, OBJECT_ID, NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"
NET_SNMP_LINUX = "1.3.6.1.4.1.8072.3.2.10"
HR_UPTIME = "1.3.6.1.2.1.25.1.1.0"
SERVER_DESCR = "Linux ris-db1 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01) x86_64"


def extends(**outputs: str) -> dict[str, str]:
    return {extend_oid(name): text for name, text in outputs.items()}


def scan(descr: str, **rows: Any) -> DeviceScan:
    snapshot = build_snapshot("192.0.2.70", {DESCR: descr, OBJECT_ID: NET_SNMP_LINUX, NAME: "host-1"} | rows)
    return device_from_snapshot("host-1", None, snapshot, SEEN, registry=default_registry())


def scanned(descr: str, **rows: Any) -> Device:
    return scan(descr, **rows).device


def test_the_instance_oid_is_the_extends_name_as_an_octet_string_index() -> None:
    assert extend_oid("hardware") == "1.3.6.1.4.1.8072.1.3.2.3.1.1.8.104.97.114.100.119.97.114.101"
    assert extend_oid("distro") == "1.3.6.1.4.1.8072.1.3.2.3.1.1.6.100.105.115.116.114.111"
    # each one's output and its command's exit status
    assert extend_oid("serial", NS_EXTEND_RESULT) == "1.3.6.1.4.1.8072.1.3.2.3.1.4.6.115.101.114.105.97.108"
    assert len(EXTEND_IDENTITY_OIDS) == 8


def test_a_linux_server_gets_its_maker_model_and_serial_from_its_agents_extends() -> None:
    rows = {HR_UPTIME: 123456} | extends(
        hardware="PowerEdge R750", manufacturer="Dell Inc.", serial="7XK2M93", distro="Debian GNU/Linux 12 (bookworm)"
    )
    host = scanned(SERVER_DESCR, **rows)
    assert host.role == "server"
    assert (host.manufacturer, host.model, host.serial) == ("Dell", "PowerEdge R750", "7XK2M93")
    # a server keeps its kernel as its version; the distribution is shown beside it
    assert host.os_version == "6.1.0-18-amd64"
    assert host.custom_fields.extra["os_distribution"] == "Debian GNU/Linux 12 (bookworm)"
    assert host.provenance["model"].origin == f'{extend_oid("hardware")} (NET-SNMP-EXTEND-MIB nsExtendOutput1Line."hardware")'
    assert host.provenance["manufacturer"].origin.startswith(extend_oid("manufacturer"))
    assert host.provenance["serial"].origin.startswith(extend_oid("serial"))
    assert host.provenance["custom_fields/os_distribution"].origin.startswith(extend_oid("distro"))


def test_a_linux_router_runs_the_release_its_distribution_names() -> None:
    router = scanned(
        "Linux OpenWrt 5.4.137 #0 SMP Sat Jul 31 17:21:01 2021 armv7l",
        **extends(hardware="Linksys WRT1200AC", distro="OpenWrt 21.02.0-rc4"),
        **{"1.3.6.1.2.1.4.1.0": 1, "1.3.6.1.2.1.17.1.2.0": 5},  # forwarding, a five-port bridge
    )
    assert router.role == "router"
    assert (router.model, router.os_version) == ("Linksys WRT1200AC", "21.02.0-rc4")
    assert router.provenance["os_version"].origin.startswith(extend_oid("distro"))
    assert router.custom_fields.extra["firmware_of"] == "operating system"
    # the agent's software is no maker
    assert router.manufacturer is None


def test_the_firmwares_placeholders_say_nothing() -> None:
    host = scanned(
        SERVER_DESCR,
        **{HR_UPTIME: 1},
        **extends(hardware="System Product Name", manufacturer="System manufacturer", serial="To Be Filled By O.E.M."),
    )
    assert (host.manufacturer, host.model, host.serial) == (None, None, None)
    assert "os_distribution" not in host.custom_fields.extra


def test_the_error_a_failed_command_printed_is_no_identity() -> None:
    # net-snmp answers a command's error output as its output: a VM without DMI, a serial only root may read
    missing = "/bin/cat: /sys/devices/virtual/dmi/id/product_name: No such file or directory"
    rows = {HR_UPTIME: 1} | extends(hardware=missing, serial="7XK2M93", manufacturer="QEMU") | {
        extend_oid("hardware", NS_EXTEND_RESULT): 1,
        extend_oid("serial", NS_EXTEND_RESULT): 0,
    }
    result = scan(SERVER_DESCR, **rows)
    host = result.device
    assert (host.model, host.serial) == (None, "7XK2M93")
    # an agent that does not answer the exit status: its output stands
    assert host.manufacturer == "QEMU"
    # the unknown model says what was seen: the extend, its exit status and what the command printed
    assert result.messages == (
        f'extend "hardware" ({extend_oid("hardware")}) exited 1: "{missing}"; its model left unknown',
    )
    # a seen note is no failure: the scan of this device is still ok
    assert result.status == "ok"


def test_an_agent_without_the_extends_is_read_as_before() -> None:
    host = scanned(SERVER_DESCR, **{HR_UPTIME: 1})
    assert (host.role, host.model, host.serial, host.os_version) == ("server", None, None, "6.1.0-18-amd64")


def test_an_output_longer_than_one_line_of_identity_gives_nothing() -> None:
    # a script that printed its usage or an error instead of a name
    result = scan(SERVER_DESCR, **{HR_UPTIME: 1}, **extends(hardware="usage: " + "x" * 300, serial="7XK2M93"))
    assert (result.device.model, result.device.serial) == (None, "7XK2M93")
    assert result.messages == (
        f'extend "hardware" ({extend_oid("hardware")}) answered 307 characters, not one line of identity; '
        "its model left unknown",
    )


def test_a_long_error_is_cut_short_and_many_notes_are_counted_not_listed() -> None:
    rows = {HR_UPTIME: 1} | extends(serial="/bin/cat: " + "p" * 200 + ": Permission denied") | {
        extend_oid("serial", NS_EXTEND_RESULT): 1
    }
    (note,) = scan(SERVER_DESCR, **rows).messages
    assert note.endswith('…"; its serial left unknown') and len(note) < 200
    # a device whose every identity value is garbage: the first notes, then how many more
    garbage = {extend_oid(name): 5 for name in ("hardware", "manufacturer", "serial", "distro")}
    snapshot = build_snapshot("192.0.2.70", {DESCR: SERVER_DESCR, OBJECT_ID: NET_SNMP_LINUX, HR_UPTIME: 1} | garbage)
    assert len(snapshot.notes) == 4 and all("expected a string, got an integer" in note for note in snapshot.notes)
    many = replace(snapshot, notes=tuple(f"note {number}" for number in range(MAX_IDENTITY_NOTES + 3)))
    messages = device_from_snapshot("host-1", None, many, SEEN, registry=default_registry()).messages
    assert messages[:-1] == many.notes[:MAX_IDENTITY_NOTES]
    assert messages[-1] == "3 more notes on the identity's values"


def test_a_system_value_of_the_wrong_type_is_said_among_the_messages_too() -> None:
    # sysContact answered as an integer, sysLocation in Latin-1: what was seen and not used, or changed
    result = scan(SERVER_DESCR, **{HR_UPTIME: 1, "1.3.6.1.2.1.1.4.0": 7, "1.3.6.1.2.1.1.6.0": b"Salle \xe9 2"})
    assert sorted(result.messages) == [
        "1.3.6.1.2.1.1.4.0: expected a string, got an integer; skipped",
        "1.3.6.1.2.1.1.6.0: text is not UTF-8; undecodable bytes replaced",
    ]
    assert result.status == "ok"


@pytest.mark.parametrize(
    ("distribution", "release"),
    [
        ("OpenWrt 21.02.0-rc4", "21.02.0-rc4"),
        ("Ubuntu 22.04.4 LTS", "22.04.4"),
        ("Debian GNU/Linux 12 (bookworm)", "12"),
        ("FreeBSD 14.1-RELEASE-p5", "14.1-RELEASE-p5"),
        ("CentOS Linux release 7.9.2009 (Core)", "7.9.2009"),
        ("Arch Linux", None),
    ],
)
def test_the_release_is_the_first_word_that_starts_with_a_digit(distribution: str, release: str | None) -> None:
    assert release_of(distribution) == release
