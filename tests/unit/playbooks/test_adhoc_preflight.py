"""opsctl run in-process, without SSH servers: a secret of a targeted host that cannot be read stops the run
before anything connects or is recorded; a secret of a host left out is never read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opsctl.cli.main import main
from opsctl.core.errors import SecretError
from opsctl.core.secrets import SecretRef
from opsctl.core.settings import Settings
from opsctl.core.ssh import SshTarget
from opsctl.core.state import StateStore
from playbooks.adhoc import check_target_secrets


@pytest.fixture(autouse=True)
def _state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("OPSCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("OPSCTL_TEST_UNSET_SUDO", raising=False)
    inventory = tmp_path / "hosts.yaml"
    # port 1 on loopback refuses at once: an unreachable SSH host without waiting for a timeout
    inventory.write_text("all:\n  hosts:\n"
                         "    gone-1: {ansible_host: 127.0.0.1, ansible_port: 1}\n"
                         "    gone-2: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_become: true,\n"
                         "             ansible_become_password: 'file:/nonexistent/sudo-password'}\n"
                         "    gone-3: {ansible_host: 127.0.0.1, ansible_port: 1,\n"
                         f"             ansible_ssh_private_key_file: {tmp_path / 'no-such-key'}}}\n")
    monkeypatch.setenv("OPSCTL_INVENTORY", str(inventory))


def _nothing_recorded(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["audit", "log", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["entries"] == []
    with StateStore(Settings(state={"dir": tmp_path / "state"}).state.database_url) as store:
        assert store.last_run("run") is None


def test_a_targeted_hosts_unreadable_become_password_is_exit_2_and_nothing_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "gone-1,gone-2", "--", "true"]) == 2
    err = capsys.readouterr().err
    assert "gone-2: secret file:/nonexistent/sudo-password: cannot read" in err
    assert "nothing was run" in err and "unreachable" not in err  # gone-1 was not even tried
    _nothing_recorded(tmp_path, capsys)


def test_a_targeted_hosts_missing_key_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "gone-3", "--", "true"]) == 2
    assert f"gone-3: private key cannot read {tmp_path / 'no-such-key'}" in capsys.readouterr().err
    _nothing_recorded(tmp_path, capsys)


def test_broken_references_of_hosts_left_out_do_not_matter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "all:!gone-2:!gone-3", "--", "true"]) == 4  # gone-1 unreachable, as it is
    assert "nonexistent" not in capsys.readouterr().err


def test_a_become_password_is_checked_only_when_the_run_becomes(tmp_path: Path) -> None:
    settings = Settings(state={"dir": tmp_path / "state"})
    sudo = SshTarget("db-1", "192.0.2.1", become_password=SecretRef.parse("env:OPSCTL_TEST_UNSET_SUDO"))
    check_target_secrets([sudo], settings)  # not becoming: the password is not needed
    with pytest.raises(SecretError, match="db-1: secret env:OPSCTL_TEST_UNSET_SUDO: environment variable"):
        check_target_secrets([SshTarget("db-1", "192.0.2.1", become=True, become_password=sudo.become_password)],
                             settings)


def test_every_broken_host_is_named_in_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_TEST_SUDO", "s3cret-sudo")
    settings = Settings(state={"dir": tmp_path / "state"})
    targets = [SshTarget("a", "192.0.2.1", become=True, become_password=SecretRef.parse("env:OPSCTL_TEST_SUDO")),
               SshTarget("b", "192.0.2.2", become=True, become_password=SecretRef.parse("file:/nonexistent/b")),
               SshTarget("c", "192.0.2.3", key_file=tmp_path / "missing-key")]
    with pytest.raises(SecretError) as caught:
        check_target_secrets(targets, settings)
    message = str(caught.value)
    assert "b: secret file:/nonexistent/b" in message and "c: private key cannot read" in message
    assert [problem.split(":")[0] for problem in message.split("nothing was run: ")[1].split("; ")] == ["b", "c"]
    assert "s3cret" not in message
    assert caught.value.exit_code == 2
