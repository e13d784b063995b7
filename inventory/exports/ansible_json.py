"""Ansible's dynamic-inventory contract: the ``--list`` document and the ``--host NAME`` answer.

``--list`` holds every group with its ``hosts`` (direct members, inventory order), ``children``
and its own ``vars``, and ``_meta.hostvars`` with each host's fully merged variables, the same
values ``--host`` returns; so ``ansible-inventory`` and readers of the JSON alone both see what
opsctl sees. Groups with nothing to say are left out, as ``ansible-inventory --list`` does.
"""

from __future__ import annotations

import json
from typing import Any

from inventory.exports.layers import group_variables
from inventory.model import Inventory, json_safe


def listing(inventory: Inventory) -> dict[str, Any]:
    """Return the ``--list`` document for ``inventory`` as data."""
    document: dict[str, Any] = {
        "_meta": {
            "hostvars": {name: json_safe(host.vars) for name, host in inventory.hosts.items()}
        }
    }
    for name, group in inventory.groups.items():
        entry: dict[str, Any] = {}
        hosts = [host for host in group.hosts if host in inventory.hosts]
        if hosts and name != "all":
            entry["hosts"] = hosts
        if group.children:
            entry["children"] = list(group.children)
        variables = group_variables(group)
        if variables:
            entry["vars"] = json_safe(variables)
        if entry or name != "ungrouped":
            # an empty object would be read as Ansible's legacy form: a host named after the group
            document[name] = entry or {"hosts": []}
    return document


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def list_output(inventory: Inventory) -> str:
    """Return what a dynamic-inventory script prints for ``--list``: indented JSON with sorted keys."""
    return _dumps(listing(inventory))


def host_output(inventory: Inventory, name: str) -> str:
    """Return what a dynamic-inventory script prints for ``--host NAME``; raise :class:`HostNotFound` for an unknown host."""
    return _dumps(json_safe(inventory.get(name).vars))


class DynamicJsonExporter:
    """The ``--list`` JSON of an Ansible dynamic-inventory script (``_meta.hostvars`` included)."""

    name = "ansible-json"

    def export(self, inventory: Inventory) -> str:
        """Return the ``--list`` document; see :func:`list_output`."""
        return list_output(inventory)
