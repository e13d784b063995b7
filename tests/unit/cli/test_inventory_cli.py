"""opsctl inventory import/export, in-process, against the real-world fixture inventories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inventory import load_inventory
from opsctl.cli.main import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "inventories"


@pytest.fixture(autouse=True)
def _state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("OPSCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def test_import_ini_writes_an_equivalent_yaml_inventory_and_audits_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = FIXTURES / "ini_docs" / "hospital.ini"
    target = tmp_path / "inventory.yaml"
    assert main(["inventory", "import", str(source), "--output", str(target)]) == 0
    imported = load_inventory(target)
    from inventory.sources import load_any

    original = load_any(source)
    assert list(imported.hosts) == list(original.hosts)
    assert {n: dict(h.vars) for n, h in imported.hosts.items()} == {n: dict(h.vars) for n, h in original.hosts.items()}
    capsys.readouterr()
    assert main(["audit", "log", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["command"] for e in entries] == ["inventory import"]
    assert entries[0]["targets"] == [str(target)]


def test_export_prints_to_stdout_and_refuses_multi_file_without_output(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPSCTL_INVENTORY", str(FIXTURES / "ini_docs" / "hospital.ini"))
    assert main(["inventory", "export", "ansible-json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert "_meta" in listing and listing["_meta"]["hostvars"]
    assert main(["inventory", "export", "nornir"]) == 2
    assert "give --output DIR" in capsys.readouterr().err
    assert main(["inventory", "export", "nornir", "--output", str(tmp_path / "nornir")]) == 0
    assert sorted(p.name for p in (tmp_path / "nornir").iterdir()) == ["defaults.yaml", "groups.yaml", "hosts.yaml"]


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "export", "xml", "--from", str(FIXTURES / "ini_docs" / "hospital.ini")]) == 2
    assert "xml" in capsys.readouterr().err
