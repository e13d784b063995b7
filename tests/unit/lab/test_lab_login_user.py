"""The login user's command lines and sudoers drop-in."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lab.ssh.client import askpass_environment, askpass_script
from lab.ssh.login_user import (
    LoginUser,
    chpasswd_command,
    sudoers_text,
    useradd_command,
    visudo_check_command,
)


def test_useradd_command_creates_a_system_user_with_home_and_shell() -> None:
    argv = useradd_command("/usr/sbin/useradd", LoginUser())
    assert argv[-1] == "opsctl-lab"
    assert argv[argv.index("--home-dir") + 1] == "/var/lib/opsctl-lab"
    assert argv[argv.index("--shell") + 1] == "/bin/sh"


def test_the_password_never_goes_on_a_command_line() -> None:
    assert chpasswd_command("/usr/sbin/chpasswd") == ("/usr/sbin/chpasswd",)


def test_sudoers_requires_the_password() -> None:
    text = sudoers_text("opsctl-lab")
    assert "opsctl-lab ALL=(ALL:ALL) ALL" in text.splitlines()
    assert "NOPASSWD" not in text


@pytest.mark.skipif(
    shutil.which("visudo") is None and not Path("/usr/sbin/visudo").exists(), reason="no visudo"
)
def test_sudoers_text_passes_visudo(tmp_path: Path) -> None:
    candidate = tmp_path / "opsctl-lab"
    candidate.write_text(sudoers_text("opsctl-lab"), encoding="utf-8")
    visudo = shutil.which("visudo") or "/usr/sbin/visudo"
    result = subprocess.run(
        visudo_check_command(visudo, candidate), capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_askpass_script_prints_the_passphrase_file_only(tmp_path: Path) -> None:
    secret = tmp_path / "it's secret"
    secret.write_text("s3cret", encoding="utf-8")
    script = tmp_path / "askpass"
    script.write_text(askpass_script(secret), encoding="utf-8")
    script.chmod(0o700)
    result = subprocess.run(
        (str(script), "Enter passphrase:"), capture_output=True, text=True, check=True
    )
    assert result.stdout == "s3cret"
    assert result.stderr == ""
    environment = askpass_environment(script, {"SSH_AUTH_SOCK": "/tmp/agent", "PATH": "/bin"})
    assert "SSH_AUTH_SOCK" not in environment
    assert environment["SSH_ASKPASS_REQUIRE"] == "force"
