"""``opsctl lab`` commands that need no running peers, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from opsctl.cli.main import main


@pytest.fixture
def empty_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("OPSCTL_LAB__PREFIX", "127.250")
    return tmp_path / "state"


def test_status_of_a_lab_never_started_says_so_and_fails(
    empty_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "status"]) == 1
    assert "lab is not running" in capsys.readouterr().out


def test_status_json_of_a_lab_never_started(
    empty_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "status", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "schema": "opsctl.lab.status/v1",
        "running": False,
        "answering": False,
        "peers": [],
    }


def test_down_with_nothing_running_succeeds(
    empty_state: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lab", "down", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stopped"] == []


def test_up_refuses_more_than_fifty_hosts(empty_state: Path) -> None:
    assert main(["lab", "up", "--ssh-hosts", "51"]) == 2
