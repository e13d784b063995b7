"""Prometheus ``file_sd`` targets: the agents (only hosts that run one) and the SNMP devices, one group per host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inventory import inventory_from_data, load_inventory
from inventory.exports import get_exporter
from inventory.model import Inventory
from opsctl.core.errors import ConfigError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"


def _groups(format_name: str, inventory: Inventory) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = json.loads(str(get_exporter(format_name).export(inventory)))
    return groups


def _fleet() -> Inventory:
    """Servers running the agent, one server without it, a switch and a UPS read over SNMP."""
    return inventory_from_data(
        {
            "servers": {
                "hosts": {"web1": {"ansible_host": "192.0.2.11"}, "db1": {"ansible_host": "192.0.2.12"}},
                "vars": {"opsctl_agent": True},
            },
            "legacy": {"hosts": {"old1": {"ansible_host": "192.0.2.13"}}},
            "network": {
                "hosts": {
                    "sw1": {"ansible_host": "10.0.0.2", "ansible_network_os": "cisco.ios.ios",
                            "opsctl_snmp_version": "2c", "opsctl_snmp_community": "env:COMMUNITY"},
                    "ups1": {"ansible_host": "10.0.0.3", "opsctl_ssh": False, "opsctl_snmp_version": "2c",
                             "opsctl_snmp_community": "env:COMMUNITY", "opsctl_snmp_port": 1161},
                },
            },
        }
    )


def test_only_hosts_that_run_the_agent_are_agent_targets() -> None:
    groups = _groups("prometheus-file-sd", _fleet())
    assert groups == [
        {"targets": ["192.0.2.11:9101"], "labels": {"host": "web1", "groups": ",servers,"}},
        {"targets": ["192.0.2.12:9101"], "labels": {"host": "db1", "groups": ",servers,"}},
    ]


def test_snmp_devices_go_to_a_file_of_their_own_without_the_agent_port() -> None:
    groups = _groups("prometheus-snmp-file-sd", _fleet())
    assert groups == [
        {"targets": ["10.0.0.2"], "labels": {"host": "sw1", "groups": ",network,"}},
        {"targets": ["10.0.0.3:1161"], "labels": {"host": "ups1", "groups": ",network,"}},
    ]


def test_the_hospital_switches_are_no_agent_targets() -> None:
    inventory = load_inventory(FIXTURES / "hospital" / "inventory.yml")
    assert "core-sw1" in inventory.hosts
    assert _groups("prometheus-file-sd", inventory) == []


def test_opsctl_agent_false_and_labels_of_a_host_in_several_groups() -> None:
    inventory = inventory_from_data(
        {
            "web": {"hosts": {"h1": {"opsctl_agent": "yes"}, "h2": {"opsctl_agent": False}}},
            "prod": {"hosts": {"h1": None}},
        }
    )
    assert _groups("prometheus-file-sd", inventory) == [
        {"targets": ["h1:9101"], "labels": {"host": "h1", "groups": ",prod,web,"}}
    ]


def test_the_agent_port_variable_and_ipv6_addresses() -> None:
    inventory = inventory_from_data(
        {
            "agents": {
                "hosts": {"v6": {"ansible_host": "2001:db8::5"}, "custom": None},
                "vars": {"opsctl_agent_port": 9200, "opsctl_agent": True},
            }
        }
    )
    assert [group["targets"] for group in _groups("prometheus-file-sd", inventory)] == [
        ["[2001:db8::5]:9200"],
        ["custom:9200"],
    ]


def test_a_bad_agent_port_or_agent_flag_names_the_host() -> None:
    bad_port = inventory_from_data(
        {"all": {"hosts": {"h1": {"opsctl_agent": True, "opsctl_agent_port": "http"}}}}
    )
    with pytest.raises(ConfigError, match="host h1: opsctl_agent_port"):
        get_exporter("prometheus-file-sd").export(bad_port)
    bad_flag = inventory_from_data({"all": {"hosts": {"h2": {"opsctl_agent": "maybe"}}}})
    with pytest.raises(ConfigError, match="host h2: opsctl_agent must be a boolean"):
        get_exporter("prometheus-file-sd").export(bad_flag)
