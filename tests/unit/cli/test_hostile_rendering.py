"""Every table and message people see, fed a hostile string: no escape or bell reaches the terminal.

The string sets the window title, clears the screen, rings the bell and carries rich markup; what
is printed must show it written out (``\\x1b]0;PWNED\\x07``) and never as control or formatting.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from opsctl.core.output import Output

HOSTILE = "evil\x1b]0;PWNED\x07\x1b[2J[red]x[/]\x9b\r"
SHOWN = "evil\\x1b]0;PWNED\\x07\\x1b[2J[red]x[/]\\x9b\\x0d"
SGR = re.compile(r"\x1b\[[0-9;]*m")  # rich's own colours, when the console is a colour terminal


def _consoles(colour: bool) -> tuple[Output, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()

    def console(file: io.StringIO) -> Console:
        return Console(file=file, width=400, force_terminal=colour, color_system="standard" if colour else None)

    return Output(_stdout=console(stdout), _stderr=console(stderr)), stdout, stderr


def _assert_harmless(printed: str, *, colour: bool) -> None:
    text = SGR.sub("", printed) if colour else printed
    assert "\x1b" not in text, printed
    assert "\x07" not in text and "\x9b" not in text and "\r" not in text
    assert SHOWN in text.replace("\n", ""), printed


def _fleet(out: Output) -> None:
    from opsctl.cli.render import render_fleet
    from opsctl.core.fleet import FleetResult, HostResult, Outcome

    result = FleetResult((HostResult(HOSTILE, Outcome.FAILED, 1, 0.1, HOSTILE, HOSTILE, HOSTILE, hint=HOSTILE),),
                         (), halted_reason=HOSTILE)
    render_fleet(out, "run", result.to_dict(), result)


def _audit(out: Output) -> None:
    from opsctl.cli.audit import _entries_table, _show_runs

    entry = SimpleNamespace(seq=1, time="2026-12-05T04:00:00+00:00", operator=HOSTILE, command=HOSTILE,
                            targets=(HOSTILE,), outcome=HOSTILE,
                            actor={"uid": 0, "user": "root", "operator_declared_by": "SUDO_USER"})
    out.stdout.print(_entries_table([entry]))  # type: ignore[list-item]
    _show_runs(out, [SimpleNamespace(alive=None, describe=lambda: HOSTILE)])  # type: ignore[list-item]


def _lab(out: Output) -> None:
    from opsctl.cli.lab import _peer_table

    peer = SimpleNamespace(name=HOSTILE, kind=HOSTILE, endpoint=HOSTILE, pid=1, answering=True, detail=HOSTILE)
    out.stdout.print(_peer_table([peer]))  # type: ignore[list-item]


def _scan(out: Output) -> None:
    from opsctl.cli.inventory import _render_scan

    device = SimpleNamespace(
        name=HOSTILE, method=HOSTILE, outcome="partial", changed=True, message=HOSTILE,
        device=SimpleNamespace(role=HOSTILE, manufacturer=HOSTILE, model=HOSTILE, serial=HOSTILE))
    _render_scan(out, SimpleNamespace(devices=[device], summary=HOSTILE, warnings=[HOSTILE]))  # type: ignore[arg-type]


RENDERERS: dict[str, Callable[[Output], None]] = {"run": _fleet, "audit log": _audit, "lab status": _lab,
                                                  "inventory scan": _scan}


@pytest.mark.parametrize("colour", [False, True], ids=["pipe", "colour-terminal"])
@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_a_table_shows_a_hostile_string_written_out(name: str, colour: bool) -> None:
    out, stdout, stderr = _consoles(colour)
    RENDERERS[name](out)
    _assert_harmless(stdout.getvalue(), colour=colour)
    if stderr.getvalue():
        _assert_harmless(stderr.getvalue(), colour=colour)


@pytest.fixture()
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("OPSCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "2000")  # wide enough that no cell is cut: the whole string is checked


def _device() -> Any:
    return SimpleNamespace(name=HOSTILE, role=HOSTILE, manufacturer=HOSTILE, model=HOSTILE, serial=HOSTILE,
                           os_version=HOSTILE, sys_name=HOSTILE, management_address=HOSTILE)


def _patch_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    import inventory.queries
    import inventory.select
    import opsctl.core.known_hosts
    import opsctl.core.trust

    monkeypatch.setattr(inventory.queries, "list_devices", lambda *a, **k: [_device()])
    view = SimpleNamespace(device=_device(), last_status=HOSTILE, last_scanned_at=datetime(2026, 12, 5, tzinfo=UTC),
                           scans=1, messages=[HOSTILE],
                           values=lambda: [{"path": HOSTILE, "value": HOSTILE, "source": HOSTILE, "origin": HOSTILE,
                                            "seen_at": "2026-12-05T04:00:00"}])
    monkeypatch.setattr(inventory.queries, "show_device", lambda *a, **k: view)
    provenance = SimpleNamespace(source=HOSTILE, origin=HOSTILE, seen_at=datetime(2026, 12, 5, tzinfo=UTC))
    change = SimpleNamespace(device=HOSTILE, kind="changed", path=HOSTILE, old=HOSTILE, new=HOSTILE,
                             provenance=provenance)
    monkeypatch.setattr(inventory.queries, "changes_since",
                        lambda *a, **k: SimpleNamespace(changes=[change], since=None))
    key = SimpleNamespace(key_type=HOSTILE, fingerprint=HOSTILE)
    outcome = SimpleNamespace(host=HOSTILE, status="refused", enrolled=(), offered=(key,), message=HOSTILE)
    monkeypatch.setattr(inventory.select, "ssh_targets",
                        lambda *a, **k: SimpleNamespace(targets=[], messages=[HOSTILE], unmatched_warnings=[HOSTILE]))
    monkeypatch.setattr(opsctl.core.trust, "expected_fingerprints", lambda *a: None)
    monkeypatch.setattr(opsctl.core.trust, "trust_hosts",
                        lambda *a, **k: SimpleNamespace(outcomes=[outcome], exit_code=1))
    entry = SimpleNamespace(names=(HOSTILE,), key_type=HOSTILE, fingerprint=HOSTILE, revoked=True)
    store = SimpleNamespace(path=Path("/tmp/kh"), entries=[entry], unsupported=[SimpleNamespace(line=1, reason=HOSTILE)])
    monkeypatch.setattr(opsctl.core.known_hosts, "load_known_hosts", lambda *a: store)


@pytest.mark.usefixtures("_isolated")
@pytest.mark.parametrize("argv", [["inventory", "list"], ["inventory", "show", "sw1"], ["inventory", "diff"],
                                  ["hosts", "trust", "sw1"], ["hosts", "list"]], ids=" ".join)
def test_a_command_shows_hostile_device_strings_written_out(
        argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from opsctl.cli.main import main

    _patch_commands(monkeypatch)
    main(argv)
    captured = capsys.readouterr()
    _assert_harmless(captured.out, colour=False)
    assert "\x1b" not in captured.err and "\x07" not in captured.err


def test_the_one_line_error_writes_out_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from opsctl.cli.errors import run_app
    from opsctl.core.errors import OpsctlError

    app = typer.Typer()

    @app.command()
    def fail() -> None:
        raise OpsctlError(f"a host said {HOSTILE}", hint=HOSTILE)

    @app.command()
    def crash() -> None:
        raise RuntimeError(HOSTILE)

    for command in ("fail", "crash"):
        assert run_app(app, [command]) != 0
        err = capsys.readouterr().err
        assert "\x1b" not in err and "\x07" not in err and "\x9b" not in err and "\r" not in err
        assert SHOWN in err
