"""Nornir SimpleInventory: fields mapped to Ansible variables, Nornir's resolution order, errors with file, line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.sources.nornir import load_nornir_inventory
from opsctl.core.errors import ConfigError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"


def test_fields_map_to_ansible_variables_and_nornir_resolution_wins() -> None:
    inventory = load_nornir_inventory(FIXTURES / "nornir_docs")
    leaf = inventory.hosts["leaf00.bma"]
    assert leaf.address == "127.0.0.1" and leaf.port == 12443
    assert leaf.vars["ansible_network_os"] == "eos"  # the host's platform beats nothing else
    # groups [bma, eu]: bma lists eu then global, so eu's asn (65100) wins over global's (1)
    assert leaf.vars["asn"] == 65100
    assert leaf.vars["domain"] == "global.local"  # a group's beats the defaults'
    assert leaf.user == "admin"  # from the defaults
    assert str(leaf.to_dict()["vars"]["ansible_password"]) == "env:NORNIR_DEFAULT_PASSWORD"
    host1 = inventory.hosts["host1.cmh"]
    assert host1.user == "vagrant"
    assert host1.vars["ansible_network_os"] == "linux"
    assert host1.vars["nested_data"]["a_dict"] == {"a": 1, "b": 2}
    assert inventory.hosts["edge-1"].groups == ("all", "ungrouped")
    # Ansible's order: a group's own hosts, then its children's, breadth first
    assert inventory.hosts_of("global") == ("leaf00.bma", "host1.cmh", "host2.cmh", "spine00.cmh")
    assert inventory.groups["global"].children == ("bma", "cmh")


def test_a_hosts_file_path_finds_its_groups_and_defaults() -> None:
    inventory = load_nornir_inventory(FIXTURES / "nornir_docs" / "hosts.yaml")
    assert inventory.hosts["edge-1"].vars["domain"] == "acme.local"


@pytest.mark.parametrize(
    ("hosts", "groups", "file_name", "line", "words"),
    [
        (
            "sw1:\n  hostname: 10.0.0.1\n  pasword: env:X\n",
            "",
            "hosts.yaml",
            3,
            "sw1.pasword: unknown Nornir field",
        ),
        ("sw1:\n  groups: [nosuch]\n", "", "hosts.yaml", 2, "sw1.groups: group nosuch"),
        ("sw1:\n  port: 70000\n", "", "hosts.yaml", 2, "sw1.port: must be a port"),
        ("sw1: {}\n", "g:\n  password: plain\n", "groups.yaml", 2, "g.password"),
        (
            "sw1:\n  data:\n    ansible_become_password: plain\n",
            "",
            "hosts.yaml",
            3,
            "sw1.data.ansible_become_password",
        ),
        ("sw1:\n  groups: [a]\n", "a:\n  groups: [b]\n", "groups.yaml", 2, "a.groups: group b"),
        ("- sw1\n", "", "hosts.yaml", None, "must be a mapping"),
    ],
)
def test_errors_name_file_line_and_key_path(
    tmp_path: Path, hosts: str, groups: str, file_name: str, line: int | None, words: str
) -> None:
    (tmp_path / "hosts.yaml").write_text(hosts, encoding="utf-8")
    if groups:
        (tmp_path / "groups.yaml").write_text(groups, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_nornir_inventory(tmp_path)
    where = str(tmp_path / file_name) + (f":{line}" if line is not None else "")
    assert str(raised.value).startswith(where)
    assert words in str(raised.value)
    assert "plain" not in str(raised.value)


@pytest.mark.parametrize(
    "hosts",
    [
        "sw1:\n  hostname: 10.0.0.1\n  data:\n    ansible_host: 10.0.0.2\n",
        "sw1:\n  data:\n    ansible_host: 10.0.0.2\n  hostname: 10.0.0.1\n",
    ],
)
def test_a_field_and_a_data_key_for_the_same_variable_are_refused(
    tmp_path: Path, hosts: str
) -> None:
    (tmp_path / "hosts.yaml").write_text(hosts, encoding="utf-8")
    with pytest.raises(ConfigError, match="keep one"):
        load_nornir_inventory(tmp_path)
