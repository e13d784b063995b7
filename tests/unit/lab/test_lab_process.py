"""Recognising and stopping the lab's processes by pid, against fake and real /proc entries."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.process import is_ours, log_tail, parse_stat_state, read_pid, stop_process


def _fake_process(proc: Path, pid: int, *, cmdline: bytes, state: str) -> None:
    entry = proc / str(pid)
    entry.mkdir(parents=True)
    (entry / "cmdline").write_bytes(cmdline)
    (entry / "stat").write_text(f"{pid} (odd) name) {state} 1 {pid} {pid} 0", encoding="utf-8")


def test_parse_stat_state_reads_past_a_name_with_parentheses() -> None:
    assert parse_stat_state("42 (sshd: a) b) S 1 42 42") == "S"
    assert parse_stat_state("garbage") == ""


def test_is_ours_needs_the_marker_and_a_live_process(tmp_path: Path) -> None:
    _fake_process(
        tmp_path, 10, cmdline=b"/usr/sbin/sshd\0-f\0/lab/peers/a/sshd_config\0", state="S"
    )
    _fake_process(
        tmp_path, 11, cmdline=b"/usr/sbin/sshd\0-f\0/lab/peers/a/sshd_config\0", state="Z"
    )
    _fake_process(tmp_path, 12, cmdline=b"/usr/bin/vim\0notes\0", state="S")
    marker = "/lab/peers/a/sshd_config"
    assert is_ours(10, marker, proc=tmp_path)
    assert not is_ours(11, marker, proc=tmp_path)  # a zombie counts as stopped
    assert not is_ours(12, marker, proc=tmp_path)  # a reused pid is someone else's
    assert not is_ours(13, marker, proc=tmp_path)  # gone
    assert not is_ours(10, "/lab/peers/b/sshd_config", proc=tmp_path)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        (sys.executable, "-c", "import time; time.sleep(60)", "marker-for-test")
    )
    yield process
    process.kill()
    process.wait()


def test_stop_process_stops_ours_and_leaves_a_stranger_alone(
    sleeper: subprocess.Popen[bytes],
) -> None:
    assert not stop_process(sleeper.pid, "some-other-marker", timeout=1)
    assert sleeper.poll() is None
    assert stop_process(sleeper.pid, "marker-for-test", timeout=2)
    assert sleeper.wait(timeout=2) is not None


def test_read_pid_and_log_tail(tmp_path: Path) -> None:
    (tmp_path / "p").write_text("123\n", encoding="utf-8")
    (tmp_path / "q").write_text("x\n", encoding="utf-8")
    assert read_pid(tmp_path / "p") == 123
    assert read_pid(tmp_path / "q") is None
    assert read_pid(tmp_path / "missing") is None
    (tmp_path / "log").write_text("".join(f"line {n}\n" for n in range(30)), encoding="utf-8")
    assert log_tail(tmp_path / "log", 3) == "line 27\nline 28\nline 29"
    assert log_tail(tmp_path / "missing") == ""
