"""SIGTERM and SIGHUP stop a command the way Ctrl-C does, and the exit code names the signal."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import typer

from opsctl.cli.errors import run_app
from opsctl.core.errors import ExitCode, Interrupted
from opsctl.core.fleet import HostResult, Outcome, run_fleet


@pytest.fixture(autouse=True)
def _sighup_at_its_default() -> Iterator[None]:
    """These tests start as from a terminal: SIGHUP at its default, even when pytest runs under
    ``nohup`` (which opsctl rightly keeps: a signal its caller ignores stays ignored)."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


def _signal_soon(signum: int, delay: float = 0.3) -> None:
    threading.Timer(delay, os.kill, (os.getpid(), signum)).start()


def _fleet_app(seen: dict[str, object]) -> typer.Typer:
    """An app whose one command runs a fleet of tasks that wait until they are cancelled."""
    app = typer.Typer()

    @app.command()
    def fleet(signum: int) -> None:
        def task(name: str, cancel: threading.Event) -> HostResult:
            stopped = cancel.wait(30)  # a remote command, stopped through the cancel event
            return HostResult(name, Outcome.FAILED if stopped else Outcome.OK)

        _signal_soon(signum)
        result = run_fleet(["a", "b", "c"], task, name_of=str)
        seen["outcome"] = result.outcome
        seen["hosts"] = [r.outcome for r in result.results]
        raise typer.Exit(int(result.exit_code))

    @app.command()
    def other() -> None:  # a second command, so typer keeps the command name
        pass

    return app


@pytest.mark.parametrize(
    ("signum", "code"),
    [(signal.SIGTERM, ExitCode.TERMINATED), (signal.SIGHUP, ExitCode.HANGUP),
     (signal.SIGINT, ExitCode.INTERRUPTED)],
)
def test_a_fleet_run_stops_its_tasks_and_exits_with_the_signal_s_code(signum: int, code: int) -> None:
    seen: dict[str, object] = {}
    started = time.monotonic()

    assert run_app(_fleet_app(seen), ["fleet", str(int(signum))]) == code

    assert time.monotonic() - started < 10
    assert seen["outcome"] == "interrupted"
    assert seen["hosts"] == [Outcome.FAILED] * 3  # every task saw the cancel and stopped


def test_a_library_s_interrupted_error_gets_the_signal_s_code(capsys: pytest.CaptureFixture[str]) -> None:
    app = typer.Typer()

    @app.command()
    def scan() -> None:
        _signal_soon(signal.SIGTERM, 0.05)
        try:
            time.sleep(30)
        except KeyboardInterrupt:
            raise Interrupted("scan interrupted: nothing was recorded") from None

    @app.command()
    def other() -> None:
        pass

    assert run_app(app, ["scan"]) == ExitCode.TERMINATED
    assert "scan interrupted: nothing was recorded" in capsys.readouterr().err


def test_a_signal_outside_any_handler_says_which_and_the_handlers_are_put_back(
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = typer.Typer()

    @app.command()
    def wait() -> None:
        _signal_soon(signal.SIGTERM, 0.05)
        time.sleep(30)

    @app.command()
    def other() -> None:
        pass

    before = signal.getsignal(signal.SIGTERM)
    assert run_app(app, ["wait"]) == ExitCode.TERMINATED
    assert "stopped by SIGTERM" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_ignored_sighup_stays_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    app = typer.Typer()

    @app.command()
    def wait() -> None:
        os.kill(os.getpid(), signal.SIGHUP)  # nohup: the caller wants the command to go on
        time.sleep(0.2)

    @app.command()
    def other() -> None:
        pass

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        assert run_app(app, ["wait"]) == 0
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_the_exit_codes_are_128_plus_the_signal() -> None:
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        assert ExitCode.for_signal(signum) == 128 + signum
