"""Nornir's SimpleInventory (``hosts.yaml``, ``groups.yaml``, ``defaults.yaml``) read as opsctl hosts with Ansible-style variables.

Nornir's fields map to Ansible's variables: ``hostname`` → ``ansible_host``, ``port`` →
``ansible_port``, ``username`` → ``ansible_user``, ``password`` → ``ansible_password`` (a
secret reference), ``platform`` → ``ansible_network_os``; ``data`` keys become variables of
their own name and ``connection_options`` the variable ``nornir_connection_options``. Defaults
become the ``all`` group's variables, a group's ``groups`` its parents. Each host's variables
are resolved the way Nornir resolves them (the host, then its groups depth first in the order
listed, then the defaults; the first that sets a value wins), so a host sees what Nornir shows.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory.model import (
    SECRET_REFERENCE_HINT,
    SECRET_VARIABLES,
    Inventory,
    parse_port,
    variable_problem,
)
from inventory.sources._build import DocumentSource, build_inventory
from opsctl.core.errors import ConfigError
from opsctl.core.yamlfile import YamlDocument, load_yaml

# Nornir's host fields and the Ansible variables they become, in Nornir's order
FIELD_VARIABLES: Mapping[str, str] = {
    "hostname": "ansible_host",
    "port": "ansible_port",
    "username": "ansible_user",
    "password": "ansible_password",
    "platform": "ansible_network_os",
}
CONNECTION_OPTIONS_VARIABLE = "nornir_connection_options"
HOSTS_FILE, GROUPS_FILE, DEFAULTS_FILE = "hosts.yaml", "groups.yaml", "defaults.yaml"
_ENTRY_KEYS = (*FIELD_VARIABLES, "groups", "data", "connection_options")


@dataclass
class NornirEntry:
    """One host, group or the defaults: its variables (Ansible names) and the groups it lists."""

    variables: dict[str, Any] = field(default_factory=dict)
    groups: list[str] = field(default_factory=list)


def resolution_order(groups: Sequence[str], parents: Mapping[str, Sequence[str]]) -> list[str]:
    """Return the groups Nornir consults for an entry listing ``groups``: each, then its own groups, depth first, without repeats."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        order.append(name)
        for parent in parents.get(name, ()):
            visit(parent)

    for name in groups:
        visit(name)
    return order


def resolve_nornir(
    host: NornirEntry, groups: Mapping[str, NornirEntry], defaults: NornirEntry
) -> dict[str, Any]:
    """Return the variables Nornir shows for ``host``: its own, then its groups' depth first, then the defaults; the first set wins."""
    parents = {name: entry.groups for name, entry in groups.items()}
    chain = [
        host,
        *(groups[name] for name in resolution_order(host.groups, parents) if name in groups),
        defaults,
    ]
    resolved: dict[str, Any] = {}
    for entry in chain:
        for name, value in entry.variables.items():
            resolved.setdefault(name, value)
    return resolved


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "text" if isinstance(value, str) else f"a {type(value).__name__}"


def _dotted(parts: Sequence[str]) -> str:
    return ".".join(parts)


@dataclass(frozen=True)
class _File:
    document: YamlDocument | None
    path: Path

    def error(self, message: str, key_path: Sequence[str], hint: str | None = None) -> ConfigError:
        line = (
            self.document.line_of(list(key_path))
            if self.document is not None and key_path
            else None
        )
        return ConfigError(
            message, path=str(self.path), line=line, key_path=_dotted(key_path) or None, hint=hint
        )


def _entry(data: Any, file: _File, key_path: tuple[str, ...], *, allow_groups: bool) -> NornirEntry:
    if data is None:
        return NornirEntry()
    if not isinstance(data, Mapping):
        raise file.error(f"must be a mapping of Nornir fields, not {_kind(data)}", key_path)
    entry = NornirEntry()
    for key, value in data.items():
        if key not in _ENTRY_KEYS or (key == "groups" and not allow_groups):
            allowed = [name for name in _ENTRY_KEYS if allow_groups or name != "groups"]
            raise file.error(
                f"unknown Nornir field; expected one of {', '.join(allowed)}", (*key_path, key)
            )
        if value is None:
            continue
        if key == "groups":
            if not isinstance(value, list) or not all(
                isinstance(name, str) and name for name in value
            ):
                raise file.error("must be a list of group names", (*key_path, key))
            entry.groups = list(dict.fromkeys(value))
        elif key == "data":
            if not isinstance(value, Mapping):
                raise file.error(
                    f"must be a mapping of names to values, not {_kind(value)}", (*key_path, key)
                )
            for name, item in value.items():
                _check_variable(str(name), item, file, (*key_path, key, str(name)))
                if str(name) in entry.variables:
                    raise file.error(
                        f"both data.{name} and a Nornir field set {name}; keep one",
                        (*key_path, key, str(name)),
                    )
                entry.variables[str(name)] = item
        elif key == "connection_options":
            if not isinstance(value, Mapping):
                raise file.error(
                    f"must be a mapping of connection names, not {_kind(value)}", (*key_path, key)
                )
            entry.variables[CONNECTION_OPTIONS_VARIABLE] = dict(value)
        else:
            variable = FIELD_VARIABLES[key]
            if key == "port":
                try:
                    value = parse_port(value)
                except ValueError as error:
                    raise file.error(str(error), (*key_path, key)) from None
            _check_variable(variable, value, file, (*key_path, key))
            if variable in entry.variables:
                raise file.error(
                    f"{key} and data.{variable} both set {variable}; keep one", (*key_path, key)
                )
            entry.variables[variable] = value
    return entry


def _check_variable(name: str, value: Any, file: _File, key_path: tuple[str, ...]) -> None:
    problem = variable_problem(name, value)
    if problem is not None:
        raise file.error(
            problem, key_path, hint=SECRET_REFERENCE_HINT if name in SECRET_VARIABLES else None
        )


def _load(path: Path, *, required: bool) -> tuple[Any, _File]:
    if not path.exists() and not required:
        return None, _File(None, path)
    document = load_yaml(path)
    return document.data, _File(document, path)


def _entries(
    path: Path, *, required: bool, allow_groups: bool
) -> Iterator[tuple[str, NornirEntry, _File]]:
    data, file = _load(path, required=required)
    if data is None:
        return
    if not isinstance(data, Mapping):
        raise file.error(f"must be a mapping of names to their fields, not {_kind(data)}", ())
    for name, entry_data in data.items():
        yield str(name), _entry(entry_data, file, (str(name),), allow_groups=allow_groups), file


def load_nornir_inventory(path: Path) -> Inventory:
    """Load a Nornir SimpleInventory: a directory with ``hosts.yaml`` (and optional ``groups.yaml``, ``defaults.yaml``) or its ``hosts.yaml``.

    Raise :class:`ConfigError` naming the file, line and key path for a missing hosts file,
    an unknown field, a group nobody defines, a group loop, or a password that is not a secret
    reference.
    """
    hosts_path = path / HOSTS_FILE if path.is_dir() else path
    if path.is_dir() and not hosts_path.exists() and (path / "hosts.yml").exists():
        hosts_path = path / "hosts.yml"
    if not hosts_path.exists():
        raise ConfigError("no such file", path=str(hosts_path))
    directory = hosts_path.parent
    groups: dict[str, NornirEntry] = {}
    groups_file = _File(None, directory / GROUPS_FILE)
    for name, entry, file in _entries(directory / GROUPS_FILE, required=False, allow_groups=True):
        groups_file = file
        if name == "all":
            raise file.error(
                "'all' is the group of every host; put its values in defaults.yaml", (name,)
            )
        groups[name] = entry
    defaults_data, defaults_file = _load(directory / DEFAULTS_FILE, required=False)
    defaults = _entry(defaults_data, defaults_file, (), allow_groups=False)
    hosts: dict[str, NornirEntry] = {}
    hosts_file = _File(None, hosts_path)
    for name, entry, file in _entries(hosts_path, required=True, allow_groups=True):
        hosts[name] = entry
        hosts_file = file
    for name, entry in groups.items():
        for parent in entry.groups:
            if parent not in groups:
                raise groups_file.error(
                    f"group {parent} is not defined in {GROUPS_FILE}", (name, "groups")
                )
    for name, entry in hosts.items():
        for group in entry.groups:
            if group not in groups:
                raise hosts_file.error(
                    f"group {group} is not defined in {GROUPS_FILE}", (name, "groups")
                )

    document: dict[str, Any] = {"all": {"vars": dict(defaults.variables)}}
    for name, entry in groups.items():
        document[name] = {"vars": dict(entry.variables), "hosts": {}, "children": {}}
    for name, entry in groups.items():
        for parent in entry.groups:
            document[parent]["children"][name] = None
    for name, entry in hosts.items():
        member_of = entry.groups or ["ungrouped"]
        for index, group in enumerate(member_of):
            section = document.setdefault(group, {"hosts": {}})
            # Nornir's resolved values as host variables, so Ansible's merge order cannot change them
            section["hosts"][name] = (
                (resolve_nornir(entry, groups, defaults) or None) if index == 0 else None
            )
    return build_inventory(
        [(document, DocumentSource(str(hosts_path)))],
        path=path,
        source=str(path),
        vars_directory=None,
    )


def looks_like_nornir_hosts(path: Path) -> bool:
    """Return whether ``path`` parses as Nornir hosts: each entry a mapping of Nornir fields, at least one field set.

    An Ansible YAML inventory named ``hosts.yaml`` has ``hosts``/``children``/``vars`` under its
    groups instead, so it is not taken for Nornir's.
    """
    try:
        data = load_yaml(path).data
    except ConfigError:
        return False
    if not isinstance(data, Mapping) or not data:
        return False
    entries = [entry for entry in data.values() if entry is not None]
    return (
        bool(entries)
        and all(isinstance(entry, Mapping) and set(entry) <= set(_ENTRY_KEYS) for entry in entries)
        and any(entry for entry in entries)
    )


class NornirSource:
    """Nornir's SimpleInventory: ``hosts.yaml``, ``groups.yaml`` and ``defaults.yaml`` in one directory."""

    name = "nornir"

    def claims(self, path: Path) -> bool:
        """Return whether ``path`` is a directory holding ``hosts.yaml`` or is a file named ``hosts.yaml``."""
        hosts_path = path / HOSTS_FILE if path.is_dir() else path
        if path.is_dir() and not hosts_path.is_file():
            hosts_path = path / "hosts.yml"
        return hosts_path.is_file() and looks_like_nornir_hosts(hosts_path)

    def load(self, path: Path) -> Inventory:
        """Load the Nornir SimpleInventory at ``path``; see :func:`load_nornir_inventory`."""
        return load_nornir_inventory(path)
