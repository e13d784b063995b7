"""Prometheus ``file_sd`` targets: one group per host, the agent port, host and group labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inventory import inventory_from_data, load_inventory
from inventory.exports import get_exporter
from opsctl.core.errors import ConfigError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"


def test_one_target_group_per_host_with_address_port_and_labels() -> None:
    inventory = load_inventory(FIXTURES / "hospital" / "inventory.yml")
    groups = json.loads(str(get_exporter("prometheus-file-sd").export(inventory)))
    assert len(groups) == len(inventory.hosts)
    by_host = {group["labels"]["host"]: group for group in groups}
    assert by_host["bastion.dc.hospital.example"] == {
        "targets": ["192.0.2.10:9101"],
        "labels": {"host": "bastion.dc.hospital.example", "groups": ""},
    }
    assert (
        by_host["pacs02.dc.hospital.example"]["labels"]["groups"] == ",databases,linux,pacs,prod,"
    )
    assert by_host["core-sw1"]["targets"] == ["10.10.0.2:9101"]


def test_the_agent_port_variable_and_ipv6_addresses() -> None:
    inventory = inventory_from_data(
        {
            "agents": {
                "hosts": {"v6": {"ansible_host": "2001:db8::5"}, "custom": None},
                "vars": {"opsctl_agent_port": 9200},
            }
        }
    )
    groups = json.loads(str(get_exporter("prometheus-file-sd").export(inventory)))
    assert [group["targets"] for group in groups] == [["[2001:db8::5]:9200"], ["custom:9200"]]


def test_a_bad_agent_port_names_the_host() -> None:
    inventory = inventory_from_data({"all": {"hosts": {"h1": {"opsctl_agent_port": "http"}}}})
    with pytest.raises(ConfigError, match="host h1: opsctl_agent_port"):
        get_exporter("prometheus-file-sd").export(inventory)
