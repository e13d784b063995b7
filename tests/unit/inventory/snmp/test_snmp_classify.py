"""Classification as data: the rule ranking, PDUs against UPS-MIB, unknown devices, and profile validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.snmp.classify import (
    builtin_profiles,
    classify,
    load_profiles,
    merge_profiles,
    probe_oids,
)
from inventory.snmp.system import SystemInfo, parse_system
from inventory.snmp.values import RawValue
from opsctl.core.errors import ConfigError

UPS_MANUFACTURER = "1.3.6.1.2.1.33.1.1.1.0"
APC_PDU_MODEL = "1.3.6.1.4.1.318.1.1.12.1.5.0"


def system(object_id: str = "", descr: str = "") -> SystemInfo:
    rows: dict[str, RawValue] = {}
    if object_id:
        rows["1.3.6.1.2.1.1.2.0"] = object_id
    if descr:
        rows["1.3.6.1.2.1.1.1.0"] = descr.encode()
    return parse_system(rows)


def test_a_pdu_that_also_answers_ups_mib_stays_a_pdu() -> None:
    pdu = system("1.3.6.1.4.1.318.1.3.4.6", "APC Web/SNMP Management Card")
    result = classify(pdu, {UPS_MANUFACTURER: b"APC", APC_PDU_MODEL: b"AP8641"})
    assert (result.profile, result.role) == ("apc-pdu", "pdu")


def test_an_apc_card_under_a_generic_oid_is_told_apart_by_its_probe() -> None:
    card = system("1.3.6.1.4.1.318.1.3.99", "APC Web/SNMP Management Card")
    assert classify(card, {APC_PDU_MODEL: b"AP7902B"}).role == "pdu"
    assert classify(card, {"1.3.6.1.4.1.318.1.1.1.1.1.1.0": b"Smart-UPS 3000"}).role == "ups"


def test_any_ups_mib_device_is_a_ups_named_by_its_manufacturer() -> None:
    unknown_card = system("1.3.6.1.4.1.99999.1", "WebPower card")
    result = classify(unknown_card, {UPS_MANUFACTURER: b"Santak  "})
    assert (result.profile, result.vendor, result.role) == ("ups-mib", "Santak", "ups")
    assert result.matched_by == f"probe {UPS_MANUFACTURER}"


def test_a_specific_profile_beats_a_fallback_and_a_longer_prefix_wins() -> None:
    linux = system("1.3.6.1.4.1.8072.3.2.10", "Linux host 6.1")
    assert classify(linux).profile == "net-snmp-linux"
    assert classify(linux, {UPS_MANUFACTURER: b"Eaton"}).role == "ups"
    nexus = system("1.3.6.1.4.1.9.12.3.1.3.1084", "Cisco NX-OS(tm) n5000")
    assert classify(nexus).profile == "cisco-nxos"
    catalyst = system("1.3.6.1.4.1.9.1.617", "Cisco IOS Software, C3560 Software (C3560-IPSERVICESK9-M)")
    router = system("1.3.6.1.4.1.9.1.366", "Cisco Internetwork Operating System Software IOS (tm) 7200")
    assert classify(catalyst).role == "switch"
    assert classify(router).role == "router"


def test_prefixes_match_whole_oid_components() -> None:
    # 1.3.6.1.4.1.9.1 is Cisco; 1.3.6.1.4.1.9.10 or 1.3.6.1.4.1.99 are not Cisco IOS
    assert classify(system("1.3.6.1.4.1.99.1.2")).profile is None
    assert classify(system("1.3.6.1.4.1.9.10.5")).profile != "cisco-ios"


def test_unknown_device_has_no_role_and_says_why() -> None:
    result = classify(system("1.3.6.1.4.1.50001", "Hikvision company products"))
    assert result.role is None and result.profile is None
    assert "1.3.6.1.4.1.50001" in result.reason
    silent = classify(system())
    assert silent.role is None and "neither sysObjectID nor sysDescr" in silent.reason


def test_a_wireless_controller_is_wireless() -> None:
    result = classify(system("1.3.6.1.4.1.14823.1.1.40", "ArubaOS (MODEL: Aruba7010)"))
    assert result.vendor == "Aruba" and result.role == "wireless" and result.reason == ""


def test_probe_oids_cover_every_probe_and_vendor_oid() -> None:
    wanted = set(probe_oids())
    assert {UPS_MANUFACTURER, APC_PDU_MODEL} <= wanted
    for profile in builtin_profiles():
        for rule in profile.rules:
            assert {probe.oid for probe in rule.probes} <= wanted


def test_builtin_profiles_have_unique_names_and_valid_roles() -> None:
    names = [profile.name for profile in builtin_profiles()]
    assert len(names) == len(set(names)) >= 40


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("profiles:\n  - {name: x, vendor: V, platform: P, role: toaster, discovery: [{sys_descr: a}]}\n", "role"),
        ("profiles:\n  - {name: x, vendor: V, platform: P, role: ups, colour: red, discovery: [{sys_descr: a}]}\n", "unknown keys"),
        ("profiles:\n  - {name: x, vendor: V, platform: P, role: ups, discovery: [{sys_descr: '('}]}\n", "regular expression"),
        ("profiles:\n  - {name: x, vendor: V, platform: P, role: ups, discovery: [{sys_object_id: 'iso.3'}]}\n", "numeric OID"),
        ("profiles:\n  - {name: x, vendor: V, platform: P, role: ups, discovery: [{}]}\n", "needs sys_object_id"),
        ("profiles:\n  - {name: x, vendor: V, platform: P, role: ups, tables: [disks], discovery: [{sys_descr: a}]}\n", "unknown tables"),
        ("profiles: {}\n", "profiles:"),
        ("profiles: [\n", "cannot read"),
    ],
)
def test_invalid_profile_files_are_refused_naming_the_file(tmp_path: Path, text: str, complaint: str) -> None:
    (tmp_path / "broken.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_profiles(tmp_path)
    assert "broken.yaml" in str(raised.value) and complaint in str(raised.value)


def test_duplicate_profile_names_are_refused(tmp_path: Path) -> None:
    one = "profiles:\n  - {name: same, vendor: V, platform: P, role: ups, discovery: [{sys_descr: a}]}\n"
    (tmp_path / "a.yaml").write_text(one, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(one, encoding="utf-8")
    with pytest.raises(ConfigError, match="duplicate"):
        load_profiles(tmp_path)


def test_a_site_profile_replaces_the_shipped_one_of_its_name_and_adds_its_own(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text(
        "profiles:\n"
        "  # our lab's temperature loggers: SITE-MIB loggerModel.0\n"
        "  - {name: site-logger, vendor: Acme, platform: Logger, role: sensor,\n"
        "     identity: {model: 1.3.6.1.4.1.99999.1.1.0}, discovery: [{sys_object_id: 1.3.6.1.4.1.99999}]}\n"
        "  - {name: cisco-asa, vendor: Cisco, platform: ASA, role: router, discovery: [{sys_descr: 'ASA'}]}\n",
        encoding="utf-8",
    )
    merged = merge_profiles(builtin_profiles(), load_profiles(tmp_path))
    assert len(merged) == len(builtin_profiles()) + 1
    logger = classify(system("1.3.6.1.4.1.99999.7", "logger"), profiles=merged)
    assert (logger.profile, logger.vendor, logger.role) == ("site-logger", "Acme", "sensor")
    assert logger.identity_oids == (("model", "1.3.6.1.4.1.99999.1.1.0"),)
    assert next(p for p in merged if p.name == "cisco-asa").role == "router"
