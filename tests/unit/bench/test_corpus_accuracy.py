"""bench/corpus-accuracy's judging rules (bench/_corpus.py): LibreNMS's record in opsctl's vocabulary."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

import _corpus  # noqa: E402

REGISTRY = _corpus.parse_enterprises(
    "#\n# generated from IANA\n0\tReserved\n9\tciscoSystems\n232\tCompaq\n318\tAmerican Power Conversion Corp.\n"
    "476\tVertiv\t# formerly 'Emerson Computer Power'\n8072\tnet-snmp\n20916\tAVTECH Software, Inc.\n"
)


def record(**values: str) -> dict[str, str]:
    base = {"sysObjectID": "", "sysDescr": "", "sysName": "", "os": "", "type": "", "hardware": "",
            "serial": "", "version": ""}  # fmt: skip
    return base | values


def judged(expected: dict[str, str], recorded_sys_name: str | None = None, **got: str | None) -> dict[str, str]:
    results = _corpus.compare(expected, got, REGISTRY, recorded_sys_name=recorded_sys_name)
    return {item.field: item.status for item in results}


def test_the_registry_keeps_names_and_drops_comments() -> None:
    assert REGISTRY[476] == "Vertiv"
    assert REGISTRY[318] == "American Power Conversion Corp."
    assert 1 not in REGISTRY
    assert _corpus.enterprise_number(".1.3.6.1.4.1.318.1.3.4.5") == 318
    assert _corpus.enterprise_number("1.3.6.1.4.1.8072") == 8072
    assert _corpus.enterprise_number("1.3.6.1.2.1.1") is None


@pytest.mark.parametrize(
    ("expected", "roles"),
    [
        (record(type="power", os="apc", hardware="Smart-UPS 1500"), {"ups"}),
        (record(type="power", os="apc-cpdu", hardware="APDU10150SM"), {"pdu"}),
        (record(type="power", os="sentry3", hardware="CS-24V4-P32MA"), {"pdu"}),
        (record(type="power", os="eltek-webpower", hardware="smartpack"), {"ups"}),
        (record(type="network", os="ios"), {"switch", "router", "wireless"}),
        (record(type="environment", os="avtech"), {"sensor"}),
        (record(type="management", os="hpe-ilo", hardware="ProLiant DL380 Gen9"), {"server"}),
        (record(type="appliance", os="sophos-xg", hardware="SFVH"), {"firewall"}),
        (record(type="appliance", os="xclarity", hardware="ThinkSystem SR630 V3"), {"server"}),
    ],
)
def test_librenms_types_become_opsctl_roles(expected: dict[str, str], roles: set[str]) -> None:
    found, _rule = _corpus.expected_roles(expected)
    assert found == frozenset(roles)


def test_an_appliance_no_word_decides_is_left_out_of_the_role_count() -> None:
    found, rule = _corpus.expected_roles(record(type="appliance", os="axiscam", hardware="AXIS P1375"))
    assert found is None
    assert "no counterpart" in rule
    assert judged(record(type="appliance", os="axiscam", hardware="AXIS P1375"), role="server")["role"] == "excluded"


def test_a_role_outside_the_expected_set_is_wrong() -> None:
    expected = record(type="power", os="apc-cpdu", hardware="APDU10150SM")
    assert judged(expected, role="pdu")["role"] == "right"
    assert judged(expected, role="server")["role"] == "wrong"
    assert judged(expected, role=None)["role"] == "wrong"


def test_a_word_that_is_also_a_product_line_does_not_name_a_vendor() -> None:
    ciena = record(os="ciena-waveserver", hardware="Waveserver, Wavelogic 3 Extreme Coherent Optical Processors",
                   sysObjectID=".1.3.6.1.4.1.1271.3")
    assert _corpus.expected_manufacturer(ciena, REGISTRY) == (None, "not exposed: no vendor named and no maker's "
                                                               "enterprise number")


def test_manufacturer_named_by_os_or_hardware_comes_first() -> None:
    assert _corpus.expected_manufacturer(record(os="dell-ups", sysObjectID=".1.3.6.1.4.1.534.1"), REGISTRY)[0] == "Dell"
    assert _corpus.expected_manufacturer(record(os="webpower-smart2", hardware="Eaton C1KS"), REGISTRY)[0] == "Eaton"
    # Ubiquiti's fibre OLT answers under Broadcom's number; LibreNMS's os names the maker
    olt = record(os="edgeosolt", sysObjectID=".1.3.6.1.4.1.4413")
    assert _corpus.expected_manufacturer(olt, REGISTRY)[0] == "Ubiquiti"


def test_manufacturer_falls_back_to_the_registry_but_never_to_an_agent() -> None:
    assert _corpus.expected_manufacturer(record(os="x", sysObjectID=".1.3.6.1.4.1.232.9.4.10"), REGISTRY)[0] == "HPE"
    assert _corpus.expected_manufacturer(record(os="x", sysObjectID=".1.3.6.1.4.1.20916.1"), REGISTRY)[0] == (
        "AVTECH Software, Inc."
    )
    windows = record(os="windows", hardware="Intel x64", sysObjectID=".1.3.6.1.4.1.311.1.1.3.1.2")
    assert _corpus.expected_manufacturer(windows, REGISTRY)[0] is None  # the OS's maker is not the machine's
    unknown = record(os="linux", sysObjectID=".1.3.6.1.4.1.8072.3.2.10")
    assert _corpus.expected_manufacturer(unknown, REGISTRY)[0] is None
    # net-snmp named as a manufacturer is not counted wrong where nothing else is known: it is excluded
    assert judged(unknown, manufacturer="net-snmp")["manufacturer"] == "excluded"


@pytest.mark.parametrize(
    ("expected", "got", "same"),
    [
        ("APC", "American Power Conversion Corp.", True),
        ("HPE", "Hewlett Packard Enterprise", True),
        ("Cisco", "ciscoSystems", True),
        ("AVTECH Software, Inc.", "AVTECH", True),
        ("Eaton", "EATON", True),
        ("Eaton", "APC", False),
        ("APC", "net-snmp", False),
        ("Network Technologies Inc", "Network Technologies Inc", True),  # nothing left once suffixes go
        ("Network Technologies Inc", "Juniper Networks, Inc.", False),
        ("PePWave Ltd.", "Peplink", True),  # one company, two brands
        ("vIPtela Inc.", "Cisco", True),  # Cisco's since 2017
        ("Peplink", "Ubiquiti", False),
        ("Efficient IP", "EfficientIP", True),  # one name, spaced or not
        ("Efficient IP", "EfficientLab", False),
    ],
)
def test_manufacturers_compare_by_short_name(expected: str, got: str, same: bool) -> None:
    assert _corpus.same_manufacturer(expected, got) is same


@pytest.mark.parametrize(
    ("expected", "got", "same"),
    [
        ("WS-C3750G-12S-S", "ws-c3750g-12s-s", True),
        ("93E 80", "EATON 93E 80", True),
        ("ProLiant DL380 Gen9", "HP ProLiant DL380 Gen9", True),
        ("FortiGate 60F", "FortiGate  60F ", True),
        ("AP8641", "AP8641B", False),
        ("PA-5220", "PA-220", False),
        ("Smart-UPS 1500", "Smart-UPS 1500 RM XL", True),  # one holds the other on word bounds
        ("Smart-UPS 1500", "UPS", False),  # a generic word says nothing
        ("Smart-UPS 1500", "1", False),  # too short to say anything
    ],
)
def test_models_compare_normalised(expected: str, got: str, same: bool) -> None:
    assert _corpus.same_model(expected, got) is same


@pytest.mark.parametrize(
    ("expected", "got", "same"),
    [
        ("15.2(4)E7", "Cisco IOS Software, Version 15.2(4)E7, RELEASE SOFTWARE", True),
        ("v7.2.10,build1706,240918 (GA.M)", "FortiGate-60F v7.2.10,build1706,240918 (GA.M)", True),
        ("2.50", "v2.50", True),
        ("1.0", "1.0.2", False),
        ("6.4", "16.4", False),
    ],
)
def test_versions_compare_on_version_bounds(expected: str, got: str, same: bool) -> None:
    assert _corpus.same_version(expected, got) is same


def test_serials_ignore_case_and_spaces_only() -> None:
    assert _corpus.same_serial("FDO1622Y10H", "fdo1622y10h ")
    assert _corpus.same_serial("System:315646 Product:246152313", "315646")
    assert not _corpus.same_serial("FDO1622Y10H", "FDO1622Y10")


def test_unexposed_or_anonymised_values_are_excluded_not_wrong() -> None:
    expected = record(type="server", os="linux", hardware="", serial="<private>", version="n/a")
    statuses = judged(expected, role="server", model="PowerEdge", serial="ABC", version="1")
    assert statuses["model"] == statuses["serial"] == statuses["version"] == "excluded"


def test_a_missing_value_is_wrong_where_the_device_exposes_it() -> None:
    statuses = judged(record(type="server", hardware="PowerEdge R640", serial="ABC1234"), role="server")
    assert statuses["model"] == statuses["serial"] == "wrong"


def test_sys_name_counts_when_the_recording_answers_one_even_anonymised() -> None:
    expected = record(sysName="<private>")
    assert judged(expected, recorded_sys_name="<private>", sys_name="<private>")["sys_name"] == "right"
    assert judged(expected, recorded_sys_name="<private>", sys_name=None)["sys_name"] == "wrong"
    assert judged(expected, recorded_sys_name=None, sys_name=None)["sys_name"] == "excluded"
    fqdn = record(sysName="core-sw1.example.org")
    assert judged(fqdn, recorded_sys_name="x", sys_name="CORE-SW1")["sys_name"] == "right"


def test_tally_counts_right_over_right_plus_wrong_per_field_and_type() -> None:
    results = [
        _corpus.RecordingResult("a", "power", "ok", _corpus.compare(
            record(type="power", os="apc", hardware="Smart-UPS"), {"role": "ups", "model": "Smart-UPS"}, REGISTRY)),
        _corpus.RecordingResult("b", "power", "ok", _corpus.compare(
            record(type="power", os="apc", hardware="Smart-UPS"), {"role": "server"}, REGISTRY)),
        _corpus.RecordingResult("c", "environment", "ok", _corpus.compare(
            record(type="environment", os="avtech"), {"role": "sensor"}, REGISTRY)),
    ]  # fmt: skip
    overall = _corpus.tally(results)["all"]
    assert (overall.right["role"], overall.total["role"]) == (2, 3)
    assert (overall.right["model"], overall.total["model"]) == (1, 2)
    assert overall.total["serial"] == 0
    per_type = _corpus.tally(results, by_type=True)
    assert per_type["power"].total["role"] == 2
    assert _corpus.percent(2, 3) == "2/3 (67%)"
    assert _corpus.percent(0, 0) == "-"
    assert "| all | 2/3 (67%) |" in "\n".join(_corpus.table_lines({"all": overall}))


def test_wrong_answers_are_told_apart_as_unknown_or_another_value() -> None:
    # an unknown role is reported (the scan is partial); another role is a silent error: the report counts both apart
    results = [
        _corpus.RecordingResult("a", "power", "ok", _corpus.compare(
            record(type="power", os="apc", hardware="Smart-UPS"), {"role": "unknown"}, REGISTRY)),
        _corpus.RecordingResult("b", "power", "ok", _corpus.compare(
            record(type="power", os="apc", hardware="Smart-UPS"), {"role": "server", "model": "Back-UPS"}, REGISTRY)),
        _corpus.RecordingResult("c", "power", "ok", _corpus.compare(
            record(type="power", os="apc", hardware="Smart-UPS"), {"role": "server"}, REGISTRY)),
    ]  # fmt: skip
    kinds = _corpus.miss_kinds(results)
    assert kinds["role"] == {"none": 1, "other": 2}
    assert kinds["model"] == {"none": 2, "other": 1}
    assert _corpus.role_confusions(results) == {"ups -> server": 2, "ups -> unknown": 1}


@pytest.mark.parametrize(
    ("origin", "kind"),
    [
        ("1.3.6.1.2.1.1.2.0 profile apc-ups (sysObjectID 1.3.6.1.4.1.318.1.3.27)", "profile"),
        ("1.3.6.1.2.1.1.1.0 (sysDescr matches '\\bUPS\\b|Uninterruptible')", "sysDescr words"),
        ("1.3.6.1.2.1.1.7.0 (sysServices 6: network layer)", "sysServices"),
        ("1.3.6.1.2.1.25.1.1.0 (HOST-RESOURCES-MIB) on a general-purpose OS", "HOST-RESOURCES"),
        ("1.3.6.1.4.1.1418.6.1.4.0 (IBOOTPDU-MIB deviceModelName: the unit's identity in a MIB about pdu devices"
         " alone); its sysObjectID names its SNMP agent", "answered enterprise"),
        ("1.3.6.1.4.1.99 (enterprise 99, registered to 'X Networks': a maker of network gear; a guess, nothing the"
         " device answered named its kind)", "maker's name (a guess)"),
        ("1.3.6.1.2.1.33.1.2.1.0 (UPS-MIB upsBatteryStatus)", "probe tables"),
        ("", "unknown"),
    ],
)
def test_a_roles_provenance_names_the_kind_of_evidence_that_decided(origin: str, kind: str) -> None:
    assert _corpus.role_evidence_kind(origin) == kind


def test_roles_are_counted_right_per_kind_of_evidence() -> None:
    ups = record(type="power", os="apc", hardware="Smart-UPS")
    results = [
        _corpus.RecordingResult("a", "power", "ok", _corpus.compare(ups, {"role": "ups"}, REGISTRY),
                                role_evidence="1.3.6.1.2.1.33.1.2.1.0 (UPS-MIB upsBatteryStatus)"),
        _corpus.RecordingResult("b", "power", "ok", _corpus.compare(ups, {"role": "server"}, REGISTRY),
                                role_evidence="1.3.6.1.2.1.25.1.1.0 (HOST-RESOURCES-MIB) on a general-purpose OS"),
        _corpus.RecordingResult("c", "power", "ok", _corpus.compare(ups, {"role": "unknown"}, REGISTRY)),
    ]  # fmt: skip
    assert _corpus.roles_by_evidence(results) == {
        "HOST-RESOURCES": {"right": 0, "total": 1},
        "probe tables": {"right": 1, "total": 1},
        "unknown": {"right": 0, "total": 1},
    }


def test_manufacturers_named_by_librenms_are_counted_apart_from_registry_ones() -> None:
    named = _corpus.compare(record(type="power", os="apc", sysObjectID=".1.3.6.1.4.1.318.1"), {"manufacturer": "APC"},
                            REGISTRY)
    registry_only = _corpus.compare(record(type="environment", os="x", sysObjectID=".1.3.6.1.4.1.20916.1"),
                                    {"manufacturer": "AVTECH"}, REGISTRY)
    wrong = _corpus.compare(record(type="power", os="apc"), {"manufacturer": "Eaton"}, REGISTRY)
    results = [_corpus.RecordingResult(str(n), "power", "ok", fields)
               for n, fields in enumerate((named, registry_only, wrong))]
    assert _corpus.named_manufacturers(results) == (1, 2)
    assert _corpus.tally(results)["all"].total["manufacturer"] == 3


def test_a_recordings_strings_are_decoded_from_text_and_hex() -> None:
    text = (
        "1.3.6.1.2.1.1.1.0|4|Smart-UPS 1500 FW: 6.4\n"
        "1.3.6.1.4.1.318.1.1.1.1.2.3.0|4x|4153313233344b" + "\n"  # AS1234K
        "1.3.6.1.2.1.1.3.0|67|123\n"
        "1.3.6.1.4.1.1.0|4x|zz\n"  # not hex: left out, not a failure
        "garbage line\n"
    )
    assert _corpus.recorded_strings(text) == ("Smart-UPS 1500 FW: 6.4", "AS1234K")


def test_held_verbatim_finds_the_value_on_word_bounds_only() -> None:
    strings = ("Smart-UPS 1500 FW: 6.4", "AS1234K")
    assert _corpus.held_verbatim("as1234k", strings)
    assert _corpus.held_verbatim("Smart-UPS 1500", strings)
    assert not _corpus.held_verbatim("AS1234", strings)  # a prefix of a word is not the value
    assert not _corpus.held_verbatim("SMT1500", strings)  # LibreNMS's own name for it


def test_the_verbatim_tally_counts_only_values_the_recording_holds() -> None:
    strings = ("SRT3000", "firmware 1.2.3")
    held = _corpus.compare(record(type="power", os="apc", hardware="SRT3000", serial="XY99", version="1.2.3"),
                           {"role": "ups", "model": "SRT3000", "serial": None, "version": None}, REGISTRY,
                           strings=strings)
    by_field = {item.field: item for item in held}
    assert (by_field["model"].verbatim, by_field["serial"].verbatim, by_field["version"].verbatim) == (True, False, True)
    assert by_field["role"].verbatim is None
    results = [_corpus.RecordingResult("a", "power", "ok", held)]
    everything = _corpus.tally(results)["all"]
    verbatim = _corpus.tally(results, verbatim=True)["all"]
    assert (everything.total["serial"], verbatim.total["serial"]) == (1, 0)  # the serial is not in the recording
    assert (verbatim.right["model"], verbatim.total["model"]) == (1, 1)
    assert (verbatim.right["version"], verbatim.total["version"]) == (0, 1)  # held, and opsctl missed it
    assert verbatim.total["role"] == everything.total["role"] == 1
