"""The role from what a device says when no profile decides: network words in sysDescr, a network OS on
Linux, several Ethernet ports without HOST-RESOURCES (sysDescr formats of the tuning part; names changed)."""

from __future__ import annotations

import pytest

from inventory.snmp.role import HR_SYSTEM_UPTIME, decide_role
from inventory.snmp.values import RawValue


def role_of(descr: str, probes: dict[str, RawValue] | None = None, ports: int = 0) -> str:
    return decide_role(
        None, "", False, probes or {}, descr, "1.3.6.1.4.1.99996.1", ("ethernetCsmacd",) * ports
    ).role


@pytest.mark.parametrize(
    ("descr", "role"),
    [
        ("Thomson DOCSIS Cable Modem <<HW_REV: 2.0; VENDOR: Thomson; SW_REV: ST61.01.02; MODEL: TCM471>>", "router"),
        ("EasyPath Ethernet-PON", "router"),
        ("Lambdatrail - xWDM Multiplexer (SFP - SFP)", "router"),
        ("Tait Communications, TB9400, DMR Base Station, Version: dmr-3.10", "router"),
        ("Midspan.  Unit S/N=000123.  App Ver=4.17.05.07", "switch"),
        ("Mystery box", "unknown"),
    ],
)  # fmt: skip
def test_network_words_in_sysdescr_name_the_role(descr: str, role: str) -> None:
    assert role_of(descr) == role


@pytest.mark.parametrize(
    ("descr", "role"),
    [
        ("Cisco IOS Software, C2960S Software (C2960S-UNIVERSALK9-M), Version 15.0(2)SE", "switch"),
        ("Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version 15.4(3)M", "router"),
        ("Pacific Broadband Networks Internetwork Operating System Software", "router"),
        ("Extreme Networks NetIron CER, IronWare Version V6.2.0eT183", "router"),
        ("Cisco Adaptive Security Appliance Version 9.12(4)", "firewall"),
        ("FortiAuthenticator", "firewall"),
        ("Cisco Firepower Threat Defense, Version 7.4.1.1 (Build 12), ASA Version 9.20(2)", "firewall"),
        ("NS-BSD SN310A00XXXXXX amd64", "firewall"),
        ("USG60W", "firewall"),
        ("Arista Networks EOS version 4.28.3M running on an Arista DCS-7050SX3-48YC8", "switch"),
        ("Nutanix AOS", "unknown"),
    ],
)  # fmt: skip
def test_a_network_system_named_in_sysdescr_names_the_role(descr: str, role: str) -> None:
    assert role_of(descr) == role


def test_a_network_os_on_linux_is_a_router_not_a_server() -> None:
    answered: dict[str, RawValue] = {HR_SYSTEM_UPTIME: 12345}
    assert role_of("Linux OpenWrt 5.4.137 #0 SMP Sat Jul 31 2021 armv7l", answered) == "router"
    assert role_of("Linux files-2 6.1.0-13-amd64 #1 SMP Debian 6.1.55-1", answered) == "server"
    assert role_of("Linux gw-1 3.10.0 Check Point Gaia R81.10", answered) == "firewall"


def test_several_ethernet_ports_without_host_resources_make_network_gear() -> None:
    assert role_of("IES-5106", ports=4) == "switch"
    assert role_of("IES-5106", ports=3) == "unknown"
    assert role_of("IES-5106", {HR_SYSTEM_UPTIME: 1}, ports=6) == "unknown"
