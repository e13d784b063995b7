"""Identity from the objects harvested from vendors' MIBs: the table, the candidates, and their place in a snapshot."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from inventory.snmp import harvested
from inventory.snmp.harvested import (
    IdentityObject,
    builtin_identity_objects,
    candidate_oids,
    census_wanted,
    continuations,
    enterprises_to_read,
    first_instance,
    harvested_identity,
    parse_identity_objects,
)
from inventory.snmp.recording import parse_snmprec
from inventory.snmp.snapshot import build_snapshot
from opsctl.core.errors import ConfigError

# a table as scripts/identity-objects writes it, for an enterprise no profile knows (99001)
TABLE_TEXT = (
    "# test: enterprise, field, object OID (read with GETNEXT), rank, descriptor, module\n"
    "99001\tmodel\t1.3.6.1.4.1.99001.2.1.3.1.2\t1\tacmeUnitModel\tACME-UPS-MIB\n"
    "99001\tserial\t1.3.6.1.4.1.99001.2.1.1.2\t1\tacmeUpsIdentSerialNumber\tACME-UPS-MIB\n"
    "99001\tserial\t1.3.6.1.4.1.99001.2.1.1.8\t2\tacmeUpsIdentSerialNo\tACME-UPS-MIB\n"
    "99001\tversion\t1.3.6.1.4.1.99001.2.1.1.3\t1\tacmeUpsIdentFirmwareVersion\tACME-UPS-MIB\n"
    "8072\tversion\t1.3.6.1.4.1.8072.1.1\t1\tnetSnmpVersion\tNET-SNMP-MIB\n"
)
ACME = "1.3.6.1.4.1.99001.1.7"


def _table() -> Mapping[int, tuple[IdentityObject, ...]]:
    objects = parse_identity_objects(TABLE_TEXT, "test.tsv")
    return {number: tuple(o for o in objects if o.enterprise == number) for number in {o.enterprise for o in objects}}


@pytest.fixture
def acme_table(monkeypatch: pytest.MonkeyPatch) -> Mapping[int, tuple[IdentityObject, ...]]:
    table = _table()
    monkeypatch.setattr(harvested, "builtin_identity_objects", lambda: table)
    return table


def test_only_the_missing_fields_candidates_are_read() -> None:
    table = _table()
    assert candidate_oids(ACME, ("serial",), table) == (
        "1.3.6.1.4.1.99001.2.1.1.2", "1.3.6.1.4.1.99001.2.1.1.8",
    )  # fmt: skip
    assert len(candidate_oids(ACME, ("model", "serial", "version"), table)) == 4
    assert candidate_oids(ACME, (), table) == ()
    # an enterprise the table does not hold, and an agent's (net-snmp): nothing to read
    assert candidate_oids("1.3.6.1.4.1.99002.1", ("serial",), table) == ()
    assert candidate_oids("1.3.6.1.4.1.8072.3.2.10", ("version",), table) == ()


def test_a_cards_object_is_read_after_the_units_own_even_when_nearer_the_sysobjectid() -> None:
    text = (
        "99001\tserial\t1.3.6.1.4.1.99001.1.7.3.1.5\t2\tacmeCardSerialNumber\tACME-NODE-MIB\tpart\n"
        "99001\tserial\t1.3.6.1.4.1.99001.2.1.1.2\t1\tacmeUpsIdentSerialNumber\tACME-UPS-MIB\n"
    )
    objects = parse_identity_objects(text, "test.tsv")
    assert [item.part for item in objects] == [True, False]
    assert candidate_oids(ACME, ("serial",), {99001: objects}) == (
        "1.3.6.1.4.1.99001.2.1.1.2", "1.3.6.1.4.1.99001.1.7.3.1.5",
    )  # fmt: skip
    assert objects[0].provenance("1.3.6.1.4.1.99001.1.7.3.1.5.1.1") == (
        "1.3.6.1.4.1.99001.1.7.3.1.5.1.1 acmeCardSerialNumber (ACME-NODE-MIB, harvested: the first card's or slot's)"
    )


def test_the_shipped_table_is_bounded_and_names_eatons_xups_model() -> None:
    shipped = builtin_identity_objects()
    eaton = {(o.field, o.descriptor) for o in shipped[534]}
    assert ("model", "xupsIdentModel") in eaton
    for number in shipped:
        assert len(candidate_oids(f"1.3.6.1.4.1.{number}.1", ("model", "serial", "version"))) <= 15


def test_a_column_is_read_at_its_first_row_in_snmp_order_and_no_other_objects() -> None:
    column = "1.3.6.1.4.1.99001.2.1.3.1.2"
    rows = {f"{column}.10": b"second", f"{column}.9": b"first", f"{column}0.1": b"another object"}
    assert first_instance(rows, column) == f"{column}.9"  # 9 before 10: numbers, not text
    assert first_instance({f"{column}0.1": b"another object"}, column) is None
    assert first_instance({f"{column}.0": b"a scalar", f"{column}.1": b"row"}, column) == f"{column}.0"


def test_a_placeholder_falls_through_to_the_next_candidate_with_its_provenance() -> None:
    rows = {"1.3.6.1.4.1.99001.2.1.1.2.0": b"N/A", "1.3.6.1.4.1.99001.2.1.1.8.0": b"AC1234567"}
    found = harvested_identity(rows, ACME, ("serial",), table=_table())
    assert found["serial"].value == "AC1234567"
    assert found["serial"].oid == "1.3.6.1.4.1.99001.2.1.1.8.0 acmeUpsIdentSerialNo (ACME-UPS-MIB, harvested)"


@pytest.mark.parametrize(
    ("field", "value", "kept"),
    [
        ("version", "Release", False),  # a version without a digit
        ("version", "2.4.1", True),
        ("serial", "see the label on the back", False),
        ("serial", "AC 1234", True),
        ("serial", "Main", False),  # a word without a digit: a name or a placeholder, not a serial
        ("model", "ups-ward-3", False),  # the device's sysName
        ("model", "x" * 80, False),
        ("model", "Acme 9000 RT", True),
    ],
)
def test_a_value_that_is_clearly_not_the_field_is_passed_over(field: str, value: str, kept: bool) -> None:
    assert harvested.plausible(field, value, sys_name="UPS-WARD-3") is kept


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("99001\tmodel\t1.3.6.1.4.1.99001.1.0\t1\tacmeModel\n", "expected enterprise, field, OID, rank"),
        ("99001\tcolour\t1.3.6.1.4.1.99001.1.0\t1\tacmeColour\tACME-MIB\n", "field 'colour' is not one of"),
        ("99001\tmodel\tacme.1.0\t1\tacmeModel\tACME-MIB\n", "'acme.1.0' is not a numeric OID"),
        ("acme\tmodel\t1.3.6.1.4.1.99001.1.0\tfirst\tacmeModel\tACME-MIB\n", "are numbers"),
        ("99001\tmodel\t1.3.6.1.4.1.99001.1.0\t1\tacmeModel\tACME-MIB\tcard\n", "then `part` or nothing"),
    ],
)
def test_a_malformed_line_is_refused_with_the_file_and_line(line: str, complaint: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_identity_objects("# header\n" + line, "identity-objects.tsv")
    assert str(refused.value).startswith("identity-objects.tsv:2: ")
    assert complaint in str(refused.value)


# a UPS card of a vendor no profile knows: system group, then its own MIB's identity objects
RECORDING = [
    "1.3.6.1.2.1.1.1.0|4|Acme UPS network card SN: CARD0001 Version 9.9.9",
    f"1.3.6.1.2.1.1.2.0|6|{ACME}",
    "1.3.6.1.2.1.1.5.0|4|ups-ward-3",
    "1.3.6.1.4.1.99001.2.1.1.2.0|4|AC7700123",
    "1.3.6.1.4.1.99001.2.1.1.3.0|4|UPS 03.12",
    # the unit table's first row is unit 7, not 1: read with GETNEXT, whatever its index
    "1.3.6.1.4.1.99001.2.1.3.1.2.7|4|Acme 9000 RT",
    "1.3.6.1.4.1.99001.2.1.3.1.2.12|4|Acme 9000 EBM",
]
CHASSIS = [
    "1.3.6.1.2.1.47.1.1.1.1.5.1|2|3",  # entPhysicalClass chassis
    "1.3.6.1.2.1.47.1.1.1.1.11.1|4|CHASSIS42",  # entPhysicalSerialNum
]


def test_a_snapshot_takes_the_vendors_objects_before_what_sysdescr_says(acme_table: object) -> None:
    snapshot = build_snapshot("ups-ward-3", parse_snmprec("\n".join(RECORDING)).rows)
    identity = snapshot.identity
    assert identity.model is not None and identity.serial is not None and identity.version is not None
    assert (identity.model.value, identity.serial.value, identity.version.value) == (
        "Acme 9000 RT", "AC7700123", "UPS 03.12",
    )  # fmt: skip
    # the card's serial and version in sysDescr lose to the UPS's own objects
    assert identity.serial.oid == "1.3.6.1.4.1.99001.2.1.1.2.0 acmeUpsIdentSerialNumber (ACME-UPS-MIB, harvested)"
    assert identity.model.oid == "1.3.6.1.4.1.99001.2.1.3.1.2.7 acmeUnitModel (ACME-UPS-MIB, harvested)"
    # every field found: nothing more for discovery to ask
    assert snapshot.identity_missing == ()


def test_the_entity_chassis_still_wins_and_discovery_is_told_what_to_read(acme_table: object) -> None:
    # without the vendor's objects: the chassis gives the serial, sysDescr the version, and the
    # snapshot says the model and version are still missing, so discovery reads their candidates
    lines = [line for line in RECORDING if not line.startswith("1.3.6.1.4.1.99001.2")] + CHASSIS
    snapshot = build_snapshot("ups-ward-3", parse_snmprec("\n".join(lines)).rows)
    assert snapshot.identity.serial is not None and snapshot.identity.serial.value == "CHASSIS42"
    assert snapshot.identity.version is not None and snapshot.identity.version.value == "9.9.9"
    assert snapshot.identity_missing == ("model", "version")
    assert candidate_oids(ACME, snapshot.identity_missing) == ("1.3.6.1.4.1.99001.2.1.3.1.2", "1.3.6.1.4.1.99001.2.1.1.3")
    # with them: the chassis's serial still wins over the harvested one
    both = build_snapshot("ups-ward-3", parse_snmprec("\n".join(RECORDING + CHASSIS)).rows)
    assert both.identity.serial is not None and both.identity.serial.value == "CHASSIS42"
    assert both.identity.version is not None and both.identity.version.value == "UPS 03.12"


def test_a_version_sysdescr_states_by_the_vendors_system_name_wins_over_the_harvested_object(
    acme_table: object,
) -> None:
    # an OcNOS switch: the system and its version in sysDescr, where a harvested object can be a hardware's
    # revision or a diagnostics image's; the version a word alone announces ("Version 9.9.9") still loses
    lines = [line for line in RECORDING if not line.startswith("1.3.6.1.2.1.1.1.0")]
    stated = "1.3.6.1.2.1.1.1.0|4|Hardware Model:EC_AS7712-32X, Software version: OcNOS,6.5.2.101"
    snapshot = build_snapshot("sw-core-1", parse_snmprec("\n".join([stated, *lines])).rows)
    assert snapshot.identity.version is not None
    assert (snapshot.identity.version.value, snapshot.identity.version.oid) == ("6.5.2.101", "1.3.6.1.2.1.1.1.0")
    assert "version" not in snapshot.identity_missing


def test_a_profiles_identity_wins_over_the_harvested_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    # Eaton's XUPS profile reads xupsIdentModel itself: a harvested Eaton object must not replace it
    table = {534: (IdentityObject(534, "model", "1.3.6.1.4.1.534.1.1.99", 1, "xupsOtherModel", "TEST-MIB"),)}
    monkeypatch.setattr(harvested, "builtin_identity_objects", lambda: table)
    lines = [
        "1.3.6.1.2.1.1.1.0|4|Eaton 9PX",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.534.1",
        "1.3.6.1.4.1.534.1.1.2.0|4|Eaton 9PX 3000",
        "1.3.6.1.4.1.534.1.1.99.0|4|Something Else 1",
    ]
    identity = build_snapshot("ups-9px", parse_snmprec("\n".join(lines)).rows).identity
    assert identity.model is not None and identity.model.value == "Eaton 9PX 3000"
    assert "harvested" not in identity.model.oid


def test_an_agents_sysobjectid_reads_the_enterprises_the_device_answered_under() -> None:
    table = _table()
    net_snmp = "1.3.6.1.4.1.8072.3.2.10"
    answered = {"1.3.6.1.4.1.2021.4.5.0": 1024, "1.3.6.1.4.1.99001.9.1.0": b"anything"}
    assert enterprises_to_read(net_snmp, answered, table) == (99001,)
    assert candidate_oids(net_snmp, ("serial",), table, answered) == (
        "1.3.6.1.4.1.99001.2.1.1.2", "1.3.6.1.4.1.99001.2.1.1.8",
    )  # fmt: skip
    # nothing but the agents' own trees: survey the enterprises, once a field is missing
    assert census_wanted(net_snmp, ("serial",), {"1.3.6.1.4.1.2021.4.5.0": 1024}, table)
    assert not census_wanted(net_snmp, (), {}, table)
    assert not census_wanted(net_snmp, ("serial",), answered, table)
    # a maker's own sysObjectID with objects in the table: its own enterprise, whatever else it answers
    assert enterprises_to_read(ACME, {"1.3.6.1.4.1.318.1.1.1.1.1.1.0": b"Smart-UPS"}, table) == (99001,)


def test_a_column_read_so_far_only_empty_is_continued_from_its_last_row_whoever_read_it() -> None:
    model, serial, version = (item for item in _table()[99001] if item.field != "serial" or item.rank == 1)
    rows = {
        # the model column's first rows (read by the role probe's GET or an earlier round) say nothing
        f"{model.oid}.1": b"", f"{model.oid}.2": b"N/A",
        # a scalar is never continued, whatever it says; a column with a value is done
        f"{serial.oid}.0": b"", f"{version.oid}.7": b"2.7.4",
    }  # fmt: skip
    assert continuations(rows, (model, serial, version)) == {f"{model.oid}.2": model.oid}
    found = harvested_identity({**rows, f"{model.oid}.3": b"Acme Plant 48"}, ACME, ("model",), table=_table())
    assert found["model"].value == "Acme Plant 48"
    assert found["model"].oid == f"{model.oid}.3 acmeUnitModel (ACME-UPS-MIB, harvested)"
