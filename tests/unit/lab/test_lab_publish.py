"""The published inventory, known_hosts, fingerprints and config file (rendered, not run)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from inventory.settings import discovery_settings
from lab.errors import LabNotPublished
from lab.layout import LabLayout
from lab.publish import (
    HostKeys,
    PublishedDevice,
    config_document,
    fingerprints_document,
    inventory_document,
    publish,
    read_publication,
    render_known_hosts,
    render_yaml,
)
from lab.ssh.keys import parse_public_key
from opsctl.core.settings import Settings

ED25519 = parse_public_key(
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIMdZcpU4k48CK7UCppQP8LZQJap84eGyAT11dobFJnn"
)
ED25519_FINGERPRINT = "SHA256:L9nrrg0QfWJliqd3eQLyY4P2SnqkzK1D6AI2om7tLvg"


def _hosts(count: int) -> list[HostKeys]:
    return [
        HostKeys(f"lab-ssh-{n:02d}", f"127.3.10.{n}", 2222, (ED25519,)) for n in range(1, count + 1)
    ]


def _parse(text: str) -> dict[str, object]:
    data = YAML(typ="safe", pure=True).load(io.StringIO(text))
    assert isinstance(data, dict)
    return data


def test_inventory_groups_hosts_and_refers_to_secret_files(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    text = render_yaml(
        inventory_document(_hosts(5), user="opsctl-lab", layout=layout), header="test"
    )
    group = _parse(text)["all"]["children"]["ssh_hosts"]  # type: ignore[index]
    assert group["hosts"]["lab-ssh-03"] == {
        "ansible_host": "127.3.10.3",
        "ansible_port": 2222,
        # each host's agent: its own directory and port, on its own address (lab/agents.py)
        "opsctl_agent_dir": str(layout.root / "agents" / "lab-ssh-03"),
        "opsctl_agent_port": 19103,
        "opsctl_agent_bind": "127.3.10.3",
        "opsctl_agent_textfile_dir": str(layout.root / "agents" / "lab-ssh-03" / "textfile"),
    }
    assert list(group["children"]["web"]["hosts"]) == ["lab-ssh-01", "lab-ssh-03", "lab-ssh-05"]
    assert list(group["children"]["db"]["hosts"]) == ["lab-ssh-02", "lab-ssh-04"]
    assert group["vars"] == {
        "ansible_user": "opsctl-lab",
        "ansible_ssh_private_key_file": str(layout.client_key),
        "opsctl_ssh_key_passphrase": f"file:{layout.key_passphrase}",
        "ansible_become_password": f"file:{layout.sudo_password}",
        "opsctl_site": "lab",
        "opsctl_building": "Lab building",
        "opsctl_room": "Server room",
    }
    assert group["children"]["db"]["vars"]["opsctl_backup_policy"] == "postgres-nightly"
    assert group["children"]["web"]["vars"]["opsctl_clinical_criticality"] == "high"


def test_known_hosts_has_one_line_per_host_key_under_its_name_and_address() -> None:
    text = render_known_hosts(_hosts(2))
    assert text.splitlines() == [
        f"[lab-ssh-01]:2222,[127.3.10.1]:2222 ssh-ed25519 {ED25519.blob}",
        f"[lab-ssh-02]:2222,[127.3.10.2]:2222 ssh-ed25519 {ED25519.blob}",
    ]


def test_a_device_line_is_filed_under_its_name_too() -> None:
    from lab.publish import named_known_hosts_line

    assert named_known_hosts_line("sw1", "[127.3.30.1]:22022 ssh-rsa AAAA") == \
        "[sw1]:22022,[127.3.30.1]:22022 ssh-rsa AAAA"
    assert named_known_hosts_line("sw1", "10.0.0.1 ssh-rsa AAAA") == "sw1,10.0.0.1 ssh-rsa AAAA"
    assert named_known_hosts_line("sw1", "sw1,10.0.0.1 ssh-rsa AAAA") == "sw1,10.0.0.1 ssh-rsa AAAA"


def test_fingerprints_document_shape() -> None:
    assert fingerprints_document(_hosts(1)) == {
        "lab-ssh-01": {"address": "127.3.10.1", "port": 2222, "fingerprints": [ED25519_FINGERPRINT]}
    }


def test_fingerprints_list_switches_after_the_hosts_and_the_lab_hosts_stay_the_ssh_hosts(tmp_path: Path) -> None:
    switch = PublishedDevice(group="switches", name="lab-switch-01", host_vars={}, device={
        "kind": "fake-switch", "address": "127.3.30.1", "port": 22022, "ssh_fingerprints": ["SHA256:abc"]})
    snmp = PublishedDevice(group="snmp_agents", name="lab-snmpd", host_vars={}, device={"kind": "snmpd"})
    document = fingerprints_document(_hosts(1), [switch, snmp])
    assert list(document) == ["lab-ssh-01", "lab-switch-01"]
    assert document["lab-switch-01"] == {"address": "127.3.30.1", "port": 22022,
                                         "fingerprints": ["SHA256:abc"], "kind": "fake-switch"}
    layout = LabLayout(tmp_path / "lab")
    layout.root.mkdir(parents=True)
    layout.fingerprints.write_text(json.dumps(document))
    assert [host.name for host in read_publication(layout).hosts] == ["lab-ssh-01"]


def test_config_file_is_a_valid_opsctl_configuration(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    data = _parse(render_yaml(config_document(layout), header="test"))
    assert Settings.model_validate(data).inventory == layout.inventory


def test_config_file_gives_discovery_every_snmp_credential_set_of_the_lab(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    v3 = {"opsctl_snmp_v3_user": "opsctl-lab", "opsctl_snmp_v3_auth_protocol": "SHA",
          "opsctl_snmp_v3_auth_key": "file:/lab/auth", "opsctl_snmp_v3_priv_protocol": "AES",
          "opsctl_snmp_v3_priv_key": "file:/lab/priv"}

    def agent(name: str, community: str) -> PublishedDevice:
        return PublishedDevice(group="snmp_agents", name=name, device={}, group_vars=v3, host_vars={
            "ansible_host": "127.3.20.1", "opsctl_snmp_port": 11161, "opsctl_snmp_version": "2c",
            "opsctl_snmp_community": community})

    devices = [agent("snmpd", "file:/lab/community"), agent("ups", "file:/lab/ups"),
               agent("pdu", "file:/lab/community"),
               PublishedDevice(group="switches", name="sw1", device={}, host_vars={"ansible_network_os": "cisco_ios"})]
    settings = Settings.model_validate(_parse(render_yaml(config_document(layout, devices), header="test")))
    discovery = discovery_settings(settings)
    assert discovery.snmp_port == 11161
    assert [str(c.community) for c in discovery.snmp if c.version == "2c"] == [
        "file:/lab/community", "file:/lab/ups"]
    last = discovery.snmp[-1]
    assert (last.version, last.user, str(last.auth_key), str(last.priv_key)) == (
        "3", "opsctl-lab", "file:/lab/auth", "file:/lab/priv")
    assert "discovery" not in config_document(layout, devices[3:])


def test_publish_then_read_back_without_secret_values(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    layout.secrets_dir.mkdir(parents=True)
    layout.sudo_password.write_text("not-in-any-published-file", encoding="utf-8")
    publication = publish(layout, _hosts(3), user="opsctl-lab")
    assert publication.fingerprints == {f"lab-ssh-0{n}": [ED25519_FINGERPRINT] for n in (1, 2, 3)}
    assert (
        json.loads(layout.fingerprints.read_text(encoding="utf-8"))["lab-ssh-02"]["address"]
        == "127.3.10.2"
    )
    for path in (layout.inventory, layout.fingerprints, layout.known_hosts, layout.config_file):
        assert "not-in-any-published-file" not in path.read_text(encoding="utf-8")
    assert read_publication(layout) == publication


def test_reading_a_lab_never_brought_up_says_so(tmp_path: Path) -> None:
    with pytest.raises(LabNotPublished, match="no lab has been brought up"):
        read_publication(LabLayout(tmp_path))
