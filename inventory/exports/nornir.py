"""Nornir's SimpleInventory: ``hosts.yaml``, ``groups.yaml`` and ``defaults.yaml``, read back by the ``nornir`` source.

Ansible variables map to Nornir's fields as the source maps them back (``ansible_host`` →
``hostname``, ``ansible_port`` → ``port``, ``ansible_user`` → ``username``,
``ansible_password`` → ``password``, ``ansible_network_os`` → ``platform``); other variables go
in ``data``. The ``all`` group becomes the defaults and a group's parents its ``groups``; each
host lists its direct groups highest Ansible precedence first, since Nornir lets the first group
win. Nornir has no ``ungrouped`` group or group priority, so a host's data holds whatever its
groups would not give it under Nornir's rule: it sees the same merged variables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inventory.exports.ansible_yaml import dump_yaml
from inventory.exports.layers import depths, direct_groups, parents_of, same_value
from inventory.model import Inventory, json_safe
from inventory.sources.nornir import (
    CONNECTION_OPTIONS_VARIABLE,
    DEFAULTS_FILE,
    FIELD_VARIABLES,
    GROUPS_FILE,
    HOSTS_FILE,
    NornirEntry,
    resolve_nornir,
)

_FIELD_TYPES: Mapping[str, type] = {"port": int}


def nornir_entry(variables: Mapping[str, Any], groups: Sequence[str] = ()) -> dict[str, Any]:
    """Return the Nornir entry for ``variables``: mapped fields (when of Nornir's type), ``groups``, ``data`` (sorted), ``connection_options``."""
    entry: dict[str, Any] = {}
    taken: set[str] = set()
    for field_name, variable in FIELD_VARIABLES.items():
        expected = _FIELD_TYPES.get(field_name, str)
        if variable in variables and type(variables[variable]) is expected:
            entry[field_name] = variables[variable]
            taken.add(variable)
    options = variables.get(CONNECTION_OPTIONS_VARIABLE)
    if isinstance(options, Mapping):
        taken.add(CONNECTION_OPTIONS_VARIABLE)
    if groups:
        entry["groups"] = list(groups)
    data = {name: json_safe(variables[name]) for name in sorted(variables) if name not in taken}
    if data:
        entry["data"] = data
    if isinstance(options, Mapping):
        entry["connection_options"] = json_safe(options)
    return entry


def nornir_files(inventory: Inventory) -> dict[str, str]:
    """Return ``hosts.yaml``, ``groups.yaml`` and ``defaults.yaml`` for ``inventory``."""
    depth = depths(inventory)
    parents = parents_of(inventory)

    def highest_first(names: list[str]) -> list[str]:
        def precedence(name: str) -> tuple[int, int, str]:
            group = inventory.groups[name]
            return depth.get(name, 1), group.priority, name

        return sorted(names, key=precedence, reverse=True)

    all_group = inventory.groups.get("all")
    defaults = NornirEntry(variables=dict(all_group.vars) if all_group is not None else {})
    groups: dict[str, NornirEntry] = {}
    for name, group in inventory.groups.items():
        if name in ("all", "ungrouped"):
            continue
        listed = highest_first(
            [parent for parent in parents.get(name, []) if parent not in ("all", "ungrouped")]
        )
        groups[name] = NornirEntry(variables=dict(group.vars), groups=listed)

    hosts_document: dict[str, Any] = {}
    for name, host in inventory.hosts.items():
        member_of = highest_first(
            [group for group in direct_groups(inventory, host) if group in groups]
        )
        from_groups = resolve_nornir(NornirEntry(groups=member_of), groups, defaults)
        own = {
            key: value
            for key, value in host.vars.items()
            if key not in from_groups or not same_value(from_groups[key], value)
        }
        hosts_document[name] = nornir_entry(own, member_of) or None

    groups_document = {
        name: nornir_entry(entry.variables, entry.groups) or None for name, entry in groups.items()
    }
    defaults_document = nornir_entry(defaults.variables)
    return {
        DEFAULTS_FILE: dump_yaml(defaults_document) if defaults_document else "{}\n",
        GROUPS_FILE: dump_yaml(groups_document) if groups_document else "{}\n",
        HOSTS_FILE: dump_yaml(hosts_document) if hosts_document else "{}\n",
    }


class NornirExporter:
    """Nornir's SimpleInventory files (``hosts.yaml``, ``groups.yaml``, ``defaults.yaml``)."""

    name = "nornir"

    def export(self, inventory: Inventory) -> dict[str, str]:
        """Return the three files by name; see :func:`nornir_files`."""
        return nornir_files(inventory)
