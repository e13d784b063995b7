"""The command line the transport sends: pid report, sudo with a prompt marker, exact quoting."""

from __future__ import annotations

import shlex
import subprocess

from opsctl.core.ssh import build_remote_command


def test_plain_command_reports_pid_then_execs_the_shell_line() -> None:
    line = build_remote_command("echo 'a b' | wc -w", become=False, become_user=None, has_password=False, token="t")
    result = subprocess.run(["/bin/sh", "-c", line], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "2"
    first, *rest = result.stderr.splitlines()
    assert first.startswith("opsctl-pid:") and first[len("opsctl-pid:"):].isdigit()
    assert rest == []


def test_become_uses_sudo_prompt_marker_and_never_the_password() -> None:
    line = build_remote_command("id -u", become=True, become_user="postgres", has_password=True, token="abc")
    words = shlex.split(line.split("; ", 1)[1])
    assert words[:3] == ["exec", "sudo", "-S"]
    assert "opsctl-sudo-prompt:abc\n" in words
    assert words[words.index("-u") + 1] == "postgres"
    assert "echo opsctl-become-ok:abc >&2" in words[-1]


def test_become_without_password_never_waits_for_one() -> None:
    line = build_remote_command("true", become=True, become_user=None, has_password=False, token="x")
    assert "sudo -n" in line
