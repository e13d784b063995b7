"""Ansible's YAML inventory format: ``all:`` with the ``all`` group's variables, then every group at the top level.

Each group is written once, in inventory order, with its direct ``hosts``, its ``vars`` and its
``children`` by name (a top-level group without a parent is a child of ``all``, as Ansible reads
it). A host's own variables (those its groups do not give it) are written at its first mention.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from inventory.exports.layers import group_variables, own_variables
from inventory.model import Inventory, is_vault_value, json_safe


def inventory_data(inventory: Inventory) -> dict[str, Any]:
    """Return ``inventory`` as data shaped like Ansible's YAML inventory (what :func:`inventory.inventory_from_data` reads)."""
    document: dict[str, Any] = {}
    all_group = inventory.groups.get("all")
    all_variables = group_variables(all_group) if all_group is not None else {}
    document["all"] = {"vars": sorted_variables(all_variables)} if all_variables else None
    written: set[str] = set()
    for name, group in inventory.groups.items():
        if name == "all":
            continue
        entry: dict[str, Any] = {}
        hosts: dict[str, Any] = {}
        for host_name in group.hosts:
            host = inventory.hosts.get(host_name)
            if host is None:
                continue
            own = own_variables(inventory, host) if host_name not in written else {}
            written.add(host_name)
            hosts[host_name] = sorted_variables(own) or None
        if hosts:
            entry["hosts"] = hosts
        variables = group_variables(group)
        if variables:
            entry["vars"] = sorted_variables(variables)
        if group.children:
            entry["children"] = dict.fromkeys(group.children)
        if entry or name != "ungrouped":
            document[name] = entry or None
    return document


class VaultText(str):
    """An Ansible Vault ciphertext, written back with its ``!vault`` tag."""


def _yaml_value(value: Any) -> Any:
    if is_vault_value(value):
        return VaultText(value["__ansible_vault"])
    if isinstance(value, Mapping):
        return {str(key): _yaml_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_yaml_value(item) for item in value]
    return value


def sorted_variables(variables: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``variables`` JSON-safe (vault values kept), sorted by name."""
    return {name: _yaml_value(json_safe(variables[name])) for name in sorted(variables)}


def dump_yaml(data: Any) -> str:
    """Return ``data`` as block-style YAML 1.1, so text PyYAML would read as another type (``yes``, ``1:00``) is quoted.

    Ansible reads inventories with PyYAML (YAML 1.1); the ``%YAML 1.1`` directive makes every
    YAML reader agree. Vault values are written with their ``!vault`` tag.
    """
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.version = (1, 1)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    yaml.width = 4096
    yaml.representer.add_representer(
        VaultText,
        lambda representer, text: representer.represent_scalar("!vault", str(text), style="|"),
    )
    stream = io.StringIO()
    yaml.dump(_yaml_value(data), stream)
    return stream.getvalue()


class AnsibleYamlExporter:
    """Ansible's YAML inventory (``all:``, groups with ``hosts``, ``vars``, ``children``)."""

    name = "ansible-yaml"

    def export(self, inventory: Inventory) -> str:
        """Return the YAML inventory text; see :func:`inventory_data`."""
        return dump_yaml(inventory_data(inventory))
