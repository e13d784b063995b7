"""A device's role from evidence, in a stated order, with the evidence that decided it.

The order: a specific profile (sysObjectID, refined by sysDescr); then what the device answers
to a few GETs sent with the system group (UPS-MIB or a vendor UPS table, a PDU's outlet or unit
table, a vendor sensor table, a bridge with many ports, the Printer-MIB, HOST-RESOURCES on a
general-purpose OS); then sysServices; then words in sysDescr; then the interfaces walked (many
Ethernet ports and no HOST-RESOURCES: a switch). Nothing identifies the device: ``unknown``.
The probes are one GET of a few OIDs, sent only when no specific profile decided the role.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from inventory.snmp.values import RawValue

SYS_SERVICES = "1.3.6.1.2.1.1.7.0"
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
DOT1D_BASE_NUM_PORTS = "1.3.6.1.2.1.17.1.2.0"
UNKNOWN = "unknown"
# a bridge with at least this many ports is a switch, not a host bridging two interfaces
SWITCH_BRIDGE_PORTS = 4
# several Ethernet ports and no HOST-RESOURCES: network gear (a UPS, PDU or sensor card has one)
SWITCH_ETHERNET_PORTS = 4
_ETHERNET_TYPES = frozenset(
    {"ethernetCsmacd", "gigabitEthernet", "fastEther", "fastEtherFX", "6", "117", "62", "69"}
)

# (OID, role, what it is): answered to one GET after the system group. Each is the first instance of
# a scalar or of row 1 of a table that only a device of that kind has.
ROLE_PROBES: tuple[tuple[str, str, str], ...] = (
    ("1.3.6.1.2.1.33.1.1.2.0", "ups", "UPS-MIB upsIdentModel"),
    ("1.3.6.1.2.1.33.1.1.1.0", "ups", "UPS-MIB upsIdentManufacturer"),
    ("1.3.6.1.4.1.534.1.1.2.0", "ups", "XUPS-MIB xupsIdentModel (Eaton)"),
    ("1.3.6.1.4.1.318.1.1.1.1.1.1.0", "ups", "PowerNet-MIB upsBasicIdentModel (APC)"),
    ("1.3.6.1.4.1.705.1.1.1.0", "ups", "MG-SNMP-UPS-MIB upsmgIdentFamilyName (MGE/Eaton)"),
    ("1.3.6.1.4.1.3808.1.1.1.1.1.1.0", "ups", "CPS-MIB upsBaseIdentModel (CyberPower)"),
    # a UPS-MIB agent that leaves upsIdent empty still reports its battery and output
    ("1.3.6.1.2.1.33.1.2.1.0", "ups", "UPS-MIB upsBatteryStatus"),
    ("1.3.6.1.2.1.33.1.4.1.0", "ups", "UPS-MIB upsOutputSource"),
    # OEM cards answer their chip maker's UPS tables whatever their own sysObjectID
    ("1.3.6.1.4.1.2254.2.4.1.2.0", "ups", "DeltaUPS-MIB dupsIdentModel (Delta cards)"),
    ("1.3.6.1.4.1.4555.1.1.1.1.1.1.0", "ups", "SOCOMECUPS-MIB upsIdentModel (NetVision cards)"),
    ("1.3.6.1.4.1.318.1.1.12.1.5.0", "pdu", "PowerNet-MIB rPDUIdentModelNumber (APC)"),
    ("1.3.6.1.4.1.318.1.1.26.2.1.8.1", "pdu", "PowerNet-MIB rPDU2IdentModelNumber (APC)"),
    ("1.3.6.1.4.1.13742.6.3.2.1.1.3.1", "pdu", "PDU2-MIB pduModel (Raritan)"),
    ("1.3.6.1.4.1.13742.4.1.1.12.0", "pdu", "PDU-MIB objectName (Raritan PX1)"),
    ("1.3.6.1.4.1.1718.3.2.1.1.7.1", "pdu", "Sentry3-MIB towerModelNumber (ServerTech)"),
    ("1.3.6.1.4.1.1718.4.1.2.2.1.4.1", "pdu", "Sentry4-MIB st4UnitModel (ServerTech)"),
    ("1.3.6.1.4.1.534.6.6.7.1.2.1.2.0", "pdu", "EATON-EPDU-MIB productName (Eaton ePDU)"),
    ("1.3.6.1.4.1.3808.1.1.3.1.5.0", "pdu", "CPS-MIB ePDUIdentModelNumber (CyberPower)"),
    ("1.3.6.1.4.1.21239.5.2.3.1.1.2.1", "pdu", "VERTIV-V5-MIB pduMainName (Geist PDU)"),
    (
        "1.3.6.1.4.1.318.1.1.10.4.1.2.1.2.1",
        "sensor",
        "PowerNet-MIB uioSensorStatusSensorName (APC NetBotz/EMU)",
    ),
    ("1.3.6.1.4.1.5528.100.4.1.1.1.4.1", "sensor", "NETBOTZ-MIB tempSensorLabel (NetBotz)"),
    (
        "1.3.6.1.4.1.3854.1.2.2.1.16.1.1.0",
        "sensor",
        "SPAGENT-MIB sensorProbeTempDescription (AKCP)",
    ),
    ("1.3.6.1.2.1.43.5.1.1.16.1", "printer", "Printer-MIB prtGeneralPrinterName"),
    ("1.3.6.1.2.1.43.5.1.1.17.1", "printer", "Printer-MIB prtGeneralSerialNumber"),
)
# identity read with the same GET: UPS-MIB upsIdentUPSSoftwareVersion and upsIdentAgentSoftwareVersion
# (the UPS's firmware and its network card's), XUPS-MIB xupsIdentManufacturer, xupsIdentModel,
# xupsIdentSoftwareVersion and xupsIdentOnBoardSoftwareVersion (Eaton: the same two). A profiled UPS
# or PDU gets these without the role probes, so xupsIdentModel is here too: without it a profiled
# Eaton's XUPS identity was never read by a live scan (a recording holds every row)
IDENTITY_PROBE_OIDS = (
    "1.3.6.1.2.1.33.1.1.3.0", "1.3.6.1.2.1.33.1.1.4.0", "1.3.6.1.4.1.534.1.1.1.0", "1.3.6.1.4.1.534.1.1.2.0",
    "1.3.6.1.4.1.534.1.1.3.0", "1.3.6.1.4.1.534.1.1.4.0",
)  # fmt: skip
# each OID once (xupsIdentModel is both a role probe and identity)
PROBE_OIDS: tuple[str, ...] = tuple(dict.fromkeys((
    SYS_SERVICES, HR_SYSTEM_UPTIME, DOT1D_BASE_NUM_PORTS, *(oid for oid, _role, _what in ROLE_PROBES),
    *IDENTITY_PROBE_OIDS,
)))  # fmt: skip

# a general-purpose operating system's sysDescr: with HOST-RESOURCES, the device is a server
_GENERAL_PURPOSE_OS = re.compile(
    r"^(Linux|FreeBSD|OpenBSD|NetBSD|SunOS|AIX|HP-UX|Darwin)\b|Hardware: .*Software: Windows|Windows|VMware ESXi",
    re.IGNORECASE,
)
# a network operating system built on Linux: HOST-RESOURCES does not make it a server
_NETWORK_OS = re.compile(r"\b(OpenWrt|LEDE|DD-WRT|EdgeOS|VyOS|RouterOS|Teltonika|RUTX?[0-9]+)\b", re.IGNORECASE)
# words in sysDescr, first match wins (the more specific kinds first)
SYS_DESCR_ROLES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), role)
    for pattern, role in (
        (
            r"\bfire ?wall\b|\bUTM\b|\bSD-WAN\b|Secure .*Engine|\bpfSense\b|\bOPNsense\b|\bNGFW\b",
            "firewall",
        ),
        (
            r"\b(PDU|UPDU|ePDU|Power Distribut\w*|CDU|Outlet|Power Control|Sentry|Switched Rack|Metered Rack"
            r"|Transfer Switch|ATS)\b",
            "pdu",
        ),
        (
            r"\bUPS\b|Uninterruptible|\bInverter\b|\bRectifier\b|Power System|\bsmart-?ups\b"
            r"|Smart II Card|\bNetAgent\b",
            "ups",
        ),
        (
            r"\bTemperature\b|\bSensor\b|\bHumidity\b|Environment(al)? Monitor|Room ?Alert|Cooling",
            "sensor",
        ),
        (r"\b(NAS|SAN|Storage|FreeNAS|TrueNAS|DiskStation|RackStation)\b", "storage"),
        (r"\bprinter\b|LaserJet|\bMFP\b", "printer"),
        (r"Access Point|\bWLAN\b|\bwireless\b", "wireless"),
        (r"\bswitch(ing)?\b|\bSwitch\b|\bEthernet\b.*\bPort|\bMidspan\b|PoE Injector", "switch"),
        (
            r"\brouter\b|\brouting\b|RouterOS|\bOLT\b|\bMPLS\b|\bDSLAM\b|ACCESS NODE|\bCMTS\b"
            r"|DOCSIS|Cable Modem|\b[GE]?PON\b|Ethernet-PON|\bONT\b|xWDM|\bC?DWDM\b|Multiplexer|\bEDFA\b"
            r"|Base Station|Optix|Media Gateway|Session Border|\bSBC\b|OpenWrt|EdgeOS|VyOS|Teltonika",
            "router",
        ),
        (r"\bServer\b|\bBMC\b|\biDRAC\b|Integrated Lights-Out|\bXClarity\b", "server"),
    )
)


@dataclass(frozen=True)
class RoleDecision:
    """A role and the evidence that decided it (an OID, a rule); ``seen`` says what was looked at when nothing did."""

    role: str
    evidence: str
    seen: str = ""


def _answered(value: RawValue) -> bool:
    if value is None:
        return False
    if isinstance(value, bytes):
        return bool(value.strip(b"\x00 \t\r\n"))
    return value != ""


def role_from_probes(probes: Mapping[str, RawValue], descr: str) -> RoleDecision | None:
    """Return the role the probe answers name (vendor tables, bridge ports, HOST-RESOURCES on a general OS), else None."""
    for oid, role, what in ROLE_PROBES:
        if _answered(probes.get(oid)):
            return RoleDecision(role, f"{oid} ({what})")
    ports = probes.get(DOT1D_BASE_NUM_PORTS)
    if isinstance(ports, int) and ports >= SWITCH_BRIDGE_PORTS:
        return RoleDecision(
            "switch", f"{DOT1D_BASE_NUM_PORTS} (BRIDGE-MIB dot1dBaseNumPorts = {ports})"
        )
    if (
        _answered(probes.get(HR_SYSTEM_UPTIME))
        and _GENERAL_PURPOSE_OS.search(descr)
        and not _NETWORK_OS.search(descr)
    ):
        return RoleDecision(
            "server", f"{HR_SYSTEM_UPTIME} (HOST-RESOURCES-MIB) on a general-purpose OS"
        )
    return None


def role_from_services(services: RawValue) -> RoleDecision | None:
    """Return switch or router from sysServices when it names layer 2 or 3 and no applications, else None."""
    if not isinstance(services, int) or services <= 0 or services & 64:
        return None
    if services & 4:
        return RoleDecision("router", f"{SYS_SERVICES} (sysServices {services}: network layer)")
    if services & 2:
        return RoleDecision("switch", f"{SYS_SERVICES} (sysServices {services}: datalink layer)")
    return None


def role_from_descr(descr: str) -> RoleDecision | None:
    """Return the role that words in sysDescr name (first rule of :data:`SYS_DESCR_ROLES` that matches), else None."""
    for pattern, role in SYS_DESCR_ROLES:
        if pattern.search(descr):
            return RoleDecision(
                role, f"1.3.6.1.2.1.1.1.0 (sysDescr matches {pattern.pattern[:40]!r})"
            )
    return None


def role_from_interfaces(
    interface_types: Sequence[str | None], probes: Mapping[str, RawValue]
) -> RoleDecision | None:
    """Return switch when the device has many Ethernet ports and no HOST-RESOURCES, else None."""
    ethernet = sum(1 for kind in interface_types if kind in _ETHERNET_TYPES)
    if ethernet >= SWITCH_ETHERNET_PORTS and not _answered(probes.get(HR_SYSTEM_UPTIME)):
        return RoleDecision(
            "switch", f"1.3.6.1.2.1.2.2.1.3 ({ethernet} Ethernet ports, no HOST-RESOURCES)"
        )
    return None


def decide_role(
    profile_role: str | None,
    profile_evidence: str,
    profile_is_fallback: bool,
    probes: Mapping[str, RawValue],
    descr: str,
    object_id: str,
    interface_types: Sequence[str | None] = (),
    deferred_by: str = "",
) -> RoleDecision:
    """Return the role from the evidence in the module's order; ``unknown`` with what was seen when nothing decides.

    ``deferred_by`` is why a matched profile with no role left the role to evidence ("profile apc leaves the
    role to evidence: ..."): it is added to the decision's evidence, or to what was seen.
    """
    if profile_role is not None and not profile_is_fallback:
        return RoleDecision(profile_role, profile_evidence)
    said = f"; {deferred_by}" if deferred_by else ""
    for decision in (
        role_from_probes(probes, descr),
        role_from_services(probes.get(SYS_SERVICES)),
        role_from_descr(descr),
        role_from_interfaces(interface_types, probes),
    ):
        if decision is not None:
            return RoleDecision(decision.role, decision.evidence + said)
    services = probes.get(SYS_SERVICES)
    seen = (
        f"sysObjectID {object_id or '(none)'}, sysDescr {descr[:60]!r}, "
        f"sysServices {services if isinstance(services, int) else '(none)'}, "
        f"{sum(1 for kind in interface_types if kind in _ETHERNET_TYPES)} Ethernet ports, "
        f"HOST-RESOURCES {'answered' if _answered(probes.get(HR_SYSTEM_UPTIME)) else 'not answered'}{said}"
    )
    return RoleDecision(UNKNOWN, "", seen)
