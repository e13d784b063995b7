"""An appliance whose sysObjectID names its SNMP agent (net-snmp on a Linux PDU or DC power controller) is of the
kind the MIBs of the enterprises it answers under say, not a server for running Linux with HOST-RESOURCES.

Rows are written for these tests in the forms such agents answer (learnt from the corpus's tuning part); the
names, models and serials are changed. The OIDs are the vendors' published MIB objects that role-tables.tsv holds.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pysnmp.proto import rfc1902  # type: ignore[import-untyped, unused-ignore]

from inventory.scan_convert import device_from_snapshot
from inventory.snmp import client as client_module
from inventory.snmp.classify import builtin_profiles
from inventory.snmp.client import SnmpCredentials
from inventory.snmp.discovery import discover_device
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.role import role_from_answered
from inventory.snmp.snapshot import build_snapshot
from tests.unit.inventory.snmp.test_snmp_client import (  # noqa: F401
    COMMUNITY,
    TARGET,
    ScriptedAgent,
    agent,
    requested_oid,
)

SEEN = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
DESCR, OBJECT_ID, NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"
NET_SNMP_LINUX = "1.3.6.1.4.1.8072.3.2.10"
HR_UPTIME = "1.3.6.1.2.1.25.1.1.0"
# IBOOTPDU-MIB deviceModelName: an identity object of a MIB about PDUs alone
IBOOT_MODEL = "1.3.6.1.4.1.1418.6.1.4.0"
# under EES-POWER-FERRO-MIB's node 1.3.6.1.4.1.6302.2 (a DC power system's MIB), an object role-tables.tsv does not list
EES_UNDER_NODE = "1.3.6.1.4.1.6302.2.1.1.1.0"
# UCD-SNMP's memory object: net-snmp's own tree, an agent's and not a maker's
UCD_MEMORY = "1.3.6.1.4.1.2021.4.3.0"


def agents_profiles() -> tuple[Any, ...]:
    """The shipped profiles of SNMP agents alone: discovery then sees a device as one of a maker it has no profile for."""
    agents = tuple(profile for profile in builtin_profiles() if profile.name in ("net-snmp-linux", "windows"))
    assert len(agents) == 2
    return agents


@pytest.fixture
def agents_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # the module, not the package's `classify` function of the same name
    monkeypatch.setattr(importlib.import_module("inventory.snmp.classify"), "profiles_in_use", agents_profiles)


def role_of(object_id: str, descr: str, **more: Any) -> tuple[str, str]:
    """The role and its evidence, with the agents' profiles alone."""
    agents = agents_profiles()
    rows = {DESCR: descr, OBJECT_ID: object_id, NAME: "dev-1", HR_UPTIME: 12345} | more
    snapshot = build_snapshot("192.0.2.61", rows, profiles=agents)
    device = device_from_snapshot("dev-1", None, snapshot, SEEN, registry=EnterpriseRegistry()).device
    return device.role, device.provenance["role"].origin


def test_a_linux_pdu_under_net_snmps_sysobjectid_is_a_pdu_by_its_makers_mib() -> None:
    role, origin = role_of(NET_SNMP_LINUX, "Linux pdu-2 4.4.9 #6 SMP armv7l", **{IBOOT_MODEL: "iBoot-PDU4-N20"})
    assert role == "pdu"
    assert origin.startswith(f"{IBOOT_MODEL} (IBOOTPDU-MIB deviceModelName")
    assert origin.endswith("; its sysObjectID names its SNMP agent")


def test_an_answer_under_a_node_of_a_dc_power_mib_makes_a_ups() -> None:
    role, origin = role_of(NET_SNMP_LINUX, "Linux ES_Controller 4.19.94 #78 PREEMPT", **{EES_UNDER_NODE: "Site 7"})
    assert role == "ups"
    assert origin.startswith(f"{EES_UNDER_NODE} (answered under 1.3.6.1.4.1.6302.2,")


def test_a_linux_server_answering_only_net_snmps_own_tree_stays_a_server() -> None:
    role, origin = role_of(NET_SNMP_LINUX, "Linux app-1 6.1.0-18-amd64 #1 SMP x86_64", **{UCD_MEMORY: 8000000})
    assert role == "server"
    assert origin.startswith(HR_UPTIME)


def test_enterprises_that_name_different_kinds_decide_nothing() -> None:
    answered = {IBOOT_MODEL: "iBoot-PDU4-N20", EES_UNDER_NODE: "Site 7"}
    assert role_from_answered(NET_SNMP_LINUX, answered) is None
    role, _origin = role_of(NET_SNMP_LINUX, "Linux box 5.10 armv7l", **answered)
    assert role == "server"


def test_a_makers_own_sysobjectid_is_not_second_guessed_by_what_it_answers_elsewhere() -> None:
    # a sysObjectID of a maker: its own tree and profiles decide, not another enterprise's objects
    assert role_from_answered("1.3.6.1.4.1.99998.1", {IBOOT_MODEL: "iBoot-PDU4-N20"}) is None


def test_an_unknown_device_says_which_enterprises_it_answered_under() -> None:
    # a phone adapter's maker with no role-table rows: nothing decides, and the message names what it answered
    rows = {DESCR: "Linux HT8XX 3.4.20 #54 PREEMPT", OBJECT_ID: NET_SNMP_LINUX, NAME: "ata-1",
            "1.3.6.1.4.1.99997.1.1.0": "HT812"}  # fmt: skip
    snapshot = build_snapshot("192.0.2.62", rows)
    device = device_from_snapshot("ata-1", None, snapshot, SEEN, registry=EnterpriseRegistry()).device
    assert device.role == "unknown"
    assert "answered under enterprises 99997" in snapshot.role.seen


# a PDU whose sysObjectID is its maker's bare enterprise number and whose sysDescr names no kind: it answers its
# outlet table (DIGIPDU-MIB, under the node 1.3.6.1.4.1.10456.3 that role-tables.tsv holds as a PDU MIB's)
BARE_PDU = {
    DESCR: rfc1902.OctetString(b"IPM-1100 2.1.0"),
    OBJECT_ID: rfc1902.ObjectIdentifier("1.3.6.1.4.1.10456"),
    NAME: rfc1902.OctetString(b"pdu-ward-4"),
    "1.3.6.1.4.1.10456.3.3.3.1.4.1": rfc1902.Integer(1),
    "1.3.6.1.4.1.10456.3.3.3.1.4.2": rfc1902.Integer(0),
}


def surveyed(scripted: ScriptedAgent, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the OIDs of every GETNEXT the scripted agent is sent."""
    asked: list[str] = []

    async def next_cmd(*arguments: Any, **options: Any) -> Any:
        asked.extend(requested_oid(request) for request in arguments[4:])
        return await scripted.next(*arguments, **options)

    monkeypatch.setattr(client_module, "next_cmd", next_cmd)
    return asked


@pytest.mark.usefixtures("agents_only")
def test_a_device_nothing_identifies_under_a_bare_enterprise_number_is_asked_which_trees_it_answers(
    agent: Callable[..., ScriptedAgent],  # noqa: F811 (the scripted agent fixture of test_snmp_client)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = surveyed(agent(BARE_PDU), monkeypatch)
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert "1.3.6.1.4.1" in asked
    assert snapshot.role is not None and snapshot.role.role == "pdu"
    assert snapshot.role.evidence.startswith("1.3.6.1.4.1.10456.3.3.3.1.4.1 (answered under 1.3.6.1.4.1.10456.3,")
    assert snapshot.role.evidence.endswith("its sysObjectID is its maker's bare enterprise number)")


@pytest.mark.usefixtures("agents_only")
def test_a_product_sysobjectid_nothing_identifies_is_not_surveyed_for_its_role(
    agent: Callable[..., ScriptedAgent],  # noqa: F811 (the scripted agent fixture of test_snmp_client)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the same answers under a product's own sysObjectID: the maker's tree is not second-guessed, and stays unknown
    asked = surveyed(agent(BARE_PDU | {OBJECT_ID: rfc1902.ObjectIdentifier("1.3.6.1.4.1.10456.9.9")}), monkeypatch)
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.role is not None and snapshot.role.role == "unknown"
    assert "1.3.6.1.4.1" not in asked
