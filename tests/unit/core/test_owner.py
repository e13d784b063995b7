"""A process identity tells a live owner from a dead one whose pid may since have been reused."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

from opsctl.core.owner import ProcessIdentity


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
