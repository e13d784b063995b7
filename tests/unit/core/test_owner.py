"""A process identity tells a live owner from a dead one whose pid may since have been reused."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from opsctl.core.owner import ProcessIdentity, process_start


def test_this_process_is_alive() -> None:
    me = ProcessIdentity.current()
    assert me.on_this_host()
    assert me.alive() is True


def test_a_process_that_ended_is_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        identity = ProcessIdentity.of_pid(child.pid)
        assert identity.alive() is True
    finally:
        child.kill()
        child.wait()
    assert identity.alive() is False


def test_a_reused_pid_with_another_start_time_is_not_the_owner() -> None:
    me = ProcessIdentity.current()
    assert replace(me, started=me.started - 3600).alive() is False


def test_another_boot_is_dead_and_another_host_cannot_be_told() -> None:
    me = ProcessIdentity.current()
    assert replace(me, boot_id="00000000-0000-0000-0000-000000000000").alive() is False
    assert replace(me, host="some-other-controller").alive() is None


def test_a_start_time_is_counted_from_boot_so_a_clock_step_cannot_move_it(tmp_path: Path) -> None:
    # /proc/PID/stat's field 22 is in clock ticks since boot: no wall-clock reading is involved
    ticks = os.sysconf("SC_CLK_TCK")
    fake = tmp_path / "proc"
    (fake / "self").mkdir(parents=True)
    (fake / "4242").mkdir()
    fields = ["S"] + ["0"] * 18 + [str(123456 * ticks)] + ["0"] * 20
    (fake / "4242" / "stat").write_text(f"4242 (a (strange) name) {' '.join(fields)}\n")

    assert process_start(4242, proc=fake) == 123456.0
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    assert 0 <= ProcessIdentity.current().started <= uptime


def test_a_zombie_or_a_missing_process_has_no_start(tmp_path: Path) -> None:
    fake = tmp_path / "proc"
    (fake / "self").mkdir(parents=True)
    (fake / "4243").mkdir()
    (fake / "4243" / "stat").write_text("4243 (holder) Z " + " ".join(["0"] * 40) + "\n")

    with pytest.raises(ProcessLookupError):
        process_start(4243, proc=fake)
    with pytest.raises(ProcessLookupError):
        process_start(4244, proc=fake)
