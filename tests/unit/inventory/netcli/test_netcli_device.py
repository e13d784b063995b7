"""The netmiko path without a device: strict host-key parameters, inventory targets, connection
errors mapped to opsctl's, and partial results when commands fail or answer garbage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inventory.model import Host
from inventory.netcli import (
    SwitchTarget,
    facts_from_outputs,
    gather_switch,
    netmiko_parameters,
    platform_for,
    switch_target_from_host,
)
from inventory.netcli.device import _connection_error
from opsctl.core.errors import (
    AuthenticationFailed,
    ConfigError,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
)
from opsctl.core.secrets import SecretRef

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "cli"
TARGET = SwitchTarget("core-sw1", "127.10.5.1", 2222, "admin", "cisco_ios", SecretRef("env", "SW_PASSWORD"))


def _raw(ntc_platform: str, command: str) -> str:
    return sorted((FIXTURES / ntc_platform / command.replace(" ", "_")).glob("*.raw"))[0].read_text()


def test_netmiko_checks_host_keys_strictly_against_opsctls_file_only() -> None:
    parameters = netmiko_parameters(TARGET, known_hosts_path=Path("/state/known_hosts"), password="pw",
                                    timeout=7)
    assert parameters["system_host_keys"] is False
    assert parameters["alt_host_keys"] is True
    assert parameters["alt_key_file"] == "/state/known_hosts"
    assert parameters["ssh_strict"] is True
    assert (parameters["use_keys"], parameters["allow_agent"]) == (False, False)
    assert (parameters["host"], parameters["port"], parameters["device_type"]) == ("127.10.5.1", 2222, "cisco_ios")
    assert parameters["conn_timeout"] == parameters["auth_timeout"] == parameters["banner_timeout"] == 7
    assert parameters["session_log"] is None


def test_the_parameters_are_ones_netmiko_accepts() -> None:
    import inspect

    from netmiko.base_connection import BaseConnection

    accepted = set(inspect.signature(BaseConnection.__init__).parameters)
    parameters = netmiko_parameters(TARGET, known_hosts_path=Path("/k"), password=None, timeout=1)
    assert set(parameters) - {"device_type"} <= accepted


def test_a_switch_target_comes_from_the_inventory_host() -> None:
    host = Host("core-sw1", {"ansible_host": "127.10.5.1", "ansible_port": 2222, "ansible_user": "admin",
                             "ansible_password": "file:/run/secrets/sw", "ansible_network_os": "cisco.ios.ios"})
    target = switch_target_from_host(host)
    assert target == SwitchTarget("core-sw1", "127.10.5.1", 2222, "admin", "cisco_ios",
                                  SecretRef("file", "/run/secrets/sw"))


def test_the_enable_password_comes_from_become_with_method_enable() -> None:
    host = Host("sw", {"ansible_network_os": "cisco_ios", "ansible_password": "file:/p",
                       "ansible_become": True, "ansible_become_method": "enable",
                       "ansible_become_password": "file:/e"})
    assert switch_target_from_host(host).enable_password == SecretRef("file", "/e")
    sudo = Host("sw", {"ansible_network_os": "cisco_ios", "ansible_become": True,
                       "ansible_become_password": "file:/e"})
    assert switch_target_from_host(sudo).enable_password is None


def test_a_literal_password_or_an_unknown_os_is_refused_without_echoing_it() -> None:
    literal = Host("sw", {"ansible_network_os": "cisco_ios", "ansible_password": "hunter2"})
    with pytest.raises(ConfigError) as caught:
        switch_target_from_host(literal)
    assert "hunter2" not in str(caught.value)
    with pytest.raises(ConfigError, match="unsupported network OS"):
        switch_target_from_host(Host("sw", {"ansible_network_os": "commodore64"}))
    with pytest.raises(ConfigError, match="ansible_network_os is not set"):
        switch_target_from_host(Host("sw", {}))


@pytest.mark.parametrize(("message", "expected"), [
    ("A paramiko SSHException occurred during connection creation:\n\n"
     "Server '[127.10.5.1]:2222' not found in known_hosts", HostKeyUnknown),
    ("A paramiko SSHException occurred during connection creation:\n\n"
     "Host key for server '[127.10.5.1]:2222' does not match: got 'AAAA', expected 'BBBB'", HostKeyChanged),
    ("TCP connection to device failed.\n\nCommon causes of this problem are:", HostUnreachable),
])
def test_connection_errors_become_opsctl_errors(message: str, expected: type[Exception]) -> None:
    error = _connection_error(TARGET, RuntimeError(message))
    assert isinstance(error, expected)
    assert "core-sw1" in str(error)


def test_a_refused_login_is_an_authentication_failure() -> None:
    from netmiko.exceptions import NetmikoAuthenticationException

    error = _connection_error(TARGET, NetmikoAuthenticationException("Authentication to device failed."))
    assert isinstance(error, AuthenticationFailed)
    assert "admin was refused" in str(error)


def test_an_unknown_host_key_is_refused_by_a_real_connect(tmp_path: Path) -> None:
    """Nothing listens there or the key is unknown: either way netmiko never auto-adds a key."""
    from inventory.netcli import connect_switch

    with pytest.raises((HostKeyUnknown, HostUnreachable)):
        connect_switch(SwitchTarget("nobody", "127.0.0.1", 1, "admin"), known_hosts_path=tmp_path / "kh",
                       password="pw", timeout=2)
    assert not (tmp_path / "kh").exists()


class FakeDevice:
    """A netmiko connection stand-in that answers from ntc-templates' recorded outputs."""

    def __init__(self, answers: dict[str, str | Exception], prompt: str = "core-sw1",
                 enable_refused: bool = False) -> None:
        self.answers = answers
        self.enable_refused = enable_refused
        self.base_prompt = prompt
        self.sent: list[str] = []
        self.disconnected = False

    def send_command(self, command: str, read_timeout: float) -> str:
        self.sent.append(command)
        answer = self.answers[command]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def enable(self) -> None:
        if self.enable_refused:
            raise ValueError("Failed to enter enable mode. Please ensure you pass the 'secret' argument")

    def disconnect(self) -> None:
        self.disconnected = True


def test_gather_switch_reads_identity_modules_and_interfaces() -> None:
    device = FakeDevice({c: _raw("cisco_nxos", c) for c in ("show version", "show inventory", "show interface status")})
    facts = gather_switch(SwitchTarget("n9k", "127.0.0.1", 22, "admin", "cisco_nxos"), known_hosts_path=Path("/k"),
                          password="pw", connect=lambda *a, **k: device)
    assert not facts.partial
    assert facts.identity.hostname == "N9K1" and facts.identity.serials == ("SAL1819S6LU",)
    assert len(facts.modules) == 11 and len(facts.interfaces) == 73
    assert facts.provenance == {"hostname": "show version", "model": "show version", "serials": "show version",
                                "os_version": "show version", "uptime": "show version",
                                "modules": "show inventory", "interfaces": "show interface status"}
    assert device.sent == ["show version", "show inventory", "show interface status"]
    assert device.disconnected


def test_a_command_that_times_out_or_answers_garbage_gives_a_partial_result() -> None:
    device = FakeDevice({
        "show version": _raw("cisco_ios", "show version"),
        "show inventory": TimeoutError("Pattern not detected: 'sw1#' in output."),
        "show interfaces status": "% Invalid input detected at '^' marker.\n",
    })
    facts = gather_switch(TARGET, known_hosts_path=Path("/k"), password="pw", connect=lambda *a, **k: device)
    assert facts.partial
    assert facts.identity.serials == ("CAT1451S15C",)
    assert facts.modules == () and facts.interfaces == ()
    assert any(n.startswith("show inventory: no answer (TimeoutError") for n in facts.notes)
    assert device.disconnected


def test_a_refused_enable_is_a_note_and_the_commands_still_run() -> None:
    device = FakeDevice({c: _raw("cisco_ios", c) for c in ("show version", "show inventory", "show interfaces status")},
                        enable_refused=True)
    facts = gather_switch(TARGET, known_hosts_path=Path("/k"), password="pw", enable_secret="wrong",
                          connect=lambda *a, **k: device)
    assert facts.notes == ("enable: refused (ValueError); commands ran unprivileged",)
    assert facts.identity.hostname == "router1" and len(facts.interfaces) == 25


def test_garbage_for_the_version_command_is_a_note_not_a_crash() -> None:
    facts = facts_from_outputs("sw", platform_for("cisco_ios"), {"show version": "\x00\x01 garbage \n"})
    assert facts.partial and facts.identity.hostname is None
    assert facts.notes == ("show version: no record in the output",)


def test_the_lab_fake_switch_version_reads_and_its_empty_answers_are_notes() -> None:
    outputs = {"show version": (FIXTURES / "lab_fake_switch" / "show_version.raw").read_text(),
               "show inventory": "", "show interfaces status": "  \n"}
    facts = facts_from_outputs("lab-switch-01", platform_for("cisco_ios"), outputs)
    assert (facts.identity.hostname, facts.identity.model, facts.identity.serials, facts.identity.os_version) == (
        "lab-switch-01", "WS-C3750G-24TS-1U", ("FOC1530X2F7",), "12.2(58)SE2")
    assert facts.notes == ("show inventory: empty answer", "show interfaces status: empty answer")


def test_ten_thousand_interfaces_parse() -> None:
    lines = ["Port      Name               Status       Vlan       Duplex  Speed Type"]
    lines += [f"Gi1/{n // 48}/{n % 48 + 1}               connected    1          a-full a-1000 10/100/1000BaseTX"
              for n in range(10_000)]
    facts = facts_from_outputs("big", platform_for("cisco_ios"), {"show interfaces status": "\n".join(lines) + "\n"})
    assert len(facts.interfaces) == 10_000
    assert {i.oper_status for i in facts.interfaces} == {"up"}


def test_importing_inventory_does_not_import_netmiko_or_textfsm() -> None:
    code = ("import sys, inventory, inventory.netcli, inventory.facts; "
            "print(sorted(m for m in ('netmiko', 'textfsm', 'ntc_templates', 'paramiko') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_refused_switch_key_shows_the_offered_fingerprint_as_for_ssh_hosts() -> None:
    offered = ["ssh-rsa SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"]
    unknown = _connection_error(TARGET, RuntimeError("Server '[127.10.5.1]:2222' not found in known_hosts"), offered)
    assert isinstance(unknown, HostKeyUnknown)
    assert "ssh-rsa SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" in str(unknown)
    assert unknown.fingerprint == "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    assert unknown.hint is not None
    assert "--fingerprint SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" in unknown.hint
    changed = _connection_error(TARGET, RuntimeError("Host key for server 'x' does not match: got 'A'"), offered)
    assert isinstance(changed, HostKeyChanged)
    assert "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG" in str(changed)


def test_the_offered_key_of_a_changed_switch_key_comes_from_paramiko() -> None:
    """netmiko re-raises paramiko's BadHostKeyException as its own: the key is found on the chain."""
    import paramiko

    from inventory.netcli.device import _offered_keys
    from opsctl.core.known_hosts import fingerprint

    got, expected = paramiko.RSAKey.generate(1024), paramiko.RSAKey.generate(1024)
    try:
        try:
            raise paramiko.BadHostKeyException("[127.10.5.1]:2222", got, expected)
        except paramiko.SSHException as error:
            raise RuntimeError(f"A paramiko SSHException occurred during connection creation:\n\n{error}") from None
    except RuntimeError as wrapped:
        assert _offered_keys(TARGET, wrapped, timeout=1) == [f"ssh-rsa {fingerprint(got)}"]


def test_a_switch_that_cannot_be_asked_again_is_refused_without_a_fingerprint() -> None:
    from inventory.netcli.device import _offered_keys

    nobody = SwitchTarget("nobody", "127.0.0.1", 1, "admin", "cisco_ios")
    assert _offered_keys(nobody, RuntimeError("Server '[127.0.0.1]:1' not found in known_hosts"), timeout=1) == []
