"""Subnet sweeps: which addresses a CIDR gives, the configured credential sets, and the hosts a sweep makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from inventory.model import Host
from inventory.settings import DiscoverySettings
from inventory.snmp.credentials import SnmpCredentialSet, host_variables_of
from inventory.sweep import (
    SweepAnswer,
    SweepCredential,
    SweepResult,
    hosts_from_sweep,
    subnet_addresses,
    sweep_credentials,
)
from opsctl.core.errors import ConfigError, SecretError, UsageError
from opsctl.core.secrets import SecretRef
from opsctl.core.settings import Settings


def test_an_ipv4_subnet_gives_its_host_addresses_without_network_and_broadcast() -> None:
    assert subnet_addresses("10.20.0.0/29", limit=100) == [f"10.20.0.{n}" for n in range(1, 7)]


def test_host_bits_are_accepted_as_the_subnet_they_belong_to() -> None:
    assert subnet_addresses("10.20.0.5/30", limit=100) == ["10.20.0.5", "10.20.0.6"]


@pytest.mark.parametrize(("cidr", "expected"), [
    ("10.1.1.1/32", ["10.1.1.1"]),
    ("10.1.1.0/31", ["10.1.1.0", "10.1.1.1"]),
    ("2001:db8::/126", ["2001:db8::1", "2001:db8::2", "2001:db8::3"]),
])
def test_small_subnets_keep_every_usable_address(cidr: str, expected: list[str]) -> None:
    assert subnet_addresses(cidr, limit=100) == expected


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "ten.0.0.0/8", "", "10.0.0.0/8/8"])
def test_text_that_is_no_subnet_is_a_usage_error_naming_it(cidr: str) -> None:
    with pytest.raises(UsageError, match="expected a subnet"):
        subnet_addresses(cidr, limit=100)


def test_a_subnet_over_the_limit_is_refused_before_any_packet() -> None:
    with pytest.raises(UsageError, match=r"10\.0\.0\.0/16 holds 65534 addresses, more than the 4096 allowed"):
        subnet_addresses("10.0.0.0/16", limit=4096)


def test_a_sweep_without_credentials_says_where_to_configure_them() -> None:
    with pytest.raises(ConfigError, match=r"discovery\.snmp has none") as caught:
        sweep_credentials(DiscoverySettings())
    assert caught.value.hint is not None and "opsctl.yaml" in caught.value.hint


def test_credentials_resolve_by_reference_and_keep_references_for_host_vars(tmp_path: Path) -> None:
    community = tmp_path / "community"
    community.write_text("s3cret-community\n")
    key = tmp_path / "key"
    key.write_text("authpass-12345")
    discovery = DiscoverySettings.model_validate({"snmp": [
        {"community": f"file:{community}"},
        {"version": "3", "user": "ops", "auth_key": f"file:{key}", "priv_key": f"file:{key}", "priv_protocol": "aes"},
    ]})
    v2c, v3 = sweep_credentials(discovery)
    assert v2c.credentials.community == "s3cret-community"
    assert host_variables_of(v2c.credential_set) == {
        "opsctl_snmp_version": "2c", "opsctl_snmp_community": f"file:{community}"}
    assert v3.credentials.user == "ops" and v3.credentials.priv_protocol == "AES"
    assert host_variables_of(v3.credential_set)["opsctl_snmp_v3_priv_key"] == f"file:{key}"
    assert v2c.label == "discovery.snmp[0] (v2c)"
    assert v3.label == "discovery.snmp[1] (v3 user ops (authPriv SHA/AES))"
    for credential in (v2c, v3):
        assert "s3cret" not in repr(credential) and "authpass" not in repr(credential)


def test_an_unreadable_secret_names_the_reference_not_a_value(tmp_path: Path) -> None:
    discovery = DiscoverySettings.model_validate({"snmp": [{"community": f"file:{tmp_path}/missing"}]})
    with pytest.raises(SecretError, match="missing"):
        sweep_credentials(discovery)


@pytest.mark.parametrize(("entry", "problem"), [
    ({"version": "2c"}, "needs community"),
    ({"version": "3"}, "needs user"),
    ({"version": "3", "user": "ops", "priv_key": "env:X"}, "needs auth_key"),
    ({"community": "public"}, "secret reference"),
    ({"version": "1", "community": "env:X"}, "version"),
])
def test_a_bad_credential_set_is_refused_by_the_settings(entry: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings.model_validate({"discovery": {"snmp": [entry]}})


def _answer(address: str, credential: SweepCredential) -> SweepAnswer:
    return SweepAnswer(address, credential, "1.3.6.1.4.1.8072.3.2.10")


def test_answering_addresses_become_hosts_named_by_address_or_by_a_known_snmp_host() -> None:
    from inventory.snmp.client import SnmpCredentials

    credential = SweepCredential("discovery.snmp[0] (v2c)", SnmpCredentialSet("2c", community=SecretRef("env", "C")),
                                 SnmpCredentials.v2c("x"))
    result = SweepResult("10.0.0.0/29", 11161, 6, (_answer("10.0.0.1", credential), _answer("10.0.0.2", credential),
                                                    _answer("10.0.0.3", credential)))
    known = [
        Host("ups-1", {"ansible_host": "10.0.0.2", "opsctl_snmp_version": "3", "opsctl_snmp_port": 11161}),
        # an SSH host at an answering address keeps its own identity: the sweep names the agent by address
        Host("web1", {"ansible_host": "10.0.0.1"}),
        # another port is another agent
        Host("pdu-1", {"ansible_host": "10.0.0.3", "opsctl_snmp_version": "2c"}),
    ]
    hosts = hosts_from_sweep(result, known)
    assert [host.name for host in hosts] == ["10.0.0.1", "ups-1", "10.0.0.3"]
    assert hosts[1] is known[0]
    assert hosts[0].vars == {"ansible_host": "10.0.0.1", "opsctl_snmp_version": "2c",
                             "opsctl_snmp_community": "env:C", "opsctl_snmp_port": 11161}
    assert hosts[0].address == "10.0.0.1"


def test_the_summary_counts_what_answered_and_what_refused() -> None:
    result = SweepResult("10.0.0.0/24", 161, 254, (), (("10.0.0.9", "discovery.snmp[0] (v3 user ops): auth_failed"),))
    assert result.summary == ("swept 254 addresses of 10.0.0.0/24 (port 161): 0 answered SNMP, "
                              "1 refused every credential set")
    assert result.to_dict()["refused"] == [{"address": "10.0.0.9",
                                            "message": "discovery.snmp[0] (v3 user ops): auth_failed"}]
