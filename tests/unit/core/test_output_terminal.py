"""Whether stderr is a terminal is told without rich when it cannot be one (a command's start stays light)."""

from __future__ import annotations

import io

import pytest

from opsctl.core.output import _stderr_may_be_terminal


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "environment", "expected"),
    [
        (io.StringIO(), {}, False),  # a pipe or a log file: rich is not even imported
        (_Tty(), {}, True),
        (io.StringIO(), {"FORCE_COLOR": "1"}, True),  # rich would take it for a terminal
        (io.StringIO(), {"TTY_COMPATIBLE": "1"}, True),
    ],
)
def test_stderr_may_be_a_terminal_when_rich_could_take_it_for_one(
    monkeypatch: pytest.MonkeyPatch, stream: io.StringIO, environment: dict[str, str], expected: bool
) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("sys.stderr", stream)
    assert _stderr_may_be_terminal() is expected


def test_a_closed_stderr_is_no_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    stream = io.StringIO()
    stream.close()
    monkeypatch.setattr("sys.stderr", stream)
    assert _stderr_may_be_terminal() is False
