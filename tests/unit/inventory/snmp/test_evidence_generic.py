"""Generic evidence that reaches vendors opsctl has no profile for: UPS tables any card answers, power words
in sysDescr, the one serial an ENTITY-MIB table carries, and a maker's product code in sysDescr.

Rows are written for these tests, in the forms real agents answer (learnt from the corpus's tuning part);
names, numbers and serials are changed. The sysObjectIDs are an enterprise no profile covers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from pysnmp.proto import rfc1902  # type: ignore[import-untyped, unused-ignore]

from inventory.devices import Device
from inventory.scan_convert import device_from_snapshot
from inventory.snmp.client import SnmpCredentials
from inventory.snmp.discovery import discover_device
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.snapshot import build_snapshot
from inventory.snmp.version import model_from_descr, version_from_descr
from tests.unit.inventory.snmp.test_snmp_client import COMMUNITY, TARGET, ScriptedAgent, agent  # noqa: F401

SEEN = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
DESCR, OBJECT_ID, NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"
NOBODY = "1.3.6.1.4.1.99998.1"  # an enterprise no shipped profile covers
ENTITY = "1.3.6.1.2.1.47.1.1.1.1"


def device(descr: str, **more: Any) -> Device:
    rows = {DESCR: descr, OBJECT_ID: NOBODY, NAME: "dev-1"} | more
    snapshot = build_snapshot("192.0.2.60", rows)
    return device_from_snapshot("dev-1", None, snapshot, SEEN, registry=EnterpriseRegistry()).device


@pytest.mark.parametrize(
    ("oid", "value", "what"),
    [
        ("1.3.6.1.2.1.33.1.2.1.0", 2, "UPS-MIB upsBatteryStatus"),
        ("1.3.6.1.2.1.33.1.4.1.0", 3, "UPS-MIB upsOutputSource"),
        ("1.3.6.1.4.1.2254.2.4.1.2.0", "GES-103R", "DeltaUPS-MIB dupsIdentModel"),
        ("1.3.6.1.4.1.4555.1.1.1.1.1.1.0", "NETYS RT 3000", "SOCOMECUPS-MIB upsIdentModel"),
    ],
)
def test_a_ups_card_of_an_unknown_maker_is_a_ups_by_the_table_it_answers(oid: str, value: Any, what: str) -> None:
    ups = device("Network Card", **{oid: value})
    assert ups.role == "ups"
    assert ups.provenance["role"].origin.startswith(f"{oid} ({what}")


@pytest.mark.parametrize(
    ("descr", "role"),
    [
        ("SNMP Smart II Card v1.05 (SN 11230031800000)", "ups"),
        ("WebPower Smart II Card v5.53 (SN 11200071800000)", "ups"),
        ("NetAgent II 3 ports", "ups"),
        ("RNX UPDU RN3214 (UPDU-Right), S/N: 100100, Version 2.7.0-5741e7a3", "pdu"),
        ("Static Transfer Switch STS-16", "pdu"),
    ],
)
def test_power_words_in_sysdescr_name_the_role(descr: str, role: str) -> None:
    assert device(descr).role == role


def test_a_chassis_without_a_serial_takes_the_serial_of_the_one_module_that_has_one() -> None:
    rows = {
        f"{ENTITY}.5.1": 3, f"{ENTITY}.13.1": "XR-200", f"{ENTITY}.4.1": 0,  # chassis: model, no serial
        f"{ENTITY}.5.2": 9, f"{ENTITY}.4.2": 1, f"{ENTITY}.11.2": "MB2041A0077",  # its main board
        f"{ENTITY}.5.3": 6, f"{ENTITY}.4.3": 1,  # a power supply without a serial
    }  # fmt: skip
    found = device("Acme XR-200", **rows)
    assert (found.model, found.serial) == ("XR-200", "MB2041A0077")
    assert found.provenance["serial"].origin == f"{ENTITY}.11.2"


def test_with_two_module_serials_the_devices_own_is_not_known() -> None:
    rows = {
        f"{ENTITY}.5.1": 3, f"{ENTITY}.13.1": "XR-200", f"{ENTITY}.4.1": 0,
        f"{ENTITY}.5.2": 9, f"{ENTITY}.4.2": 1, f"{ENTITY}.11.2": "MB2041A0077",
        f"{ENTITY}.5.3": 9, f"{ENTITY}.4.3": 1, f"{ENTITY}.11.3": "MB2041A0078",
    }  # fmt: skip
    assert device("Acme XR-200", **rows).serial is None


def test_a_chassis_named_for_its_place_has_no_model_rather_than_its_name() -> None:
    # an optical shelf's chassis row: no model name, a description naming slots, a name naming its place in the
    # rack; its serial stays the device's
    rows = {
        f"{ENTITY}.5.1": 3, f"{ENTITY}.4.1": 0, f"{ENTITY}.2.1": "6500 7-Slot Shelf", f"{ENTITY}.7.1": "SHELF-1",
        f"{ENTITY}.13.1": "", f"{ENTITY}.11.1": "NNTM00001234",
    }  # fmt: skip
    found = device("Acme optical shelf", **rows)
    assert (found.model, found.serial) == (None, "NNTM00001234")
    named = device("Acme optical shelf", **{**rows, f"{ENTITY}.7.1": "OS-6500-7"})
    assert named.model == "OS-6500-7"


@pytest.mark.parametrize(
    ("descr", "model"),
    [
        ("ARRIS APEX1000, VxWorks SNMPv1/v2c Agent", "APEX1000"),
        ("illustra IFS03D1OCWIT Network camera 05-27-2019 Illustra.SS004.01.06.05.0026", "IFS03D1OCWIT"),
        ("Enterasys Networks, Inc. G3G124-24P Rev 06.03.08.0012", "G3G124-24P"),
        ("Tait Communications, TB9300/TB7300, DMR Base Station, QBC30BSM, Version: dmr-3.05.00.0007", "TB9300/TB7300"),
        ("Acme Communications. NPT-2300, V9.1.00411-07, Build Date: Wed Dec 27 01:23:37 2023.", "NPT-2300"),
        # a release name, an agent's or an operating system's words are no product code
        ("Huawei Optix RTN V100R011C00SPC200", None),
        ("Acme v5.2 build 7", None),
        ("Linux X5 2.6.32 #1 armv7l", None),
        # an electrical rating where a model is stated, and a build `git describe` named, are no model
        ("Outlet Metered, Outlet Switched SN:P9S18A PN:Device Model:230V, 32A, 7.4kVA, 50/60Hz", None),
        ("4-10-g036b52a", None),
        ("Acme Series: UPS1500-X", "UPS1500-X"),
    ],
)
def test_a_product_code_after_the_makers_name_is_the_model(descr: str, model: str | None) -> None:
    assert model_from_descr(descr) == model


@pytest.mark.parametrize(
    ("descr", "version"),
    [
        ("Tait Communications, TB9300/TB7300, DMR Base Station, QBC30BSM, Version: dmr-3.05.00.0007", "dmr-3.05.00.0007"),
        ("R6.5.02r NFXS-E FANT-H ACME ISAM Copyright (c) 2016", "R6.5.02r"),
        # an address opening the text is no release
        ("10.1.2.3 host", None),
    ],
)
def test_a_release_named_by_its_train_or_opening_the_text_is_the_version(descr: str, version: str | None) -> None:
    assert version_from_descr(descr) == version


def test_a_live_scan_of_a_profiled_eaton_ups_reads_its_xups_identity(
    agent: Callable[..., ScriptedAgent],  # noqa: F811 (the scripted agent fixture of test_snmp_client)
) -> None:
    # the Eaton 9PX recording of tests/fixtures/snmp-identity, answered by a scripted agent: discovery
    # GETs only what the profile and the UPS identity need, and xupsIdentModel was once not among them
    agent({
        DESCR: rfc1902.OctetString(b"Eaton 5PX/9PX Network-M2"),
        OBJECT_ID: rfc1902.ObjectIdentifier("1.3.6.1.4.1.534.1"),
        NAME: rfc1902.OctetString(b"ups-a1"),
        "1.3.6.1.4.1.534.1.1.1.0": rfc1902.OctetString(b"EATON"),
        "1.3.6.1.4.1.534.1.1.2.0": rfc1902.OctetString(b"Eaton 9PX 3000"),
        "1.3.6.1.4.1.534.1.1.3.0": rfc1902.OctetString(b"INV: 1.34"),
        "1.3.6.1.4.1.534.1.1.4.0": rfc1902.OctetString(b"3.1.5"),
    })  # fmt: skip
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.classification is not None and snapshot.classification.profile == "eaton-ups"
    identity = snapshot.identity
    assert identity.model is not None and identity.model.value == "Eaton 9PX 3000"
    assert identity.version is not None and identity.version.value == "INV: 1.34"
    assert identity.card_version is not None and identity.card_version.value == "3.1.5"


PROBE_SOFTWARE_REV = "1.3.6.1.2.1.16.19.2.0"  # RMON2-MIB probeSoftwareRev


def test_a_small_switch_says_its_software_revision_in_rmon2_and_discovery_asks_for_it(
    agent: Callable[..., ScriptedAgent],  # noqa: F811 (the scripted agent fixture of test_snmp_client)
) -> None:
    agent({
        DESCR: rfc1902.OctetString(b"8-Port Gigabit Smart Switch"),
        OBJECT_ID: rfc1902.ObjectIdentifier(NOBODY),
        NAME: rfc1902.OctetString(b"sw-ward-3"),
        PROBE_SOFTWARE_REV: rfc1902.OctetString(b"1.0.5 Build 20160401 Rel.43046"),
    })
    snapshot = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.identity.version is not None
    assert (snapshot.identity.version.value, snapshot.identity.version.oid) == (
        "1.0.5 Build 20160401 Rel.43046", PROBE_SOFTWARE_REV,
    )  # fmt: skip


def test_the_chassis_revision_comes_before_rmon2s_and_an_empty_one_says_nothing() -> None:
    chassis = {f"{ENTITY}.5.1": 3, f"{ENTITY}.10.1": "2.1.4"}
    assert device("Acme L2 switch", **chassis, **{PROBE_SOFTWARE_REV: "1.0.0"}).os_version == "2.1.4"
    # "a zero length if the revision is unknown" (RFC 4502)
    assert device("Acme L2 switch", **{PROBE_SOFTWARE_REV: ""}).os_version is None
