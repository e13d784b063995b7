"""Host connection settings read from Ansible's variable names, and the host as JSON."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from inventory import Host, inventory_from_data
from opsctl.core.errors import ConfigError


def host(**variables: Any) -> Host:
    return Host(name="db1.example.org", vars=variables, groups=("all", "databases"))


def test_defaults_for_a_host_without_variables() -> None:
    bare = host()
    assert bare.address == "db1.example.org"
    assert bare.port is None
    assert bare.user is None
    assert bare.become is False
    assert bare.become_user is None
    assert bare.become_method == "sudo"
    assert bare.become_password is None
    assert bare.private_key_file is None
    assert bare.key_passphrase is None


def test_alias_connects_to_ansible_host_and_port() -> None:
    # the docs' alias example: "jumper" connects to 192.0.2.50 on port 5555
    jumper = host(ansible_port=5555, ansible_host="192.0.2.50")
    assert (jumper.address, jumper.port) == ("192.0.2.50", 5555)


@pytest.mark.parametrize(("value", "port"), [(22, 22), ("2222", 2222), (" 65535 ", 65535), (1, 1)])
def test_port_is_converted_to_an_int(value: object, port: int) -> None:
    assert host(ansible_port=value).port == port


@pytest.mark.parametrize("value", [0, 65536, -22, "ssh", "22.5", 22.0, True, [22]])
def test_invalid_port_is_a_config_error_naming_host_and_variable(value: object) -> None:
    with pytest.raises(
        ConfigError, match=r"host db1.example.org: ansible_port must be a port number 1..65535"
    ):
        _ = host(ansible_port=value).port


def test_ssh_prefixed_names_are_read_and_win_when_both_are_set_as_in_ansible() -> None:
    assert host(ansible_ssh_port=2200).port == 2200
    assert host(ansible_ssh_user="legacy").user == "legacy"
    # Ansible's ssh plugin lists ansible_port then ansible_ssh_port; the later one wins
    assert host(ansible_port=22, ansible_ssh_port=2200).port == 2200
    assert host(ansible_user="new", ansible_ssh_user="old").user == "old"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("yes", True),
        ("no", False),
        ("True", True),
        ("false", False),
        ("on", True),
        ("OFF", False),
        ("1", True),
        (0, False),
    ],
)
def test_become_reads_booleans_like_ansible(value: object, expected: bool) -> None:
    assert host(ansible_become=value).become is expected


def test_become_with_a_non_boolean_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ansible_become must be a boolean"):
        _ = host(ansible_become="sometimes").become


def test_become_settings() -> None:
    root = host(ansible_become=True, ansible_become_user="postgres", ansible_become_method="su")
    assert (root.become, root.become_user, root.become_method) == (True, "postgres", "su")


def test_become_password_is_a_reference_under_either_name() -> None:
    assert str(host(ansible_become_password="env:SUDO_PASS").become_password) == "env:SUDO_PASS"
    reference = host(ansible_become_pass="keyring:opsctl/sudo").become_password
    assert reference is not None
    assert (reference.scheme, reference.location) == ("keyring", "opsctl/sudo")


def test_a_literal_become_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as caught:
        _ = host(ansible_become_password="hunter2").become_password
    assert "ansible_become_password" in str(caught.value)
    assert "hunter2" not in str(caught.value)
    assert caught.value.hint is not None and "env:NAME" in caught.value.hint


def test_key_file_expands_home_and_reads_either_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/ops")
    assert host(ansible_ssh_private_key_file="~/.ssh/id_ed25519").private_key_file == Path(
        "/home/ops/.ssh/id_ed25519"
    )
    assert host(ansible_private_key_file="/etc/opsctl/key").private_key_file == Path(
        "/etc/opsctl/key"
    )


def test_key_passphrase_is_a_reference() -> None:
    assert str(host(opsctl_ssh_key_passphrase="file:/etc/opsctl/key.pass").key_passphrase) == (
        "file:/etc/opsctl/key.pass"
    )
    with pytest.raises(ConfigError, match="file reference needs an absolute path"):
        _ = host(opsctl_ssh_key_passphrase="file:key.pass").key_passphrase


def test_a_template_in_a_connection_variable_is_refused_at_use() -> None:
    with pytest.raises(ConfigError, match="ansible_host is a Jinja template"):
        _ = host(ansible_host="{{ inventory_hostname }}.mgmt").address


def test_to_dict_is_json_safe_with_references_as_text() -> None:
    inventory = inventory_from_data(
        {
            "databases": {
                "hosts": {
                    "db1:2222": {
                        "ansible_host": "10.0.0.5",
                        "ansible_user": "ops",
                        "ansible_become": "yes",
                        "ansible_become_password": "env:SUDO_PASS",
                        "opsctl_ssh_key_passphrase": "keyring:opsctl/key",
                        "installed": datetime.date(2024, 3, 1),
                        "tags": ("pg", "primary"),
                    }
                }
            }
        }
    )
    data = inventory.get("db1").to_dict()

    assert json.loads(json.dumps(data)) == data
    assert data == {
        "name": "db1",
        "address": "10.0.0.5",
        "port": 2222,
        "user": "ops",
        "become": True,
        "become_user": None,
        "become_method": "sudo",
        "become_password": "env:SUDO_PASS",
        "private_key_file": None,
        "key_passphrase": "keyring:opsctl/key",
        "groups": ["all", "databases"],
        "vars": {
            "ansible_port": 2222,
            "ansible_host": "10.0.0.5",
            "ansible_user": "ops",
            "ansible_become": "yes",
            "ansible_become_password": "env:SUDO_PASS",
            "opsctl_ssh_key_passphrase": "keyring:opsctl/key",
            "installed": "2024-03-01",
            "tags": ["pg", "primary"],
        },
    }


def test_hosts_are_hashable_and_compare_by_value() -> None:
    assert host(a=1) == host(a=1)
    assert host(a=1) != host(a=2)
    assert len({host(a=1), host(a=1)}) == 1
    with pytest.raises(AttributeError):
        host().name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(("variables", "ssh", "shell"), [
    ({}, True, True),
    ({"opsctl_snmp_version": "2c"}, True, True),  # SNMP as well does not take SSH away
    ({"opsctl_ssh": False}, False, False),
    ({"opsctl_ssh": "no"}, False, False),
    ({"opsctl_ssh": "yes", "ansible_network_os": "cisco_ios"}, True, False),  # a switch: logins, no shell
])
def test_ssh_and_shell_say_what_fleet_commands_can_do_on_a_host(
        variables: dict[str, Any], ssh: bool, shell: bool) -> None:
    host = Host("h", variables)
    assert (host.ssh, host.shell) == (ssh, shell)


def test_opsctl_ssh_must_be_a_boolean_and_the_error_names_host_and_variable() -> None:
    with pytest.raises(ConfigError, match="host ups-1: opsctl_ssh must be a boolean"):
        _ = Host("ups-1", {"opsctl_ssh": "sometimes"}).ssh
