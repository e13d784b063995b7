"""Identity from ENTITY-MIB: which physical entity stands for the device, and when a description is a model.

Each device is a small recording written for the test (entPhysicalTable columns 2 descr, 4
containedIn, 5 class, 7 name, 10 softwareRev, 11 serialNum, 13 modelName), assembled as
``opsctl inventory scan`` does; the sysObjectID is under an enterprise no profile names.
"""

from __future__ import annotations

from inventory.snmp.recording import parse_snmprec
from inventory.snmp.snapshot import DeviceIdentity, build_snapshot

ENTRY = "1.3.6.1.2.1.47.1.1.1.1"
CLASS = {"chassis": 3, "container": 5, "module": 9, "stack": 11, "other": 1}


def identity_of(descr: str, *rows: tuple[int, str, int, str, str, str, str]) -> DeviceIdentity:
    """rows: (index, class, containedIn, descr, name, serial, model)."""
    lines = [
        f"1.3.6.1.2.1.1.1.0|4x|{descr.encode().hex()}",  # hex: a sysDescr may hold line breaks
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99997.1",
        "1.3.6.1.2.1.1.5.0|4|dev-1",
    ]
    for column in (2, 4, 5, 7, 11, 13):
        for index, kind, parent, text, name, serial, model in rows:
            value = {2: text, 4: str(parent), 5: str(CLASS[kind]), 7: name, 11: serial, 13: model}[column]
            tag = 2 if column in (4, 5) else 4
            lines.append(f"{ENTRY}.{column}.{index}|{tag}|{value}")
    recording = parse_snmprec("\n".join(lines))
    assert not recording.notes, recording.notes
    return build_snapshot("dev-1", recording.rows).identity


def test_an_empty_stack_row_gives_way_to_the_unit_that_says_what_it_is() -> None:
    identity = identity_of(
        "Managed switch",
        (1, "stack", 0, "Stack", "", "", ""),
        (101, "container", 1, "Unit 1", "", "EC0000001234", "ECS4100-12T"),
        (201, "module", 101, "Management Card", "", "EC0000001234", ""),
    )
    assert identity.model is not None and identity.model.value == "ECS4100-12T"
    assert identity.serial is not None and identity.serial.value == "EC0000001234"
    assert identity.serial.oid == f"{ENTRY}.11.101"


def test_a_chassis_description_is_the_model_only_when_it_names_a_product() -> None:
    named = identity_of("Access router", (1, "chassis", 0, "AR2240 Integrated Router", "", "21980000123", ""))
    assert named.model is not None and named.model.value == "AR2240 Integrated Router"
    assert named.model.oid == f"{ENTRY}.2.1"
    generic = identity_of("Access router", (1, "chassis", 0, "Chassis 1", "", "21980000123", ""))
    assert generic.model is None


def test_the_name_is_the_model_when_the_description_is_only_a_number() -> None:
    identity = identity_of("Fabric switch", (1, "chassis", 0, "1440", "XA1440", "1A2B3C4D", ""))
    assert identity.model is not None and identity.model.value == "XA1440"
    assert identity.model.oid == f"{ENTRY}.7.1"


def test_a_placeholder_serial_on_the_chassis_says_nothing() -> None:
    identity = identity_of("Edge router", (1, "chassis", 0, "Chassis", "", "0000000000", "ER-8"))
    assert identity.model is not None and identity.model.value == "ER-8"
    assert identity.serial is None


def test_a_model_the_sysdescr_states_comes_before_a_chassis_description() -> None:
    identity = identity_of(
        "HPE Comware Platform Software, Software Version 7.1.070\nHPE 5130-24G-4SFP+ EI Switch\r\n",
        (1, "other", 0, "HPE", "", "", ""),
        (2, "chassis", 0, "HPE 5130-24G Switch Software Version 7.1.070", "", "CN00000001", ""),
    )
    assert identity.model is not None and identity.model.value == "5130-24G-4SFP+ EI Switch"
    assert identity.serial is not None and identity.serial.value == "CN00000001"
