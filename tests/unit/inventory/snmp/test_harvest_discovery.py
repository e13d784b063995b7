"""Discovery reads a vendor's harvested identity objects with one more GETNEXT, only when a field is still missing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from pysnmp.proto import errind, rfc1902  # type: ignore[import-untyped, unused-ignore]

from inventory.scan_convert import snmp_manufacturer
from inventory.snmp import client as client_module
from inventory.snmp import harvested
from inventory.snmp.client import SnmpCredentials
from inventory.snmp.discovery import HARVEST_OUTCOME, discover_device
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.harvested import IdentityObject
from tests.unit.inventory.snmp.test_snmp_client import (  # noqa: F401
    COMMUNITY,
    TARGET,
    ScriptedAgent,
    agent,
    requested_oid,
)

DESCR, OBJECT_ID, NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"
# the objects harvested from the vendor's MIB: a column of its unit table and a scalar
ACME_MODEL, ACME_SERIAL = "1.3.6.1.4.1.99001.2.1.3.1.2", "1.3.6.1.4.1.99001.2.1.1.2"
ROWS = {
    DESCR: rfc1902.OctetString(b"Acme UPS network card"),
    OBJECT_ID: rfc1902.ObjectIdentifier("1.3.6.1.4.1.99001.1.7"),
    NAME: rfc1902.OctetString(b"ups-ward-3"),
    f"{ACME_SERIAL}.0": rfc1902.OctetString(b"AC7700123"),
    # the unit table starts at unit 4: GETNEXT finds it where a GET of row 1 would not
    f"{ACME_MODEL}.4": rfc1902.OctetString(b"Acme 9000 RT"),
    f"{ACME_MODEL}.5": rfc1902.OctetString(b"Acme 9000 EBM"),
}


@pytest.fixture(autouse=True)
def acme_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {
        99001: (
            IdentityObject(99001, "model", ACME_MODEL, 1, "acmeUnitModel", "ACME-UPS-MIB"),
            IdentityObject(99001, "serial", ACME_SERIAL, 1, "acmeUpsIdentSerialNumber", "ACME-UPS-MIB"),
        )
    }
    monkeypatch.setattr(harvested, "builtin_identity_objects", lambda: table)


def test_a_device_missing_its_model_and_serial_gets_them_from_its_vendors_objects(
    agent: Callable[..., ScriptedAgent],  # noqa: F811 (the scripted agent fixture of test_snmp_client)
) -> None:
    agent(ROWS)
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    identity = snapshot.identity
    assert identity.model is not None and identity.model.value == "Acme 9000 RT"
    assert identity.model.oid == f"{ACME_MODEL}.4 acmeUnitModel (ACME-UPS-MIB, harvested)"
    assert identity.serial is not None and identity.serial.value == "AC7700123"
    assert not any(table.table == HARVEST_OUTCOME for table in snapshot.tables)


def test_a_timeout_on_the_vendors_objects_keeps_the_rest_and_says_so(
    agent: Callable[..., ScriptedAgent],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scripted = agent(ROWS)

    async def silent_on_vendor_objects(*arguments: Any, **options: Any) -> Any:
        if any(requested_oid(request).startswith("1.3.6.1.4.1.99001.2.") for request in arguments[4:]):
            return errind.RequestTimedOut(), 0, 0, ()
        return await scripted.next(*arguments, **options)

    monkeypatch.setattr(client_module, "next_cmd", silent_on_vendor_objects)
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.system is not None and snapshot.system.name is not None
    assert snapshot.system.name.value == "ups-ward-3"
    assert snapshot.identity.serial is None
    # optional evidence: nothing is marked failed, and the record notes what was not read
    noted = [table for table in snapshot.tables if table.table == HARVEST_OUTCOME]
    assert [table.status for table in noted] == ["ok"]
    assert "timeout" in noted[0].notes[0]
    assert not snapshot.partial


def test_an_appliance_on_net_snmp_gets_its_identity_from_the_enterprise_it_answers_under(
    agent: Callable[..., ScriptedAgent],  # noqa: F811
) -> None:
    # net-snmp's sysObjectID names the agent, not the maker: discovery looks for the enterprises the device
    # answers under (UCD's and net-snmp's are agents'), finds Acme's, and reads Acme's harvested objects
    rows = {
        DESCR: rfc1902.OctetString(b"Linux appliance 5.10.0"),
        OBJECT_ID: rfc1902.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"),
        NAME: rfc1902.OctetString(b"waf-1"),
        "1.3.6.1.4.1.2021.4.5.0": rfc1902.Integer(1024),
        "1.3.6.1.4.1.8072.1.2.1.1.4.0.1.0.0": rfc1902.Integer(1),
        f"{ACME_SERIAL}.0": rfc1902.OctetString(b"AC7700123"),
        f"{ACME_MODEL}.4": rfc1902.OctetString(b"Acme WAF 460"),
    }
    scripted = agent(rows)
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    identity = snapshot.identity
    assert identity.serial is not None and identity.serial.value == "AC7700123"
    assert identity.serial.oid == f"{ACME_SERIAL}.0 acmeUpsIdentSerialNumber (ACME-UPS-MIB, harvested)"
    assert identity.model is not None and identity.model.value == "Acme WAF 460"
    # and the maker is whose MIB answered (net-snmp's sysObjectID names none), with that evidence
    registry = EnterpriseRegistry(registered={99001: "Acme Appliances Ltd."})
    maker, evidence, _note = snmp_manufacturer(snapshot, registry)
    assert maker == "Acme Appliances"  # the registered name without its legal form
    assert evidence == f"{ACME_MODEL}.4 answered: enterprise 99001's own MIB (IANA registry)"
    # the survey: 2021, 8072, 99001 (its first object is the serial), then the end of the subtree; then one
    # GETNEXT of the Acme object not read yet, the model
    assert [call for call in scripted.calls if call[0] == "next"] == [("next", 1)] * 5


def test_a_device_answering_no_makers_enterprise_is_surveyed_once_and_keeps_its_identity_unknown(
    agent: Callable[..., ScriptedAgent],  # noqa: F811
) -> None:
    scripted = agent({
        DESCR: rfc1902.OctetString(b"Linux host 6.1.0"),
        OBJECT_ID: rfc1902.ObjectIdentifier("1.3.6.1.4.1.8072.3.2.10"),
        NAME: rfc1902.OctetString(b"host-1"),
        "1.3.6.1.4.1.2021.4.5.0": rfc1902.Integer(1024),
        "1.3.6.1.4.1.8072.1.2.1.1.4.0.1.0.0": rfc1902.Integer(1),
    })  # fmt: skip
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.identity.serial is None and snapshot.identity.model is None
    assert snmp_manufacturer(snapshot, EnterpriseRegistry(registered={99001: "Acme Appliances Ltd."}))[0] is None
    assert [call for call in scripted.calls if call[0] == "next"] == [("next", 1)] * 3
    assert not snapshot.partial


def test_the_next_candidates_are_read_while_a_field_is_missing_at_most_three_rounds(
    agent: Callable[..., ScriptedAgent],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # twenty version objects in Acme's MIBs: the device answers only the seventh (round 2)
    versions = tuple(
        IdentityObject(99001, "version", f"1.3.6.1.4.1.99001.5.{n}", n, f"acmeVersion{n}", "ACME-MIB")
        for n in range(1, 21)
    )
    monkeypatch.setattr(harvested, "builtin_identity_objects", lambda: {99001: versions})
    scripted = agent({**ROWS, "1.3.6.1.4.1.99001.5.7.0": rfc1902.OctetString(b"7.1.2")})
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.identity.version is not None and snapshot.identity.version.value == "7.1.2"
    assert snapshot.identity.version.oid == "1.3.6.1.4.1.99001.5.7.0 acmeVersion7 (ACME-MIB, harvested)"
    assert [call for call in scripted.calls if call[0] == "next"] == [("next", 5), ("next", 5)]
    # one the device does not answer at all: three rounds of 5, then no more
    scripted = agent(dict(ROWS))
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.identity.version is None
    assert [call for call in scripted.calls if call[0] == "next"] == [("next", 5)] * 3


def test_a_column_whose_first_rows_are_empty_is_read_on_a_row_a_round(
    agent: Callable[..., ScriptedAgent],  # noqa: F811
) -> None:
    # a DC plant's control units: the first is an empty slot, the second carries the model; the serial answers
    rows = {key: value for key, value in ROWS.items() if not key.startswith(ACME_MODEL)}
    rows |= {
        f"{ACME_MODEL}.1": rfc1902.OctetString(b""),
        f"{ACME_MODEL}.2": rfc1902.OctetString(b"N/A"),
        f"{ACME_MODEL}.3": rfc1902.OctetString(b"Acme Plant 48"),
        # the next object after the column: never taken for a row of it
        f"{ACME_MODEL[:-1]}3.1": rfc1902.OctetString(b"Acme other column"),
    }
    scripted = agent(rows)
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.identity.model is not None and snapshot.identity.model.value == "Acme Plant 48"
    assert snapshot.identity.model.oid == f"{ACME_MODEL}.3 acmeUnitModel (ACME-UPS-MIB, harvested)"
    # the first round asks the column (and the serial), then each round the next row after the last one read
    assert [call for call in scripted.calls if call[0] == "next"] == [("next", 2), ("next", 1), ("next", 1)]
    # rows that say nothing, past the rounds: the model stays unknown, and the next object is not taken for it
    rows = {key: value for key, value in rows.items() if key != f"{ACME_MODEL}.3"}
    agent(rows)
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.identity.model is None or snapshot.identity.model.value != "Acme other column"
    assert snapshot.identity.model is None or "harvested" not in snapshot.identity.model.oid
