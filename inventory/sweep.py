"""Sweeping a subnet for SNMP agents: which addresses answer, and to which configured credential set.

``opsctl inventory scan --subnet CIDR`` asks every address of the subnet for ``sysObjectID.0``
with each credential set of ``discovery.snmp`` at once, and keeps, per address, the first set
in configuration order that got an answer. An address where every request timed out is empty
(a v2c agent is also silent on a wrong community, so it cannot be told apart); one where a v3
request was refused holds an agent that does not accept our credentials, and is reported. The
addresses that answered become inventory hosts for :func:`inventory.scan.scan`: named after
an SNMP host of the inventory at that address and port, or else by the address itself (a
discovered device's identity is its management address, never its serial).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opsctl.core.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from inventory.model import Host
    from inventory.settings import DiscoverySettings
    from inventory.snmp.client import SnmpCredentials
    from inventory.snmp.credentials import SnmpCredentialSet

SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"


def subnet_addresses(cidr: str, *, limit: int) -> list[str]:
    """The host addresses of ``cidr`` (network and broadcast left out of an IPv4 subnet wider than /31).

    Raise UsageError for text that is no subnet, or for more than ``limit`` addresses.
    """
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise UsageError(f"--subnet {cidr!r}: expected a subnet such as 10.20.0.0/24 or 2001:db8::/120") from None
    count = network.num_addresses - (2 if network.version == 4 and network.prefixlen < 31 else 0)
    if count > limit:
        raise UsageError(
            f"--subnet {network} holds {count} addresses, more than the {limit} allowed",
            hint="sweep a smaller subnet, or raise discovery.max_addresses",
        )
    if network.num_addresses == 1:
        return [str(network.network_address)]
    return [str(address) for address in network.hosts()]


@dataclass(frozen=True)
class SweepCredential:
    """One configured credential set: where it is configured, the set (secrets by reference), the resolved credentials."""

    label: str
    credential_set: SnmpCredentialSet
    credentials: SnmpCredentials = field(repr=False)


def sweep_credentials(discovery: DiscoverySettings) -> list[SweepCredential]:
    """The credential sets of ``discovery.snmp``, secrets resolved now; raise ConfigError when there are none.

    A secret that cannot be read raises SecretError, naming the reference only.
    """
    from inventory.snmp.credentials import credential_set_of_settings

    if not discovery.snmp:
        raise ConfigError(
            "a subnet sweep needs SNMP credentials, and discovery.snmp has none",
            hint="add e.g. 'discovery: {snmp: [{community: file:/etc/opsctl/snmp-community}]}' to opsctl.yaml",
        )
    found = []
    for index, entry in enumerate(discovery.snmp):
        credential_set = credential_set_of_settings(entry)
        credentials = credential_set.resolve()
        found.append(SweepCredential(f"discovery.snmp[{index}] ({credentials.describe()})", credential_set, credentials))
    return found


@dataclass(frozen=True)
class SweepAnswer:
    """An address where an agent answered ``sysObjectID.0`` to ``credential``."""

    address: str
    credential: SweepCredential
    sys_object_id: str


@dataclass(frozen=True)
class SweepResult:
    """What a sweep of ``subnet`` found: agents that answered, and agents that refused every credential set."""

    subnet: str
    port: int
    addresses: int
    answered: tuple[SweepAnswer, ...]
    refused: tuple[tuple[str, str], ...] = ()

    @property
    def summary(self) -> str:
        """One line for people."""
        text = f"swept {self.addresses} addresses of {self.subnet} (port {self.port}): {len(self.answered)} answered SNMP"
        if self.refused:
            text += f", {len(self.refused)} refused every credential set"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json`` (credential sets by label, never their secrets)."""
        return {
            "subnet": self.subnet,
            "port": self.port,
            "addresses": self.addresses,
            "answered": [
                {"address": a.address, "credential": a.credential.label, "sys_object_id": a.sys_object_id}
                for a in self.answered
            ],
            "refused": [{"address": address, "message": message} for address, message in self.refused],
        }


async def _sweep(
    addresses: Sequence[str],
    credentials: Sequence[SweepCredential],
    *,
    port: int,
    timeout: float,
    retries: int,
    concurrency: int,
    on_probed: Callable[[str, bool], None] | None,
) -> tuple[list[SweepAnswer], list[tuple[str, str]]]:
    from inventory.snmp.client import AUTH_FAILED, SnmpClient, SnmpTarget

    client = SnmpClient()
    gate = asyncio.Semaphore(max(1, concurrency))
    answered: dict[str, SweepAnswer] = {}
    refused: dict[str, str] = {}

    async def probe(address: str) -> None:
        target = SnmpTarget(address, port, timeout=timeout, retries=retries)
        async with gate:
            results = await asyncio.gather(
                *(client.get(target, credential.credentials, [SYS_OBJECT_ID]) for credential in credentials)
            )
        for credential, result in zip(credentials, results, strict=True):
            value = result.values.get(SYS_OBJECT_ID)
            if result.error is None and isinstance(value, str):
                answered[address] = SweepAnswer(address, credential, value)
                break
        else:
            problems = [f"{c.label}: {r.message or r.error}" for c, r in zip(credentials, results, strict=True)
                        if r.error == AUTH_FAILED]
            if problems:
                refused[address] = "; ".join(problems)
        if on_probed is not None:
            on_probed(address, address in answered)

    try:
        await asyncio.gather(*(probe(address) for address in addresses))
    finally:
        client.close()
    order = {address: index for index, address in enumerate(addresses)}
    return (
        sorted(answered.values(), key=lambda answer: order[answer.address]),
        sorted(refused.items(), key=lambda item: order[item[0]]),
    )


def sweep(
    subnet: str,
    discovery: DiscoverySettings,
    *,
    port: int | None = None,
    concurrency: int = 64,
    addresses: Sequence[str] | None = None,
    on_probed: Callable[[str, bool], None] | None = None,
) -> SweepResult:
    """Ask every address of ``subnet`` for ``sysObjectID.0`` with every credential set of ``discovery``.

    ``addresses`` are the subnet's, when the caller has them already (see :func:`subnet_addresses`);
    ``on_probed(address, answered)`` is called as each address is done (for progress). Raise
    UsageError for a bad or too large subnet, ConfigError/SecretError for missing credentials.
    """
    if addresses is None:
        addresses = subnet_addresses(subnet, limit=discovery.max_addresses)
    credentials = sweep_credentials(discovery)
    chosen_port = port or discovery.snmp_port
    answered, refused = asyncio.run(_sweep(
        addresses, credentials, port=chosen_port, timeout=discovery.snmp_timeout, retries=discovery.snmp_retries,
        concurrency=concurrency, on_probed=on_probed,
    ))
    network = ipaddress.ip_network(subnet.strip(), strict=False)
    return SweepResult(str(network), chosen_port, len(addresses), tuple(answered), tuple(refused))


def hosts_from_sweep(result: SweepResult, known: Sequence[Host] = ()) -> list[Host]:
    """Inventory hosts for the addresses that answered: a known SNMP host at that address and port keeps its
    name and its own variables; any other address becomes a host named by the address, with the credential
    set that answered. ``opsctl_snmp_port`` is set to the port swept.
    """
    from inventory.model import Host
    from inventory.snmp.credentials import PORT, VERSION, host_variables_of, snmp_port_of

    by_address: dict[tuple[str, int], Host] = {}
    for host in known:
        if host.vars.get(VERSION) is None:
            continue
        try:
            host_port = snmp_port_of(host)
        except ConfigError:
            continue
        by_address.setdefault((host.address, host_port), host)
    hosts = []
    for answer in result.answered:
        existing = by_address.get((answer.address, result.port))
        if existing is not None:
            hosts.append(existing)
            continue
        variables = {"ansible_host": answer.address, **host_variables_of(answer.credential.credential_set)}
        if result.port != 161:
            variables[PORT] = result.port
        hosts.append(Host(answer.address, variables, ("all", "ungrouped")))
    return hosts
