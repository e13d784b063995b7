"""Ansible's YAML inventory format, with ``group_vars/`` and ``host_vars/`` beside it, read as Ansible reads it.

Groups nest under ``all`` (or sit at the top level) with ``hosts``, ``children`` and ``vars``;
host names may hold ranges and a ``:port``. Variables merge with Ansible's precedence (shallow,
``hash_behaviour=replace``): the ``all`` group's inventory vars, then every other group's by
depth, ``ansible_group_priority`` and name, then ``group_vars/all``, then ``group_vars/<group>``
in the same order, then the host's inventory vars, then ``host_vars/<host>``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol

from inventory.model import (
    SECRET_REFERENCE_HINT,
    SECRET_VARIABLES,
    Group,
    Host,
    Inventory,
    variable_problem,
)
from inventory.ranges import HostRangeError, expand_host_range
from opsctl.core.errors import ConfigError
from opsctl.core.yamlfile import YamlDocument, load_yaml

_GROUP_KEYS = ("hosts", "children", "vars")
_VARS_EXTENSIONS = (".yml", ".yaml", ".json")
_INVENTORY_HINT = (
    "opsctl reads Ansible's YAML inventory format; convert an INI inventory with "
    "`ansible-inventory -i FILE --list --yaml`"
)
_HOSTS_HINT = "write each host as a key ending in ':' (web1:), not as a list item (- web1)"
_PLAIN_KEY = re.compile(r"^[\w-]+$")
# host:port and [address]:port, as Ansible's parse_address splits them
_BRACKETED_HOST_PORT = re.compile(r"^\[(.+)\]:([0-9]+)$")
_HOST_PORT = re.compile(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$")

KeyPath = tuple[str, ...]


class DocumentOrigin(Protocol):
    """Where a document came from: a name for messages, and the line of a key path (``None`` if unknown)."""

    @property
    def name(self) -> str: ...

    def line_of(self, key_path: Sequence[str | int]) -> int | None: ...


@dataclass(frozen=True)
class _FileSource:
    document: YamlDocument

    @property
    def name(self) -> str:
        return str(self.document.path)

    def line_of(self, key_path: Sequence[str | int]) -> int | None:
        return self.document.line_of(key_path)


@dataclass(frozen=True)
class _DataSource:
    name: str

    def line_of(self, key_path: Sequence[str | int]) -> int | None:
        return None


def _dotted(key_path: Sequence[str]) -> str:
    return ".".join(part if _PLAIN_KEY.match(part) else f'"{part}"' for part in key_path)


def _error(
    message: str, source: DocumentOrigin, key_path: KeyPath, *, hint: str | None = None
) -> ConfigError:
    return ConfigError(
        message,
        path=source.name,
        line=source.line_of(key_path) if key_path else None,
        key_path=_dotted(key_path) or None,
        hint=hint,
    )


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__}"


def plain_value(value: Any) -> Any:
    """Return YAML data as plain Python values; a ``!vault`` value becomes ``{"__ansible_vault": text}``, as ``ansible-inventory`` shows it."""
    if value is None or isinstance(value, bool):
        return value
    type_name = type(value).__name__
    if type_name == "TaggedScalar":
        text = str(getattr(value, "value", ""))
        return {"__ansible_vault": text} if str(getattr(value, "tag", "")) == "!vault" else text
    if type_name == "ScalarBoolean":
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): plain_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain_value(item) for item in value]
    return value


def _checked_variables(
    variables: Mapping[Any, Any], source: DocumentOrigin, key_path: KeyPath
) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, raw in variables.items():
        name = str(key)
        value = plain_value(raw)
        problem = variable_problem(name, value)
        if problem is not None:
            hint = SECRET_REFERENCE_HINT if name in SECRET_VARIABLES else None
            raise _error(problem, source, (*key_path, name), hint=hint)
        checked[name] = value
    return checked


@dataclass
class _GroupDraft:
    name: str
    source: DocumentOrigin
    key_path: KeyPath
    vars: dict[str, Any] = field(default_factory=dict)
    priority: int = 1
    children: dict[str, None] = field(default_factory=dict)
    parents: dict[str, None] = field(default_factory=dict)
    hosts: dict[str, None] = field(default_factory=dict)


@dataclass
class _HostDraft:
    name: str
    vars: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, None] = field(default_factory=dict)


class _Builder:
    """Collects groups and hosts in file order, the way Ansible's YAML plugin adds them."""

    def __init__(self) -> None:
        nowhere = _DataSource("<built-in>")
        self.groups: dict[str, _GroupDraft] = {
            "all": _GroupDraft("all", nowhere, ()),
            "ungrouped": _GroupDraft("ungrouped", nowhere, ()),
        }
        self.hosts: dict[str, _HostDraft] = {}
        self._link("all", "ungrouped", nowhere, ())

    def parse_document(self, data: Any, source: DocumentOrigin) -> None:
        if data is None:
            return
        if not isinstance(data, Mapping):
            raise _error(
                f"an inventory is a mapping of group names (all:, webservers:, ...), not {_kind(data)}",
                source,
                (),
                hint=_INVENTORY_HINT,
            )
        if "plugin" in data:
            raise _error(
                "this is an Ansible inventory plugin configuration, which opsctl does not run",
                source,
                ("plugin",),
                hint="export the inventory with `ansible-inventory -i FILE --list --yaml` and use that",
            )
        for name, group_data in data.items():
            self._parse_group(str(name), group_data, source, (str(name),))

    def _group(self, name: str, source: DocumentOrigin, key_path: KeyPath) -> _GroupDraft:
        if not name:
            raise _error("a group needs a name", source, key_path)
        if name not in self.groups:
            self.groups[name] = _GroupDraft(name, source, key_path)
        return self.groups[name]

    def _parse_group(self, name: str, data: Any, source: DocumentOrigin, key_path: KeyPath) -> None:
        group = self._group(name, source, key_path)
        if data is None:
            return
        if not isinstance(data, Mapping):
            raise _error(
                f"group {name} must be a mapping with hosts:, children: and/or vars:, not {_kind(data)}",
                source,
                key_path,
            )
        for raw_key, section in data.items():
            key = str(raw_key)
            section_path = (*key_path, key)
            if key not in _GROUP_KEYS:
                raise _error(
                    f"unknown key in group {name}; expected hosts, children or vars",
                    source,
                    section_path,
                    hint="a group's variables go under vars:, its subgroups under children:",
                )
            if section is None:
                continue
            if key != "vars" and isinstance(section, str):
                section = {section: None}  # Ansible accepts one name as text
            if not isinstance(section, Mapping):
                expected = {
                    "hosts": "a mapping of host names to their variables (or nothing)",
                    "children": "a mapping of group names to groups (or nothing)",
                    "vars": "a mapping of variable names to values",
                }[key]
                raise _error(
                    f"{key} of group {name} must be {expected}, not {_kind(section)}",
                    source,
                    section_path,
                    hint=_HOSTS_HINT
                    if key in ("hosts", "children") and isinstance(section, list)
                    else None,
                )
            if key == "vars":
                self._parse_group_vars(group, section, source, section_path)
            elif key == "children":
                for child_name, child_data in section.items():
                    child = str(child_name)
                    child_path = (*section_path, child)
                    self._parse_group(child, child_data, source, child_path)
                    self._link(name, child, source, child_path)
            else:
                for pattern, host_data in section.items():
                    self._parse_host(
                        str(pattern), host_data, group, source, (*section_path, str(pattern))
                    )

    def _parse_group_vars(
        self, group: _GroupDraft, section: Mapping[Any, Any], source: DocumentOrigin, key_path: KeyPath
    ) -> None:
        variables = _checked_variables(section, source, key_path)
        if "ansible_group_priority" in variables:
            # as in Ansible: it orders the group among its siblings and is not a variable
            priority = variables.pop("ansible_group_priority")
            if (
                isinstance(priority, bool)
                or not isinstance(priority, int | str)
                or not str(priority).strip().lstrip("-").isdigit()
            ):
                raise _error(
                    "must be a whole number (higher merges later, so it wins)",
                    source,
                    (*key_path, "ansible_group_priority"),
                )
            group.priority = int(priority)
        group.vars.update(variables)

    def _parse_host(
        self, pattern: str, data: Any, group: _GroupDraft, source: DocumentOrigin, key_path: KeyPath
    ) -> None:
        if data is not None and not isinstance(data, Mapping):
            raise _error(
                f"host {pattern} must map to its variables (or nothing), not {_kind(data)}",
                source,
                key_path,
                hint=_HOSTS_HINT if isinstance(data, list | str) else None,
            )
        name_pattern, port = _split_port(pattern)
        if port is not None and not 1 <= port <= 65535:
            raise _error(f"the port in host {pattern} must be 1..65535", source, key_path)
        try:
            names = expand_host_range(name_pattern)
        except HostRangeError as error:
            raise _error(str(error), source, key_path) from None
        if not names or not all(names):
            raise _error("a host needs a name", source, key_path)
        variables = _checked_variables(data or {}, source, key_path)
        for name in names:
            host = self.hosts.get(name)
            if host is None:
                host = self.hosts[name] = _HostDraft(name)
                if port is not None:
                    # as in Ansible, a :port counts where the host first appears
                    host.vars["ansible_port"] = port
            host.groups[group.name] = None
            group.hosts[name] = None
            host.vars.update(variables)

    def _link(self, parent: str, child: str, source: DocumentOrigin, key_path: KeyPath) -> None:
        if child == "all":
            raise _error(
                f"all holds every group, so it cannot be a child of {parent}", source, key_path
            )
        if child == parent or child in self.ancestors(parent):
            raise _error(
                f"group {child} cannot be a child of {parent}: {parent} is already inside {child}",
                source,
                key_path,
                hint="groups may nest, but not in a loop",
            )
        self.groups[parent].children[child] = None
        self.groups[child].parents[parent] = None

    def ancestors(self, name: str) -> set[str]:
        seen: set[str] = set()
        pending = [name]
        while pending:
            for parent in self.groups[pending.pop()].parents:
                if parent not in seen:
                    seen.add(parent)
                    pending.append(parent)
        return seen

    def reconcile(self) -> None:
        """Put parentless groups under ``all`` and group-less hosts in ``ungrouped``, as Ansible does."""
        for group in list(self.groups.values()):
            if group.name != "all" and not group.parents:
                self._link("all", group.name, group.source, group.key_path)
        ungrouped = self.groups["ungrouped"]
        ungrouped.hosts.clear()  # rebuilt in inventory order
        for host in self.hosts.values():
            if set(host.groups) - {"all", "ungrouped"}:
                host.groups.pop("ungrouped", None)
            else:
                host.groups["ungrouped"] = None
                ungrouped.hosts[host.name] = None

    def depths(self) -> dict[str, int]:
        """Return each group's depth: the longest path to it from ``all`` (which is 0)."""
        depths: dict[str, int] = {"all": 0}

        def depth_of(name: str) -> int:
            if name not in depths:
                depths[name] = max(
                    (depth_of(parent) + 1 for parent in self.groups[name].parents), default=1
                )
            return depths[name]

        for name in self.groups:
            depth_of(name)
        return depths


def _split_port(pattern: str) -> tuple[str, int | None]:
    for expression in (_BRACKETED_HOST_PORT, _HOST_PORT):
        found = expression.match(pattern)
        if found is not None:
            return found[1], int(found[2])
    return pattern, None


class _VarsDirectory:
    """``group_vars/`` or ``host_vars/`` beside the inventory: the files for one name, merged, read once."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.entries: set[str] = set()
        if directory is not None and directory.is_dir():
            self.entries = set(os.listdir(directory))

    def variables(self, name: str) -> dict[str, Any]:
        if not self.entries or "/" in name or "\\" in name or name in (".", ".."):
            return {}
        assert self.directory is not None
        files: list[Path] = []
        # the first of NAME, NAME.yml, NAME.yaml, NAME.json that exists, as Ansible looks them up
        for extension in ("", *_VARS_EXTENSIONS):
            if name + extension in self.entries:
                candidate = self.directory / (name + extension)
                files = _files_in(candidate) if candidate.is_dir() else [candidate]
                break
        merged: dict[str, Any] = {}
        for path in files:
            merged.update(_load_variables_file(path))
        return merged


def _files_in(directory: Path) -> list[Path]:
    found: list[Path] = []
    for entry in sorted(os.listdir(directory)):
        if entry.startswith(".") or entry.endswith("~"):
            continue
        path = directory / entry
        extension = os.path.splitext(entry)[1]
        if path.is_dir() and not extension:
            found.extend(_files_in(path))
        elif path.is_file() and (not extension or extension in _VARS_EXTENSIONS):
            found.append(path)
    return found


def _load_variables_file(path: Path) -> dict[str, Any]:
    document = load_yaml(path)
    source = _FileSource(document)
    if document.data is None:
        return {}
    if not isinstance(document.data, Mapping):
        raise _error(
            f"a variables file must be a mapping of variable names to values, not {_kind(document.data)}",
            source,
            (),
        )
    return _checked_variables(document.data, source, ())


def _build(
    builder: _Builder, *, path: Path | None, source: str, vars_directory: Path | None
) -> Inventory:
    builder.reconcile()
    depths = builder.depths()
    group_files = _VarsDirectory(None if vars_directory is None else vars_directory / "group_vars")
    host_files = _VarsDirectory(None if vars_directory is None else vars_directory / "host_vars")

    group_file_vars = {name: group_files.variables(name) for name in builder.groups}
    groups = {
        name: Group(
            name=name,
            vars=MappingProxyType({**draft.vars, **group_file_vars[name]}),
            children=tuple(draft.children),
            hosts=tuple(draft.hosts),
            priority=draft.priority,
        )
        for name, draft in builder.groups.items()
    }

    def precedence(name: str) -> tuple[int, int, str]:
        return depths[name], builder.groups[name].priority, name

    ancestors = {name: builder.ancestors(name) for name in builder.groups}
    hosts: dict[str, Host] = {}
    for name, draft in builder.hosts.items():
        member_of: set[str] = set()
        for group in draft.groups:
            member_of.add(group)
            member_of |= ancestors[group]
        ordered = sorted(member_of - {"all"}, key=precedence)
        merged: dict[str, Any] = dict(builder.groups["all"].vars)
        for group in ordered:
            merged.update(builder.groups[group].vars)
        merged.update(group_file_vars["all"])
        for group in ordered:
            merged.update(group_file_vars[group])
        merged.update(draft.vars)
        merged.update(host_files.variables(name))
        hosts[name] = Host(name=name, vars=MappingProxyType(merged), groups=("all", *ordered))
    return Inventory(path=path, hosts=hosts, groups=groups, source=source)


def _inventory_files(directory: Path) -> list[Path]:
    files = []
    for entry in sorted(os.listdir(directory)):
        path = directory / entry
        extension = os.path.splitext(entry)[1]
        if entry.startswith(".") or entry in ("group_vars", "host_vars") or not path.is_file():
            continue
        if not extension or extension in _VARS_EXTENSIONS:
            files.append(path)
    return files


def load_inventory(path: Path) -> Inventory:
    """Load an Ansible YAML inventory file (or a directory of them) with the ``group_vars/`` and ``host_vars/`` beside it.

    A directory contributes its ``.yml``, ``.yaml``, ``.json`` and extension-less files in name
    order. Raise :class:`ConfigError` naming the file, line and key path for a missing file,
    malformed YAML, a malformed inventory, or a credential that is not a secret reference.
    """
    if not path.exists():
        raise ConfigError("no such file", path=str(path))
    if path.suffix in (".ini", ".cfg"):
        raise ConfigError(
            "an INI inventory; opsctl reads Ansible's YAML inventory format",
            path=str(path),
            hint=_INVENTORY_HINT,
        )
    builder = _Builder()
    if path.is_dir():
        files = _inventory_files(path)
        if not files:
            raise ConfigError(
                "no YAML inventory file (.yml, .yaml, .json) in this directory", path=str(path)
            )
        vars_directory = path
    else:
        files = [path]
        vars_directory = path.parent
    for file in files:
        try:
            document = load_yaml(file)
        except ConfigError as error:
            error.hint = error.hint or _INVENTORY_HINT
            raise
        builder.parse_document(document.data, _FileSource(document))
    return _build(builder, path=path, source=str(path), vars_directory=vars_directory)


def inventory_from_documents(
    documents: Iterable[tuple[Mapping[str, Any], DocumentOrigin]],
    *,
    path: Path | None,
    source: str,
    vars_directory: Path | None,
) -> Inventory:
    """Return the inventory that Ansible-YAML-shaped ``documents`` describe, read in order, with
    the ``group_vars/`` and ``host_vars/`` of ``vars_directory`` (none when it is ``None``).

    The same validation and merge as :func:`load_inventory`, for the other formats' readers.
    Raise :class:`ConfigError` naming the document's origin, line and key path for malformed
    data or a credential that is not a secret reference.
    """
    builder = _Builder()
    for data, origin in documents:
        builder.parse_document(data, origin)
    return _build(builder, path=path, source=source, vars_directory=vars_directory)


def inventory_from_data(data: Mapping[str, Any], *, source: str = "<data>") -> Inventory:
    """Build an inventory from data shaped like Ansible's YAML inventory (no ``group_vars/`` or ``host_vars/``).

    Raise :class:`ConfigError` naming ``source`` and the key path for malformed data or a
    credential that is not a secret reference.
    """
    builder = _Builder()
    builder.parse_document(data, _DataSource(source))
    return _build(builder, path=None, source=source, vars_directory=None)
