"""The power and environment roles from a vendor's own tables (scripts/role-tables, inventory/profiles/role-tables.tsv).

The MIB text and the table rows are written for these tests, in the forms SMIv1/SMIv2 modules use; the
enterprise numbers are ones no shipped profile covers.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from pysnmp.proto import rfc1902  # type: ignore[import-untyped, unused-ignore]

from inventory.snmp import role as role_module
from inventory.snmp.client import SnmpCredentials
from inventory.snmp.discovery import discover_device
from inventory.snmp.role import (
    HR_SYSTEM_UPTIME,
    PROBE_OIDS,
    decide_role,
    parse_role_tables,
    role_probe_oids,
    role_tables,
)
from inventory.snmp.values import RawValue
from tests.unit.inventory.snmp.test_snmp_client import COMMUNITY, TARGET, ScriptedAgent, agent  # noqa: F401

SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "role-tables"

MIB = """
ACME-POWER-MIB DEFINITIONS ::= BEGIN
IMPORTS enterprises, OBJECT-TYPE FROM RFC-1212 DisplayString FROM RFC1213-MIB;

acme            OBJECT IDENTIFIER ::= { enterprises 99990 }
acmeProducts    OBJECT IDENTIFIER ::= { acme 1 }
acmeUps         OBJECT IDENTIFIER ::= { acmeProducts 1 }
acmePdu         OBJECT IDENTIFIER ::= { acmeProducts 2 }
acmeEnv         OBJECT IDENTIFIER ::= { acmeProducts 3 }
software        OBJECT IDENTIFIER ::= { acme 2 }

upsBatteryMinutesLeft OBJECT-TYPE
    SYNTAX INTEGER
    ACCESS read-only
    STATUS mandatory
    DESCRIPTION "Minutes left on battery -- not a comment ::= { nothing 1 }"
    ::= { acmeUps 1 }

upsConfigBatteryAlarmDelay OBJECT-TYPE
    SYNTAX INTEGER
    ACCESS read-write
    STATUS mandatory
    DESCRIPTION "A setting, not a reading."
    ::= { acmeUps 2 }

pduOutletTable OBJECT-TYPE
    SYNTAX SEQUENCE OF PduOutletEntry
    ACCESS not-accessible
    STATUS mandatory
    ::= { acmePdu 1 }

pduOutletEntry OBJECT-TYPE
    SYNTAX PduOutletEntry
    ACCESS not-accessible
    STATUS mandatory
    INDEX { pduUnitIndex, pduOutletIndex }
    ::= { pduOutletTable 1 }

pduUnitIndex OBJECT-TYPE
    SYNTAX INTEGER (1..4)
    ACCESS read-only
    STATUS mandatory
    ::= { pduOutletEntry 1 }

pduOutletIndex OBJECT-TYPE
    SYNTAX INTEGER (1..48)
    ACCESS read-only
    STATUS mandatory
    ::= { pduOutletEntry 2 }

pduOutletName OBJECT-TYPE
    SYNTAX DisplayString
    ACCESS read-only
    STATUS mandatory
    ::= { pduOutletEntry 3 }

envSensorTable OBJECT-TYPE
    SYNTAX SEQUENCE OF EnvSensorEntry
    MAX-ACCESS not-accessible
    STATUS current
    ::= { acmeEnv 1 }

envSensorEntry OBJECT-TYPE
    SYNTAX EnvSensorEntry
    MAX-ACCESS not-accessible
    STATUS current
    INDEX { envSensorName }
    ::= { envSensorTable 1 }

envSensorName OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    ::= { envSensorEntry 1 }

envSensorTemperature OBJECT-TYPE
    SYNTAX Integer32
    MAX-ACCESS read-only
    STATUS current
    ::= { envSensorEntry 2 }

envProbeTable OBJECT-TYPE
    SYNTAX SEQUENCE OF EnvProbeEntry
    MAX-ACCESS not-accessible
    STATUS current
    ::= { acmeEnv 2 }

envProbeEntry OBJECT-TYPE
    SYNTAX EnvProbeEntry
    MAX-ACCESS not-accessible
    STATUS current
    INDEX { envProbeIndex }
    ::= { envProbeTable 1 }

envProbeIndex OBJECT-TYPE
    SYNTAX Integer32 (1..8)
    MAX-ACCESS read-only
    STATUS current
    ::= { envProbeEntry 1 }

envProbeHumidity OBJECT-TYPE
    SYNTAX Integer32
    MAX-ACCESS read-only
    STATUS current
    ::= { envProbeEntry 2 }

agentBatteryLogging OBJECT-TYPE
    SYNTAX INTEGER
    ACCESS read-write
    STATUS mandatory
    ::= { software 1 }

END
"""


@pytest.fixture(scope="module")
def script() -> ModuleType:
    loader = importlib.machinery.SourceFileLoader("role_tables_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def test_the_harvest_names_each_kind_by_its_mib_names_with_an_instance_to_get(script: ModuleType) -> None:
    rows = script.role_objects(script.parse_module(MIB))
    found = {(row.role, row.oid, row.descriptor, row.module) for row in rows}
    base = "1.3.6.1.4.1.99990.1"
    assert found == {
        ("ups", f"{base}.1.1.0", "upsBatteryMinutesLeft", "ACME-POWER-MIB"),
        # one column per table, the first in OID order: row 1 of outlet 1 of unit 1
        ("pdu", f"{base}.2.1.1.2.1.1", "pduOutletIndex", "ACME-POWER-MIB"),
        # the temperature column is indexed by a name: no row 1 to GET; the probe table's is
        ("sensor", f"{base}.3.2.1.2.1", "envProbeHumidity", "ACME-POWER-MIB"),
    }
    assert {row.enterprise for row in rows} == {99990}


def test_the_table_the_script_writes_is_the_table_role_py_reads(script: ModuleType) -> None:
    text = script.render(script.role_objects(script.parse_module(MIB)), "0123abc")
    assert text.startswith("# ")
    assert "commit 0123abc" in text
    tables = parse_role_tables(text)
    assert [row.role for row in tables[99990]] == ["ups", "pdu", "sensor"]


def test_the_shipped_table_parses_and_each_row_is_under_its_enterprise() -> None:
    tables = role_tables()
    assert tables, "inventory/profiles/role-tables.tsv holds no rows"
    for enterprise, rows in tables.items():
        for row in rows:
            assert row.oid.startswith(f"1.3.6.1.4.1.{enterprise}.")
            # an object asked for is an instance; a sysObjectID row is a node a device's own OID falls under
            assert row.oid.endswith((".0", ".1")) or row.evidence == "sysObjectID"


TABLE = (
    "# test: a table as scripts/role-tables writes it\n"
    "enterprise\trole\toid\tdescriptor\tmodule\n"
    "99991\tpdu\t1.3.6.1.4.1.99991.2.1.1.3.1\tpduOutletName\tACME-PDU-MIB\n"
    "99991\tsensor\t1.3.6.1.4.1.99991.3.2.1.2.1\tenvProbeHumidity\tACME-PDU-MIB\n"
    "99991\tups\t1.3.6.1.4.1.99991.1.1.0\tupsBatteryMinutesLeft\tACME-PDU-MIB\n"
    "not a row\n"
)
OUTLET, PROBE, BATTERY = "1.3.6.1.4.1.99991.2.1.1.3.1", "1.3.6.1.4.1.99991.3.2.1.2.1", "1.3.6.1.4.1.99991.1.1.0"


@pytest.fixture
def acme_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = parse_role_tables(TABLE)
    monkeypatch.setattr(role_module, "role_tables", lambda: tables)


def decide(probes: dict[str, RawValue], object_id: str = "1.3.6.1.4.1.99991.5.7") -> tuple[str, str]:
    found = decide_role(None, "", False, probes, "Acme Unit", object_id)
    return found.role, found.evidence


@pytest.mark.usefixtures("acme_tables")
def test_an_outlet_table_under_an_unknown_enterprise_is_a_pdu() -> None:
    assert decide({OUTLET: "Outlet 1"}) == (
        "pdu",
        f"{OUTLET} (ACME-PDU-MIB pduOutletName: a pdu object of its maker's MIB)",
    )


@pytest.mark.usefixtures("acme_tables")
@pytest.mark.parametrize(
    ("probes", "role"),
    [
        ({OUTLET: "Outlet 1", BATTERY: 42}, "ups"),  # a UPS with switched outlets
        ({OUTLET: "Outlet 1", PROBE: 40}, "pdu"),  # a PDU with a humidity probe
        ({PROBE: 40}, "sensor"),
        ({}, "unknown"),
    ],
)
def test_a_battery_wins_over_outlets_and_outlets_over_a_probe(probes: dict[str, RawValue], role: str) -> None:
    assert decide(probes)[0] == role


@pytest.mark.usefixtures("acme_tables")
def test_another_makers_device_is_not_asked_for_these_objects_and_they_do_not_decide_it() -> None:
    assert role_probe_oids("1.3.6.1.4.1.99991.5.7")[: len(PROBE_OIDS)] == PROBE_OIDS
    assert set(role_probe_oids("1.3.6.1.4.1.99991.5.7")) - set(PROBE_OIDS) == {OUTLET, PROBE, BATTERY}
    assert role_probe_oids("1.3.6.1.4.1.99992.1") == PROBE_OIDS
    assert decide({OUTLET: "Outlet 1"}, "1.3.6.1.4.1.99992.1")[0] == "unknown"


@pytest.mark.usefixtures("acme_tables")
def test_a_plain_linux_server_is_not_asked_into_a_power_role() -> None:
    found = decide_role(
        None, "", False, {HR_SYSTEM_UPTIME: 1}, "Linux db-2 6.1.0-13-amd64 #1 SMP x86_64", "1.3.6.1.4.1.8072.3.2.10"
    )
    assert found.role == "server"


@pytest.mark.usefixtures("acme_tables")
def test_a_live_scan_asks_an_unprofiled_device_for_its_makers_objects_and_names_the_role(
    agent: Callable[..., ScriptedAgent],  # noqa: F811 (the scripted agent fixture of test_snmp_client)
) -> None:
    agent({
        "1.3.6.1.2.1.1.1.0": rfc1902.OctetString(b"Acme Unit"),
        "1.3.6.1.2.1.1.2.0": rfc1902.ObjectIdentifier("1.3.6.1.4.1.99991.5.7"),
        "1.3.6.1.2.1.1.5.0": rfc1902.OctetString(b"pdu-b4"),
        OUTLET: rfc1902.OctetString(b"Outlet 1"),
        "1.3.6.1.2.1.4.1.0": rfc1902.Integer(2),
    })  # fmt: skip
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.role is not None
    assert (snapshot.role.role, snapshot.outcome) == ("pdu", "ok")
    assert snapshot.role.evidence.startswith(f"{OUTLET} (ACME-PDU-MIB pduOutletName")
