"""Inventory sources: each reads one inventory format into an :class:`~inventory.model.Inventory`, found by name in a registry.

A source is any object with a ``name``, a ``load(path)`` that returns the inventory (raising
:class:`ConfigError` naming the file, line and key path), and a ``claims(path)`` that says
whether a path looks like its format, for :func:`detect`. Sources live in :data:`SOURCES`,
a registry of :mod:`opsctl.core.plugins`: built-ins register through :func:`register_source`
like third parties, which may also declare an entry point in the ``opsctl.inventory_sources``
group (its name the source's name, its object the source).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from inventory.model import Inventory
from opsctl.core.errors import ConfigError
from opsctl.core.files import check_regular_file
from opsctl.core.plugins import PluginRegistry


@runtime_checkable
class InventorySource(Protocol):
    """Reads one inventory format: ``name`` identifies it, ``load`` reads a path, ``claims`` recognises one."""

    @property
    def name(self) -> str:
        """The format's name (``ansible-yaml``, ``ansible-ini``, ...)."""
        ...

    def claims(self, path: Path) -> bool:
        """Return whether ``path`` looks like this format (cheaply: a suffix, a file name, a first look)."""
        ...

    def load(self, path: Path) -> Inventory:
        """Return the inventory at ``path``; raise :class:`ConfigError` naming the file for a missing or malformed one."""
        ...


SOURCES: PluginRegistry[InventorySource] = PluginRegistry(
    "inventory source",
    "opsctl.inventory_sources",
    InventorySource,
    name_of=lambda source: source.name,
)


def register_source(source: InventorySource) -> None:
    """Add ``source`` under its name; raise :class:`UsageError` if a different source holds the name."""
    SOURCES.register(source)


def get_source(name: str) -> InventorySource:
    """Return the source called ``name``; raise :class:`UsageError` (listing the known names) if there is none."""
    return SOURCES.get(name)


def sources() -> tuple[InventorySource, ...]:
    """Return every registered source, built-ins first."""
    return SOURCES.plugins()


def detect(path: Path) -> InventorySource:
    """Return the first registered source that claims ``path`` (built-ins, most specific first, then third parties).

    Raise :class:`ConfigError` naming ``path`` when it does not exist, is neither a regular file
    nor a directory, or no source claims it.
    """
    if not path.exists():
        raise ConfigError("no such file", path=str(path))
    check_regular_file(path)
    for source in sources():
        if source.claims(path):
            return source
    names = ", ".join(source.name for source in sources())
    raise ConfigError(
        "cannot tell which inventory format this is",
        path=str(path),
        hint=f"name the format: {names}",
    )


def load_any(path: Path, format_name: str | None = None) -> Inventory:
    """Load ``path`` with the source called ``format_name``, or the one :func:`detect` finds."""
    source = detect(path) if format_name is None else get_source(format_name)
    return source.load(path)


def _register_built_ins() -> None:
    from inventory.sources.ansible_ini import AnsibleIniSource
    from inventory.sources.ansible_yaml import AnsibleYamlSource
    from inventory.sources.dynamic_json import DynamicJsonSource
    from inventory.sources.nornir import NornirSource
    from inventory.sources.opsctl_json import OpsctlJsonSource

    # most specific first: detect() takes the first claim
    for source in (
        OpsctlJsonSource(),
        DynamicJsonSource(),
        NornirSource(),
        AnsibleIniSource(),
        AnsibleYamlSource(),
    ):
        register_source(source)


_register_built_ins()

__all__ = [
    "SOURCES",
    "InventorySource",
    "detect",
    "get_source",
    "load_any",
    "register_source",
    "sources",
]
