"""The vendors engineer's code requests: why a profile leaves the role to evidence, sysDescr serials that are
a network card's, and the short names of the makers UPS-MIB answers.

Recordings are small rows written for these tests (the sysDescr forms are APC's and CyberPower's).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from inventory.devices import DeviceScan
from inventory.scan_convert import device_from_snapshot
from inventory.snmp.classify import builtin_profiles, profile_from_data
from inventory.snmp.enterprises import (
    MANUFACTURERS_PATH,
    EnterpriseRegistry,
    parse_aliases,
    parse_short_names,
)
from inventory.snmp.role import ROLE_PROBES
from inventory.snmp.snapshot import build_snapshot
from opsctl.core.errors import ConfigError

SEEN = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
SYS_DESCR, SYS_OBJECT_ID, SYS_NAME = "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.5.0"
TABLE = MANUFACTURERS_PATH.read_text(encoding="utf-8")
SHIPPED = EnterpriseRegistry(
    registered={318: "American Power Conversion Corp.", 534: "Eaton Corporation", 3808: "Cyber Power System Inc."},
    short_names=parse_short_names(TABLE),
    aliases=parse_aliases(TABLE),
)
APC_CARD = (
    "APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.7.2 PN:apc_hw05_aos_672.bin AF1:v6.7.2 "
    "AN1:apc_hw05_sumx_672.bin MN:AP9631 HR:05 SN: 5A1234C56789 MD:04/16/2019)"
)


def scan(rows: dict[str, Any], profiles: Any = None) -> DeviceScan:
    snapshot = build_snapshot("192.0.2.40", rows, profiles=profiles)
    return device_from_snapshot("dev", None, snapshot, SEEN, registry=SHIPPED)


def profile(**fields: Any) -> Any:
    data = {"name": "acme", "vendor": "Acme", "platform": "box", "discovery": [{"sys_object_id": "1.3.6.1.4.1.99999"}]}
    return profile_from_data(data | fields, "test.yaml: profiles[0]")


# ---------------------------------------------------------------- a stated reason for role: null


def test_a_profile_that_leaves_the_role_to_evidence_says_why_in_the_role_provenance() -> None:
    camera = profile(role=None, role_reason="a camera has no kind in the inventory's role vocabulary")
    rows = {SYS_DESCR: "Acme Cam 3000", SYS_OBJECT_ID: "1.3.6.1.4.1.99999.1", SYS_NAME: "cam-1",
            "1.3.6.1.2.1.1.7.0": 78}  # fmt: skip
    unknown = scan(rows, [camera])
    assert unknown.device.role == "unknown" and unknown.status == "partial"
    assert any(
        "profile acme leaves the role to evidence: a camera has no kind" in message for message in unknown.messages
    )
    # the same profile on a device whose own answers name its kind: the evidence, then the profile's reason
    ups = scan(rows | {"1.3.6.1.2.1.33.1.1.2.0": "Acme UPS 1500"}, [camera])
    assert ups.device.role == "ups"
    assert ups.device.provenance["role"].origin == (
        "1.3.6.1.2.1.33.1.1.2.0 (UPS-MIB upsIdentModel); profile acme leaves the role to evidence: "
        "a camera has no kind in the inventory's role vocabulary"
    )


def test_a_role_reason_on_a_profile_that_has_a_role_is_refused_at_load() -> None:
    with pytest.raises(ConfigError, match=r"test.yaml: profiles\[0\] \(acme\).role_reason: only a profile with role null"):
        profile(role="ups", role_reason="because")


def test_every_shipped_profile_without_a_role_states_why() -> None:
    silent = [p.name for p in builtin_profiles() if p.role is None and not p.role_reason]
    assert silent == []
    assert len([p for p in builtin_profiles() if p.role is None]) >= 8


# ---------------------------------------------------------------- a known device the roles have no name for

CAMERA_REASON = "a network camera has no kind in the inventory's role vocabulary"


def test_a_profile_that_names_a_kind_outside_the_roles_records_it_and_the_scan_is_ok() -> None:
    camera = profile(role=None, kind="camera", role_reason=CAMERA_REASON)
    rows = {SYS_DESCR: "Acme Cam 3000", SYS_OBJECT_ID: "1.3.6.1.4.1.99999.1", SYS_NAME: "cam-1",
            "1.3.6.1.2.1.1.7.0": 78}  # fmt: skip
    scanned = scan(rows, [camera])
    assert (scanned.device.role, scanned.status) == ("unknown", "ok")
    assert scanned.device.custom_fields.extra["device_kind"] == "camera"
    assert scanned.device.provenance["role"].origin == (
        f"1.3.6.1.2.1.1.2.0 profile acme (sysObjectID); a camera: {CAMERA_REASON}"
    )
    assert scanned.device.provenance["custom_fields/device_kind"] == scanned.device.provenance["role"]
    assert not any(message.startswith("role unknown") for message in scanned.messages)


def test_a_site_profile_that_names_a_kind_need_not_say_why() -> None:
    rows = {SYS_DESCR: "Acme Cam 3000", SYS_OBJECT_ID: "1.3.6.1.4.1.99999.1", SYS_NAME: "cam-3"}
    scanned = scan(rows, [profile(role=None, kind="camera")])
    assert (scanned.device.role, scanned.status) == ("unknown", "ok")
    assert scanned.device.provenance["role"].origin.endswith(
        "; a camera: the inventory's roles have no name for a camera"
    )


def test_a_device_of_a_kind_outside_the_roles_is_not_given_a_role_by_what_it_answers() -> None:
    # a camera runs Linux and answers HOST-RESOURCES; its profile, the first evidence, has said what it is
    camera = profile(role=None, kind="camera", role_reason=CAMERA_REASON)
    rows = {SYS_DESCR: "Linux cam-2 4.14.98 armv7l", SYS_OBJECT_ID: "1.3.6.1.4.1.99999.1", SYS_NAME: "cam-2",
            "1.3.6.1.2.1.25.1.1.0": 12345, "1.3.6.1.2.1.33.1.1.2.0": "Acme UPS 1500"}  # fmt: skip
    scanned = scan(rows, [camera])
    assert (scanned.device.role, scanned.status) == ("unknown", "ok")
    # without the kind, the same answers name a role
    assert scan(rows, [profile(role=None, role_reason=CAMERA_REASON)]).device.role == "ups"


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"role": "server", "kind": "camera"}, r"\(acme\)\.kind: only a profile with role null names a kind"),
        ({"role": None, "kind": "Switch", "role_reason": "x"}, r"\(acme\)\.kind: 'Switch' is a role: say role: switch"),
        ({"role": None, "kind": "unknown", "role_reason": "x"}, r"\(acme\)\.kind: 'unknown' is a role"),
        ({"role": None, "kind": ["camera"], "role_reason": "x"}, r"\(acme\)\.kind: expected a string"),
        ({"role": None, "kind": "camera", "fallback": True}, r"\(acme\)\.kind: a fallback profile decides no role"),
    ],
)
def test_a_kind_the_profile_cannot_have_is_refused_at_load(fields: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        profile(**fields)


# ---------------------------------------------------------------- sysDescr serials that are a card's


def test_an_apc_ups_without_its_serial_object_does_not_take_the_cards_serial_from_sysdescr() -> None:
    rows = {SYS_DESCR: APC_CARD, SYS_OBJECT_ID: "1.3.6.1.4.1.318.1.3.2.12", SYS_NAME: "ups-c4",
            "1.3.6.1.4.1.318.1.1.1.1.1.1.0": "Smart-UPS 1500"}  # fmt: skip
    device = scan(rows).device
    assert (device.role, device.model, device.serial) == ("ups", "Smart-UPS 1500", None)
    # the UPS's own serial object, when it answers, is still read
    rows["1.3.6.1.4.1.318.1.1.1.1.2.3.0"] = "AS1234567890"
    assert scan(rows).device.serial == "AS1234567890"


def test_a_profile_keeps_sysdescr_serials_unless_it_turns_them_off() -> None:
    rows = {SYS_DESCR: "Acme Box 9 (SN: AB12345678)", SYS_OBJECT_ID: "1.3.6.1.4.1.99999.1", SYS_NAME: "box"}
    assert scan(rows, [profile(role="sensor")]).device.serial == "AB12345678"
    assert scan(rows, [profile(role="sensor", sys_descr_serial=False)]).device.serial is None
    with pytest.raises(ConfigError, match="sys_descr_serial: expected true or false"):
        profile(role="sensor", sys_descr_serial="no")


# ---------------------------------------------------------------- short names for UPS-MIB's makers


@pytest.mark.parametrize(
    ("answered", "shown"),
    [
        ("CPS", "CyberPower"),  # CyberPower's cards answer upsIdentManufacturer "CPS"
        ("Cyber Power Systems", "CyberPower"),
        ("EATON", "Eaton"),
        ("Eaton Corporation", "Eaton"),
        ("American Power Conversion Corp.", "APC"),
        ("  DELL ", "Dell"),
        ("Santak", "Santak"),  # a maker the table does not know keeps its name
        ("ABB", "ABB"),
    ],
)
def test_a_makers_name_a_device_answers_is_shown_by_its_short_name(answered: str, shown: str) -> None:
    assert SHIPPED.short_name(answered) == shown


def test_a_ups_answering_cps_in_ups_mib_is_a_cyberpower() -> None:
    rows = {SYS_DESCR: "UPS Local", SYS_OBJECT_ID: "1.3.6.1.4.1.8072.3.2.10", SYS_NAME: "ups-2",
            "1.3.6.1.2.1.33.1.1.1.0": "CPS", "1.3.6.1.2.1.33.1.1.2.0": "OR1500ERM1U"}  # fmt: skip
    device = scan(rows).device
    assert (device.role, device.manufacturer, device.model) == ("ups", "CyberPower", "OR1500ERM1U")
    assert device.provenance["manufacturer"].origin == "1.3.6.1.2.1.33.1.1.1.0"


def test_the_aliases_column_is_the_third_and_the_note_is_not_an_alias() -> None:
    text = "3808\tCyberPower\tCPS|Cyber Power Systems\t# Cyber Power System Inc.\n534\tEaton\t# Eaton Corporation\n"
    assert parse_aliases(text) == {3808: ("CPS", "Cyber Power Systems")}
    assert parse_short_names(text) == {3808: "CyberPower", 534: "Eaton"}


def test_the_eaton_epdu_probe_is_named_for_the_object_it_reads() -> None:
    # EATON-EPDU-MIB unitTable column 2 is productName (column 3 is partNumber)
    assert dict((oid, what) for oid, _role, what in ROLE_PROBES)["1.3.6.1.4.1.534.6.6.7.1.2.1.2.0"].startswith(
        "EATON-EPDU-MIB productName"
    )

