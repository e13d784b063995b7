"""The shared contract every registered exporter passes: deterministic output, every host present, secrets kept as references."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from inventory import load_inventory
from inventory.exports import ExportOutput, InventoryExporter, exporters, get_exporter
from opsctl.core.errors import UsageError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"
HOSPITAL = FIXTURES / "hospital" / "inventory.yml"
EXPORTER_NAMES = [exporter.name for exporter in exporters()]
SECRET_CANARY = "s3cret-canary-value"


def _text(output: ExportOutput) -> str:
    if isinstance(output, Mapping):
        return "\n".join(f"--- {name}\n{text}" for name, text in sorted(output.items()))
    return output


@pytest.mark.parametrize("name", EXPORTER_NAMES)
def test_satisfies_the_protocol_and_is_found_by_name(name: str) -> None:
    exporter = get_exporter(name)
    assert isinstance(exporter, InventoryExporter)
    assert exporter.name == name


@pytest.mark.parametrize("name", EXPORTER_NAMES)
def test_output_is_byte_identical_for_the_same_inventory(name: str) -> None:
    first = get_exporter(name).export(load_inventory(HOSPITAL))
    second = get_exporter(name).export(load_inventory(HOSPITAL))
    assert _text(first) == _text(second)
    assert isinstance(first, str | Mapping)
    if isinstance(first, Mapping):
        assert all(isinstance(text, str) and text.endswith("\n") for text in first.values())
    else:
        assert first.endswith("\n")


@pytest.mark.parametrize("name", EXPORTER_NAMES)
@pytest.mark.parametrize("fixture", ["hospital", "docs_network", "docs_patterns", "docs_usa"])
def test_every_host_appears(name: str, fixture: str) -> None:
    inventory = load_inventory(FIXTURES / fixture / "inventory.yml")
    text = _text(get_exporter(name).export(inventory))
    for host in inventory.hosts:
        assert host in text, host


@pytest.mark.parametrize("name", EXPORTER_NAMES)
def test_secrets_stay_references_and_are_never_resolved(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCTL_SUDO_PASSWORD", SECRET_CANARY)
    inventory = load_inventory(HOSPITAL)
    text = _text(get_exporter(name).export(inventory))
    assert SECRET_CANARY not in text
    if name != "prometheus-file-sd":  # targets and labels only: it carries no variables at all
        assert "env:OPSCTL_SUDO_PASSWORD" in text
        assert "keyring:opsctl/netops" in text


def test_an_unknown_exporter_name_is_a_usage_error_listing_the_known() -> None:
    with pytest.raises(UsageError) as raised:
        get_exporter("no-such-format")
    assert "ansible-ini" in (raised.value.hint or "")
