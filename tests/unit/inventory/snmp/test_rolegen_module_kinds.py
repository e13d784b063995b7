"""A device of a maker opsctl has no profile for, named a UPS or a PDU by the MIB module its identity is in.

scripts/role-tables sorts every MIB module by what its own objects are about; the identity objects of a module
about UPS or DC power systems alone, or PDUs alone, go into role-tables.tsv marked ``identity``. The MIB text and
the rows are written for these tests; the enterprise numbers are ones no shipped profile covers.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from inventory.snmp import role as role_module
from inventory.snmp.role import decide_role, parse_role_tables
from tests.unit.inventory.snmp.test_netroles_role_tables import script  # noqa: F401  (the script, loaded once)


def object_type(name: str, parent: str, number: int, syntax: str = "Integer32") -> str:
    return f"""
{name} OBJECT-TYPE
    SYNTAX {syntax}
    MAX-ACCESS read-only
    STATUS current
    ::= {{ {parent} {number} }}
"""


def module(name: str, enterprise: int, *descriptors: str) -> str:
    """Return a MIB module under ``enterprise`` whose scalars are ``descriptors`` (integers), beside a serial number."""
    body = "".join(object_type(descriptor, "unit", number) for number, descriptor in enumerate(descriptors, 2))
    return f"""
{name} DEFINITIONS ::= BEGIN
IMPORTS enterprises, OBJECT-TYPE, Integer32 FROM SNMPv2-SMI DisplayString FROM SNMPv2-TC;
maker OBJECT IDENTIFIER ::= {{ enterprises {enterprise} }}
unit  OBJECT IDENTIFIER ::= {{ maker 1 }}
{object_type("unitSerialNumber", "unit", 1, "DisplayString")}
{body}
END
"""


DC_PLANT_OBJECTS = ("dcBatteryVoltage", "dcBatteryCurrent", "dcBatteryTemperature", "dcRectifierCount", "dcRectifierCurrent")
DC_PLANT = module("ACME-DC-MIB", 99981, *DC_PLANT_OBJECTS)
PDU = module("ACME-RACK-MIB", 99982, "rackOutletCount", "rackOutletCurrent", "rackOutletState")
# a server controller's MIB: a RAID cache's and the CMOS batteries, beside processors
SERVER = module(
    "ACME-BMC-MIB", 99983, "raidBatteryStatus", "raidBatteryCondition", "cmosBatteryVoltage", "psuInverterFault",
    "psuChargerFault", "cpuProcessorCount",
)  # fmt: skip
# a chiller controller's MIB: its compressors' inverters and the mains supply are not a UPS's
CHILLER = module(
    "ACME-CHILLER-MIB", 99980, "dcBatteryVoltage", "dcBatteryAlarm", "compInverterFault", "mainsFault",
    "acmeCompressorHours",
)  # fmt: skip
# a console server's MIB: the outlets and UPS of the devices on its serial ports
CONSOLE = module(
    "ACME-CONSOLE-MIB", 99984, "pmOutletCount", "pmOutletCurrent", "pmOutletState", "cyConsolePortCount"
)


# a sensor maker's one MIB: its probes' temperatures and humidities, nothing of its own traffic or chassis
PROBES = module("ACME-PROBE-MIB", 99970, "probeTemperature1", "probeTemperature2", "probeHumidity1", "probeHumidity2")
# a network device's MIB has temperature sensors too, beside its ports' traffic and its power supplies
LINK = module(
    "ACME-LINK-MIB", 99971, "sensorTemperatureBoard", "sensorTemperatureFan", "sensorTemperatureCpu",
    "linkRxPackets", "linkPsuPresent",
)  # fmt: skip


def many_modules(enterprise: int, count: int) -> str:
    """Return ``count`` small modules of one maker, as a radio maker's dozens of MIBs."""
    return "".join(
        f"""
ACME-PART{number}-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises, OBJECT-TYPE, Integer32 FROM SNMPv2-SMI;
part{number} OBJECT IDENTIFIER ::= {{ enterprises {enterprise} {number + 10} }}
{object_type(f"part{number}State", f"part{number}", 1)}
END
"""
        for number in range(count)
    )


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (DC_PLANT, "ups"), (PDU, "pdu"), (SERVER, None), (CONSOLE, None), (CHILLER, None), (PROBES, "sensor"),
        (LINK, None),
        # the same probe MIB, one of a maker's many (a radio maker's sensor MIB describes a part of its radios)
        (PROBES + many_modules(99970, 3), None),
        (PROBES + many_modules(99970, 2), "sensor"),
    ],
    ids=[
        "dc-plant", "pdu", "server-controller", "console-server", "chiller", "sensor-maker", "network-device",
        "one-of-many-mibs", "one-of-three-mibs",
    ],
)
def test_a_module_has_a_kind_only_when_it_is_about_power_outlets_or_sensors_alone(
    script: ModuleType,  # noqa: F811
    text: str,
    kind: str | None,
) -> None:
    counts = script.module_counts(script.parse_module(text))
    name = text.split()[0]
    assert script.module_kind(counts[name]) == kind


def test_the_identity_objects_of_a_module_with_a_kind_are_written_as_that_kind(script: ModuleType) -> None:  # noqa: F811
    # identity-objects.tsv names objects (read with GETNEXT); the role probe GETs them, at the instance the MIB gives
    identity_objects = (
        "# enterprise, field, object OID, rank, descriptor, module\n"
        "99981\tserial\t1.3.6.1.4.1.99981.1.1\t1\tunitSerialNumber\tACME-DC-MIB\n"
        "99981\tmodel\t1.3.6.1.4.1.99981.1.9\t1\tunitModelName\tACME-DC-MIB\n"
        "99983\tserial\t1.3.6.1.4.1.99983.1.1\t1\tunitSerialNumber\tACME-BMC-MIB\n"
    )
    kinds = {"ACME-DC-MIB": "ups"}
    rows = script.identity_rows(identity_objects, kinds, script.parse_module(DC_PLANT))
    # unitModelName is not defined in the MIBs read: no instance is known, so it is left out
    assert [(row.enterprise, row.role, row.oid, row.evidence) for row in rows] == [
        (99981, "ups", "1.3.6.1.4.1.99981.1.1.0", "identity")
    ]
    tables = parse_role_tables(script.render(rows, "0123abc", ["github.com/example/mibs 0123abc"]))
    assert tables[99981][0].identity


@pytest.mark.parametrize(
    ("name", "kind"),
    [("ACME-INVERTER-MIB", "ups"), ("ACMEPDU-MIB", "pdu"), ("ACME-ATS-MIB", "pdu"), ("ACME-BPDU-GUARD-MIB", None)],
)
def test_a_module_named_for_its_kind_has_that_kind(script: ModuleType, name: str, kind: str | None) -> None:  # noqa: F811
    counts = script.module_counts(script.parse_module(module(name, 99987, "deviceModel")))
    assert script.module_kind(counts[name]) == kind


def test_a_network_vendor_s_ups_mib_describes_the_ups_its_switch_manages(script: ModuleType) -> None:  # noqa: F811
    vlans = """
ACME-SWITCH-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises, OBJECT-TYPE, Integer32 FROM SNMPv2-SMI;
acmeSwitch OBJECT IDENTIFIER ::= { enterprises 99988 }
acmeVlanTable OBJECT-TYPE
    SYNTAX SEQUENCE OF AcmeVlanEntry
    MAX-ACCESS not-accessible
    STATUS current
    ::= { acmeSwitch 9 }
END
"""
    text = module("ACME-SWITCH-UPS-MIB", 99988, *DC_PLANT_OBJECTS) + vlans
    counts = script.module_counts(script.parse_module(text))
    assert counts["ACME-SWITCH-UPS-MIB"].maker_forwards
    assert script.module_kind(counts["ACME-SWITCH-UPS-MIB"]) is None
    # the same module under a maker with no forwarding table is a UPS MIB
    alone = script.module_counts(script.parse_module(module("ACME-SWITCH-UPS-MIB", 99989, *DC_PLANT_OBJECTS)))
    assert script.module_kind(alone["ACME-SWITCH-UPS-MIB"]) == "ups"


TABLE = (
    "enterprise\trole\toid\tdescriptor\tmodule\tevidence\n"
    "99981\tups\t1.3.6.1.4.1.99981.1.1.0\tunitSerialNumber\tACME-DC-MIB\tidentity\n"
    "99981\tsensor\t1.3.6.1.4.1.99981.1.4.0\tbatteryTemperature\tACME-DC-MIB\n"
    "99981\tups\t1.3.6.1.4.1.99981.1.9.0\tbatteryVoltage\tACME-DC-MIB\n"
    "99981\tups\t1.3.6.1.4.1.99981.1.8.0\tbatteryCurrent\tACME-DC-MIB\tsomething else\n"
)


def test_a_device_answering_its_serial_from_a_dc_power_mib_is_a_ups_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tables = parse_role_tables(TABLE)
    # an unknown sixth column is refused; the maker's own UPS object comes before the identity row
    assert [(row.oid, row.identity) for row in tables[99981]] == [
        ("1.3.6.1.4.1.99981.1.9.0", False),
        ("1.3.6.1.4.1.99981.1.1.0", True),
        ("1.3.6.1.4.1.99981.1.4.0", False),
    ]
    monkeypatch.setattr(role_module, "role_tables", lambda: tables)
    found = decide_role(
        None, "", False, {"1.3.6.1.4.1.99981.1.1.0": b"PLANT-0042"}, "Controller", "1.3.6.1.4.1.99981.2.7"
    )
    assert found.role == "ups"
    assert found.evidence == (
        "1.3.6.1.4.1.99981.1.1.0 (ACME-DC-MIB unitSerialNumber: the unit's identity in a MIB about ups devices"
        " alone)"
    )
    # the same answer from another maker's device decides nothing
    other = decide_role(None, "", False, {"1.3.6.1.4.1.99981.1.1.0": b"X"}, "Controller", "1.3.6.1.4.1.99985.1")
    assert other.role == "unknown"


def test_an_unprofiled_device_whose_product_mib_files_it_under_switches_is_a_switch() -> None:
    # EXTREME-BASE-MIB assigns summitX440-24p under its switch branch (products/extreme.tsv); no probe answered
    found = decide_role(None, "", False, {}, "ExtremeXOS (X440-24p) version 15.5.1.6", "1.3.6.1.4.1.1916.2.175")
    assert found.role == "switch"
    assert found.evidence == "1.3.6.1.2.1.1.2.0 (EXTREME-BASE-MIB summitX440-24p: a product of its switch branch)"


def test_a_product_whose_mib_states_no_branch_leaves_the_role_to_what_the_device_answers() -> None:
    # CISCO-PRODUCTS-MIB files catalyst 2960s under no role; with a UPS-MIB answer the device is a UPS (a sysDescr
    # that names nothing: "Cisco IOS Software" would say router)
    assert decide_role(None, "", False, {}, "C2960S", "1.3.6.1.4.1.9.1.1208").role == "unknown"
    ups = decide_role(None, "", False, {"1.3.6.1.2.1.33.1.1.2.0": b"X"}, "", "1.3.6.1.4.1.9.1.1208")
    assert ups.role == "ups"


def test_a_specific_profile_still_wins_over_the_product_branch() -> None:
    found = decide_role("router", "1.3.6.1.2.1.1.2.0 profile acme (sysObjectID)", False, {}, "", "1.3.6.1.4.1.1916.2.175")
    assert found.role == "router"


def test_a_device_whose_own_oid_a_power_mib_registers_is_a_ups_with_no_get(
    script: ModuleType,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # ACME-DC-MIB registers unit, maker(99981).1: a device whose sysObjectID falls under it runs that MIB
    kinds = {"ACME-DC-MIB": "ups"}
    rows = script.object_id_rows(script.parse_module(DC_PLANT), lambda module, _name: kinds.get(module))
    assert [(row.oid, row.descriptor, row.evidence) for row in rows] == [("1.3.6.1.4.1.99981.1", "unit", "sysObjectID")]
    tables = parse_role_tables(script.render(rows, "0123abc"))
    monkeypatch.setattr(role_module, "role_tables", lambda: tables)
    found = decide_role(None, "", False, {}, "Controller", "1.3.6.1.4.1.99981.1.3")
    assert found.role == "ups"
    assert found.evidence == (
        "1.3.6.1.2.1.1.2.0 (under 1.3.6.1.4.1.99981.1, ACME-DC-MIB unit: a node of a MIB about ups devices)"
    )
    # the node is evidence for the sysObjectID alone: it is never asked for with a GET
    assert "1.3.6.1.4.1.99981.1" not in role_module.role_probe_oids("1.3.6.1.4.1.99981.1.3")
    assert decide_role(None, "", False, {}, "Controller", "1.3.6.1.4.1.99981.2").role == "unknown"


def test_a_node_under_which_another_module_registers_a_product_decides_nothing(script: ModuleType) -> None:  # noqa: F811
    products = """
ACME-PRODUCTS-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises FROM SNMPv2-SMI;
acmeUnit     OBJECT IDENTIFIER ::= { enterprises 99981 1 }
acmeSwitch48 OBJECT IDENTIFIER ::= { acmeUnit 48 }
END
"""
    kinds = {"ACME-DC-MIB": "ups"}
    assert script.object_id_rows(script.parse_module(DC_PLANT + products), lambda module, _name: kinds.get(module)) == []



@pytest.mark.parametrize(
    ("module_name", "descriptor", "kind"),
    [
        ("XG-FIREWALL-MIB", "xg-firewall", "firewall"),
        ("ACME-SERVER-IBMC-MIB", "hwServer", "server"),
        ("ACME-PONSERIES-BASE-MIB", "acmePonDev", "router"),
        ("ACME-PRODUCTS-MIB", "hpdu", "pdu"),
        ("ACME-PRODUCTS-MIB", "smartUPS450", "ups"),
        # a product's name says a UPS or a PDU only: APC's masterSwitch is a PDU, no switch
        ("ACME-PRODUCTS-MIB", "masterSwitch", None),
        ("ACME-BPDU-GUARD-MIB", "acmeBpduGuard", None),
    ],
)
def test_what_the_name_of_the_module_or_the_product_node_says_the_device_is(
    script: ModuleType,  # noqa: F811
    module_name: str,
    descriptor: str,
    kind: str | None,
) -> None:
    assert script.name_kind(module_name, descriptor) == kind


def test_a_network_vendor_s_module_named_ups_names_no_node_a_ups(script: ModuleType) -> None:  # noqa: F811
    counts = {"ACME-UPS-MIB": script.ModuleCount("ACME-UPS-MIB", maker_forwards=True)}
    assert script.node_kind("ACME-UPS-MIB", "acmeUps", counts) is None
    # a firewall's maker forwards traffic: its firewall MIB's nodes stay firewall nodes
    counts = {"ACME-FIREWALL-MIB": script.ModuleCount("ACME-FIREWALL-MIB", network=2, maker_forwards=True)}
    assert script.node_kind("ACME-FIREWALL-MIB", "acmeFw", counts) == "firewall"


def test_each_module_with_a_kind_gives_its_own_objects_of_that_kind_and_no_settings(script: ModuleType) -> None:  # noqa: F811
    # a power switch maker's two MIBs (its plugs are its outlets), and a UPS MIB whose outlet groups stay unread
    plugs = module(
        "ACME-POWER-MIB", 99972, "pluginVersion", "alarmPlugCurrent", "trapPlugState", "plugCurrent", "plugState",
        "plugName",
    )  # fmt: skip
    switched = module("ACME-MPC-MIB", 99972, "mpcPlugCurrent", "mpcPlugState", "mpcPlugName")
    switched = switched.replace("{ maker 1 }", "{ maker 2 }").replace("maker OBJECT IDENTIFIER ::= { enterprises 99972 }", "")
    ups = module("ACME-UPS-MIB", 99973, *DC_PLANT_OBJECTS, "upsOutletGroupState")
    mibs = script.parse_module(plugs + switched + ups)
    counts = script.module_counts(mibs)
    kinds = {name: kind for name, count in counts.items() if (kind := script.module_kind(count))}
    assert kinds == {"ACME-POWER-MIB": "pdu", "ACME-MPC-MIB": "pdu", "ACME-UPS-MIB": "ups"}
    rows = script.role_objects(mibs, 3, kinds)
    # a plug-in's version is no plug; an alarm's threshold and a trap's setting are no readings; each module of the
    # maker gets rows of its own (a device may run either), one a table or group; the UPS MIB's outlet group is no PDU's
    assert [(row.enterprise, row.role, row.descriptor, row.module) for row in rows] == [
        (99972, "pdu", "mpcPlugCurrent", "ACME-MPC-MIB"),
        (99972, "pdu", "plugCurrent", "ACME-POWER-MIB"),
        (99973, "ups", "dcBatteryVoltage", "ACME-UPS-MIB"),
    ]
