"""The role an unprofiled device's interfaces name: access and WAN lines, and a network OS's many ports."""

from __future__ import annotations

from inventory.snmp.role import HR_SYSTEM_UPTIME, decide_role

UNPROFILED = "1.3.6.1.4.1.99986.1.1"


def test_a_dsl_access_node_with_a_few_ethernet_uplinks_is_a_router_by_its_lines() -> None:
    # ifType vdsl2(251) and gpon(250), which interfaces.py reads as unknown(N); four Ethernet uplinks
    types = ["ethernetCsmacd"] * 4 + ["unknown(251)"] * 24 + ["unknown(250)"]
    found = decide_role(None, "", False, {}, "R6.5 NFXS-E", UNPROFILED, types)
    assert found.role == "router"
    assert found.evidence == "1.3.6.1.2.1.2.2.1.3 (access or WAN interfaces: ifType unknown(250), unknown(251))"


def test_a_voice_gateway_with_e1_and_isdn_lines_is_a_router() -> None:
    found = decide_role(None, "", False, {}, "SN4971", UNPROFILED, ["ethernetCsmacd", "unknown(18)", "unknown(63)"])
    assert found.role == "router"


def test_a_vlan_aware_bridge_stays_a_switch_whatever_its_lines() -> None:
    probes = {"1.3.6.1.2.1.17.7.1.1.2.0": 12}
    found = decide_role(None, "", False, probes, "IES", UNPROFILED, ["ethernetCsmacd", "unknown(97)"])
    assert found.role == "switch"


def test_a_network_os_answering_host_resources_with_many_ports_is_a_switch() -> None:
    names = [f"Ethernet{number}" for number in range(1, 33)]
    probes = {HR_SYSTEM_UPTIME: 1234}
    found = decide_role(
        None, "", False, probes, "Hardware Model:AS7712-32X, Software version: 6.5.2.101", UNPROFILED,
        ["ethernetCsmacd"] * 32, interface_names=names,
    )  # fmt: skip
    assert found.role == "switch"
    assert found.evidence == "1.3.6.1.2.1.2.2.1.3 (32 physical Ethernet ports)"


def test_a_container_host_s_virtual_ethernet_interfaces_are_not_ports() -> None:
    # a host whose sysDescr names no OS: 30 veth interfaces of its containers and two NICs; HOST-RESOURCES answers
    names = ["eth0", "eth1", *(f"veth{number:04x}" for number in range(30))]
    probes = {HR_SYSTEM_UPTIME: 1234}
    found = decide_role(
        None, "", False, probes, "appliance", UNPROFILED, ["ethernetCsmacd"] * 32, interface_names=names
    )
    assert found.role == "unknown"
