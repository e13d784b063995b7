"""A device's role from evidence, in a stated order, with the evidence that decided it.

The order: a specific profile (sysObjectID, refined by sysDescr); then the branch of the vendor's
product MIB that assigns exactly that sysObjectID (products/*.tsv); then a node the sysObjectID
falls under whose registering MIB says the kind (about UPS or PDUs alone, or named for firewalls,
servers, PON...: role-tables.tsv); for a device whose sysObjectID names no product (an SNMP agent's,
net-snmp on a Linux PDU, or a maker's bare enterprise number), the same rows of the enterprises it
answered under (the enterprise census and the harvested identity objects read them); then what the
device answers to one GET of a few OIDs (UPS-MIB
or a vendor UPS table, a PDU's outlet or unit table, a vendor sensor table, the Printer-MIB; the
objects of its maker's MIB whose names mean a UPS, a PDU or a sensor, and the identity objects of
a MIB about UPS or PDUs alone, role-tables.tsv; a Linux home or office router: IP forwarding on
and radios or a small bridge; a bridge with many ports; HOST-RESOURCES on a general-purpose OS;
the LLDP capabilities the device says it has enabled); then sysServices; then words in sysDescr;
then the interfaces walked, the bridge and routing (IEEE 802.11 radios: a wireless device, a
router when it forwards; PoE ports, Q-BRIDGE VLANs or spanning tree: a switch; an access or WAN
line, BGP or OSPF running, or IP forwarding on with addresses on several interfaces: a router;
several Ethernet ports and no HOST-RESOURCES, or many physical ones: a switch); last, a guess from the
maker's name in IANA's registry (a network maker's: a router, marked a guess). Nothing identifies the
device: ``unknown``, with what was seen. The GET is sent only when no specific
profile decided.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from inventory.snmp.enterprises import (
    AGENT_ENTERPRISES,
    ENTERPRISES,
    default_registry,
    enterprise_number,
)
from inventory.snmp.harvested import answered_enterprises
from inventory.snmp.products import product_for
from inventory.snmp.values import RawValue
from opsctl.core.errors import ConfigError

SYS_SERVICES = "1.3.6.1.2.1.1.7.0"
HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
DOT1D_BASE_NUM_PORTS = "1.3.6.1.2.1.17.1.2.0"
# IP-MIB ipForwarding: 1 forwarding (a router, a firewall, a layer-3 switch, a Linux host with forwarding on), 2 not
IP_FORWARDING = "1.3.6.1.2.1.4.1.0"
# Q-BRIDGE-MIB dot1qVlanVersionNumber and dot1qNumVlans, BRIDGE-MIB dot1dStpProtocolSpecification: a VLAN-aware
# bridge or one running spanning tree (net-snmp on a Linux host implements none of them)
DOT1Q_VLAN_VERSION = "1.3.6.1.2.1.17.7.1.1.1.0"
DOT1Q_NUM_VLANS = "1.3.6.1.2.1.17.7.1.1.2.0"
DOT1D_STP_PROTOCOL = "1.3.6.1.2.1.17.2.1.0"
# LLDP-MIB lldpLocSysCapEnabled: BITS other(0) repeater(1) bridge(2) wlanAccessPoint(3) router(4) telephone(5)
# docsisCableDevice(6) stationOnly(7), bit 0 the first octet's most significant bit
LLDP_CAP_ENABLED = "1.0.8802.1.1.2.1.3.6.0"
LLDP_CAPABILITIES = ("other", "repeater", "bridge", "wlanAccessPoint", "router", "telephone", "docsisCableDevice", "stationOnly")  # fmt: skip
# POWER-ETHERNET-MIB pethMainPseOperStatus of PSE group 1: a PoE power sourcing equipment (a switch, a midspan)
PETH_MAIN_PSE_STATUS = "1.3.6.1.2.1.105.1.3.1.1.3.1"
# BGP4-MIB bgpLocalAs (0 when BGP is not running) and OSPF-MIB ospfAdminStat (1 enabled): the device routes
BGP_LOCAL_AS = "1.3.6.1.2.1.15.2.0"
OSPF_ADMIN_STAT = "1.3.6.1.2.1.14.1.2.0"
UNKNOWN = "unknown"
# a bridge with at least this many ports is a switch, not a host bridging two interfaces
SWITCH_BRIDGE_PORTS = 4
# a home or office router on Linux (OpenWrt, Tomato, Asuswrt-Merlin) bridges its LAN ports and radios: a handful of
# ports; a Linux data-centre switch (Cumulus) bridges dozens and stays a switch
SOHO_BRIDGE_PORTS_MAX = 10
# IP forwarding on and unicast addresses on at least this many interfaces (loopback aside): a router
ROUTED_INTERFACES = 2
_WIRELESS_TYPE = "ieee80211"
# Linux names its radios wlan0, ath0, wl0.1, ra0, phy0-ap0; net-snmp reports them as ethernetCsmacd
_WIRELESS_NAME = re.compile(r"^(wlan|ath|wifi|wl|ra|rai|phy)\d+([.-]|ap|$)", re.IGNORECASE)
# several Ethernet ports and no HOST-RESOURCES: network gear (a UPS, PDU or sensor card has one)
SWITCH_ETHERNET_PORTS = 4
_ETHERNET_TYPES = frozenset(
    {"ethernetCsmacd", "gigabitEthernet", "fastEther", "fastEtherFX", "6", "117", "62", "69"}
)
# IANAifType's access and WAN lines (interfaces.py names few types: the others read "unknown(N)"): DS1, E1, DS3,
# ISDN, SONET, xDSL, DOCSIS, G-PON, OTN. A device with one is access or transport gear: a router in the vocabulary
_ACCESS_TYPE_NUMBERS = {
    18: "ds1", 19: "e1", 20: "basicISDN", 21: "primaryISDN", 30: "ds3", 39: "sonet", 63: "isdn", 94: "adsl",
    95: "radsl", 96: "sdsl", 97: "vdsl", 127: "docsCableMaclayer", 128: "docsCableDownstream",
    129: "docsCableUpstream", 195: "opticalChannel", 196: "opticalTransport", 205: "docsCableUpstreamChannel",
    230: "adsl2", 238: "adsl2plus", 250: "gpon", 251: "vdsl2", 260: "otnOdu", 261: "otnOtu", 279: "gfast",
}  # fmt: skip
_ACCESS_TYPES = frozenset(
    {*_ACCESS_TYPE_NUMBERS.values(), *(f"unknown({number})" for number in _ACCESS_TYPE_NUMBERS)}
)
# this many physical Ethernet ports make a switch even where HOST-RESOURCES answers (a network OS on Linux that
# does not say so in sysDescr: OcNOS, Metamako MOS); a general-purpose OS with HOST-RESOURCES was a server before
SWITCH_MANY_ETHERNET_PORTS = 24
# the virtual Ethernet interfaces of a Linux host's containers, VMs and overlays: not ports
_VIRTUAL_ETHERNET_NAME = re.compile(
    r"^(veth|docker|br-|cali|flannel|cni|tap|vnet|virbr|vxlan|tun|lxc|kube|weave|genev|ovs|vmnic|vEthernet)",
    re.IGNORECASE,
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
# standard MIBs every vendor implements: forwarding, the bridge and its VLANs, what LLDP says the device is
NETWORK_PROBE_OIDS = (
    IP_FORWARDING, DOT1Q_VLAN_VERSION, DOT1Q_NUM_VLANS, DOT1D_STP_PROTOCOL, LLDP_CAP_ENABLED, PETH_MAIN_PSE_STATUS,
    BGP_LOCAL_AS, OSPF_ADMIN_STAT,
)  # fmt: skip
# each OID once (xupsIdentModel is both a role probe and identity)
PROBE_OIDS: tuple[str, ...] = tuple(dict.fromkeys((
    SYS_SERVICES, HR_SYSTEM_UPTIME, DOT1D_BASE_NUM_PORTS, *NETWORK_PROBE_OIDS,
    *(oid for oid, _role, _what in ROLE_PROBES), *IDENTITY_PROBE_OIDS,
)))  # fmt: skip

# objects whose MIB names mean a UPS, a PDU or a sensor, per enterprise (scripts/role-tables, from the vendors' MIBs)
ROLE_TABLES_FILE = Path(__file__).resolve().parent.parent / "profiles" / "role-tables.tsv"
_ROLE_TABLE_ORDER = ("ups", "pdu", "sensor")  # a device answering a battery object is a UPS even with outlets
_ROW_EVIDENCE = ("", "identity", "sysObjectID")
# what a node a device's sysObjectID falls under can name: its MIB's name says a firewall, a server's controller
_NODE_ROLES = frozenset(
    {"server", "switch", "router", "firewall", "storage", "ups", "pdu", "sensor", "wireless", "printer"}
)


@dataclass(frozen=True)
class RoleObject:
    """An object of a vendor's MIB that only a device of ``role`` answers (a row of role-tables.tsv); ``identity``
    when it is the unit's model, serial or firmware in a MIB module about that kind of device alone."""

    enterprise: int
    role: str
    oid: str
    descriptor: str
    module: str
    # "" an object whose name means the kind; "identity" an identity object of a module about that kind alone;
    # "sysObjectID" a node such a module registers, which a device's sysObjectID falls under (never asked for)
    evidence: str = ""

    @property
    def identity(self) -> bool:
        """Whether the row is the unit's model, serial or firmware in a MIB about its kind alone."""
        return self.evidence == "identity"

    def describe(self) -> str:
        """Return the row as a role's evidence: the OID, its module and descriptor, and what answering it means."""
        if self.evidence == "sysObjectID":
            return (
                f"1.3.6.1.2.1.1.2.0 (under {self.oid}, {self.module} {self.descriptor}:"
                f" a node of a MIB about {self.role} devices)"
            )
        meaning = (
            f"the unit's identity in a MIB about {self.role} devices alone"
            if self.identity
            else f"a {self.role} object of its maker's MIB"
        )
        return f"{self.oid} ({self.module} {self.descriptor}: {meaning})"


def parse_role_tables(text: str) -> dict[int, tuple[RoleObject, ...]]:
    """Return role-tables.tsv's rows per enterprise, UPS objects first, then PDU, then sensor, each role's own
    objects before its identity rows (a sixth column ``identity``; ``sysObjectID`` rows last); skip malformed rows."""
    found: dict[int, list[RoleObject]] = {}
    for line in text.splitlines():
        cells = line.split("\t")
        if (
            line.startswith("#")
            or len(cells) not in (5, 6)
            or not cells[0].isdigit()
            or cells[1] not in (_NODE_ROLES if cells[5:] == ["sysObjectID"] else _ROLE_TABLE_ORDER)
            or (len(cells) == 6 and cells[5] not in _ROW_EVIDENCE)
        ):
            continue
        evidence = cells[5] if len(cells) == 6 else ""
        row = RoleObject(int(cells[0]), cells[1], cells[2].strip("."), cells[3], cells[4], evidence)
        found.setdefault(row.enterprise, []).append(row)
    return {
        enterprise: tuple(
            sorted(
                rows,
                key=lambda row: (
                    row.evidence == "sysObjectID",
                    _ROLE_TABLE_ORDER.index(row.role) if row.role in _ROLE_TABLE_ORDER else 0,
                    row.identity,
                ),
            )
        )
        for enterprise, rows in found.items()
    }


@functools.cache
def role_tables() -> dict[int, tuple[RoleObject, ...]]:
    """Return the shipped role tables (:data:`ROLE_TABLES_FILE`, read once); raise ``ConfigError`` when the file
    cannot be read (a broken install must not quietly lose evidence)."""
    try:
        text = ROLE_TABLES_FILE.read_text(encoding="utf-8")
    except OSError as problem:
        raise ConfigError(f"{ROLE_TABLES_FILE}: cannot read the role tables: {problem.strerror}") from None
    return parse_role_tables(text)


def role_objects_for(object_id: str) -> tuple[RoleObject, ...]:
    """Return the role-table rows of the sysObjectID's enterprise that the probe GET asks for (its objects and identity
    rows, not its ``sysObjectID`` nodes); none for another tree."""
    enterprise = enterprise_number(object_id)
    rows = role_tables().get(enterprise, ()) if enterprise is not None else ()
    return tuple(row for row in rows if row.evidence != "sysObjectID")


def role_probe_oids(object_id: str) -> tuple[str, ...]:
    """Return what the probe GET asks a device no specific profile decided: :data:`PROBE_OIDS` and its maker's objects."""
    return tuple(dict.fromkeys((*PROBE_OIDS, *(row.oid for row in role_objects_for(object_id)))))


def role_from_object_id(object_id: str) -> RoleDecision | None:
    """Return the role of the deepest role-table node (a ``sysObjectID`` row) the sysObjectID falls under, else None:
    the MIB module that registers the device's own OID says what its devices are (scripts/role-tables)."""
    enterprise = enterprise_number(object_id)
    rows = role_tables().get(enterprise, ()) if enterprise is not None else ()
    under = [
        row for row in rows
        if row.evidence == "sysObjectID" and (object_id == row.oid or object_id.startswith(row.oid + "."))
    ]  # fmt: skip
    if not under:
        return None
    deepest = max(under, key=lambda row: len(row.oid.split(".")))
    return RoleDecision(deepest.role, deepest.describe())


def names_no_product(object_id: str) -> bool:
    """Return whether a sysObjectID says nothing of the product: missing, an SNMP agent's (net-snmp, Windows), or a
    maker's bare enterprise number (``1.3.6.1.4.1.10456``, with or without ``.0``)."""
    number = enterprise_number(object_id) if object_id else None
    if number is None or number in AGENT_ENTERPRISES:
        return True
    return object_id.strip().strip(".") in (f"{ENTERPRISES}{number}", f"{ENTERPRISES}{number}.0")


def role_from_answered(object_id: str, answered: Mapping[str, RawValue]) -> RoleDecision | None:
    """Return the role the MIBs of the enterprises a device answered under state, for a device whose sysObjectID
    names an SNMP agent (net-snmp on a Linux appliance, Windows' service), is a maker's bare enterprise number
    (``1.3.6.1.4.1.10456``: no product named) or is missing; else None.

    ``answered`` holds what the device answered (read under ``1.3.6.1.4.1``: the enterprise census, the harvested
    identity objects). Per enterprise, agents' aside: a role-table object or identity row it answered, else the deepest
    role-table node an answered OID falls under. Enterprises that name different roles decide nothing.
    """
    if not names_no_product(object_id):
        return None
    number = enterprise_number(object_id) if object_id else None
    if number is None:
        why = "it answers no sysObjectID"
    elif number in AGENT_ENTERPRISES:
        why = "its sysObjectID names its SNMP agent"
    else:
        why = "its sysObjectID is its maker's bare enterprise number"
    answered = {oid: value for oid, value in answered.items() if oid.startswith(ENTERPRISES)}
    decisions: list[RoleDecision] = []
    for enterprise in answered_enterprises(answered):
        rows = role_tables().get(enterprise, ())
        asked = [row for row in rows if row.evidence != "sysObjectID" and _answered(answered.get(row.oid))]
        # a role's own objects before its identity rows, as the probe GET reads them
        asked.sort(key=lambda row: row.identity)
        if asked:
            decisions.append(RoleDecision(asked[0].role, f"{asked[0].describe()}; {why}"))
            continue
        nodes = [
            (row, oid) for row in rows if row.evidence == "sysObjectID"
            for oid in answered if oid.startswith(row.oid + ".") and _answered(answered[oid])
        ]  # fmt: skip
        if nodes:
            row, oid = max(nodes, key=lambda pair: len(pair[0].oid.split(".")))
            decisions.append(
                RoleDecision(
                    row.role,
                    f"{oid} (answered under {row.oid}, {row.module} {row.descriptor}: a node of a MIB about"
                    f" {row.role} devices; {why})",
                )
            )
    if not decisions or len({decision.role for decision in decisions}) > 1:
        return None
    return decisions[0]


# a general-purpose operating system's sysDescr: with HOST-RESOURCES, the device is a server
_GENERAL_PURPOSE_OS = re.compile(
    r"^(Linux|FreeBSD|OpenBSD|NetBSD|SunOS|AIX|HP-UX|Darwin)\b|Hardware: .*Software: Windows|Windows|VMware ESXi"
    # AIX's agent opens with the machine ("IBM PowerPC CHRP Computer") and names the OS in its filesets' list
    r"|Base Operating System Runtime AIX\b",
    re.IGNORECASE,
)
# a network operating system built on Linux: HOST-RESOURCES does not make it a server
_NETWORK_OS = re.compile(
    r"\b(OpenWrt|LEDE|DD-WRT|EdgeOS|VyOS|RouterOS|Teltonika|RUTX?[0-9]+|Cumulus|SONiC|PicOS|OcNOS|Gaia|Check Point)\b",
    re.IGNORECASE,
)
# words in sysDescr, first match wins (the more specific kinds first)
SYS_DESCR_ROLES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), role)
    for pattern, role in (
        (
            r"\bfire ?wall\b|\bUTM\b|\bSD-WAN\b|Secure .*Engine|\bpfSense\b|\bOPNsense\b|\bNGFW\b"
            # the security appliances' own systems and product names
            r"|Adaptive Security Appliance|\bPAN-OS\b|\bFortiOS\b|\bForti(Gate|Web|Mail|Authenticator|Proxy|ADC)"
            r"|\bSonicOS\b|\bFireware\b|Check Point|\bGaia\b|\bFirepower\b|Threat Defense|\bASA Version\b"
            r"|\bNS-BSD\b|\bZyWALL\b|\bUSG\d*\w*\b|Security Gateway",
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
        (
            r"\bswitch(ing)?\b|\bSwitch\b|\bEthernet\b.*\bPort|\bMidspan\b|PoE Injector"
            # the switches' own network systems, and Cisco's switch families under IOS (its routers run IOS too)
            r"|\bCatalyst\b|\bNX-OS\b|\bNexus\b|\bProCurve\b|\bProVision\b|\bArubaOS-(CX|Switch)\b|\bAOS-CX\b"
            r"|Cumulus Linux|\bSONiC\b|\bPicOS\b|\bOcNOS\b|ExtremeXOS|\bEXOS\b|\bZyNOS\b|\bFastIron\b"
            r"|Arista Networks EOS|\bFTOS\b|\bOS10\b|\bVOSS\b|\bFabric OS\b|Fibre Channel"
            r"|\bC(2940|2950|2955|2960|2970|3550|3560|3750|3850)\w* Software",
            "switch",
        ),
        (
            r"\brouter\b|\brouting\b|RouterOS|\bOLT\b|\bMPLS\b|\bDSLAM\b|ACCESS NODE|\bCMTS\b"
            r"|DOCSIS|Cable Modem|\b[GE]?PON\b|Ethernet-PON|\bONT\b|xWDM|\bC?DWDM\b|Multiplexer|\bEDFA\b"
            r"|Base Station|Optix|Media Gateway|Session Border|\bSBC\b|OpenWrt|EdgeOS|VyOS|Teltonika"
            # the routers' own network systems
            r"|Cisco IOS|\bIOS[- ]XE\b|\bIOS XR\b|Internetwork Operating System|\bJUNOS\b|\bTiMOS\b|\bComware\b"
            r"|Versatile Routing Platform|\bIronWare\b|\bZXR10\b",
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
    # a guess from the maker alone: nothing the device answered named its kind (the scan says so, partial)
    guess: bool = False
    # what a known device is when the roles have no name for it ("camera"): role unknown by its profile's decision
    kind: str = ""


def _answered(value: RawValue) -> bool:
    if value is None:
        return False
    if isinstance(value, bytes):
        return bool(value.strip(b"\x00 \t\r\n"))
    return value != ""


def _forwarding(probes: Mapping[str, RawValue]) -> bool:
    return probes.get(IP_FORWARDING) == 1


def lldp_capabilities(value: RawValue) -> tuple[str, ...]:
    """Return the names of the LLDP capabilities a lldpLocSysCapEnabled value sets (BITS, first octet), else ()."""
    if not isinstance(value, bytes) or not value:
        return ()
    return tuple(name for bit, name in enumerate(LLDP_CAPABILITIES) if value[0] & (0x80 >> bit))


def radio_count(interface_types: Sequence[str | None], interface_names: Sequence[str | None] = ()) -> int:
    """Return how many interfaces are IEEE 802.11 radios: ifType ieee80211(71), or a Linux radio's name (wlan0)."""
    typed = sum(1 for kind in interface_types if kind == _WIRELESS_TYPE)
    named = sum(
        1 for kind, name in zip(interface_types, interface_names, strict=False)
        if kind != _WIRELESS_TYPE and name and _WIRELESS_NAME.match(name)
    )  # fmt: skip
    return typed + named


def role_from_lldp(probes: Mapping[str, RawValue]) -> RoleDecision | None:
    """Return the role the LLDP capabilities the device has enabled name (a bridge, an access point, a router), else None.

    A bridge that also routes is a (layer-3) switch; an access point that also routes is a wireless router; a
    telephone or a station names no role of the vocabulary.
    """
    enabled = lldp_capabilities(probes.get(LLDP_CAP_ENABLED))
    what = f"{LLDP_CAP_ENABLED} (LLDP-MIB lldpLocSysCapEnabled: {', '.join(enabled)})"
    if "wlanAccessPoint" in enabled:
        return RoleDecision("router" if "router" in enabled else "wireless", what)
    if "bridge" in enabled:
        return RoleDecision("switch", what)
    if "router" in enabled or "docsisCableDevice" in enabled:
        return RoleDecision("router", what)
    return None


def role_from_bridge(probes: Mapping[str, RawValue]) -> RoleDecision | None:
    """Return switch for PoE ports, a VLAN-aware bridge (Q-BRIDGE) or one running spanning tree, else None.

    Weaker than a bridge's port count, and than words in sysDescr: a cable modem or a DSL access node
    bridges and answers Q-BRIDGE too.
    """
    ports = probes.get(DOT1D_BASE_NUM_PORTS)
    if _answered(probes.get(PETH_MAIN_PSE_STATUS)):
        return RoleDecision(
            "switch", f"{PETH_MAIN_PSE_STATUS} (POWER-ETHERNET-MIB pethMainPseOperStatus: PoE power sourcing equipment)"
        )
    if isinstance(ports, int) and 0 <= ports < SWITCH_BRIDGE_PORTS:
        return None  # a host bridging two interfaces says so: its Q-BRIDGE or STP objects do not make it a switch
    for oid, what in (
        (DOT1Q_NUM_VLANS, "Q-BRIDGE-MIB dot1qNumVlans"),
        (DOT1Q_VLAN_VERSION, "Q-BRIDGE-MIB dot1qVlanVersionNumber"),
        (DOT1D_STP_PROTOCOL, "BRIDGE-MIB dot1dStpProtocolSpecification"),
    ):
        value = probes.get(oid)
        if isinstance(value, int) and value >= 1:
            return RoleDecision("switch", f"{oid} ({what} = {value}: a VLAN-aware or spanning-tree bridge)")
    return None


def role_from_probes(
    probes: Mapping[str, RawValue], descr: str, radios: int = 0, object_id: str = ""
) -> RoleDecision | None:
    """Return the role the probe answers name, else None.

    In order: vendor tables; the objects of the sysObjectID's maker whose MIB names mean a UPS, a PDU or a
    sensor (role-tables.tsv); a general-purpose OS that forwards IP with radios or a small bridge (a home or office
    router: OpenWrt, Tomato, Merlin); a bridge with many ports; HOST-RESOURCES on a
    general-purpose OS; the LLDP capabilities it has enabled (after HOST-RESOURCES: lldpd on a Linux server with
    forwarding and a container bridge says bridge and router).
    """
    for oid, role, what in ROLE_PROBES:
        if _answered(probes.get(oid)):
            return RoleDecision(role, f"{oid} ({what})")
    for row in role_objects_for(object_id):
        if _answered(probes.get(row.oid)):
            return RoleDecision(row.role, row.describe())
    general_os = bool(_GENERAL_PURPOSE_OS.search(descr))
    ports = probes.get(DOT1D_BASE_NUM_PORTS)
    ports = ports if isinstance(ports, int) else None
    small_bridge = ports is not None and SWITCH_BRIDGE_PORTS <= ports <= SOHO_BRIDGE_PORTS_MAX
    if general_os and _forwarding(probes) and (radios or small_bridge):
        seen = f"{radios} IEEE 802.11 interfaces" if radios else f"dot1dBaseNumPorts = {ports}"
        return RoleDecision(
            "router", f"{IP_FORWARDING} (IP-MIB ipForwarding = forwarding) on a general-purpose OS with {seen}"
        )
    if ports is not None and ports >= SWITCH_BRIDGE_PORTS:
        return RoleDecision(
            "switch", f"{DOT1D_BASE_NUM_PORTS} (BRIDGE-MIB dot1dBaseNumPorts = {ports})"
        )
    if _answered(probes.get(HR_SYSTEM_UPTIME)) and general_os and not _NETWORK_OS.search(descr):
        return RoleDecision(
            "server", f"{HR_SYSTEM_UPTIME} (HOST-RESOURCES-MIB) on a general-purpose OS"
        )
    return role_from_lldp(probes)


def role_from_product(object_id: str) -> RoleDecision | None:
    """Return the role the vendor's product MIB states for exactly this sysObjectID (the branch it assigns the
    product under: ``inventory/profiles/products``), else None."""
    product = product_for(object_id) if object_id else None
    if product is None or product.role is None:
        return None
    return RoleDecision(
        product.role,
        f"1.3.6.1.2.1.1.2.0 ({product.module} {product.descriptor}: a product of its {product.role} branch)",
    )


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


# words of a maker's name in IANA's registry that say it makes network gear ("A10 Networks", "ECI Telecom Ltd.",
# "ADVA AG Optical Networking"); not "Communications", which phone, camera and radio makers carry too
_NETWORK_MAKER = re.compile(r"\b(Networks|Networking|Telecom|Telecommunications?|Broadband|Optical|Photonics)\b", re.I)


def role_from_maker(object_id: str) -> RoleDecision | None:
    """Return ``router`` as a guess when the sysObjectID's maker is registered under a network maker's name, else None.

    The last evidence before ``unknown``: network gear whose maker opsctl has no profile for often answers nothing
    else that names its kind (no bridge, no interfaces it calls Ethernet); the decision is marked a guess.
    """
    number = enterprise_number(object_id)
    if number is None or number in AGENT_ENTERPRISES:
        return None
    name = default_registry().registered.get(number)
    if name is None or not _NETWORK_MAKER.search(name):
        return None
    return RoleDecision(
        "router",
        f"{object_id} (enterprise {number}, registered to {name!r}: a maker of network gear; "
        "a guess, nothing the device answered named its kind)",
        guess=True,
    )


def role_from_interfaces(
    interface_types: Sequence[str | None],
    probes: Mapping[str, RawValue],
    interface_names: Sequence[str | None] = (),
    routed_interfaces: int = 0,
) -> RoleDecision | None:
    """Return the role the interfaces name, else None.

    IEEE 802.11 radios: wireless (a router when the device forwards IP); PoE ports, Q-BRIDGE VLANs or spanning
    tree: a switch (a layer-3 switch routes too); an access or WAN line (xDSL, DOCSIS, G-PON, DS1/E1, ISDN,
    SONET, OTN): a router; BGP running or OSPF enabled: a router; IP forwarding on with addresses on
    :data:`ROUTED_INTERFACES` interfaces or more: a router; several Ethernet ports and no HOST-RESOURCES, or
    :data:`SWITCH_MANY_ETHERNET_PORTS` physical ones: a switch. (After sysDescr's words: firewalls forward and
    route, modems bridge.)
    """
    radios = radio_count(interface_types, interface_names)
    if radios:
        if _forwarding(probes):
            return RoleDecision(
                "router", f"{IP_FORWARDING} (ipForwarding = forwarding) with {radios} IEEE 802.11 interfaces"
            )
        return RoleDecision("wireless", f"1.3.6.1.2.1.2.2.1.3 ({radios} IEEE 802.11 interfaces)")
    bridge = role_from_bridge(probes)
    if bridge is not None:
        return bridge
    access = sorted({kind for kind in interface_types if kind in _ACCESS_TYPES})
    if access:
        return RoleDecision(
            "router", f"1.3.6.1.2.1.2.2.1.3 (access or WAN interfaces: ifType {', '.join(map(str, access))})"
        )
    local_as = probes.get(BGP_LOCAL_AS)
    if isinstance(local_as, int) and local_as != 0:
        return RoleDecision("router", f"{BGP_LOCAL_AS} (BGP4-MIB bgpLocalAs = {local_as}: a BGP speaker)")
    if probes.get(OSPF_ADMIN_STAT) == 1:
        return RoleDecision("router", f"{OSPF_ADMIN_STAT} (OSPF-MIB ospfAdminStat = enabled)")
    if _forwarding(probes) and routed_interfaces >= ROUTED_INTERFACES:
        return RoleDecision(
            "router", f"{IP_FORWARDING} (ipForwarding = forwarding) with addresses on {routed_interfaces} interfaces"
        )
    ethernet = sum(1 for kind in interface_types if kind in _ETHERNET_TYPES)
    if ethernet >= SWITCH_ETHERNET_PORTS and not _answered(probes.get(HR_SYSTEM_UPTIME)):
        return RoleDecision(
            "switch", f"1.3.6.1.2.1.2.2.1.3 ({ethernet} Ethernet ports, no HOST-RESOURCES)"
        )
    names = tuple(interface_names) + (None,) * (len(interface_types) - len(interface_names))
    physical = sum(
        1 for kind, name in zip(interface_types, names, strict=False)
        if kind in _ETHERNET_TYPES and not (name and _VIRTUAL_ETHERNET_NAME.match(name))
    )  # fmt: skip
    if physical >= SWITCH_MANY_ETHERNET_PORTS:
        return RoleDecision("switch", f"1.3.6.1.2.1.2.2.1.3 ({physical} physical Ethernet ports)")
    return None


def _seen(
    object_id: str,
    descr: str,
    probes: Mapping[str, RawValue],
    interface_types: Sequence[str | None],
    radios: int,
    routed_interfaces: int,
    answered: Mapping[str, RawValue] | None = None,
) -> str:
    """Return what was looked at, for a device nothing identifies: each piece of evidence and what it said."""
    services = probes.get(SYS_SERVICES)
    forwarding = probes.get(IP_FORWARDING)
    parts = [
        f"sysObjectID {object_id or '(none)'}",
        f"sysDescr {descr[:60]!r}",
        f"sysServices {services if isinstance(services, int) else '(none)'}",
        f"{sum(1 for kind in interface_types if kind in _ETHERNET_TYPES)} Ethernet ports",
        f"HOST-RESOURCES {'answered' if _answered(probes.get(HR_SYSTEM_UPTIME)) else 'not answered'}",
    ]
    if isinstance(forwarding, int):
        parts.append(f"ipForwarding {'on' if forwarding == 1 else 'off'}, addresses on {routed_interfaces} interfaces")
    ports = probes.get(DOT1D_BASE_NUM_PORTS)
    if isinstance(ports, int):
        parts.append(f"{ports} bridge ports")
    capabilities = lldp_capabilities(probes.get(LLDP_CAP_ENABLED))
    if capabilities:
        parts.append(f"LLDP capabilities {', '.join(capabilities)}")
    if radios:
        parts.append(f"{radios} IEEE 802.11 interfaces")
    makers = answered_enterprises(answered or {})
    if makers:
        parts.append(f"answered under enterprises {', '.join(map(str, makers[:5]))}{', ...' if len(makers) > 5 else ''}")
    return ", ".join(parts)


def decide_role(
    profile_role: str | None,
    profile_evidence: str,
    profile_is_fallback: bool,
    probes: Mapping[str, RawValue],
    descr: str,
    object_id: str,
    interface_types: Sequence[str | None] = (),
    deferred_by: str = "",
    *,
    interface_names: Sequence[str | None] = (),
    routed_interfaces: int = 0,
    answered: Mapping[str, RawValue] | None = None,
    kind: str = "",
) -> RoleDecision:
    """Return the role from the evidence in the module's order; ``unknown`` with what was seen when nothing decides.

    ``deferred_by`` is why a matched profile with no role left the role to evidence ("profile apc leaves the
    role to evidence: ..."): it is added to the decision's evidence, or to what was seen. ``interface_names``
    run beside ``interface_types`` (ifName, else ifDescr); ``routed_interfaces`` counts the interfaces other
    than loopback that hold a unicast address; ``answered`` every row the device answered
    (:func:`role_from_answered` reads those under ``1.3.6.1.4.1``). ``kind`` is what the matched profile says the
    device is when the roles have no name for it (a camera): the profile decides, role ``unknown``, and no evidence
    is asked to name a role the device does not have (a camera's HOST-RESOURCES would make it a server).
    """
    answered = answered or {}
    if profile_role is not None and not profile_is_fallback:
        return RoleDecision(profile_role, profile_evidence)
    if kind and not profile_is_fallback:
        return RoleDecision(UNKNOWN, f"{profile_evidence}; {deferred_by or 'a ' + kind}", kind=kind)
    said = f"; {deferred_by}" if deferred_by else ""
    radios = radio_count(interface_types, interface_names)
    for decision in (
        role_from_product(object_id),
        role_from_object_id(object_id),
        role_from_answered(object_id, answered),
        role_from_probes(probes, descr, radios, object_id),
        role_from_services(probes.get(SYS_SERVICES)),
        role_from_descr(descr),
        role_from_interfaces(interface_types, probes, interface_names, routed_interfaces),
        role_from_maker(object_id),
    ):
        if decision is not None:
            return RoleDecision(decision.role, decision.evidence + said, guess=decision.guess)
    seen = _seen(object_id, descr, probes, interface_types, radios, routed_interfaces, answered)
    return RoleDecision(UNKNOWN, "", seen + said)
