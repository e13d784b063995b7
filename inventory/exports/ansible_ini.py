"""Ansible's INI inventory format: ungrouped hosts first, then ``[group]``, ``[group:vars]`` and ``[group:children]`` per group.

Values are written so that Ansible's INI plugin reads back the same value and type: text that
``ast.literal_eval`` would not change is written as is, anything else (numbers kept as text,
text with surrounding spaces, lists, dicts, numbers, booleans) as a Python literal. A host's own
variables (those its groups do not give it) are written on its first line. Names INI cannot
hold (a group name with ``:``, ``]`` or spaces; a variable name with ``=`` or spaces) raise
:class:`ConfigError`.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from inventory.exports.layers import group_variables, own_variables, same_value
from inventory.model import Inventory, json_safe
from inventory.sources.ansible_ini import parse_ini_value
from opsctl.core.errors import ConfigError

_GROUP_NAME = re.compile(r"^[^:\]\s#;]+$")
_VARIABLE_NAME = re.compile(r"^[^=\s#;'\"\[]+$")


def ini_value(value: Any, *, where: str) -> str:
    """Return the text Ansible's INI plugin reads back as ``value``; raise :class:`ConfigError` naming ``where`` if there is none."""
    value = json_safe(value)
    if isinstance(value, str) and "\n" not in value and value == value.strip():
        text = value
        if same_value(parse_ini_value(text), value):
            return text
    text = repr(value)
    if not same_value(parse_ini_value(text), value):
        raise ConfigError("this value cannot be written in an INI inventory", key_path=where)
    return text


def _variable_name(name: str, where: str) -> str:
    if not _VARIABLE_NAME.match(name):
        raise ConfigError(
            "this variable name cannot be written in an INI inventory", key_path=f"{where}.{name}"
        )
    return name


def _host_line(name: str, variables: Mapping[str, Any], group: str) -> str:
    where = f"{group}.hosts.{name}"
    if name.startswith(("#", ";", "[")) or not name:
        raise ConfigError("this host name cannot be written in an INI inventory", key_path=where)
    tokens = [shlex.quote(name)]
    for key in sorted(variables):
        tokens.append(
            shlex.quote(
                f"{_variable_name(key, where)}={ini_value(variables[key], where=f'{where}.{key}')}"
            )
        )
    return " ".join(tokens)


def ini_text(inventory: Inventory) -> str:
    """Return ``inventory`` as an Ansible INI inventory."""
    lines: list[str] = []
    written: set[str] = set()

    def host_lines(group_name: str, members: tuple[str, ...]) -> list[str]:
        result = []
        for host_name in members:
            host = inventory.hosts.get(host_name)
            if host is None:
                continue
            own = own_variables(inventory, host) if host_name not in written else {}
            written.add(host_name)
            result.append(_host_line(host_name, own, group_name))
        return result

    ungrouped = inventory.groups.get("ungrouped")
    if ungrouped is not None and ungrouped.hosts:
        lines.append("# ungrouped hosts")
        lines.extend(host_lines("ungrouped", ungrouped.hosts))
        lines.append("")
    for name, group in inventory.groups.items():
        if not _GROUP_NAME.match(name):
            raise ConfigError(
                "this group name cannot be written in an INI inventory ([group] takes no ':', ']' or spaces)",
                key_path=name,
            )
        if name not in ("all", "ungrouped"):
            lines.append(f"[{name}]")
            lines.extend(host_lines(name, group.hosts))
            lines.append("")
        variables = group_variables(group)
        if variables:
            lines.append(f"[{name}:vars]")
            for key in sorted(variables):
                where = f"{name}.vars.{key}"
                lines.append(
                    f"{_variable_name(key, where)}={ini_value(variables[key], where=where)}"
                )
            lines.append("")
        # every group is under all anyway; Ansible puts parentless ones there
        children = [] if name == "all" else list(group.children)
        if children:
            lines.append(f"[{name}:children]")
            lines.extend(children)
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


class AnsibleIniExporter:
    """Ansible's INI inventory (``[group]``, ``[group:vars]``, ``[group:children]``)."""

    name = "ansible-ini"

    def export(self, inventory: Inventory) -> str:
        """Return the INI inventory text; see :func:`ini_text`."""
        return ini_text(inventory)
