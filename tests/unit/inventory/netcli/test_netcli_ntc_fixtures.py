"""Switch CLI parsing against real device outputs from ntc-templates' own test data
(tests/fixtures/cli, see its README): first the records ntc-templates itself expects, then the
typed identity, modules and interfaces opsctl builds from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from inventory.netcli import (
    PLATFORMS,
    DeviceIdentity,
    Platform,
    facts_from_outputs,
    identity_from,
    interfaces_from,
    modules_from,
    platform_for,
    records,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "cli"
RAW = sorted(FIXTURES.glob("*/*/*.raw"))


def _platform(ntc_platform: str) -> Platform:
    return next(p for p in PLATFORMS.values() if p.ntc_platform == ntc_platform)


def _command_of(path: Path) -> str:
    return path.parent.name.replace("_", " ")


def _raw(ntc_platform: str, command: str) -> str:
    folder = FIXTURES / ntc_platform / command.replace(" ", "_")
    return sorted(folder.glob("*.raw"))[0].read_text(encoding="utf-8")


def test_every_platform_and_command_in_use_has_a_real_output() -> None:
    missing = []
    for platform in set(PLATFORMS.values()):
        for command in (platform.version_command, platform.inventory_command, platform.interfaces_command):
            if command and not (FIXTURES / platform.ntc_platform / command.replace(" ", "_")).is_dir():
                missing.append(f"{platform.ntc_platform}: {command}")
    assert missing == []


@pytest.mark.parametrize("path", RAW, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_records_equal_what_ntc_templates_expects(path: Path) -> None:
    expected = yaml.safe_load(path.with_suffix(".yml").read_text(encoding="utf-8"))["parsed_sample"]
    platform = _platform(path.parts[-3])
    assert records(platform, _command_of(path), path.read_text(encoding="utf-8")) == expected


IDENTITIES = {
    "cisco_ios": DeviceIdentity("router1", "WS-C4948E", ("CAT1451S15C",), "12.2(54)SG1",
                                "2 years, 31 weeks, 6 days, 9 hours, 55 minutes"),
    "cisco_nxos": DeviceIdentity("N9K1", "C9396PX", ("SAL1819S6LU",), "6.1(2)I3(1)",
                                 "123 day(s), 5 hour(s), 15 minute(s), 19 second(s)"),
    "hp_procurve": DeviceIdentity("HP_Procurve-01", None, ("AB12CDE3FG",), "K.15.06.0017", "15 days"),
    "aruba_os": DeviceIdentity(None, None, (), "WC.16.05.0007", None),
    "aruba_aoscx": DeviceIdentity("6300", "JL665A 6300F 48G CL4 PoE 4SFP56 Sw", ("XXXXXXXXXX",),
                                  "FL.10.11.1021", "12 minutes"),
    "huawei": DeviceIdentity(None, "NE40E-X2-M8A", (), "VRP 8.180 NE40E V800R011C00SPC200",
                             "161 days, 0 hour, 20 minutes"),
    "juniper_junos": DeviceIdentity("lab", "mx240", ("qfsn-0123456789",), "13.3R1.4", None),
}


@pytest.mark.parametrize("device_type", sorted(IDENTITIES))
def test_identity_from_the_version_command(device_type: str) -> None:
    platform = platform_for(device_type)
    rows = records(platform, platform.version_command, _raw(platform.ntc_platform, platform.version_command))
    assert identity_from(platform, rows) == IDENTITIES[device_type]


# (device type, count, first module as (name, pid, serial)) straight from the fixtures' .yml
MODULES: list[tuple[str, int, tuple[str, Any, Any]]] = [
    ("cisco_ios", 4, ("3640 chassis", None, "FF1045C5")),
    ("cisco_nxos", 11, ("Chassis", "N9K-C9396PX", "SAL1819S6LU")),
    ("aruba_os", 3, ("system", "Aruba7210-US", "CV123ABC2")),
    ("aruba_aoscx", 8, ("1/1", "JL658A", "SG1ABCDEF1")),
    ("huawei", 23, ("slot 3", "CE-L24LQ-EC1", None)),
    ("juniper_junos", 13, ("Chassis", None, "A1111")),
]


@pytest.mark.parametrize(("device_type", "count", "first"), MODULES, ids=[m[0] for m in MODULES])
def test_modules_from_the_inventory_command(device_type: str, count: int, first: tuple[str, Any, Any]) -> None:
    platform = platform_for(device_type)
    assert platform.inventory_command is not None
    rows = records(platform, platform.inventory_command, _raw(platform.ntc_platform, platform.inventory_command))
    modules = modules_from(platform, rows)
    assert len(modules) == count
    assert (modules[0].name, modules[0].pid, modules[0].serial) == first


def test_junos_modules_are_named_like_the_device_names_them() -> None:
    platform = platform_for("juniper_junos")
    rows = records(platform, "show chassis hardware", _raw("juniper_junos", "show chassis hardware"))
    named = {(m.name, m.serial) for m in modules_from(platform, rows)}
    assert {("PS 0", "AJ00000"), ("PS 1", "AJ00001"), ("MID", "XXXX2118")} <= named


INTERFACES: list[tuple[str, int, tuple[str, Any, Any, Any]]] = [
    ("cisco_ios", 25, ("Gi1/0/2", "up", "up", "a-1000")),
    ("cisco_nxos", 73, ("Eth1/1", "down", "down", "auto")),
    ("hp_procurve", 52, ("2", "down", "up", "10FDx")),
    ("aruba_aoscx", 2, ("1/1/2", "up", "up", "1000 Mb/s")),
    ("huawei", 18, ("Eth-Trunk2", "up", "up", None)),
    ("juniper_junos", 8, ("ge-0/0/0", "up", "up", None)),
]


@pytest.mark.parametrize(("device_type", "count", "sample"), INTERFACES, ids=[i[0] for i in INTERFACES])
def test_interfaces_with_status_and_speed(device_type: str, count: int, sample: tuple[str, Any, Any, Any]) -> None:
    platform = platform_for(device_type)
    assert platform.interfaces_command is not None
    rows = records(platform, platform.interfaces_command,
                   _raw(platform.ntc_platform, platform.interfaces_command))
    interfaces = {i.name: i for i in interfaces_from(platform, rows)}
    assert len(interfaces) == count
    found = interfaces[sample[0]]
    assert (found.name, found.oper_status, found.admin_status, found.speed) == sample


def test_a_huawei_port_shut_down_by_the_operator_is_admin_down() -> None:
    platform = platform_for("huawei")
    rows = [{"interface": "GE0/0/1", "phy": "*down", "protocol": "down"}]
    (port,) = interfaces_from(platform, rows)
    assert (port.oper_status, port.admin_status) == ("down", "down")


def test_chassis_serial_and_model_fill_the_identity_when_the_version_has_none() -> None:
    platform = platform_for("aruba_os")
    outputs = {command: _raw("aruba_os", command) for command in ("show version", "show inventory")}
    facts = facts_from_outputs("ctrl1", platform, outputs, prompt_hostname="ctrl1")
    assert facts.identity == DeviceIdentity("ctrl1", "Aruba7210-US", ("CV123ABC2",), "WC.16.05.0007", None)
    assert facts.provenance["serials"] == "show inventory"
    assert facts.provenance["hostname"] == "prompt"
    assert facts.provenance["os_version"] == "show version"
