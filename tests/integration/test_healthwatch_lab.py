"""``opsctl health --watch`` at a real terminal (a pseudo-terminal) against the lab's daemon: it
redraws, a flip of the lab's UPS appears in a later frame, and Ctrl-C ends it with exit 130,
the terminal restored (the cursor shown again) and no traceback. Every read is bounded."""

from __future__ import annotations

import os
import pty
import select
import signal
import time
from pathlib import Path

import pytest

from lab.nut.peer import set_ups_state
from tests.integration.conftest import RunningLab
from tests.integration.fleetcli import OPSCTL

pytestmark = pytest.mark.integration

HIDE_CURSOR, SHOW_CURSOR = b"\x1b[?25l", b"\x1b[?25h"


class Terminal:
    """``opsctl`` run as the session leader of a new pseudo-terminal, its output kept as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the pty is its controlling terminal, so ^C is its SIGINT
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            os.execve(argv[0], argv, env)
        self.pid, self.fd, self.output = pid, fd, b""

    def read_until(self, wanted: bytes, seconds: float, *, count: int = 1) -> bytes:
        """Read until ``wanted`` occurs ``count`` times in all the output so far; fail after ``seconds``."""
        deadline = time.monotonic() + seconds
        while self.output.count(wanted) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{wanted!r} x{count} not within {seconds:g} s; output: {self.output[-2000:]!r}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.5))
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:  # the child closed the terminal
                    break
        return self.output

    def wait(self, seconds: float) -> int:
        """The exit status, reading the rest of the output meanwhile; fail after ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self._drain()
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
            self._drain(0.1)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"opsctl did not end within {seconds:g} s")

    def _drain(self, timeout: float = 0.0) -> None:
        while select.select([self.fd], [], [], timeout)[0]:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.output += chunk
            timeout = 0.0


def test_health_watch_redraws_shows_a_ups_flip_and_ends_on_ctrl_c(lab: RunningLab, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPSCTL_")}
    env.update({"OPSCTL_STATE__DIR": str(tmp_path / "state"), "COLUMNS": "100", "LINES": "40", "TERM": "xterm"})
    terminal = Terminal([OPSCTL, "-c", str(lab.publication.config_path), "health", "lab-ups@*",
                         "--watch", "--interval", "1"], env)
    try:
        first = terminal.read_until(b"lab-ups@lab-nut", 30)
        assert HIDE_CURSOR in first and b"OL, charge" in first
        terminal.read_until(b"health (http://", 30, count=3)  # redrawn: a frame a second

        set_ups_state(lab.settings, "on-battery")
        frames_before = terminal.output.count(b"health (http://")
        later = terminal.read_until(b"OB DISCHRG", 30)
        flipped = later[later.rfind(b"health (http://"):]  # the frame that shows it
        assert later.count(b"health (http://") > frames_before >= 3
        assert b"OB DISCHRG" in flipped and b"warning" in flipped and b"OL, charge" not in flipped

        os.write(terminal.fd, b"\x03")  # Ctrl-C at the terminal
        status = terminal.wait(30)
    finally:
        set_ups_state(lab.settings, "online")
    output = terminal.output
    assert status == 130, output[-2000:]
    assert output.rfind(SHOW_CURSOR) > output.rfind(HIDE_CURSOR), "the cursor was left hidden"
    assert b"Traceback" not in output and b"error" not in output
