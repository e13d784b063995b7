"""Network roles from standard MIBs every vendor implements, when no profile decides: IP forwarding, the bridge
and its VLANs, the LLDP capabilities a device says it has enabled, IEEE 802.11 radios.

The rows are written for these tests in the forms the MIBs define (IP-MIB, BRIDGE-MIB, Q-BRIDGE-MIB, LLDP-MIB,
IF-MIB); the sysObjectIDs are net-snmp's or an enterprise no profile covers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory.scan_convert import device_from_snapshot
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.recording import read_snmprec
from inventory.snmp.role import (
    BGP_LOCAL_AS,
    DOT1D_BASE_NUM_PORTS,
    DOT1D_STP_PROTOCOL,
    DOT1Q_NUM_VLANS,
    DOT1Q_VLAN_VERSION,
    HR_SYSTEM_UPTIME,
    IP_FORWARDING,
    LLDP_CAP_ENABLED,
    OSPF_ADMIN_STAT,
    PETH_MAIN_PSE_STATUS,
    PROBE_OIDS,
    RoleDecision,
    decide_role,
    lldp_capabilities,
)
from inventory.snmp.snapshot import build_snapshot
from inventory.snmp.values import RawValue

ROLES = Path(__file__).resolve().parents[3] / "fixtures" / "snmp-roles"
LINUX = "Linux gw-ward7 5.10.176 #0 SMP Thu May 11 2023 mips"
SERVER = "Linux ris-db-1 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29) x86_64"
NET_SNMP = "1.3.6.1.4.1.8072.3.2.10"
NOBODY = "1.3.6.1.4.1.99995.2.24"  # an enterprise no shipped profile covers
ETHERNET = "ethernetCsmacd"


def decide(
    probes: dict[str, RawValue],
    descr: str = "NX-24",
    object_id: str = NOBODY,
    types: tuple[str | None, ...] = (),
    names: tuple[str | None, ...] = (),
    routed: int = 0,
) -> RoleDecision:
    return decide_role(
        None, "", False, probes, descr, object_id, types, interface_names=names, routed_interfaces=routed
    )


def test_the_new_evidence_is_read_by_the_probe_get_not_by_a_walk() -> None:
    for oid in (IP_FORWARDING, DOT1Q_NUM_VLANS, DOT1D_STP_PROTOCOL, LLDP_CAP_ENABLED, BGP_LOCAL_AS, OSPF_ADMIN_STAT):
        assert oid in PROBE_OIDS and oid.endswith(".0")
    assert PETH_MAIN_PSE_STATUS in PROBE_OIDS


def test_a_forwarding_linux_with_wlan_interfaces_is_a_router() -> None:
    found = decide(
        {HR_SYSTEM_UPTIME: 8641100, IP_FORWARDING: 1},
        LINUX,
        NET_SNMP,
        ("softwareLoopback", ETHERNET, ETHERNET, ETHERNET, ETHERNET),
        ("lo", "eth0", "br-lan", "wlan0", "wlan1"),
    )
    assert found.role == "router"
    assert found.evidence.startswith(f"{IP_FORWARDING} (IP-MIB ipForwarding = forwarding)")
    assert "2 IEEE 802.11 interfaces" in found.evidence


def test_a_forwarding_linux_with_a_small_bridge_is_a_router_and_a_linux_switch_stays_a_switch() -> None:
    soho = decide({HR_SYSTEM_UPTIME: 1, IP_FORWARDING: 1, DOT1D_BASE_NUM_PORTS: 5}, LINUX, NET_SNMP)
    assert soho.role == "router"
    cumulus = decide({HR_SYSTEM_UPTIME: 1, IP_FORWARDING: 1, DOT1D_BASE_NUM_PORTS: 52}, LINUX, NET_SNMP)
    assert (cumulus.role, cumulus.evidence) == ("switch", f"{DOT1D_BASE_NUM_PORTS} (BRIDGE-MIB dot1dBaseNumPorts = 52)")


@pytest.mark.parametrize(
    "probes",
    [
        {HR_SYSTEM_UPTIME: 1, IP_FORWARDING: 2},
        {HR_SYSTEM_UPTIME: 1},
        # a container host forwards and holds addresses on its bridges, but has no radio and no BRIDGE-MIB
        {HR_SYSTEM_UPTIME: 1, IP_FORWARDING: 1},
        # lldpd on that host says bridge and router: HOST-RESOURCES on a general-purpose OS comes first
        {HR_SYSTEM_UPTIME: 1, IP_FORWARDING: 1, LLDP_CAP_ENABLED: b"\x28\x00"},
    ],
)
def test_a_plain_linux_server_stays_a_server(probes: dict[str, RawValue]) -> None:
    found = decide(probes, SERVER, NET_SNMP, ("softwareLoopback", ETHERNET, ETHERNET), ("lo", "eno1", "docker0"), 3)
    assert found.role == "server"


@pytest.mark.parametrize(
    ("value", "role", "named"),
    [
        (b"\x28\x00", "switch", "bridge, router"),
        (b"\x20\x00", "switch", "bridge"),
        (b"\x30\x00", "wireless", "bridge, wlanAccessPoint"),
        (b"\x18\x00", "router", "wlanAccessPoint, router"),
        (b"\x08\x00", "router", "router"),
        (b"\x02\x00", "router", "docsisCableDevice"),
    ],
)
def test_the_lldp_capabilities_a_device_has_enabled_name_its_role(value: bytes, role: str, named: str) -> None:
    found = decide({LLDP_CAP_ENABLED: value})
    assert (found.role, found.evidence) == (role, f"{LLDP_CAP_ENABLED} (LLDP-MIB lldpLocSysCapEnabled: {named})")


def test_a_telephone_is_no_role_and_the_unknown_device_says_what_lldp_said() -> None:
    found = decide({LLDP_CAP_ENABLED: b"\x04\x00", IP_FORWARDING: 2}, "IP Phone 8841")
    assert found.role == "unknown"
    assert "LLDP capabilities telephone" in found.seen
    assert "ipForwarding off" in found.seen


def test_lldp_bits_are_read_from_the_first_octet_most_significant_bit_first() -> None:
    assert lldp_capabilities(b"\x81") == ("other", "stationOnly")
    assert lldp_capabilities(b"") == ()
    assert lldp_capabilities(4) == ()


@pytest.mark.parametrize(
    ("probes", "role"),
    [
        ({DOT1Q_NUM_VLANS: 12}, "switch"),
        ({DOT1D_STP_PROTOCOL: 3}, "switch"),
        ({DOT1D_BASE_NUM_PORTS: 24}, "switch"),
        # a host bridging two interfaces is no switch, whatever else its bridge answers
        ({DOT1D_BASE_NUM_PORTS: 2, DOT1Q_NUM_VLANS: 1}, "unknown"),
        ({DOT1Q_NUM_VLANS: 0}, "unknown"),
    ],
)
def test_a_vlan_aware_or_spanning_tree_bridge_is_a_switch(probes: dict[str, RawValue], role: str) -> None:
    assert decide(probes).role == role


def test_forwarding_with_addresses_on_several_interfaces_is_a_router() -> None:
    found = decide({IP_FORWARDING: 1}, routed=3)
    assert (found.role, found.evidence) == (
        "router",
        f"{IP_FORWARDING} (ipForwarding = forwarding) with addresses on 3 interfaces",
    )
    alone = decide({IP_FORWARDING: 1}, routed=1)
    assert alone.role == "unknown"
    assert "ipForwarding on, addresses on 1 interfaces" in alone.seen


def test_words_in_sysdescr_name_a_forwarding_firewall_before_its_forwarding_does() -> None:
    assert decide({IP_FORWARDING: 1}, "Acme Firewall 7.2", routed=4).role == "firewall"


def test_ieee_80211_radios_make_a_wireless_device_or_a_router_when_it_forwards() -> None:
    radios = ("ieee80211", "ieee80211", ETHERNET)
    access_point = decide({IP_FORWARDING: 2}, types=radios)
    assert (access_point.role, access_point.evidence) == ("wireless", "1.3.6.1.2.1.2.2.1.3 (2 IEEE 802.11 interfaces)")
    assert decide({IP_FORWARDING: 1}, types=radios).role == "router"


def test_a_written_recording_of_a_home_router_on_linux_is_scanned_as_a_router() -> None:
    recording = read_snmprec(ROLES / "soho-router.snmprec")
    snapshot = build_snapshot("gw-ward7", recording.rows)
    device = device_from_snapshot(
        "gw-ward7", None, snapshot, datetime(2026, 12, 5, tzinfo=UTC), registry=EnterpriseRegistry()
    ).device
    assert (device.role, device.sys_name) == ("router", "gw-ward7")
    assert device.provenance["role"].origin.startswith(IP_FORWARDING)


def test_a_written_recording_of_an_unknown_makers_switch_is_a_switch_by_lldp() -> None:
    recording = read_snmprec(ROLES / "lldp-bridge.snmprec")
    snapshot = build_snapshot("sw-ward7-2", recording.rows)
    assert snapshot.role is not None
    assert snapshot.role.role == "switch"
    assert snapshot.role.evidence == f"{LLDP_CAP_ENABLED} (LLDP-MIB lldpLocSysCapEnabled: bridge, router)"
    assert snapshot.outcome == "ok"


@pytest.mark.parametrize(
    ("probes", "role", "evidence"),
    [
        ({BGP_LOCAL_AS: 65010}, "router", f"{BGP_LOCAL_AS} (BGP4-MIB bgpLocalAs = 65010: a BGP speaker)"),
        ({OSPF_ADMIN_STAT: 1}, "router", f"{OSPF_ADMIN_STAT} (OSPF-MIB ospfAdminStat = enabled)"),
        (
            {PETH_MAIN_PSE_STATUS: 1},
            "switch",
            f"{PETH_MAIN_PSE_STATUS} (POWER-ETHERNET-MIB pethMainPseOperStatus: PoE power sourcing equipment)",
        ),
        # BGP not running, OSPF disabled: no evidence
        ({BGP_LOCAL_AS: 0, OSPF_ADMIN_STAT: 2}, "unknown", ""),
    ],
)
def test_routing_protocols_make_a_router_and_poe_ports_a_switch(
    probes: dict[str, RawValue], role: str, evidence: str
) -> None:
    found = decide(probes)
    assert (found.role, found.evidence) == (role, evidence)


def test_a_firewall_that_runs_bgp_is_named_by_its_words_first() -> None:
    assert decide({BGP_LOCAL_AS: 65010, IP_FORWARDING: 1}, "pfSense fw-1 2.7.2-RELEASE FreeBSD 14.0", routed=3).role == "firewall"


def test_words_in_sysdescr_name_a_bridging_cable_modem_before_its_q_bridge_does() -> None:
    modem = "Thomson DOCSIS Cable Modem <<HW_REV: 2.0; VENDOR: Thomson; SW_REV: ST61.01.02; MODEL: TCM471>>"
    assert decide({DOT1Q_VLAN_VERSION: 1}, modem).role == "router"
    assert decide({DOT1Q_VLAN_VERSION: 1}, "Acme Unit").role == "switch"
