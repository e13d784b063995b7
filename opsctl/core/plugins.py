"""One registry per plugin kind, filled by ``register`` calls and by entry points, as Nornir's is.

A kind is declared once, where its :class:`typing.Protocol` lives, by making its registry::

    SOURCES: PluginRegistry[InventorySource] = PluginRegistry(
        "inventory source", "opsctl.inventory_sources", InventorySource, name_of=lambda s: s.name
    )

Built-ins and third parties register through the same two calls: :meth:`PluginRegistry.register`
with the plugin itself, or :meth:`PluginRegistry.register_reference` with ``"module:attribute"``
(what an entry point holds), imported only when that plugin is first needed. Each entry point
of the kind's group turns into a ``register_reference`` call the first time the registry is
read; its name comes from the installed metadata, so listing names imports no plugin.

This module imports nothing heavy: ``importlib.metadata`` only when a registry is first read.
"""

from __future__ import annotations

import importlib
import re
import sys
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from opsctl.core.errors import UsageError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

PluginT = TypeVar("PluginT")

# what an entry point's value looks like: "package.module:attribute.path [extras]"
_REFERENCE = re.compile(r"^(?P<module>[\w.]+)\s*(?::\s*(?P<attribute>[\w.]+)\s*)?(?:\[.*\]\s*)?$")


# every installed distribution's entry points, read once for the sys.path they were read on
_installed: tuple[tuple[str, ...], Any] | None = None
_installed_lock = threading.Lock()


def entry_points_in(group: str) -> tuple[EntryPoint, ...]:
    """The entry points of ``group`` that the installed distributions declare.

    The distributions on sys.path are read once (a read lists every distribution, 7-9 ms here,
    and a command asks for several groups) and again when sys.path has changed.
    """
    global _installed
    from importlib import metadata

    path = tuple(sys.path)
    with _installed_lock:
        if _installed is None or _installed[0] != path:
            _installed = (path, metadata.entry_points())  # every group (Python 3.11: SelectableGroups)
        installed = _installed[1]
    return tuple(installed.select(group=group))


@dataclass
class _Entry:
    """One name in a registry: its reference (if registered by one) and, once loaded, the plugin."""

    reference: str | None
    plugin: object = None
    loaded: bool = False


class PluginRegistry(Generic[PluginT]):
    """The plugins of one kind, by name, in registration order (built-ins first, then entry points).

    ``kind`` names the kind in messages (``"inventory source"``), ``group`` is the entry-point
    group third parties declare (``"opsctl.inventory_sources"``), and ``protocol`` is what every
    plugin must satisfy: a ``@runtime_checkable`` Protocol (or a class) the plugin is an instance
    of, or with ``classes=True`` a class the plugin (itself a class) derives from. ``name_of``
    gives a plugin's own name, which must match the name it is registered under; ``reserved``
    names can never be registered.
    """

    def __init__(
        self,
        kind: str,
        group: str,
        protocol: type[Any],
        *,
        name_of: Callable[[PluginT], str] | None = None,
        classes: bool = False,
        reserved: Collection[str] = (),
    ) -> None:
        if getattr(protocol, "_is_protocol", False) and not getattr(
            protocol, "_is_runtime_protocol", False
        ):
            raise TypeError(f"{protocol.__name__} must be @runtime_checkable to be a plugin kind")
        self.kind = kind
        self.group = group
        self.protocol = protocol
        self._name_of = name_of
        self._classes = classes
        self._reserved = frozenset(reserved)
        self._entries: dict[str, _Entry] = {}
        self._entry_points_read = False
        self._loading: set[str] = set()
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"PluginRegistry({self.kind!r}, {self.group!r})"

    # ------------------------------------------------------------------ registering

    def register(self, plugin: PluginT, *, name: str | None = None) -> None:
        """Add ``plugin`` under ``name`` (default: its own name).

        Registering the same plugin again changes nothing. Raise :class:`UsageError` if the
        plugin does not satisfy the kind's protocol, if ``name`` differs from its own name, is
        reserved, or is held by a different plugin.
        """
        name = self._checked_name(plugin, name)
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                self._entries[name] = _Entry(reference=None, plugin=plugin, loaded=True)
                return
            if not entry.loaded and name in self._loading:
                # its reference's module registers it while being imported: _load compares
                entry.plugin, entry.loaded = plugin, True
                return
        if entry.loaded:
            self._refuse_unless_same(name, entry, entry.plugin, plugin)
            with self._lock:
                entry.plugin = plugin  # the same plugin, perhaps a reloaded module's
            return
        # held by a reference not loaded yet: the same plugin only if the reference names it
        self._refuse_unless_same(name, entry, self._load(name, entry), plugin)

    def register_reference(self, name: str, reference: str) -> None:
        """Add the plugin at ``reference`` (``"module:attribute"``) under ``name``, importing nothing yet.

        Raise :class:`UsageError` for a malformed reference, a reserved name, or a name held by
        a plugin from anywhere else (the same reference again changes nothing).
        """
        if _REFERENCE.match(reference) is None:
            raise UsageError(f"{self.kind} {name!r}: {reference!r} is not a module:attribute reference")
        self._check_free(name)
        with self._lock:
            entry = self._entries.get(name)
            if entry is None:
                self._entries[name] = _Entry(reference=reference)
                return
        if entry.reference is not None and _normal(entry.reference) == _normal(reference):
            return
        held = entry.plugin if entry.loaded else self._load(name, entry)
        self._refuse_unless_same(name, entry, held, _load_reference(self.kind, name, reference))

    def deregister(self, name: str) -> None:
        """Remove the plugin called ``name``; raise :class:`UsageError` if there is none."""
        with self._lock:
            if name not in self._entries:
                raise UsageError(f"no {self.kind} named {name!r}")
            del self._entries[name]

    # ------------------------------------------------------------------ reading

    def names(self) -> tuple[str, ...]:
        """Every registered name, built-ins first, entry points included.

        Imports no plugin (only when an entry point clashes with a registered name are both
        loaded, to tell the same plugin from a different one).
        """
        self._read_entry_points()
        with self._lock:
            return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def get(self, name: str) -> PluginT:
        """Return the plugin called ``name``, importing it if it was registered by reference.

        Raise :class:`UsageError` listing the known names if there is none, or saying why a
        registered reference cannot be loaded.
        """
        with self._lock:
            entry = self._entries.get(name)
        if entry is None:
            self._read_entry_points()
            with self._lock:
                entry = self._entries.get(name)
        if entry is None:
            known = ", ".join(self.names()) or "none"
            raise UsageError(f"no {self.kind} named {name!r}", hint=f"known: {known}")
        return self._load(name, entry)

    def plugins(self) -> tuple[PluginT, ...]:
        """Return every plugin in registration order (built-ins first), importing those not loaded yet."""
        return tuple(self.get(name) for name in self.names())

    # ------------------------------------------------------------------ internals

    def _read_entry_points(self) -> None:
        if self._entry_points_read:
            return
        # a clash raises here, and again on the next read: a registry never half-read in silence
        for entry_point in entry_points_in(self.group):
            self.register_reference(entry_point.name, entry_point.value)
        self._entry_points_read = True

    def _load(self, name: str, entry: _Entry) -> PluginT:
        """Return the plugin of ``entry``, importing its reference the first time."""
        if entry.loaded:
            return cast(PluginT, entry.plugin)
        assert entry.reference is not None  # an entry is loaded or has a reference
        # imported outside the lock: the module may register plugins itself while it loads
        with self._lock:
            self._loading.add(name)
        try:
            plugin = _load_reference(self.kind, name, entry.reference)
        finally:
            with self._lock:
                self._loading.discard(name)
        self._checked_name(plugin, name)
        with self._lock:
            if entry.loaded:  # registered (by its module, or another thread) while importing
                held = entry.plugin
            else:
                entry.plugin, entry.loaded, held = plugin, True, plugin
        self._refuse_unless_same(name, entry, held, plugin)
        return cast(PluginT, held)

    def _checked_name(self, plugin: object, name: str | None) -> str:
        """Check ``plugin`` against the protocol and its own name; return the name it goes under."""
        if not self._satisfies(plugin):
            raise UsageError(
                f"{plugin!r} is not a {self.kind}: it does not satisfy {self.protocol.__name__}"
            )
        own = self._name_of(cast(PluginT, plugin)) if self._name_of is not None else None
        if name is None:
            if own is None:
                raise UsageError(f"a {self.kind} is registered under a name: give name=")
            name = own
        elif own is not None and own != name:
            raise UsageError(f"{self.kind} {own!r} cannot be registered as {name!r}")
        self._check_free(name)
        return name

    def _check_free(self, name: str) -> None:
        if not name or name in self._reserved:
            raise UsageError(f"{name!r} cannot be the name of a {self.kind}")

    def _satisfies(self, plugin: object) -> bool:
        if self._classes:
            return isinstance(plugin, type) and issubclass(plugin, self.protocol)
        return isinstance(plugin, self.protocol)

    def _refuse_unless_same(self, name: str, entry: _Entry, held: object, *others: object) -> None:
        for other in others:
            if not _same_plugin(held, other):
                where = f" (from {entry.reference})" if entry.reference else ""
                raise UsageError(
                    f"{self.kind} {name!r} is already registered{where} by {_describe(held)}",
                    hint="one name, one plugin: rename one of them",
                )


def _same_plugin(first: object, second: object) -> bool:
    """The same object, another instance of the same class, or a class reloaded under its own name."""
    if first is second:
        return True
    if isinstance(first, type) and isinstance(second, type):
        return (first.__module__, first.__qualname__) == (second.__module__, second.__qualname__)
    return not isinstance(first, type) and type(first) is type(second)


def _describe(plugin: object) -> str:
    cls = plugin if isinstance(plugin, type) else type(plugin)
    return f"{cls.__module__}.{cls.__qualname__}"


def _normal(reference: str) -> str:
    return re.sub(r"\s+", "", reference.split("[", 1)[0])


def _load_reference(kind: str, name: str, reference: str) -> object:
    """Import ``reference`` (``module:attribute.path``) and return the object it names."""
    match = _REFERENCE.match(reference)
    if match is None:  # pragma: no cover - register_reference refuses these
        raise UsageError(f"{kind} {name!r}: {reference!r} is not a module:attribute reference")
    try:
        value: object = importlib.import_module(match["module"])
        for part in (match["attribute"] or "").split("."):
            if part:
                value = getattr(value, part)
    except (ImportError, AttributeError) as error:
        raise UsageError(
            f"{kind} {name!r} cannot be loaded from {reference}: {error}",
            hint="is the package that provides it installed (and its entry points current)?",
        ) from None
    return value


__all__ = ["PluginRegistry"]
