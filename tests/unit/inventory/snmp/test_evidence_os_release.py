"""A general-purpose OS host's version is its OS release; an appliance running Linux never reports its kernel.

The decision (issue 10): for a host whose role is ``server`` from HOST-RESOURCES on a Linux,
FreeBSD or Windows sysDescr (or a server profile), with no firmware named by its profile, the
version is the kernel release (Linux, FreeBSD) or the build (Windows), and the record says it is
the operating system's release. NAS, firewalls, UPS cards, network OSes and management controllers
run Linux too: there the kernel is not the firmware. Rows are written for these tests in the
sysDescr forms of real agents (net-snmp, Microsoft's SNMP service).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from inventory.devices import Device
from inventory.scan_convert import device_from_snapshot
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.snapshot import build_snapshot
from inventory.snmp.version import os_release_from_descr

SEEN = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
DESCR, OBJECT_ID, NAME, HR_UPTIME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.25.1.1.0"
NET_SNMP_LINUX = "1.3.6.1.4.1.8072.3.2.10"


def device(descr: str, object_id: str = NET_SNMP_LINUX, **more: Any) -> Device:
    rows = {DESCR: descr, OBJECT_ID: object_id, NAME: "host-1", HR_UPTIME: 4242} | more
    snapshot = build_snapshot("192.0.2.50", rows)
    return device_from_snapshot("host-1", None, snapshot, SEEN, registry=EnterpriseRegistry()).device


@pytest.mark.parametrize(
    ("descr", "object_id", "version"),
    [
        ("Linux web-1 6.1.0-13-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29) x86_64", NET_SNMP_LINUX,
         "6.1.0-13-amd64"),
        ("Linux pacs-db 3.10.0-1160.76.1.el7.x86_64 #1 SMP Wed Aug 10 16:21:17 UTC 2022 x86_64", NET_SNMP_LINUX,
         "3.10.0-1160.76.1.el7.x86_64"),
        # no host name, or an address for one
        ("Linux 5.15.0-91-generic #101-Ubuntu SMP x86_64", NET_SNMP_LINUX, "5.15.0-91-generic"),
        ("Linux 10.1.2.3 5.10.0-28-amd64 #1 SMP Debian x86_64", NET_SNMP_LINUX, "5.10.0-28-amd64"),
        ("FreeBSD backup-2 13.2-RELEASE-p4 FreeBSD 13.2-RELEASE-p4 GENERIC amd64", "1.3.6.1.4.1.8072.3.2.8",
         "13.2-RELEASE-p4"),
        ("Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: Windows Version 6.3 "
         "(Build 20348 Multiprocessor Free)", "1.3.6.1.4.1.311.1.1.3.1.2", "Server 2022 (21H2) build 20348"),
        ("Hardware: Intel64 Family 6 Model 158 Stepping 10 AT/AT COMPATIBLE - Software: Windows Version 6.3 "
         "(Build 19045 Multiprocessor Free)", "1.3.6.1.4.1.311.1.1.3.1.1", "build 19045"),
    ],
)  # fmt: skip
def test_a_general_purpose_os_host_reports_its_os_release_and_says_so(
    descr: str, object_id: str, version: str
) -> None:
    host = device(descr, object_id)
    assert (host.role, host.os_version) == ("server", version)
    assert host.provenance["os_version"].origin == "1.3.6.1.2.1.1.1.0 (the operating system's release)"
    assert host.custom_fields.extra["firmware_of"] == "operating system"


@pytest.mark.parametrize(
    ("descr", "object_id", "more", "role"),
    [
        # a NAS on Linux: its role is storage (Synology's tree), its kernel no firmware
        ("Linux nas-1 4.4.302+ #69057 SMP Fri Jan 12 17:02:28 CST 2024 x86_64", "1.3.6.1.4.1.6574.1", {}, "storage"),
        # a UPS card on Linux answering UPS-MIB: the UPS's firmware, or none, never the card's kernel
        ("Linux ups-card 2.6.33 #1 PREEMPT armv5tel", NET_SNMP_LINUX, {"1.3.6.1.2.1.33.1.1.2.0": "Acme 3000"}, "ups"),
        # a network OS on Linux (HOST-RESOURCES answered): a router, not a server
        ("Linux OpenWrt 5.4.137 #0 SMP Sat Jul 31 17:21:01 2021 armv7l", NET_SNMP_LINUX, {}, "router"),
        # a server's management controller runs Linux: its firmware is the controller's, not the kernel
        ("Linux XCC-7D73-J701ABCD 5.4.278 #1 SMP Fri Aug 9 07:52:11 UTC 2024 armv7l", "1.3.6.1.4.1.19046.11.1", {},
         "server"),
    ],
)  # fmt: skip
def test_an_appliance_running_linux_never_reports_its_kernel(
    descr: str, object_id: str, more: dict[str, Any], role: str
) -> None:
    appliance = device(descr, object_id, **more)
    assert (appliance.role, appliance.os_version) == (role, None)
    assert "firmware_of" not in appliance.custom_fields.extra


def test_a_vendors_server_appliance_never_reports_its_kernel() -> None:
    # Nutanix's controller VM (enterprise 41263) runs CentOS under Nutanix's profile: an appliance
    appliance = device("Linux ntnx-1-cvm 3.10.0-1160.88.1.el7.nutanix.20230301.cvm.x86_64 #1 SMP x86_64",
                       "1.3.6.1.4.1.41263.1")
    assert (appliance.role, appliance.os_version) == ("server", None)


def test_a_server_profile_that_names_firmware_never_falls_back_to_the_kernel() -> None:
    # EfficientIP's SOLIDserver names its version in its own MIB (2440.1.17.1.2.0): when that does not
    # answer, the appliance's kernel is still not its SOLIDserver version
    appliance = device("Linux ddi-1 4.19.0-21-amd64 #1 SMP x86_64", "1.3.6.1.4.1.2440.1.6")
    assert appliance.role == "server"
    assert appliance.os_version is None


@pytest.mark.parametrize(
    "descr",
    ["Linux", "Linux host", "FreeBSD fw 12.x", "Hardware: x86 - Software: Windows 2000 Version 5.0", "Mystery box 1.2.3"],
)
def test_a_sysdescr_without_a_release_gives_none(descr: str) -> None:
    assert os_release_from_descr(descr) is None


def test_an_aix_host_answering_host_resources_is_a_server_though_its_sysdescr_opens_with_the_machine() -> None:
    # AIX's agent names the machine first and the OS in its list of filesets; an enterprise no profile covers
    descr = (
        "IBM PowerPC CHRP Computer\nMachine Type: 0x0800004c Processor id: 00C8D1E04C00\n"
        "Base Operating System Runtime AIX version: 07.02.0005.0000\nTCP/IP Client Support  version: 07.02.0005.0000"
    )
    host = device(descr, "1.3.6.1.4.1.99998.1")
    assert host.role == "server"
    assert host.provenance["role"].origin == "1.3.6.1.2.1.25.1.1.0 (HOST-RESOURCES-MIB) on a general-purpose OS"
    assert host.os_version == "07.02.0005.0000"
    # without HOST-RESOURCES the same text decides nothing by itself
    assert device(descr, "1.3.6.1.4.1.99998.1", **{HR_UPTIME: None}).role != "server"
