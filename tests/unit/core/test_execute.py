"""The execute helper, locally: classified exit codes, secrets in the environment, timeouts."""

from __future__ import annotations

import os
import time

import pytest

from opsctl.core.errors import CommandTimeout, OpsctlError
from opsctl.core.execute import ProgramFailed, classify, execute

RESTIC_LIKE = {0: "ok", 1: "fatal", 3: "partial"}


def test_exit_codes_are_classified_by_name() -> None:
    assert classify(0, RESTIC_LIKE) == "ok"
    assert classify(3, RESTIC_LIKE) == "partial"
    assert classify(7, RESTIC_LIKE) == "failed"
    assert classify(-9, RESTIC_LIKE) == "killed"
    result = execute(("sh", "-c", "exit 3"), exit_names=RESTIC_LIKE)
    assert (result.exit_status, result.status_name, result.ok) == (3, "partial", False)


def test_streams_stay_apart_and_stdin_is_fed() -> None:
    result = execute(("sh", "-c", "cat; echo err >&2"), stdin=b"in\n")
    assert result.stdout == b"in\n" and result.stderr == b"err\n"


def test_secret_goes_in_the_environment_not_the_arguments() -> None:
    result = execute(("sh", "-c", 'printf %s "$DB_PASSWORD"'), secret_env={"DB_PASSWORD": "pw-123"})
    assert result.stdout == b"pw-123"
    assert all("pw-123" not in arg for arg in result.argv)
    assert "DB_PASSWORD" not in os.environ


def test_check_raises_with_the_last_stderr_line() -> None:
    with pytest.raises(ProgramFailed, match=r"exited 2 .*: second"):
        execute(("sh", "-c", "echo first >&2; echo second >&2; exit 2"), check=True)


def test_missing_program_is_one_clear_error() -> None:
    with pytest.raises(OpsctlError, match="no-such-program-xyz: program not found"):
        execute(("no-such-program-xyz",))


def test_timeout_stops_the_whole_process_group() -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"ran past 0\.5 s"):
        execute(("sh", "-c", "sleep 30.71 & sleep 30.71; wait"), timeout=0.5)
    assert time.monotonic() - started < 10
    import subprocess

    left = subprocess.run(["pgrep", "-f", "^sleep 30.71$"], capture_output=True, text=True).stdout.split()
    assert left == []
