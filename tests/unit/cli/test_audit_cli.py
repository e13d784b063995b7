"""opsctl audit log / verify, run in-process with the state directory in tmp_path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opsctl.cli.main import main
from opsctl.core.audit import AuditLog
from opsctl.core.state import StateStore


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("OPSCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "state"


def append(state_dir: Path, count: int, *, targets: list[str] | None = None) -> AuditLog:
    audit = AuditLog(
        state_dir / "audit.jsonl", StateStore(f"sqlite:///{state_dir / 'state.db'}"), "alice"
    )
    for number in range(1, count + 1):
        audit.append(f"run web* -- step-{number}", targets or ["web1"], "ok")
    return audit


def test_log_of_an_empty_audit_log(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "log"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "the audit log is empty" in captured.err


def test_log_shows_the_newest_entries_as_a_table(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    append(state_dir, 4, targets=["web1", "web2", "db1", "db2", "ups1"])

    assert main(["audit", "log", "--limit", "2"]) == 0

    out = capsys.readouterr().out
    assert "step-1" not in out and "step-2" not in out
    assert "step-3" in out and "step-4" in out
    assert "alice" in out
    assert "web1, web2, db1 (+2 more)" in out


def test_log_json_prints_one_document(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    append(state_dir, 3)

    assert main(["audit", "log", "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "opsctl.audit.log/v1"
    assert [entry["seq"] for entry in document["entries"]] == [1, 2, 3]
    assert document["entries"][0]["targets"] == ["web1"]


def test_verify_an_intact_log(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    append(state_dir, 3)
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out == "audit log OK: 3 entries, anchored at seq 3\n"


def test_verify_a_tampered_log_lists_problems_and_exits_1(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    append(state_dir, 3)
    path = state_dir / "audit.jsonl"
    path.write_text(path.read_text().replace("step-2", "step-X"))

    assert main(["audit", "verify"]) == 1

    captured = capsys.readouterr()
    assert captured.out == "line 2: seq 2: hash mismatch: the line was edited\n"
    assert "FAILED verification: 1 problem(s)" in captured.err


def test_verify_json_reports_a_cut_off_tail(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    append(state_dir, 3)
    path = state_dir / "audit.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))

    assert main(["audit", "verify", "--json"]) == 1

    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "opsctl.audit.verify/v1"
    assert (document["ok"], document["entries"], document["anchor_seq"]) == (False, 2, 3)
    assert document["problems"] == [
        {
            "line": 3,
            "message": "the log ends at seq 2 but the state store's anchor is seq 3: "
            "lines were removed from the end",
        }
    ]


def test_an_invalid_configuration_stops_the_command_with_exit_2(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPSCTL_AUDIT__OPERATOR", "x")
    monkeypatch.setenv("OPSCTL_AUDIT__COLOUR", "always")

    assert main(["audit", "verify"]) == 2

    err = capsys.readouterr().err
    assert "audit.colour: unknown key; expected one of: operator, path" in err
    assert "OPSCTL_AUDIT__COLOUR" in err
    assert not (state_dir / "state.db").exists()
