"""opsctl's own inventory JSON: ``{"schema": "opsctl.inventory/v1", "groups": [...], "hosts": [...]}``.

Groups and hosts are lists in inventory order; each host is :meth:`Host.to_dict` (connection
settings resolved from the variables, credentials as references, merged variables); each
group carries its own variables, direct hosts, children and merge priority.
"""

from __future__ import annotations

import json
from typing import Any

from inventory.model import Inventory, json_safe

SCHEMA = "opsctl.inventory/v1"


def inventory_document(inventory: Inventory) -> dict[str, Any]:
    """Return ``inventory`` as an ``opsctl.inventory/v1`` document; raise :class:`ConfigError` for an unusable connection variable."""
    return {
        "schema": SCHEMA,
        "source": inventory.source,
        "groups": [
            {
                "name": group.name,
                "priority": group.priority,
                "children": list(group.children),
                "hosts": list(group.hosts),
                "vars": json_safe(group.vars),
            }
            for group in inventory.groups.values()
        ],
        "hosts": [host.to_dict() for host in inventory.hosts.values()],
    }


class OpsctlJsonExporter:
    """opsctl's JSON document (``schema: opsctl.inventory/v1``), read back by the ``opsctl-json`` source."""

    name = "opsctl-json"

    def export(self, inventory: Inventory) -> str:
        """Return the document as indented JSON with sorted keys and a final newline."""
        return (
            json.dumps(inventory_document(inventory), indent=2, sort_keys=True, ensure_ascii=False)
            + "\n"
        )
