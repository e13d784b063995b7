"""The shared contract every registered exporter passes: deterministic output, every host present, secrets kept as references."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from inventory import Inventory, load_inventory
from inventory.exports import (
    EXPORTERS,
    ExportOutput,
    InventoryExporter,
    export_inventory,
    exporters,
    get_exporter,
    register_exporter,
)
from opsctl.core.errors import UsageError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"
HOSPITAL = FIXTURES / "hospital" / "inventory.yml"
EXPORTER_NAMES = [exporter.name for exporter in exporters()]
SECRET_CANARY = "s3cret-canary-value"
# formats that write no variables, only what they derive from them
WRITES_NO_VARIABLES = {"prometheus-file-sd", "prometheus-snmp-file-sd", "netbox-devices-csv"}
# NetBox refuses a device without these, and the fixtures are inventories as Ansible users
# write them: netbox-devices-csv gets them for every host that lacks them (its own tests
# check the error when they are missing)
NETBOX_REQUIRED = {
    "opsctl_role": "server",
    "opsctl_manufacturer": "Dell",
    "opsctl_model": "PowerEdge R650",
    "opsctl_site": "main",
}
# the Prometheus formats list only the hosts that run what their job scrapes (their own tests
# check that the others are left out): for the contract, every fixture host runs it
SCRAPED_BY = {
    "prometheus-file-sd": {"opsctl_agent": True},
    "prometheus-snmp-file-sd": {"opsctl_snmp_version": "2c"},
}


def inventory_for(exporter_name: str, path: Path) -> Inventory:
    """The fixture inventory at ``path`` as the exporter is given it."""
    inventory = load_inventory(path)
    added = NETBOX_REQUIRED if exporter_name == "netbox-devices-csv" else SCRAPED_BY.get(exporter_name)
    if added is None:
        return inventory
    hosts = {
        name: replace(host, vars={**added, **host.vars})
        for name, host in inventory.hosts.items()
    }
    return Inventory(inventory.path, hosts, inventory.groups, source=inventory.source)


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
    first = get_exporter(name).export(inventory_for(name, HOSPITAL))
    second = get_exporter(name).export(inventory_for(name, HOSPITAL))
    assert _text(first) == _text(second)
    assert isinstance(first, str | Mapping)
    if isinstance(first, Mapping):
        assert all(isinstance(text, str) and text.endswith("\n") for text in first.values())
    else:
        assert first.endswith("\n")


@pytest.mark.parametrize("name", EXPORTER_NAMES)
@pytest.mark.parametrize("fixture", ["hospital", "docs_network", "docs_patterns", "docs_usa"])
def test_every_host_appears(name: str, fixture: str) -> None:
    inventory = inventory_for(name, FIXTURES / fixture / "inventory.yml")
    text = _text(get_exporter(name).export(inventory))
    for host in inventory.hosts:
        assert host in text, host


@pytest.mark.parametrize("name", EXPORTER_NAMES)
def test_secrets_stay_references_and_are_never_resolved(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCTL_SUDO_PASSWORD", SECRET_CANARY)
    inventory = inventory_for(name, HOSPITAL)
    text = _text(get_exporter(name).export(inventory))
    assert SECRET_CANARY not in text
    if name not in WRITES_NO_VARIABLES:
        assert "env:OPSCTL_SUDO_PASSWORD" in text
        assert "keyring:opsctl/netops" in text


def test_an_unknown_exporter_name_is_a_usage_error_listing_the_known() -> None:
    with pytest.raises(UsageError) as raised:
        get_exporter("no-such-format")
    assert "ansible-ini" in (raised.value.hint or "")


class _HostListExporter:
    """A third-party exporter: one host name a line."""

    name = "test-host-list"

    def export(self, inventory: Inventory) -> ExportOutput:
        return "".join(f"{host}\n" for host in inventory.hosts)


def test_a_third_party_exporter_registers_like_a_built_in() -> None:
    exporter = _HostListExporter()
    register_exporter(exporter)
    try:
        assert get_exporter(exporter.name) is exporter
        assert exporters()[-1] is exporter
        assert "core-sw2\n" in str(export_inventory(load_inventory(HOSPITAL), exporter.name))
    finally:
        EXPORTERS.deregister(exporter.name)
    assert exporter.name not in EXPORTERS


def test_a_name_taken_by_another_exporter_is_refused() -> None:
    class Impostor(_HostListExporter):
        name = "ansible-ini"

    with pytest.raises(UsageError, match="already registered"):
        register_exporter(Impostor())
    assert type(get_exporter("ansible-ini")).__name__ == "AnsibleIniExporter"
