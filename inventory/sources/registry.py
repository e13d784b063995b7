"""A registry of named plugins of one kind, filled by ``register`` calls and by entry points, as Nornir's is."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import Generic, TypeVar

from opsctl.core.errors import UsageError

PluginT = TypeVar("PluginT")


class PluginRegistry(Generic[PluginT]):
    """Plugins of one kind by name; built-ins and third parties both go through :meth:`register`.

    Third-party packages may instead declare an entry point in ``entry_point_group`` whose
    object is the plugin; those load the first time the registry is read.
    """

    def __init__(
        self, kind: str, entry_point_group: str, name_of: Callable[[PluginT], str]
    ) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._name_of = name_of
        self._plugins: dict[str, PluginT] = {}
        self._entry_points_loaded = False

    def register(self, plugin: PluginT) -> None:
        """Add ``plugin`` under its name; raise :class:`UsageError` if another plugin already has that name."""
        name = self._name_of(plugin)
        existing = self._plugins.get(name)
        if existing is not None and existing is not plugin and type(existing) is not type(plugin):
            raise UsageError(
                f"{self.kind} {name!r} is already registered by {type(existing).__name__}"
            )
        self._plugins[name] = plugin

    def deregister(self, name: str) -> None:
        """Remove the plugin called ``name``; raise :class:`UsageError` if there is none."""
        if name not in self._plugins:
            raise UsageError(f"no {self.kind} named {name!r}")
        del self._plugins[name]

    def get(self, name: str) -> PluginT:
        """Return the plugin called ``name``; raise :class:`UsageError` listing the known names if there is none."""
        self._load_entry_points()
        try:
            return self._plugins[name]
        except KeyError:
            known = ", ".join(self._plugins) or "none"
            raise UsageError(f"no {self.kind} named {name!r}", hint=f"known: {known}") from None

    def plugins(self) -> tuple[PluginT, ...]:
        """Return every registered plugin in registration order (built-ins first)."""
        self._load_entry_points()
        return tuple(self._plugins.values())

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for entry_point in metadata.entry_points(group=self.entry_point_group):
            self.register(entry_point.load())
