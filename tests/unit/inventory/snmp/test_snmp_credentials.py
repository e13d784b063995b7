"""SNMP credentials both ways in one module: inventory variables and discovery settings in, the client's
credentials out; and back to variables and settings for what the lab publishes. Secrets by reference only."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.model import Host
from inventory.settings import DiscoverySettings, SnmpCredentialSettings
from inventory.snmp.credentials import (
    SnmpCredentialSet,
    credential_set_of_host,
    credential_set_of_settings,
    credential_set_of_variables,
    credential_sets_in_variables,
    host_variables_of,
    settings_entry_of,
    snmp_access,
)
from lab.layout import LabLayout
from lab.snmp.credentials import lab_v3_credentials, snmp_group_vars
from opsctl.core.errors import ConfigError, SecretError
from opsctl.core.secrets import SecretRef


def _secret(tmp_path: Path, name: str, value: str) -> str:
    path = tmp_path / name
    path.write_text(value + "\n")
    path.chmod(0o600)
    return f"file:{path}"


def test_a_v3_host_resolves_at_use_and_its_variables_come_back_unchanged(tmp_path: Path) -> None:
    variables = {
        "opsctl_snmp_version": "3", "opsctl_snmp_v3_user": "ops",
        "opsctl_snmp_v3_auth_key": _secret(tmp_path, "auth", "auth-passphrase"),
        "opsctl_snmp_v3_auth_protocol": "SHA256",
        "opsctl_snmp_v3_priv_key": _secret(tmp_path, "priv", "priv-passphrase"),
        "opsctl_snmp_v3_priv_protocol": "AES",
        "opsctl_snmp_context": "vlan-10",
    }
    host = Host("ups-1", {"ansible_host": "192.0.2.9", "opsctl_snmp_port": "1161", **variables})
    credential_set = credential_set_of_host(host)
    assert host_variables_of(credential_set) == variables
    target, credentials = snmp_access(host)
    assert (target.host, target.port) == ("192.0.2.9", 1161)
    assert (credentials.user, credentials.auth_key, credentials.priv_key) == ("ops", "auth-passphrase", "priv-passphrase")
    assert (credentials.auth_protocol, credentials.context_name) == ("SHA256", "vlan-10")
    for shown in (repr(credential_set), repr(credentials), str(host_variables_of(credential_set))):
        assert "passphrase" not in shown


def test_a_configured_credential_set_becomes_the_same_discovery_entry_again(tmp_path: Path) -> None:
    entries = [
        {"community": _secret(tmp_path, "community", "c0mmunity")},
        {"version": "3", "user": "ops", "auth_key": "env:AUTH", "auth_protocol": "SHA",
         "priv_key": "env:PRIV", "priv_protocol": "AES"},
    ]
    discovery = DiscoverySettings.model_validate({"snmp": entries})
    sets = [credential_set_of_settings(entry) for entry in discovery.snmp]
    assert [settings_entry_of(credential_set) for credential_set in sets] == entries
    assert SnmpCredentialSettings.model_validate(settings_entry_of(sets[1])) == discovery.snmp[1]
    assert sets[0].resolve().community == "c0mmunity"


@pytest.mark.parametrize(("variables", "problem"), [
    ({"opsctl_snmp_version": "1"}, "host dev: opsctl_snmp_version must be 2c or 3"),
    ({"opsctl_snmp_version": "2c"}, "host dev: opsctl_snmp_community is not set"),
    ({"opsctl_snmp_version": "3"}, "host dev: opsctl_snmp_v3_user is not set"),
    ({"opsctl_snmp_version": "v2c", "opsctl_snmp_community": "literal-s3cret"},
     "host dev: opsctl_snmp_community expected a secret reference"),
])
def test_an_unusable_variable_is_named_and_its_value_never_repeated(variables: dict[str, str], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        credential_set_of_variables("dev", variables)
    assert str(caught.value).startswith(problem)
    assert "literal-s3cret" not in str(caught.value)


def test_a_bad_port_is_named_before_the_credentials_are_read() -> None:
    with pytest.raises(ConfigError, match="host dev: opsctl_snmp_port must be a port number"):
        snmp_access(Host("dev", {"opsctl_snmp_version": "2c", "opsctl_snmp_port": "snmp"}))


def test_an_unreadable_secret_names_its_reference(tmp_path: Path) -> None:
    credential_set = SnmpCredentialSet("2c", community=SecretRef("file", str(tmp_path / "missing")))
    with pytest.raises(SecretError, match="missing"):
        credential_set.resolve()


def test_variables_may_hold_a_community_and_a_v3_user_at_once() -> None:
    variables = {"opsctl_snmp_version": "3", "opsctl_snmp_community": "file:/lab/community",
                 "opsctl_snmp_v3_user": "opsctl-lab", "opsctl_snmp_v3_auth_key": "file:/lab/auth"}
    v2c, v3 = credential_sets_in_variables("snmpd", variables)
    assert (v2c.version, str(v2c.community)) == ("2c", "file:/lab/community")
    assert credential_set_of_variables("snmpd", variables) == v3
    assert (v3.user, str(v3.auth_key), v3.priv_key) == ("opsctl-lab", "file:/lab/auth", None)


def test_the_lab_publishes_its_v3_user_as_the_scan_reads_it(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    group_vars = snmp_group_vars(layout)
    assert group_vars["opsctl_ssh"] is False and "opsctl_snmp_version" not in group_vars  # each agent gives its own
    read_back = credential_set_of_variables("agent", {**group_vars, "opsctl_snmp_version": "3"})
    assert read_back == lab_v3_credentials(layout)
    assert str(read_back.auth_key) == f"file:{layout.snmp_v3_auth_key}"


def test_snmp_secret_problems_name_every_device_whose_reference_does_not_resolve(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from inventory.snmp.credentials import snmp_secret_problems

    monkeypatch.delenv("OPSCTL_TEST_UNSET_PRIV", raising=False)
    good = Host("good", {"opsctl_snmp_version": "2c", "opsctl_snmp_community": _secret(tmp_path, "c", "s3cret-c")})
    missing = Host("missing", {"opsctl_snmp_version": "2c", "opsctl_snmp_community": f"file:{tmp_path}/none"})
    unset = Host("unset", {"opsctl_snmp_version": "3", "opsctl_snmp_v3_user": "ops",
                           "opsctl_snmp_v3_auth_key": _secret(tmp_path, "a", "s3cret-auth"),
                           "opsctl_snmp_v3_priv_key": "env:OPSCTL_TEST_UNSET_PRIV"})
    no_user = Host("no-user", {"opsctl_snmp_version": "3"})  # fails alone in the scan, as before
    assert snmp_secret_problems([good, no_user]) == []
    message = "; ".join(snmp_secret_problems([good, missing, unset, no_user]))
    assert f"missing: secret file:{tmp_path}/none: cannot read" in message
    assert "unset: secret env:OPSCTL_TEST_UNSET_PRIV: environment variable" in message
    assert "good" not in message and "no-user" not in message and "s3cret" not in message
