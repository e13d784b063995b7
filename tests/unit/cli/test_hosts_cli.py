"""opsctl hosts trust/import/forget in-process, without SSH servers: the warnings, exit codes and audit entries users see."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from opsctl.cli.main import main

ED25519 = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"


@pytest.fixture(autouse=True)
def _state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("OPSCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    inventory = tmp_path / "hosts.yaml"
    # port 1 on loopback refuses at once: an unreachable SSH host without waiting for a timeout
    inventory.write_text("all:\n  hosts:\n"
                         "    gone-1: {ansible_host: 127.0.0.1, ansible_port: 1}\n"
                         "    ups-1: {ansible_host: 127.0.0.1, opsctl_ssh: false}\n")
    monkeypatch.setenv("OPSCTL_INVENTORY", str(inventory))


def _audit(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert main(["audit", "log", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert isinstance(entries, list)
    return entries


def test_trust_names_the_hosts_without_ssh_exits_4_for_an_unreachable_one_and_audits_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hosts", "trust", "all", "--json"]) == 4
    printed = capsys.readouterr()
    assert "warning: skipping 1 hosts without SSH (opsctl_ssh: false): ups-1" in printed.err
    document = json.loads(printed.out)
    assert document["schema"] == "opsctl.hosts.trust/v1"
    assert [(h["host"], h["status"]) for h in document["hosts"]] == [("gone-1", "unreachable")]
    entries = _audit(capsys)
    assert [(e["command"], e["targets"], e["outcome"]) for e in entries] == [("hosts trust", ["gone-1"], "failed")]


def test_trust_of_a_pattern_with_no_ssh_host_is_refused_before_anything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hosts", "trust", "ups-1"]) == 2
    assert "matches no host with SSH" in capsys.readouterr().err
    assert _audit(capsys) == []


def test_an_unreadable_fingerprints_file_is_a_configuration_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    published = tmp_path / "fingerprints.json"
    published.write_text('{"gone-1": ["SHA256:x"]}')
    assert main(["hosts", "trust", "gone-1", "--fingerprints-from", str(published)]) == 2
    assert "fingerprints.json" in capsys.readouterr().err
    assert _audit(capsys) == []


def test_import_takes_what_it_can_exits_3_for_the_rest_and_audits_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:2222 ssh-ed25519 {ED25519}\n@frobnicate host ssh-ed25519 {ED25519}\n")
    assert main(["hosts", "import", str(known_hosts)]) == 3
    printed = capsys.readouterr()
    assert "imported 1 key(s)" in printed.out and "unknown marker @frobnicate" in printed.err
    entries = _audit(capsys)
    assert [(e["command"], e["targets"]) for e in entries] == [("hosts import", ["[127.0.0.1]:2222"])]


def test_forget_of_a_host_without_a_key_fails_and_records_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hosts", "forget", "gone-1"]) == 1
    assert "no key enrolled" in capsys.readouterr().err
    assert _audit(capsys) == []
