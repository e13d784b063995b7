"""execute on a host, over the lab's real OpenSSH: lines streamed as they arrive, pipelines with
every member's status, timeouts and cancels as results with the remote programs stopped, sudo
with the password over the channel, secrets over stdin."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory import load_inventory
from opsctl.core.errors import AuthenticationFailed
from opsctl.core.execute import (
    PG_DUMP_EXIT_CODES,
    ExitTable,
    Pipeline,
    Program,
    ProgramFailed,
    Shell,
    execute,
    restic_exit_codes,
)
from opsctl.core.recorder import AuditRecorder
from opsctl.core.settings import Settings
from opsctl.core.ssh import SshConnection, SshPool, open_pool, target_from_host
from opsctl.core.trust import trust_hosts

pytestmark = pytest.mark.integration

PARTIAL_ON_3 = ExitTable("test", {0: "ok", 3: "partial"})


def _running(marker: str) -> list[str]:
    return subprocess.run(["pgrep", "-f", f"^{marker}$"], capture_output=True, text=True).stdout.split()


def _wait_gone(marker: str, seconds: float = 8.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while _running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _running(marker)


def _marker() -> str:
    return f"sleep 4{uuid.uuid4().int % 1000}.{uuid.uuid4().int % 90 + 10}"


@pytest.fixture(scope="module")
def settings(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = Settings(inventory=lab.publication.inventory_path,
                        state={"dir": tmp_path_factory.mktemp("execute-state")},
                        ssh={"use_agent": False, "connect_timeout": 15})
    hosts = load_inventory(lab.publication.inventory_path).select("ssh_hosts")
    recorder = AuditRecorder.for_settings(lambda: settings)
    try:
        outcomes = trust_hosts(settings, [target_from_host(h, settings.ssh) for h in hosts],
                               recorder=recorder, expected=lab.publication.fingerprints).outcomes
    finally:
        recorder.close()
    assert {o.status for o in outcomes} == {"enrolled"}, [o.message for o in outcomes]
    return settings


@pytest.fixture
def pool(settings: Settings) -> Iterator[SshPool]:
    with open_pool(settings) as opened:
        yield opened


@pytest.fixture
def host(settings: Settings, pool: SshPool) -> SshConnection:
    """lab-ssh-02 (in ``db``), connected, with the lab's sudo password as its become password."""
    found = load_inventory(settings.inventory).select("lab-ssh-02")
    return pool.connection(target_from_host(found[0], settings.ssh, become=False))


def test_an_argv_arrives_word_for_word(host: SshConnection) -> None:
    result = execute(("printf", "%s|", "a b", "$HOME", "it's", ""), host=host, check=True)
    assert result.stdout == b"a b|$HOME|it's||" and result.host == "lab-ssh-02"


def test_lines_stream_as_they_are_printed_with_their_stream_named(host: SshConnection) -> None:
    seen: list[tuple[str, str, float]] = []
    started = time.monotonic()
    result = execute(Shell("echo one; echo warn >&2; sleep 1.5; echo two"), host=host,
                     on_line=lambda stream, line: seen.append((stream, line, time.monotonic() - started)))
    ended = time.monotonic() - started
    assert [line for s, line, _ in seen if s == "stdout"] == ["one", "two"]
    assert [line for s, line, _ in seen if s == "stderr"] == ["warn"]  # two streams: no order between them
    arrived = {line: at for _s, line, at in seen}
    assert arrived["one"] < ended - 1.0 and arrived["warn"] < ended - 1.0  # well before the command ended
    assert result.ok and result.stdout == b"one\ntwo\n" and result.stderr == b"warn\n"


def test_kept_output_is_bounded(host: SshConnection) -> None:
    count = 0

    def counted(_stream: str, _line: str) -> None:
        nonlocal count
        count += 1

    result = execute(("seq", "1", "100000"), host=host, keep_output=1000, on_line=counted)
    assert count == 100000
    assert len(result.stdout) == 1000 and result.stdout.endswith(b"99999\n100000\n") and result.stdout_dropped > 0


def test_a_pipeline_reports_every_members_status_and_names_the_failing_one(host: SshConnection) -> None:
    pipeline = Pipeline((Program(("printf", "a\\nb\\n")), Program(("sh", "-c", "wc -l; exit 3"), PARTIAL_ON_3),
                         Program(("cat",))))
    result = execute(pipeline, host=host)
    assert result.stdout.strip() == b"2"
    assert [(m.exit_status, m.status_name) for m in result.members] == [(0, "ok"), (3, "partial"), (0, "ok")]
    assert result.failed_member is result.members[1] and not result.ok
    assert "pipestatus" not in result.stderr_text
    with pytest.raises(ProgramFailed, match=r"on lab-ssh-02 exited 3 \(partial\)"):
        execute(pipeline, host=host, check=True)


def test_a_dump_that_fails_is_named_even_when_its_reader_succeeds(host: SshConnection) -> None:
    """``pg_dump | gzip``: gzip exits 0 on an empty stream; the failed dump still fails the whole."""
    dump = Program(("pg_dump", "--no-password", "-h", "/nonexistent-socket-dir", "hospital"), PG_DUMP_EXIT_CODES)
    result = execute(Pipeline((dump, Program(("gzip", "-c")))), host=host)
    assert [(m.exit_status, m.status_name) for m in result.members] == [(1, "failed"), (0, "ok")]
    assert result.failed_member is result.members[0] and not result.ok
    assert "pg_dump" in result.stderr_text


@pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed on the lab hosts")
def test_restic_classified_by_the_table_of_its_version(host: SshConnection) -> None:
    """Debian 12's restic 0.14 exits 1 for a missing repository; 0.17 would say 10."""
    done = execute(("restic", "version"), host=host, check=True)
    version = tuple(int(part) for part in done.stdout_text.split()[1].split("."))
    assert len(version) == 3
    result = execute(("restic", "-r", f"/nonexistent/{uuid.uuid4().hex}", "--no-cache", "snapshots"),
                     host=host, exit_codes=restic_exit_codes(version), secret_env={"RESTIC_PASSWORD": "x"})
    expected = "no_repository" if version >= (0, 17, 0) else "failed"
    assert result.status_name == expected and not result.ok


def test_a_secret_reaches_the_program_over_stdin_and_no_command_line(host: SshConnection) -> None:
    secret = "s3cret-" + uuid.uuid4().hex
    script = 'printf "%s\\n" "$RESTIC_PASSWORD"; cat; ps -eo args'
    result = execute(("sh", "-c", script), host=host, stdin=b"then stdin\n", secret_env={"RESTIC_PASSWORD": secret},
                     check=True)
    lines = result.stdout_text.splitlines()
    assert lines[:2] == [secret, "then stdin"]
    assert not any(secret in line for line in lines[2:])  # no process on the host shows it


def test_timeout_is_a_result_and_the_remote_program_is_stopped(host: SshConnection) -> None:
    marker = _marker()
    started = time.monotonic()
    result = execute(Shell(f"echo started; {marker}"), host=host, timeout=1)
    assert time.monotonic() - started < 15
    assert result.timed_out and result.status_name == "timed_out" and result.stdout == b"started\n"
    assert _wait_gone(marker) == []
    with pytest.raises(ProgramFailed, match=r"on lab-ssh-02 ran past 1 s and was stopped"):
        execute(("sh", "-c", marker), host=host, timeout=1, check=True)
    assert _wait_gone(marker) == []


def test_a_pipeline_that_times_out_is_stopped_whole(host: SshConnection) -> None:
    marker = _marker()
    result = execute(Pipeline((Program(("sh", "-c", marker)), Program(("cat",)))), host=host, timeout=1)
    assert result.timed_out and [m.status_name for m in result.members] == ["timed_out", "timed_out"]
    assert _wait_gone(marker) == []


def test_cancel_is_a_result_and_the_remote_program_is_stopped(host: SshConnection) -> None:
    marker = _marker()
    cancel = threading.Event()
    threading.Timer(0.8, cancel.set).start()
    result = execute(("sh", "-c", marker), host=host, timeout=60, cancel=cancel)
    assert result.cancelled and not result.timed_out and result.status_name == "cancelled"
    assert _wait_gone(marker) == []


def test_sudo_reads_its_password_from_the_channel_and_the_program_gets_stdin(host: SshConnection) -> None:
    result = execute(("sh", "-c", "id -un; cat"), host=host, become=True, stdin=b"data\n", check=True)
    assert result.stdout == b"root\ndata\n"  # cat saw only the data, never the password
    assert "opsctl-" not in result.stderr_text
    as_nobody = execute(("id", "-un"), host=host, become=True, become_user="nobody", check=True)
    assert as_nobody.stdout == b"nobody\n"


def test_sudo_runs_a_whole_pipeline_with_each_status(host: SshConnection) -> None:
    result = execute(Pipeline((Program(("id", "-un")), Program(("sh", "-c", "tr a-z A-Z; exit 3"), PARTIAL_ON_3))),
                     host=host, become=True)
    assert result.stdout == b"ROOT\n"
    assert [m.status_name for m in result.members] == ["ok", "partial"]


def test_a_timed_out_sudo_command_is_stopped_too(host: SshConnection) -> None:
    marker = _marker()
    result = execute(("sh", "-c", marker), host=host, become=True, timeout=1.5)
    assert result.timed_out
    assert _wait_gone(marker) == []


def test_a_wrong_sudo_password_is_refused(settings: Settings, pool: SshPool, tmp_path: Path) -> None:
    from dataclasses import replace

    from opsctl.core.secrets import SecretRef

    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    found = load_inventory(settings.inventory).select("lab-ssh-02")
    # the host keeps its name: a key is trusted for the inventory host it is enrolled for
    target = replace(target_from_host(found[0], settings.ssh), become_password=SecretRef("file", str(wrong)))
    with pytest.raises(AuthenticationFailed, match="sudo refused the password") as error:
        execute(("true",), host=pool.connection(target), become=True, timeout=20)
    assert "not-the-password" not in str(error.value)


def test_a_callback_that_raises_stops_the_remote_program(host: SshConnection) -> None:
    marker = _marker()

    def refuse(_stream: str, _line: str) -> None:
        raise RuntimeError("enough")

    with pytest.raises(RuntimeError, match="enough"):
        execute(Shell(f"echo hello; {marker}"), host=host, on_line=refuse)
    assert _wait_gone(marker) == []


def test_a_large_stdin_echoed_back_does_not_stall(host: SshConnection) -> None:
    """More than a channel window each way: stdin goes out between reads of the output."""
    data = os.urandom(6 * 1024 * 1024)
    result = execute(("cat",), host=host, stdin=data, timeout=60)
    assert result.ok and result.stdout == data
