"""What an exporter needs beyond the model: each host's direct groups and the variables it sets itself.

The model keeps each host's fully merged variables. A format that nests variables (groups and
hosts) writes each group's own variables on the group and, on the host, only what the group
merge does not already give it; reading the export back then merges to the same values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inventory.model import Group, Host, Inventory

GROUP_PRIORITY_VARIABLE = "ansible_group_priority"


def same_value(first: Any, second: Any) -> bool:
    """Return whether two variable values are equal in value and type (``1`` is not ``True``, nor ``1.0``)."""
    if isinstance(first, Mapping) and isinstance(second, Mapping):
        return list(first) == list(second) and all(
            same_value(first[key], second[key]) for key in first
        )
    if isinstance(first, list | tuple) and isinstance(second, list | tuple):
        return len(first) == len(second) and all(
            same_value(a, b) for a, b in zip(first, second, strict=True)
        )
    return type(first) is type(second) and bool(first == second)


def direct_groups(inventory: Inventory, host: Host) -> list[str]:
    """Return the groups that list ``host`` themselves (not through a child), in inventory order, without ``all``."""
    found = [
        name
        for name, group in inventory.groups.items()
        if name != "all" and host.name in group.hosts
    ]
    return [name for name in found if name != "ungrouped"] or (
        ["ungrouped"] if "ungrouped" in found else []
    )


def parents_of(inventory: Inventory) -> dict[str, list[str]]:
    """Return each group's parent groups, in inventory order."""
    parents: dict[str, list[str]] = {name: [] for name in inventory.groups}
    for name, group in inventory.groups.items():
        for child in group.children:
            parents.setdefault(child, []).append(name)
    return parents


def depths(inventory: Inventory) -> dict[str, int]:
    """Return each group's depth as Ansible counts it: the longest path from ``all`` (0)."""
    parents = parents_of(inventory)
    found: dict[str, int] = {"all": 0}

    def depth_of(name: str, visiting: frozenset[str]) -> int:
        if name not in found:
            candidates = [
                depth_of(parent, visiting | {name}) + 1
                for parent in parents.get(name, [])
                if parent not in visiting
            ]
            found[name] = max(candidates, default=1)
        return found[name]

    for name in inventory.groups:
        depth_of(name, frozenset())
    return found


def merge_order(inventory: Inventory, host: Host) -> list[str]:
    """Return the groups whose variables reach ``host``, in Ansible's merge order (depth, priority, name), ``all`` first."""
    parents = parents_of(inventory)
    member_of: set[str] = set()
    pending = list(direct_groups(inventory, host))
    while pending:
        name = pending.pop()
        if name not in member_of:
            member_of.add(name)
            pending.extend(parents.get(name, []))
    depth = depths(inventory)

    def precedence(name: str) -> tuple[int, int, str]:
        group = inventory.groups.get(name)
        return depth.get(name, 1), group.priority if group is not None else 1, name

    return ["all", *sorted(member_of - {"all"}, key=precedence)]


def group_merged_variables(inventory: Inventory, host: Host) -> dict[str, Any]:
    """Return what ``host`` would get from its groups alone, merged in Ansible's order."""
    merged: dict[str, Any] = {}
    for name in merge_order(inventory, host):
        group = inventory.groups.get(name)
        if group is not None:
            merged.update(group.vars)
    return merged


def own_variables(inventory: Inventory, host: Host) -> dict[str, Any]:
    """Return the variables ``host`` must set itself so that its groups plus these merge to ``host.vars``."""
    from_groups = group_merged_variables(inventory, host)
    return {
        name: value
        for name, value in host.vars.items()
        if name not in from_groups or not same_value(from_groups[name], value)
    }


def group_variables(group: Group) -> dict[str, Any]:
    """Return ``group``'s own variables plus ``ansible_group_priority`` when it is not the default 1."""
    variables = dict(group.vars)
    if group.priority != 1:
        variables[GROUP_PRIORITY_VARIABLE] = group.priority
    return variables
