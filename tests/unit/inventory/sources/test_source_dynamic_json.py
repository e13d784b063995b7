"""Saved ``--list`` documents of dynamic-inventory scripts, read as Ansible's script plugin reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inventory.sources.dynamic_json import inventory_from_listing
from opsctl.core.errors import ConfigError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"


def test_the_docs_example_gives_groups_children_and_hostvars() -> None:
    path = FIXTURES / "dynamic_docs" / "list.json"
    inventory = inventory_from_listing(json.loads(path.read_text()), source=str(path))
    assert inventory.hosts_of("group001") == ("host001", "host002", "host003", "host004")
    assert dict(inventory.hosts["host001"].vars) == {"var1": True, "var001": "value"}
    # group002's hosts inherit group001's vars through the parent link
    assert dict(inventory.hosts["host004"].vars) == {"var1": True, "var2": 500}


def test_legacy_forms_and_ignored_hostvars() -> None:
    listing: dict[str, Any] = {
        "web": ["w1", "w2"],  # a bare list is the group's hosts
        "_meta": {"hostvars": {"w1": {"a": 1}, "stranger": {"b": 2}}},
    }
    inventory = inventory_from_listing(listing, source="<test>")
    assert list(inventory.hosts) == ["w1", "w2"]  # hostvars of a host no group lists are ignored
    assert dict(inventory.hosts["w1"].vars) == {"a": 1}


@pytest.mark.parametrize(
    ("listing", "key_path"),
    [
        ({"web": {"hosts": "w1"}}, "web.hosts"),
        ({"web": {"hosts": ["w1"], "vars": []}}, "web.vars"),
        ({"web": {"hosts": ["w[1:3]"]}}, "web.hosts"),
        ({"_meta": {"hostvars": []}}, "_meta.hostvars"),
        ({"web": {"hosts": ["w1"]}, "_meta": {"hostvars": {"w1": "x"}}}, "_meta.hostvars.w1"),
    ],
)
def test_malformed_documents_name_the_key_path(listing: Any, key_path: str) -> None:
    with pytest.raises(ConfigError) as raised:
        inventory_from_listing(listing, source="list.json")
    assert str(raised.value).startswith(f"list.json: {key_path}:")


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    from inventory.sources import get_source

    path = tmp_path / "list.json"
    path.write_text('{\n  "web": {\n    "hosts": [,]\n  }\n}\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        get_source("ansible-json").load(path)
    assert f"{path}:3" in str(raised.value)
