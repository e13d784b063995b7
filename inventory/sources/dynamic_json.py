"""The JSON an Ansible dynamic-inventory script prints for ``--list``, read from a file as Ansible's ``script`` plugin reads it.

Each top-level key but ``_meta`` is a group with ``hosts`` (a list of names), ``vars`` and
``children`` (a list of group names); a bare list is taken as the group's hosts. Host variables
come from ``_meta.hostvars``; as in Ansible, hostvars of a host no group lists are ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inventory.model import Inventory
from inventory.sources._build import DocumentSource, build_inventory
from opsctl.core.errors import ConfigError
from opsctl.core.files import read_bytes, read_text


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return "null" if value is None else f"a {type(value).__name__}"


def json_mapping(path: Path) -> Mapping[str, Any] | None:
    """The top-level mapping of ``path`` if it is a readable ``.json`` file holding one, else ``None`` (for ``claims``).

    Raise :class:`ConfigError` naming the file when it exceeds the :mod:`~opsctl.core.files` size limit.
    """
    if not (path.is_file() and path.suffix == ".json"):
        return None
    # a file too large is refused here, not taken for another format
    content = read_bytes(path)
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None
    return data if isinstance(data, Mapping) else None


def read_json(path: Path) -> Any:
    """Return the JSON document in ``path``; raise :class:`ConfigError` with the line for a missing, unreadable or malformed file, or one that is not a regular file or exceeds the :mod:`~opsctl.core.files` limits."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"malformed JSON: {error.msg}", path=str(path), line=error.lineno
        ) from None
    except RecursionError:
        raise ConfigError("malformed JSON: nested too deeply", path=str(path)) from None


def inventory_from_listing(listing: Any, *, source: str, path: Path | None = None) -> Inventory:
    """Return the inventory a ``--list`` document describes; raise :class:`ConfigError` naming ``source`` and the key path when it is malformed."""
    if not isinstance(listing, Mapping):
        raise ConfigError(
            f"a --list document is an object of groups, not {_kind(listing)}", path=source
        )
    meta = listing.get("_meta", {})
    if not isinstance(meta, Mapping):
        raise ConfigError(f"must be an object, not {_kind(meta)}", path=source, key_path="_meta")
    hostvars = meta.get("hostvars", {})
    if not isinstance(hostvars, Mapping):
        raise ConfigError(
            f"must be an object, not {_kind(hostvars)}", path=source, key_path="_meta.hostvars"
        )
    groups: dict[str, Any] = {}
    for name, raw in listing.items():
        if name == "_meta":
            continue
        group = {"hosts": raw} if isinstance(raw, list) else raw
        if not isinstance(group, Mapping):
            raise ConfigError(
                f"a group is an object with hosts, vars and children, not {_kind(raw)}",
                path=source,
                key_path=name,
            )
        if not any(key in group for key in ("hosts", "vars", "children")):
            # Ansible's legacy reading: a group object without those keys is one host's vars
            group = {"hosts": [name], "vars": group}
        hosts = group.get("hosts", [])
        children = group.get("children", [])
        variables = group.get("vars", {})
        for key, value, expected in (
            ("hosts", hosts, list),
            ("children", children, list),
            ("vars", variables, Mapping),
        ):
            if not isinstance(value, expected):
                wanted = "a list" if expected is list else "an object"
                raise ConfigError(
                    f"must be {wanted}, not {_kind(value)}", path=source, key_path=f"{name}.{key}"
                )
        for host in hosts:
            if not isinstance(host, str) or not host or "[" in host or "]" in host:
                raise ConfigError(
                    "a dynamic inventory lists each host by its name (text, no [ranges])",
                    path=source,
                    key_path=f"{name}.hosts",
                )
        groups[name] = {
            "hosts": {host: None for host in hosts},
            "children": {str(child): None for child in children},
            "vars": dict(variables),
        }
    # host variables go on each host's first mention; host variables beat group variables anyway
    placed: set[str] = set()
    for group in groups.values():
        for host in group["hosts"]:
            if host in placed:
                continue
            placed.add(host)
            variables = hostvars.get(host, {})
            if not isinstance(variables, Mapping):
                raise ConfigError(
                    f"must be an object, not {_kind(variables)}",
                    path=source,
                    key_path=f"_meta.hostvars.{host}",
                )
            group["hosts"][host] = dict(variables) or None
    return build_inventory(
        [({name: data}, DocumentSource(source)) for name, data in groups.items()],
        path=path,
        source=source,
        vars_directory=None,
    )


class DynamicJsonSource:
    """A saved ``--list`` document of an Ansible dynamic-inventory script (``_meta.hostvars`` plus groups)."""

    name = "ansible-json"

    def claims(self, path: Path) -> bool:
        """Return whether ``path`` is a ``.json`` file whose top level is not an opsctl document.

        A ``.json`` file that does not parse is claimed too, so that loading it names the line
        of the problem instead of "cannot tell which inventory format this is".
        """
        if not (path.is_file() and path.suffix == ".json"):
            return False
        data = json_mapping(path)
        return data is None or "schema" not in data

    def load(self, path: Path) -> Inventory:
        """Load the ``--list`` document saved in ``path``; raise :class:`ConfigError` naming the file for a missing or malformed one."""
        return inventory_from_listing(read_json(path), source=str(path), path=path)
