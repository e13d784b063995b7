"""The shared contract every registered inventory source passes: it loads its example, refuses a missing path and a literal credential."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from inventory import Inventory
from inventory.sources import InventorySource, detect, get_source, sources
from opsctl.core.errors import ConfigError, UsageError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"
CANARY = "hunter2-canary-literal"


@dataclass(frozen=True)
class ContractCase:
    """A source's example (path and the hosts it holds) and a writer of an inventory with a literal password."""

    example: Path
    hosts: frozenset[str]
    write_literal_password: Callable[[Path], Path]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _nornir_literal(directory: Path) -> Path:
    _write(directory / "hosts.yaml", f"sw1:\n  hostname: 10.0.0.1\n  password: {CANARY}\n")
    return directory


CASES: dict[str, ContractCase] = {
    "ansible-yaml": ContractCase(
        FIXTURES / "docs_network" / "inventory.yml",
        frozenset({"leaf01", "leaf02", "spine01", "spine02", "webserver01", "webserver02"}),
        lambda tmp: _write(
            tmp / "inventory.yml", f"all:\n  hosts:\n    web1:\n      ansible_password: {CANARY}\n"
        ),
    ),
    "ansible-ini": ContractCase(
        FIXTURES / "ini_docs" / "network.ini",
        frozenset({"leaf01", "leaf02", "spine01", "spine02", "webserver01", "webserver02"}),
        lambda tmp: _write(tmp / "inventory.ini", f"[web]\nweb1 ansible_password={CANARY}\n"),
    ),
    "ansible-json": ContractCase(
        FIXTURES / "dynamic_docs" / "list.json",
        frozenset({"host001", "host002", "host003", "host004"}),
        lambda tmp: _write(
            tmp / "list.json",
            json.dumps(
                {
                    "web": {"hosts": ["web1"]},
                    "_meta": {"hostvars": {"web1": {"ansible_password": CANARY}}},
                }
            ),
        ),
    ),
    "nornir": ContractCase(
        FIXTURES / "nornir_docs",
        frozenset({"host1.cmh", "host2.cmh", "spine00.cmh", "leaf00.bma", "edge-1"}),
        _nornir_literal,
    ),
    "opsctl-json": ContractCase(
        FIXTURES / "opsctl_json_docs" / "inventory.json",
        frozenset({"leaf01", "leaf02", "spine01", "spine02", "webserver01", "webserver02"}),
        lambda tmp: _write(
            tmp / "inventory.json",
            json.dumps(
                {
                    "schema": "opsctl.inventory/v1",
                    "groups": [{"name": "web", "hosts": ["web1"]}],
                    "hosts": [{"name": "web1", "vars": {"ansible_password": CANARY}}],
                }
            ),
        ),
    ),
}

SOURCE_NAMES = [source.name for source in sources()]


def _case(source: InventorySource) -> ContractCase:
    case = CASES.get(source.name)
    if case is None:
        pytest.fail(f"source {source.name} has no contract case: add its example to CASES")
    return case


def test_every_built_in_format_is_registered() -> None:
    assert set(CASES) <= set(SOURCE_NAMES)


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_satisfies_the_protocol_and_is_found_by_name(name: str) -> None:
    source = get_source(name)
    assert isinstance(source, InventorySource)
    assert source.name == name


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_loads_its_example_with_the_expected_hosts(name: str) -> None:
    source = get_source(name)
    case = _case(source)
    inventory = source.load(case.example)
    assert isinstance(inventory, Inventory)
    assert set(inventory.hosts) == case.hosts
    # every host is in all, and in ungrouped exactly when it is in no other group
    assert set(inventory.hosts_of("all")) == case.hosts
    for host in inventory.hosts.values():
        assert host.groups[0] == "all"
        assert ("ungrouped" in host.groups) == (set(host.groups) <= {"all", "ungrouped"})
        for group in host.groups:
            assert host.name in inventory.hosts_of(group)


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_detect_picks_this_source_for_its_example(name: str) -> None:
    assert detect(_case(get_source(name)).example).name == name


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_a_missing_path_raises_config_error_naming_it(name: str, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "inventory"
    with pytest.raises(ConfigError) as raised:
        get_source(name).load(missing)
    assert str(missing) in str(raised.value)


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_a_literal_password_is_refused_without_repeating_it(name: str, tmp_path: Path) -> None:
    path = _case(get_source(name)).write_literal_password(tmp_path)
    with pytest.raises(ConfigError) as raised:
        get_source(name).load(path)
    message = f"{raised.value} {raised.value.hint}"
    assert CANARY not in message
    assert "reference" in message
    assert str(path) in message or str(path.parent) in message


def test_an_unknown_source_name_is_a_usage_error_listing_the_known() -> None:
    with pytest.raises(UsageError) as raised:
        get_source("no-such-format")
    assert "ansible-ini" in (raised.value.hint or "")
