"""Inventory exporters: each writes an :class:`~inventory.model.Inventory` in one format, found by name in a registry.

An exporter is any object with a ``name`` and an ``export(inventory)`` that returns the text of
one file, or for a multi-file format a mapping of file name to text. Output is deterministic
(the same inventory gives byte-identical text) and credentials stay secret references.
Exporters live in :data:`EXPORTERS`, a registry of :mod:`opsctl.core.plugins`: built-ins
register through :func:`register_exporter` like third parties, which may also declare an entry
point in the ``opsctl.inventory_exporters`` group (its name the exporter's name).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from inventory.model import Inventory
from opsctl.core.plugins import PluginRegistry

ExportOutput = str | Mapping[str, str]


@runtime_checkable
class InventoryExporter(Protocol):
    """Writes an inventory in one format: ``name`` identifies it, ``export`` returns the text (or files by name)."""

    @property
    def name(self) -> str:
        """The format's name (``ansible-ini``, ``prometheus-file-sd``, ...)."""
        ...

    def export(self, inventory: Inventory) -> ExportOutput:
        """Return ``inventory`` in this format; raise :class:`ConfigError` for a value the format cannot hold."""
        ...


EXPORTERS: PluginRegistry[InventoryExporter] = PluginRegistry(
    "inventory exporter",
    "opsctl.inventory_exporters",
    InventoryExporter,
    name_of=lambda exporter: exporter.name,
)


def register_exporter(exporter: InventoryExporter) -> None:
    """Add ``exporter`` under its name; raise :class:`UsageError` if a different exporter holds the name."""
    EXPORTERS.register(exporter)


def get_exporter(name: str) -> InventoryExporter:
    """Return the exporter called ``name``; raise :class:`UsageError` (listing the known names) if there is none."""
    return EXPORTERS.get(name)


def exporters() -> tuple[InventoryExporter, ...]:
    """Return every registered exporter, built-ins first."""
    return EXPORTERS.plugins()


def export_inventory(inventory: Inventory, format_name: str) -> ExportOutput:
    """Return ``inventory`` written by the exporter called ``format_name``."""
    return get_exporter(format_name).export(inventory)


def _register_built_ins() -> None:
    from inventory.exports.ansible_ini import AnsibleIniExporter
    from inventory.exports.ansible_json import DynamicJsonExporter
    from inventory.exports.ansible_yaml import AnsibleYamlExporter
    from inventory.exports.netbox_csv import NetboxDevicesCsvExporter
    from inventory.exports.nornir import NornirExporter
    from inventory.exports.opsctl_json import OpsctlJsonExporter
    from inventory.exports.prometheus import PrometheusFileSdExporter, PrometheusSnmpFileSdExporter

    for exporter in (
        AnsibleYamlExporter(),
        AnsibleIniExporter(),
        DynamicJsonExporter(),
        NornirExporter(),
        PrometheusFileSdExporter(),
        PrometheusSnmpFileSdExporter(),
        OpsctlJsonExporter(),
        NetboxDevicesCsvExporter(),
    ):
        register_exporter(exporter)


_register_built_ins()

__all__ = [
    "EXPORTERS",
    "ExportOutput",
    "InventoryExporter",
    "export_inventory",
    "exporters",
    "get_exporter",
    "register_exporter",
]
