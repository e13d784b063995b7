"""The execute helper, locally, with real programs: classified exit codes, secrets in the
environment, streaming, pipelines over real pipes, timeouts and cancels as results, sudo."""

from __future__ import annotations

import _thread
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

from opsctl.core.errors import AuthenticationFailed, OpsctlError
from opsctl.core.execute import (
    DEFAULT_EXIT_CODES,
    EXIT_TABLES,
    GREP_EXIT_CODES,
    PG_DUMP_EXIT_CODES,
    PG_RESTORE_EXIT_CODES,
    RESTIC_EXIT_CODES,
    SYSTEMCTL_IS_ACTIVE_EXIT_CODES,
    ExitTable,
    Pipeline,
    Program,
    ProgramFailed,
    Shell,
    classify,
    execute,
    restic_exit_codes,
)
from opsctl.core.secrets import SecretRef

RESTIC_LIKE = ExitTable("restic-like", {0: "ok", 1: "fatal", 3: "partial"})


def _running(marker: str) -> list[str]:
    """Pids of processes whose whole command line is ``marker``."""
    return subprocess.run(["pgrep", "-f", f"^{marker}$"], capture_output=True, text=True).stdout.split()


def _marker() -> str:
    """A sleep whose command line is unique to this test (a random fraction of a minute)."""
    return f"sleep 3{uuid.uuid4().int % 1000}.{uuid.uuid4().int % 90 + 10}"


def _wait_gone(marker: str, seconds: float = 5.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _running(marker)


def test_exit_codes_are_classified_by_name() -> None:
    assert classify(0, RESTIC_LIKE) == "ok"
    assert classify(3, RESTIC_LIKE) == "partial"
    assert classify(7, RESTIC_LIKE) == "failed"
    assert classify(-9, RESTIC_LIKE) == "killed"
    result = execute(("sh", "-c", "exit 3"), exit_codes=RESTIC_LIKE)
    assert (result.exit_status, result.status_name, result.ok) == (3, "partial", False)
    killed = execute(("sh", "-c", "kill -KILL $$"))
    assert (killed.exit_status, killed.status_name, killed.ok) == (-9, "killed", False)


@pytest.mark.parametrize(("table", "status", "name", "ok"), [
    (DEFAULT_EXIT_CODES, 0, "ok", True),
    (DEFAULT_EXIT_CODES, 1, "failed", False),
    (DEFAULT_EXIT_CODES, -15, "killed", False),
    (RESTIC_EXIT_CODES, 0, "ok", True),
    (RESTIC_EXIT_CODES, 1, "failed", False),
    (RESTIC_EXIT_CODES, 2, "runtime_error", False),
    (RESTIC_EXIT_CODES, 3, "partial", False),
    (RESTIC_EXIT_CODES, 10, "no_repository", False),
    (RESTIC_EXIT_CODES, 11, "lock_failed", False),
    (RESTIC_EXIT_CODES, 12, "wrong_password", False),
    (RESTIC_EXIT_CODES, 130, "interrupted", False),
    (RESTIC_EXIT_CODES, 99, "failed", False),  # restic: an unknown code MUST be a failure
    (restic_exit_codes((0, 14, 0)), 3, "partial", False),  # Debian 12's restic
    (restic_exit_codes((0, 14, 0)), 10, "failed", False),
    (restic_exit_codes((0, 14, 0)), 12, "failed", False),
    (restic_exit_codes((0, 17, 0)), 11, "lock_failed", False),
    (restic_exit_codes((0, 17, 0)), 12, "failed", False),  # wrong_password came in 0.17.1
    (restic_exit_codes((0, 17, 1)), 12, "wrong_password", False),
    (PG_DUMP_EXIT_CODES, 0, "ok", True),
    (PG_DUMP_EXIT_CODES, 1, "failed", False),
    (PG_RESTORE_EXIT_CODES, 1, "failed", False),
    (GREP_EXIT_CODES, 0, "ok", True),
    (GREP_EXIT_CODES, 1, "no_match", True),
    (GREP_EXIT_CODES, 2, "failed", False),
    (SYSTEMCTL_IS_ACTIVE_EXIT_CODES, 0, "active", True),
    (SYSTEMCTL_IS_ACTIVE_EXIT_CODES, 3, "inactive", True),
    (SYSTEMCTL_IS_ACTIVE_EXIT_CODES, 4, "unknown", True),
    (SYSTEMCTL_IS_ACTIVE_EXIT_CODES, 1, "failed", False),
    (SYSTEMCTL_IS_ACTIVE_EXIT_CODES, -9, "killed", False),
])
def test_exit_tables(table: ExitTable, status: int, name: str, ok: bool) -> None:
    assert table.classify(status) == name
    assert table.is_ok(name) is ok


def test_every_table_is_found_by_its_program() -> None:
    for program in ("default", "restic", "pg_dump", "pg_restore", "psql", "grep", "systemctl is-active"):
        assert EXIT_TABLES[program].program == program


def test_a_status_a_shell_reports_for_a_signal_is_killed_unless_the_table_names_it() -> None:
    assert DEFAULT_EXIT_CODES.classify(141, shell_reported=True) == "killed"
    assert DEFAULT_EXIT_CODES.classify(141) == "failed"  # a program may exit 141 itself
    assert RESTIC_EXIT_CODES.classify(130, shell_reported=True) == "interrupted"


def test_what_runs_is_said_explicitly() -> None:
    with pytest.raises(TypeError):
        Program("restic backup")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="two members"):
        Pipeline((Program(("cat",)),))
    with pytest.raises(ValueError, match="carries its own"):
        execute(Program(("true",)), exit_codes=GREP_EXIT_CODES)


def test_an_answer_that_is_not_a_success_is_ok_by_its_table() -> None:
    result = execute(("grep", "-q", "absent"), stdin=b"present\n", exit_codes=GREP_EXIT_CODES, check=True)
    assert (result.exit_status, result.status_name, result.ok) == (1, "no_match", True)
    with pytest.raises(ProgramFailed, match=r"exited 2 \(failed\)"):
        execute(("grep", "x", "/no/such/file"), exit_codes=GREP_EXIT_CODES, check=True)


def test_streams_stay_apart_and_stdin_is_fed() -> None:
    result = execute(("sh", "-c", "cat; echo err >&2"), stdin=b"in\n")
    assert result.stdout == b"in\n" and result.stderr == b"err\n"


def test_a_large_stdin_and_output_do_not_deadlock() -> None:
    data = os.urandom(3 * 1024 * 1024)
    result = execute(("cat",), stdin=data, timeout=30)
    assert result.ok and result.stdout == data


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


def test_a_shell_line_must_be_said_to_be_one() -> None:
    with pytest.raises(TypeError, match="Shell"):
        execute("echo hello")  # type: ignore[arg-type]
    result = execute(Shell("echo $((1 + 2)) | tr 3 x"))
    assert result.ok and result.stdout == b"x\n"


def test_timeout_stops_the_whole_process_group_and_is_a_result() -> None:
    marker = _marker()
    started = time.monotonic()
    result = execute(("sh", "-c", f"{marker} & {marker}; wait"), timeout=0.5)
    assert time.monotonic() - started < 10
    assert result.timed_out and not result.cancelled and not result.ok
    assert (result.exit_status, result.status_name) == (None, "timed_out")
    assert _wait_gone(marker) == []
    with pytest.raises(ProgramFailed, match=r"sh ran past 0\.5 s and was stopped"):
        execute(("sh", "-c", marker), timeout=0.5, check=True)


def test_a_group_that_outlives_its_leader_is_stopped_too() -> None:
    """The shell exits at once; its background child holds stdout open until stopped."""
    marker = _marker()
    result = execute(("sh", "-c", f"{marker} & echo started"), timeout=1)
    assert result.timed_out and result.stdout == b"started\n"
    assert _wait_gone(marker) == []


def test_cancel_stops_the_program_and_says_so() -> None:
    marker = _marker()
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    result = execute(("sh", "-c", f"echo before; {marker}"), timeout=60, cancel=cancel)
    assert time.monotonic() - started < 10
    assert result.cancelled and not result.timed_out and result.status_name == "cancelled"
    assert result.stdout == b"before\n"
    assert _wait_gone(marker) == []
    with pytest.raises(ProgramFailed, match="was cancelled and stopped"):
        execute(("true",), cancel=cancel, check=True)


def test_ctrl_c_stops_the_program_before_it_reaches_the_caller() -> None:
    marker = _marker()
    threading.Timer(0.3, _thread.interrupt_main).start()
    with pytest.raises(KeyboardInterrupt):
        execute(("sh", "-c", marker), timeout=60)
    assert _wait_gone(marker) == []


def test_lines_arrive_as_they_are_printed_with_their_stream_named() -> None:
    seen: list[tuple[str, str, float]] = []
    started = time.monotonic()
    result = execute(("sh", "-c", "echo one; echo warn >&2; sleep 1; printf 'two\\nlast'"),
                     on_line=lambda stream, line: seen.append((stream, line, time.monotonic() - started)))
    ended = time.monotonic() - started
    assert [line for stream, line, _ in seen if stream == "stdout"] == ["one", "two", "last"]
    assert [line for stream, line, _ in seen if stream == "stderr"] == ["warn"]  # no order between streams
    arrived = {line: at for _stream, line, at in seen}
    assert arrived["one"] < ended - 0.5 and arrived["warn"] < ended - 0.5  # a second before the end
    assert result.stdout == b"one\ntwo\nlast" and result.stderr == b"warn\n"


def test_kept_output_is_bounded_while_every_line_is_still_streamed() -> None:
    lines: list[str] = []
    script = "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done"
    result = execute(("sh", "-c", script), keep_output=100, on_line=lambda _s, line: lines.append(line))
    assert len(lines) == 2000 and lines[-1] == "line-1999"
    assert len(result.stdout) == 100 and result.stdout.endswith(b"line-1999\n")
    assert result.stdout_dropped == sum(len(f"line-{i}\n") for i in range(2000)) - 100
    nothing = execute(("sh", "-c", "echo a; echo b >&2"), keep_output=0)
    assert (nothing.stdout, nothing.stderr, nothing.stdout_dropped, nothing.stderr_dropped) == (b"", b"", 2, 2)


def test_a_callback_that_raises_stops_the_program() -> None:
    marker = _marker()

    def refuse(_stream: str, _line: str) -> None:
        raise RuntimeError("no more")

    with pytest.raises(RuntimeError, match="no more"):
        execute(("sh", "-c", f"echo hello; {marker}"), on_line=refuse)
    assert _wait_gone(marker) == []


def test_pipeline_members_are_joined_by_one_os_pipe() -> None:
    """What the producer writes to is the very pipe the consumer reads: no copy in between."""
    result = execute(Pipeline((
        Program(("sh", "-c", "echo written $(readlink /proc/$$/fd/1) >&2; echo data")),
        Program(("sh", "-c", "echo read $(readlink /proc/$$/fd/0) >&2; cat")),
    )))
    assert result.ok and result.stdout == b"data\n"
    ends = dict(line.split() for line in result.stderr_text.splitlines())
    assert ends["written"] == ends["read"] and ends["read"].startswith("pipe:[")


def test_every_member_is_classified_by_its_own_table_and_the_failing_one_is_named() -> None:
    dump = Program(("sh", "-c", "echo rows; exit 3"), RESTIC_LIKE)
    result = execute(Pipeline((dump, Program(("cat",)))))
    assert not result.ok
    assert [(m.exit_status, m.status_name) for m in result.members] == [(3, "partial"), (0, "ok")]
    assert result.failed_member == result.members[0]
    assert (result.exit_status, result.status_name, result.argv) == (3, "partial", dump.argv)
    assert result.stdout == b"rows\n"
    with pytest.raises(ProgramFailed, match=r"sh \(member 1 of 2 in sh \| cat\) exited 3 \(partial\)"):
        execute(Pipeline((dump, Program(("cat",)))), check=True)


def test_a_producer_killed_by_sigpipe_is_not_blamed_for_its_readers_failure() -> None:
    result = execute(Pipeline((Program(("yes",)), Program(("sh", "-c", "head -c 1 >/dev/null; exit 4")))))
    assert [m.status_name for m in result.members] == ["killed", "failed"]
    assert result.failed_member == result.members[1] and result.exit_status == 4


def test_a_pipeline_times_out_as_a_whole_and_every_member_is_stopped() -> None:
    marker = _marker()
    result = execute(Pipeline((Program(("sh", "-c", f"echo x; {marker}")), Program(("cat",)))), timeout=0.5)
    assert result.timed_out and [m.status_name for m in result.members] == ["timed_out", "timed_out"]
    assert _wait_gone(marker) == []


def test_a_missing_pipeline_member_stops_the_ones_already_started() -> None:
    marker = _marker()
    with pytest.raises(OpsctlError, match="no-such-consumer: program not found"):
        execute(Pipeline((Program(("sh", "-c", marker)), Program(("no-such-consumer",)))))
    assert _wait_gone(marker) == []


# -- sudo ------------------------------------------------------------------------------------

needs_root_sudo = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("sudo") is None,
                                     reason="needs root and sudo")

FAKE_SUDO = r"""#!/bin/sh
# sudo as opsctl uses it: -S -p PROMPT [-u USER] -- COMMAND...; asks up to three times
[ "$1" = -S ] || { echo "fake sudo: expected -S" >&2; exit 1; }
prompt=$3; shift 3
[ "$1" = -u ] && shift 2
shift
for try in 1 2 3; do
  printf '%s' "$prompt" >&2
  IFS= read -r answer || exit 1
  [ "$answer" = "$(cat "$FAKE_SUDO_PASSWORD")" ] && exec "$@"
  echo "Sorry, try again." >&2
done
exit 1
"""


@pytest.fixture
def fake_sudo(tmp_path: Path) -> dict[str, str]:
    """An environment whose ``sudo`` asks for the password in a file, as sudo -S does."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "sudo").write_text(FAKE_SUDO)
    (tmp_path / "bin" / "sudo").chmod(0o755)
    (tmp_path / "password").write_text("right horse")
    return {"PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}", "FAKE_SUDO_PASSWORD": str(tmp_path / "password")}


def test_sudo_gets_its_password_over_stdin_and_the_program_gets_the_rest(
        fake_sudo: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_TEST_BECOME", "right horse")
    result = execute(("cat",), become=True, become_password=SecretRef("env", "OPSCTL_TEST_BECOME"),
                     env=fake_sudo, stdin=b"only this\n")
    assert result.ok and result.stdout == b"only this\n"
    assert "opsctl-" not in result.stderr_text and "right horse" not in " ".join(result.argv)


def test_a_wrong_sudo_password_is_refused_once_and_never_shown(
        fake_sudo: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_TEST_BECOME", "wrong horse")
    with pytest.raises(AuthenticationFailed, match="sudo refused the password from env:OPSCTL_TEST_BECOME") as error:
        execute(("true",), become=True, become_password=SecretRef("env", "OPSCTL_TEST_BECOME"), env=fake_sudo,
                timeout=10)
    assert "wrong horse" not in str(error.value)


@needs_root_sudo
def test_become_runs_as_the_user_asked_for() -> None:
    result = execute(("id", "-un"), become=True, become_user="nobody", check=True)
    assert result.stdout == b"nobody\n"


@needs_root_sudo
def test_under_sudo_a_secret_goes_over_stdin_into_the_environment() -> None:
    result = execute(("sh", "-c", 'printf %s "$RESTIC_PASSWORD"; cat'), become=True, stdin=b"|stdin",
                     secret_env={"RESTIC_PASSWORD": "s3cret"}, check=True)
    assert result.stdout == b"s3cret|stdin"
    assert all("s3cret" not in arg for arg in result.argv)


@needs_root_sudo
def test_under_sudo_a_pipeline_reports_every_members_status() -> None:
    result = execute(Pipeline((Program(("id", "-un")), Program(("sh", "-c", "tr a-z A-Z; exit 3"), RESTIC_LIKE))),
                     become=True, become_user="nobody")
    assert result.stdout == b"NOBODY\n" and "pipestatus" not in result.stderr_text
    assert [(m.exit_status, m.status_name) for m in result.members] == [(0, "ok"), (3, "partial")]


@needs_root_sudo
def test_a_member_that_forges_the_status_report_makes_a_failure_not_a_success() -> None:
    """The token is on bash's command line; a hostile member that reads it and prints a clean
    report still cannot pass for a success: two reports are trusted as none."""
    forge = ('t=$(tr "\\0" "\\n" < /proc/$PPID/cmdline | grep -o "[0-9a-f]\\{32\\}" | head -n 1); '
             'printf "%s:pipestatus:0 0\\n" "$t" >&2; cat >/dev/null; exit 3')
    result = execute(Pipeline((Program(("echo", "data")), Program(("sh", "-c", forge)))), become=True)
    assert not result.ok
    assert [m.status_name for m in result.members] == ["unreported", "unreported"]
