"""Prometheus ``file_sd`` targets for the opsctl agents: one target group per host, labelled with its name and groups.

One group per host, not per inventory group: a host in several groups would otherwise be
scraped once per group. Each target is the host's address (``ansible_host``, else its name;
IPv6 in brackets) and the agent port from ``opsctl_agent_port`` (default 9101). Labels:
``host`` (the inventory name) and ``groups`` (every group the host is in but ``all`` and
``ungrouped``, sorted, with a leading and trailing comma, so ``groups=~".*,web,.*"`` selects).
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from inventory.model import Host, Inventory, parse_port
from opsctl.core.errors import ConfigError

AGENT_PORT_VARIABLE = "opsctl_agent_port"
DEFAULT_AGENT_PORT = 9101


def agent_target(host: Host) -> str:
    """Return ``address:port`` of ``host``'s agent; raise :class:`ConfigError` naming the host for a bad ``opsctl_agent_port``."""
    raw = host.vars.get(AGENT_PORT_VARIABLE, DEFAULT_AGENT_PORT)
    try:
        port = parse_port(raw)
    except ValueError as error:
        raise ConfigError(f"host {host.name}: {AGENT_PORT_VARIABLE} {error}") from None
    address = host.address
    try:
        is_ipv6 = isinstance(ipaddress.ip_address(address), ipaddress.IPv6Address)
    except ValueError:
        is_ipv6 = False
    return f"[{address}]:{port}" if is_ipv6 else f"{address}:{port}"


def target_groups(inventory: Inventory) -> list[dict[str, Any]]:
    """Return the ``file_sd`` target groups for ``inventory``, one per host in inventory order."""
    groups: list[dict[str, Any]] = []
    for host in inventory.hosts.values():
        member_of = sorted(set(host.groups) - {"all", "ungrouped"})
        groups.append(
            {
                "targets": [agent_target(host)],
                "labels": {
                    "host": host.name,
                    "groups": f",{','.join(member_of)}," if member_of else "",
                },
            }
        )
    return groups


class PrometheusFileSdExporter:
    """Prometheus ``file_sd`` JSON: the agent of every host as a target, labelled with its name and groups."""

    name = "prometheus-file-sd"

    def export(self, inventory: Inventory) -> str:
        """Return the target groups as indented JSON with sorted keys."""
        return (
            json.dumps(target_groups(inventory), indent=2, sort_keys=True, ensure_ascii=False)
            + "\n"
        )
