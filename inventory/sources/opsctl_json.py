"""opsctl's own inventory JSON (``schema: opsctl.inventory/v1``), as :mod:`inventory.exports.opsctl_json` writes it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inventory.model import Inventory
from inventory.sources._build import DocumentSource, build_inventory
from inventory.sources.dynamic_json import json_mapping, read_json
from opsctl.core.errors import ConfigError

SCHEMA = "opsctl.inventory/v1"


def inventory_from_document(document: Any, *, source: str, path: Path | None = None) -> Inventory:
    """Return the inventory an ``opsctl.inventory/v1`` document holds; raise :class:`ConfigError` naming ``source`` and the key path when it is malformed."""
    if not isinstance(document, Mapping) or document.get("schema") != SCHEMA:
        raise ConfigError(
            f"not an opsctl inventory document (expected schema {SCHEMA})",
            path=source,
            key_path="schema",
        )
    groups, hosts = document.get("groups"), document.get("hosts")
    if not isinstance(groups, list) or not isinstance(hosts, list):
        raise ConfigError("groups and hosts must be lists", path=source)
    data: dict[str, Any] = {}
    for index, group in enumerate(groups):
        if not isinstance(group, Mapping) or not isinstance(group.get("name"), str):
            raise ConfigError(
                "each group is an object with a name", path=source, key_path=f"groups.{index}"
            )
        variables = dict(group.get("vars") or {})
        if group.get("priority", 1) != 1:
            variables["ansible_group_priority"] = group["priority"]
        data[group["name"]] = {
            "vars": variables,
            "children": dict.fromkeys(group.get("children") or []),
            "hosts": dict.fromkeys(group.get("hosts") or []),
        }
    placed: set[str] = set()
    host_vars: dict[str, Any] = {}
    for index, host in enumerate(hosts):
        if not isinstance(host, Mapping) or not isinstance(host.get("name"), str):
            raise ConfigError(
                "each host is an object with a name", path=source, key_path=f"hosts.{index}"
            )
        if not isinstance(host.get("vars", {}), Mapping):
            raise ConfigError("must be an object", path=source, key_path=f"hosts.{index}.vars")
        host_vars[host["name"]] = dict(host.get("vars") or {}) or None
    for group in data.values():
        for name in group["hosts"]:
            if name not in placed:
                placed.add(name)
                group["hosts"][name] = host_vars.get(name)
    for name in host_vars:
        if name not in placed:
            raise ConfigError(f"host {name} is in no group", path=source, key_path="hosts")
    return build_inventory(
        [(data, DocumentSource(source))], path=path, source=source, vars_directory=None
    )


class OpsctlJsonSource:
    """opsctl's own JSON inventory document (``schema: opsctl.inventory/v1``)."""

    name = "opsctl-json"

    def claims(self, path: Path) -> bool:
        """Return whether ``path`` is a JSON file whose ``schema`` is ``opsctl.inventory/v1``."""
        data = json_mapping(path)
        return data is not None and data.get("schema") == SCHEMA

    def load(self, path: Path) -> Inventory:
        """Load the opsctl inventory document in ``path``."""
        return inventory_from_document(read_json(path), source=str(path), path=path)
