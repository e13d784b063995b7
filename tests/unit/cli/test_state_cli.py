"""A state store that is not the one meant: a typo in state.url never starts a second store silently."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opsctl.cli.main import main


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("OPSCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "state"


def _import(tmp_path: Path, name: str) -> int:
    source = tmp_path / "inventory.ini"
    source.write_text("[web]\nweb1 ansible_host=10.0.0.1\n")
    return main(["inventory", "import", str(source), "-o", str(tmp_path / name)])


def test_the_default_store_is_created_in_the_state_directory(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _import(tmp_path, "out.yaml") == 0
    assert (state_dir / "state.db").is_file()


def test_a_url_whose_directory_does_not_exist_is_refused_and_nothing_is_created(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "sate" / "state.db"
    monkeypatch.setenv("OPSCTL_STATE__URL", f"sqlite:///{typo}")

    assert main(["audit", "verify"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"opsctl: error: state store {typo}: its directory {typo.parent} does not exist\n")
    assert main(["state", "init"]) == 2  # init creates a store, not a directory tree
    capsys.readouterr()
    assert not typo.parent.exists()


def test_a_url_naming_a_missing_store_is_refused_until_state_init_creates_it(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    monkeypatch.setenv("OPSCTL_STATE__URL", f"sqlite:///{shared / 'opsctl.db'}")

    assert _import(tmp_path, "out.yaml") == 2
    err = capsys.readouterr().err
    assert err.startswith(f"opsctl: error: state store {shared / 'opsctl.db'} does not exist\n")
    assert "opsctl state init" in err
    assert not (shared / "opsctl.db").exists() and not (tmp_path / "out.yaml").exists()

    assert main(["state", "init", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["created"] is True and created["versions"]["core"] >= 2
    assert main(["state", "init"]) == 0
    assert "already there, migrated" in capsys.readouterr().out

    assert _import(tmp_path, "out.yaml") == 0
    assert main(["audit", "log", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [entry["command"] for entry in entries] == ["state init", "inventory import"]


def test_a_log_paired_with_another_controllers_store_is_reported_as_such(
    state_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # this controller's log and store, with entries
    assert _import(tmp_path, "one.yaml") == 0
    # another controller's store, with its own log's anchor in it
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("OPSCTL_STATE__URL", f"sqlite:///{other / 'state.db'}")
    monkeypatch.setenv("OPSCTL_AUDIT__PATH", str(other / "audit.jsonl"))
    assert main(["state", "init"]) == 0
    capsys.readouterr()
    # now this controller's log, pointed at the other store by mistake
    monkeypatch.delenv("OPSCTL_AUDIT__PATH")
    before = (state_dir / "audit.jsonl").read_bytes()

    assert _import(tmp_path, "two.yaml") == 1
    err = capsys.readouterr().err
    assert "which anchors other audit logs only" in err and "paired with the wrong state store" in err
    assert (state_dir / "audit.jsonl").read_bytes() == before
    assert main(["audit", "verify"]) == 1
    shown = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "paired with the wrong state store (check state.url and state.dir)" in shown
