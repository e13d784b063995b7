"""Prometheus ``file_sd`` targets: the opsctl agents, and the SNMP devices for an SNMP exporter job.

Two formats, one file each, so each feeds its own scrape job:

- ``prometheus-file-sd``: the hosts whose inventory says they run the agent
  (``opsctl_agent: true``, the variable ``opsctl agent install`` sets), each at its address and
  the agent port ``opsctl_agent_port`` (default 9101). A switch, UPS or sensor is never an
  agent target, so Prometheus does not report it down on a port it never listens on.
- ``prometheus-snmp-file-sd``: the hosts read over SNMP (``opsctl_snmp_version``), each at its
  address, with ``:port`` only when ``opsctl_snmp_port`` is not 161, for the usual
  ``snmp_exporter`` relabelling (``__address__`` to ``__param_target``).

One target group per host, not per inventory group: a host in several groups would otherwise be
scraped once per group. The address is ``ansible_host``, else the name; IPv6 in brackets.
Labels: ``host`` (the inventory name) and ``groups`` (every group the host is in but ``all``
and ``ungrouped``, sorted, with a leading and trailing comma, so ``groups=~".*,web,.*"`` selects).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

from inventory.model import Host, Inventory, parse_boolean, parse_port
from opsctl.core.errors import ConfigError

AGENT_VARIABLE = "opsctl_agent"
AGENT_PORT_VARIABLE = "opsctl_agent_port"
DEFAULT_AGENT_PORT = 9101
SNMP_VERSION_VARIABLE = "opsctl_snmp_version"
SNMP_PORT_VARIABLE = "opsctl_snmp_port"
DEFAULT_SNMP_PORT = 161


def runs_agent(host: Host) -> bool:
    """Whether ``host``'s inventory says it runs the opsctl agent (``opsctl_agent``, default no).

    Raise :class:`ConfigError` naming the host when the value is not a boolean.
    """
    raw = host.vars.get(AGENT_VARIABLE)
    if raw is None:
        return False
    try:
        return parse_boolean(raw)
    except ValueError as error:
        raise ConfigError(f"host {host.name}: {AGENT_VARIABLE} {error}") from None


def reads_snmp(host: Host) -> bool:
    """Whether ``host`` is read over SNMP: it sets ``opsctl_snmp_version``."""
    return host.vars.get(SNMP_VERSION_VARIABLE) not in (None, "")


def _port(host: Host, variable: str, default: int) -> int:
    try:
        return parse_port(host.vars.get(variable, default))
    except ValueError as error:
        raise ConfigError(f"host {host.name}: {variable} {error}") from None


def _bracketed(address: str) -> str:
    try:
        is_ipv6 = isinstance(ipaddress.ip_address(address), ipaddress.IPv6Address)
    except ValueError:
        is_ipv6 = False
    return f"[{address}]" if is_ipv6 else address


def agent_target(host: Host) -> str:
    """Return ``address:port`` of ``host``'s agent; raise :class:`ConfigError` naming the host for a bad ``opsctl_agent_port``."""
    return f"{_bracketed(host.address)}:{_port(host, AGENT_PORT_VARIABLE, DEFAULT_AGENT_PORT)}"


def snmp_target(host: Host) -> str:
    """Return ``host``'s SNMP target: its address, ``:port`` added for a port other than 161; ConfigError for a bad port."""
    port = _port(host, SNMP_PORT_VARIABLE, DEFAULT_SNMP_PORT)
    if port == DEFAULT_SNMP_PORT:
        return host.address
    return f"{_bracketed(host.address)}:{port}"


def _target_groups(
    inventory: Inventory, include: Callable[[Host], bool], target: Callable[[Host], str]
) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for host in inventory.hosts.values():
        if not include(host):
            continue
        member_of = sorted(set(host.groups) - {"all", "ungrouped"})
        groups.append(
            {
                "targets": [target(host)],
                "labels": {
                    "host": host.name,
                    "groups": f",{','.join(member_of)}," if member_of else "",
                },
            }
        )
    return groups


def target_groups(inventory: Inventory) -> list[dict[str, Any]]:
    """Return the agents' ``file_sd`` target groups: one per host with ``opsctl_agent: true``, in inventory order."""
    return _target_groups(inventory, runs_agent, agent_target)


def snmp_target_groups(inventory: Inventory) -> list[dict[str, Any]]:
    """Return the SNMP devices' ``file_sd`` target groups: one per host with ``opsctl_snmp_version``, in inventory order."""
    return _target_groups(inventory, reads_snmp, snmp_target)


def _json(groups: list[dict[str, Any]]) -> str:
    return json.dumps(groups, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class PrometheusFileSdExporter:
    """Prometheus ``file_sd`` JSON for the agent job: every host that runs the agent, labelled with its name and groups."""

    name = "prometheus-file-sd"

    def export(self, inventory: Inventory) -> str:
        """Return the agents' target groups as indented JSON with sorted keys (``[]`` when no host runs the agent)."""
        return _json(target_groups(inventory))


class PrometheusSnmpFileSdExporter:
    """Prometheus ``file_sd`` JSON for an SNMP exporter job: every host read over SNMP, labelled with its name and groups."""

    name = "prometheus-snmp-file-sd"

    def export(self, inventory: Inventory) -> str:
        """Return the SNMP devices' target groups as indented JSON with sorted keys."""
        return _json(snmp_target_groups(inventory))
