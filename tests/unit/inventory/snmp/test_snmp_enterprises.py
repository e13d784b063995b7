"""The manufacturer from a sysObjectID's enterprise number, through IANA's registry and opsctl's short names."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from inventory.snmp.enterprises import (
    AGENT_ENTERPRISES,
    MANUFACTURERS_PATH,
    REGISTRY_PATH,
    EnterpriseRegistry,
    enterprise_number,
    load_registry,
    parse_registry,
    parse_short_names,
)

# the shape of Wireshark's enterprises.tsv: a comment header, tabs or spaces, trailing comments
REGISTRY_TEXT = """\
#
# generated from https://www.iana.org/assignments/enterprise-numbers/enterprise-numbers
# The format used here is: <NUMERICAL_ID><SPACE><NAME>
#
0\tReserved
2\tIBM (https://w3.ibm.com/standards )
9\tciscoSystems
318\tAmerican Power Conversion Corp.
476\tVertiv\t# formerly 'Emerson Computer Power'
8072\tnet-snmp
22610   A10 Networks (previously 'Raksha Networks Inc.')
24681\tQNAP SYSTEMS, INC
99998\t
not a line
"""
SHORT_TEXT = "# number\tshort\n318\tAPC\t# American Power Conversion Corp.\n9\tCisco\n24681\tQNAP\n"


def registry() -> EnterpriseRegistry:
    return EnterpriseRegistry(parse_registry(REGISTRY_TEXT), parse_short_names(SHORT_TEXT))


def test_the_registry_keeps_names_without_comments_or_asides() -> None:
    names = parse_registry(REGISTRY_TEXT)
    assert names[318] == "American Power Conversion Corp."
    assert names[476] == "Vertiv"
    assert names[22610] == "A10 Networks"
    assert names[2] == "IBM"
    assert 99998 not in names and len(names) == 8


@pytest.mark.parametrize(
    ("object_id", "number"),
    [
        ("1.3.6.1.4.1.318.1.3.27", 318),
        (".1.3.6.1.4.1.8072.3.2.10", 8072),
        ("1.3.6.1.4.1.9", 9),
        ("1.3.6.1.2.1.33", None),
        ("1.3.6.1.4.1.x.2", None),
        ("", None),
        (None, None),
    ],
)
def test_the_enterprise_number_is_the_component_after_enterprises(object_id: str | None, number: int | None) -> None:
    assert enterprise_number(object_id) == number


def test_a_maker_gets_its_short_name_else_its_registered_name() -> None:
    found = registry()
    assert found.manufacturer(318) == "APC"
    assert found.manufacturer(24681) == "QNAP"
    assert found.manufacturer(22610) == "A10 Networks"


def test_an_agent_or_an_unregistered_number_names_no_manufacturer() -> None:
    found = registry()
    assert found.manufacturer(8072) is None  # net-snmp is registered, but it is the agent
    assert found.manufacturer(0) is None
    assert found.manufacturer(55555) is None
    assert {0, 2021, 8072, 311} <= set(AGENT_ENTERPRISES)


def test_a_missing_registry_is_a_warning_and_no_manufacturer_never_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="inventory.snmp"):
        empty = load_registry(tmp_path / "enterprises.tsv")
    assert empty.problem is not None and "libwireshark-data" in empty.problem
    assert "enterprises.tsv" in caplog.text
    assert empty.manufacturer(318) is None  # the short names alone do not stand in for the registry


def test_a_registry_file_is_read_with_the_shipped_short_names(tmp_path: Path) -> None:
    path = tmp_path / "enterprises.tsv"
    path.write_text(REGISTRY_TEXT, encoding="utf-8")
    found = load_registry(path)
    assert found.problem is None
    assert (found.manufacturer(318), found.manufacturer(9), found.manufacturer(8072)) == ("APC", "Cisco", None)


def test_the_shipped_short_names_cover_a_hospitals_vendors_once_each() -> None:
    lines = [line for line in MANUFACTURERS_PATH.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]  # fmt: skip
    numbers = [line.split("\t", 1)[0] for line in lines]
    assert len(numbers) == len(set(numbers))
    short = parse_short_names(MANUFACTURERS_PATH.read_text(encoding="utf-8"))
    assert len(short) == len(lines)
    wanted = {"APC", "Cisco", "Eaton", "Vertiv", "Schneider Electric", "Dell", "HPE", "Lenovo", "Supermicro",
              "NetApp", "Synology", "QNAP", "Fortinet", "Palo Alto Networks", "Check Point", "Sophos", "Huawei",
              "Juniper", "Arista", "Aruba", "H3C", "Raritan", "ServerTech", "AKCP", "Riello", "Socomec",
              "Delta", "CyberPower", "Tripp Lite"}  # fmt: skip
    assert wanted <= set(short.values())
    assert not set(short) & set(AGENT_ENTERPRISES)


@pytest.mark.skipif(not REGISTRY_PATH.exists(), reason="libwireshark-data is not installed")
def test_every_shipped_short_name_is_for_a_number_the_system_registry_holds() -> None:
    found = load_registry()
    short = parse_short_names(MANUFACTURERS_PATH.read_text(encoding="utf-8"))
    assert [number for number in short if number not in found.registered] == []
    assert found.manufacturer(318) == "APC" and found.manufacturer(8072) is None
