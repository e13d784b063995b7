"""scripts/identity-objects: which objects of a vendor's MIB hold a unit's model, serial and firmware, and their rank."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))
    loader = importlib.machinery.SourceFileLoader("identity_objects_script", str(SCRIPTS / "identity-objects"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module
    loader.exec_module(module)
    return module


# a vendor's SMI module, imported by its device MIB below: names resolve through IMPORTS
SMI = """
ACME-SMI DEFINITIONS ::= BEGIN
IMPORTS enterprises FROM SNMPv2-SMI;
acme OBJECT IDENTIFIER ::= { enterprises 99001 }
acmeMibs OBJECT IDENTIFIER ::= { acme 2 }
-- a textual convention of the vendor's, a string under another name
AcmeLabel ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "255a"
    STATUS current
    DESCRIPTION "A label."
    SYNTAX OCTET STRING (SIZE (0..64))
AcmeMac ::= TEXTUAL-CONVENTION
    DISPLAY-HINT "1x:"
    STATUS current
    DESCRIPTION "A MAC address."
    SYNTAX OCTET STRING (SIZE (6))
END
"""

DEVICE = """
ACME-UPS-MIB DEFINITIONS ::= BEGIN
IMPORTS
    OBJECT-TYPE, Integer32 FROM SNMPv2-SMI
    DisplayString FROM SNMPv2-TC
    acmeMibs, AcmeLabel, AcmeMac FROM ACME-SMI;

acmeUps OBJECT IDENTIFIER ::= { acmeMibs 1 }
acmeUpsIdent OBJECT IDENTIFIER ::= { acmeUps 1 }

acmeUpsIdentModelName OBJECT-TYPE
    SYNTAX DisplayString (SIZE (0..63))
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "The UPS's model (with a ::= { in a string, which is not code)."
    ::= { acmeUpsIdent 1 }

acmeUpsIdentSerialNumber OBJECT-TYPE
    SYNTAX AcmeLabel
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "The UPS's serial number."
    ::= { acmeUpsIdent 2 }

acmeUpsIdentFirmwareVersion OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "The UPS's firmware."
    ::= { acmeUpsIdent 3 }

acmeUpsIdentHardwareVersion OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "The board's revision: not the firmware."
    ::= { acmeUpsIdent 4 }

acmeUpsIdentConfiguredModel OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-write
    STATUS current
    DESCRIPTION "What the operator typed in."
    ::= { acmeUpsIdent 5 }

acmeUpsIdentModelCode OBJECT-TYPE
    SYNTAX Integer32
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "A number, not a model name."
    ::= { acmeUpsIdent 6 }

acmeUpsIdentMacSerial OBJECT-TYPE
    SYNTAX AcmeMac
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "Binary: its hint is not text."
    ::= { acmeUpsIdent 7 }

acmeUpsBattery OBJECT IDENTIFIER ::= { acmeUps 2 }

acmeUpsBatterySerialNumber OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "The battery pack's: another part."
    ::= { acmeUpsBattery 1 }

acmeUnitTable OBJECT-TYPE
    SYNTAX SEQUENCE OF AcmeUnitEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "One row a unit."
    ::= { acmeUps 3 }

acmeUnitEntry OBJECT-TYPE
    SYNTAX AcmeUnitEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "A unit."
    INDEX { acmeUnitIndex }
    ::= { acmeUnitTable 1 }

acmeUnitIndex OBJECT-TYPE
    SYNTAX Integer32 (1..8)
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "The unit's number."
    ::= { acmeUnitEntry 1 }

acmeUnitModel OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "The unit's model."
    ::= { acmeUnitEntry 2 }

acmePortTable OBJECT-TYPE
    SYNTAX SEQUENCE OF AcmePortEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "One row a port."
    ::= { acmeUps 4 }

acmePortEntry OBJECT-TYPE
    SYNTAX AcmePortEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "A port of a unit."
    INDEX { acmeUnitIndex, acmePortIndex }
    ::= { acmePortTable 1 }

acmePortSerialNumber OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "A port's transceiver serial."
    ::= { acmePortEntry 3 }

acmeHwTable OBJECT-TYPE
    SYNTAX SEQUENCE OF AcmeHwEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "The hardware of each unit, the unit itself first."
    ::= { acmeUps 5 }

acmeHwEntry OBJECT-TYPE
    SYNTAX AcmeHwEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "A piece of hardware."
    INDEX { acmeUnitIndex, acmeHwIndex }
    ::= { acmeHwTable 1 }

acmeHwSerialNumber OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "Its serial number."
    ::= { acmeHwEntry 2 }
END
"""


def _found(script: ModuleType, *texts: str) -> dict[str, tuple[str, str]]:
    mibs = script.Mibs.empty()
    for text in texts:
        script.parse_text(text, mibs)
    return {candidate.descriptor: (candidate.field, candidate.oid) for candidate in script.candidates(mibs)}


def test_the_units_own_string_objects_are_kept_with_their_oids(script: ModuleType) -> None:
    found = _found(script, SMI, DEVICE)
    assert found == {
        "acmeUpsIdentModelName": ("model", "1.3.6.1.4.1.99001.2.1.1.1"),
        # a textual convention whose DISPLAY-HINT is text, imported from the vendor's SMI module
        "acmeUpsIdentSerialNumber": ("serial", "1.3.6.1.4.1.99001.2.1.1.2"),
        "acmeUpsIdentFirmwareVersion": ("version", "1.3.6.1.4.1.99001.2.1.1.3"),
        # columns (discovery reads their first row with GETNEXT): a table indexed by the unit alone, and one
        # indexed by two objects neither of which names another part
        "acmeUnitModel": ("model", "1.3.6.1.4.1.99001.2.1.3.1.2"),
        "acmeHwSerialNumber": ("serial", "1.3.6.1.4.1.99001.2.1.5.1.2"),
    }


def test_without_the_module_that_defines_its_parents_an_object_has_no_oid(script: ModuleType) -> None:
    assert _found(script, DEVICE) == {}


def test_a_scalar_in_the_identity_group_ranks_before_a_column(script: ModuleType) -> None:
    mibs = script.Mibs.empty()
    for text in (SMI, DEVICE):
        script.parse_text(text, mibs)
    rows = script.best(script.candidates(mibs))
    models = [(candidate.descriptor, rank) for candidate, rank in rows if candidate.field == "model"]
    assert models == [("acmeUpsIdentModelName", 1), ("acmeUnitModel", 2)]
    serials = [(candidate.descriptor, rank) for candidate, rank in rows if candidate.field == "serial"]
    assert serials == [("acmeUpsIdentSerialNumber", 1), ("acmeHwSerialNumber", 2)]
    assert {candidate.enterprise for candidate, _rank in rows} == {99001}


@pytest.mark.parametrize(
    ("descriptor", "field"),
    [
        ("xupsIdentModel", ("model", 1)),
        ("sysFirmwareVersion", ("version", 0)),
        ("productSerialNum", ("serial", 0)),
        ("hwSN", ("serial", 1)),
        ("panSysSwVersion", ("version", 0)),
        ("upsIdentVersion", ("version", 1)),
        ("upsOutputVoltage", None),
        # a bare Version names the unit's firmware only in an identity group
        ("acmeTrapVersion", None),
        # the unit's type or product id names a model in an identity group only, in the last tier
        ("sysDeviceType", ("model", 2)),
        ("sdbDevIdProductId", ("model", 2)),
        ("acmeHardwareType", None),
    ],
)
def test_a_descriptor_names_its_field_by_its_last_words(
    script: ModuleType, descriptor: str, field: tuple[str, int] | None
) -> None:
    assert script.field_of(descriptor, ["acmeStatus"]) == field


# a product whose own name holds a word that elsewhere names another part (an IPS "sensor", an SNMP "agent"):
# the module's and the vendor's nodes say what the MIB is about, not which part an object describes
SENSOR_PRODUCT = """
ACME-SENSOR-MIB DEFINITIONS ::= BEGIN
IMPORTS
    MODULE-IDENTITY, OBJECT-TYPE FROM SNMPv2-SMI
    DisplayString FROM SNMPv2-TC
    acmeMibs FROM ACME-SMI;

acmeIpsSensorMIB MODULE-IDENTITY
    LAST-UPDATED "202601010000Z"
    ORGANIZATION "Acme"
    CONTACT-INFO "none"
    DESCRIPTION "The intrusion prevention sensor's configuration."
    ::= { acmeMibs 7 }

acmeIpsSystem OBJECT IDENTIFIER ::= { acmeIpsSensorMIB 1 }
acmeIpsProbes OBJECT IDENTIFIER ::= { acmeIpsSensorMIB 2 }

acmeIpsSysModel OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "The appliance's model."
    ::= { acmeIpsSystem 1 }

acmeIpsProbeModel OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "A probe's model: another part, named by its own group."
    ::= { acmeIpsProbes 1 }
END
"""


def test_a_part_word_in_the_modules_own_name_does_not_exclude_its_objects(script: ModuleType) -> None:
    found = _found(script, SMI, SENSOR_PRODUCT)
    assert found == {"acmeIpsSysModel": ("model", "1.3.6.1.4.1.99001.2.7.1.1")}


@pytest.mark.parametrize(
    ("field", "descriptor", "ancestors", "own"),
    [
        # an embedded agent's group describes the unit it runs on (Lambdatrail's lt2sAgent, Hirschmann's hmAgent)
        ("serial", "lt2sSerialNumber", ["lt2sAgent", "lambdatrail2s"], True),
        # the agent's own value, named in the descriptor
        ("version", "agentSoftwareVersion", ["acmeSystem"], False),
        # another part in a group's name still excludes
        ("serial", "acmeSerialNumber", ["acmeBatteryGroup"], False),
        ("version", "ntpEntSoftwareVersion", ["ntpEntInfo"], False),
        ("version", "acmeJavaRuntimeVersion", ["acmeSystem"], False),
        # a diagnostics image's version beside the running system's (IPI-CMM-CHASSIS-MIB cmmStackDiagVersion)
        ("version", "cmmStackDiagVersion", ["cmmStackUnitEntry"], False),
        ("version", "acmeDiagnosticsFirmwareVersion", ["acmeSystem"], False),
        ("version", "cmmStackSwVersion", ["cmmStackUnitEntry"], True),
    ],
)
def test_which_objects_are_the_units_own(
    script: ModuleType, field: str, descriptor: str, ancestors: list[str], own: bool
) -> None:
    assert (script.scope_of(field, descriptor, ancestors) == "unit") is own


# an access node whose identity is only in its cards' table (Calix, Nokia's line systems, FS's slots): the card's
# objects are kept as the unit's last resort, a "part" row ranked after every object of the unit itself
CARDS = """
ACME-NODE-MIB DEFINITIONS ::= BEGIN
IMPORTS
    OBJECT-TYPE, Integer32 FROM SNMPv2-SMI
    DisplayString FROM SNMPv2-TC
    acmeMibs FROM ACME-SMI;

acmeNode OBJECT IDENTIFIER ::= { acmeMibs 9 }
acmeNodeSystem OBJECT IDENTIFIER ::= { acmeNode 1 }

acmeNodeSerialNumber OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "The node's serial number."
    ::= { acmeNodeSystem 1 }

acmeCardTable OBJECT-TYPE
    SYNTAX SEQUENCE OF AcmeCardEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "The cards."
    ::= { acmeNode 2 }

acmeCardEntry OBJECT-TYPE
    SYNTAX AcmeCardEntry
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "A card."
    INDEX { acmeCardShelf, acmeCardSlot }
    ::= { acmeCardTable 1 }

acmeCardShelf OBJECT-TYPE
    SYNTAX Integer32
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "Its shelf."
    ::= { acmeCardEntry 1 }

acmeCardSlot OBJECT-TYPE
    SYNTAX Integer32
    MAX-ACCESS not-accessible
    STATUS current
    DESCRIPTION "Its slot."
    ::= { acmeCardEntry 2 }

acmeCardSerialNumber OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "A card's serial number."
    ::= { acmeCardEntry 3 }

acmeCardSoftwareVersion OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "A card's running software."
    ::= { acmeCardEntry 4 }

acmeFanSerialNumber OBJECT-TYPE
    SYNTAX DisplayString
    MAX-ACCESS read-only
    STATUS current
    DESCRIPTION "The fan tray's serial: another part, never the unit's."
    ::= { acmeNodeSystem 9 }
END
"""


def test_a_cards_objects_are_kept_as_the_units_last_resort_after_its_own(script: ModuleType) -> None:
    mibs = script.Mibs.empty()
    for text in (SMI, CARDS):
        script.parse_text(text, mibs)
    rows = script.best(script.candidates(mibs))
    kept = [(candidate.descriptor, candidate.scope, rank) for candidate, rank in rows]
    assert kept == [
        ("acmeNodeSerialNumber", "unit", 1),
        ("acmeCardSerialNumber", "part", 2),
        ("acmeCardSoftwareVersion", "part", 1),
    ]


@pytest.mark.parametrize(
    ("descriptor", "ancestors", "scope"),
    [
        ("e7CardSerialNumber", ["e7CardEntry", "e7CardTable"], "part"),
        ("lswSlotSerialNo", ["lswSlotEntry"], "part"),
        ("acmeSerialNumber", ["acmeSystem"], "unit"),
        # a card beside another part is that part's
        ("acmePsuCardSerialNumber", ["acmeSystem"], None),
        ("acmeBatterySerialNumber", ["acmeSystem"], None),
    ],
)
def test_a_card_or_a_slot_names_a_part_and_any_other_part_excludes(
    script: ModuleType, descriptor: str, ancestors: list[str], scope: str | None
) -> None:
    assert script.scope_of("serial", descriptor, ancestors) == scope
