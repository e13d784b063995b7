"""Choosing hosts: the configured inventory (and any other inventory files) by pattern, and what fleet work can reach.

:func:`select_hosts` and :func:`inventory_hosts` are what a scan reads; :func:`reachable_hosts`
and :func:`ssh_targets` are what SSH work (``run``, ``hosts trust``) reaches: the hosts without
SSH logins (``opsctl_ssh: false``) or, for commands, without a shell (a network device's
``ansible_network_os``) are left out and named in a :class:`Selection`'s message, for the
caller to show. The parts of a pattern that match no host and no group (``ssh_hosts:!lab-ssh-O2``
with a letter O) are a selection's ``unmatched``, for the caller to warn about; with ``strict``
they are refused before anything is done. Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from opsctl.core.errors import ConfigError, HostNotFound, UsageError

if TYPE_CHECKING:
    from inventory.model import Host, Inventory
    from opsctl.core.settings import Settings
    from opsctl.core.ssh import SshTarget

Need = Literal["ssh", "shell"]
# how many left-out hosts a message names before it says "and N more"
NAMED_IN_MESSAGE = 8


def configured_inventory(settings: Settings) -> Inventory:
    """The inventory ``settings.inventory`` names; raise ConfigError if none is configured."""
    from inventory import load_inventory

    if settings.inventory is None:
        raise ConfigError("no inventory configured",
                          hint="set 'inventory: PATH' in opsctl.yaml or OPSCTL_INVENTORY=PATH")
    return load_inventory(settings.inventory)


def inventory_unmatched_parts(inventory: Inventory, pattern: str) -> tuple[str, ...]:
    """The parts of ``pattern`` that match no host and no group of ``inventory`` (see :func:`inventory.patterns.unmatched_parts`)."""
    from inventory.patterns import unmatched_parts

    return unmatched_parts(pattern, host_names=tuple(inventory.hosts),
                           group_hosts={group: inventory.hosts_of(group) for group in inventory.groups})


def unmatched_warning(part: str) -> str:
    """The line that warns about one pattern part that matched nothing (Ansible's words)."""
    return f"could not match supplied host pattern, ignoring: {part}"


def refuse_unmatched(pattern: str, unmatched: Sequence[str]) -> None:
    """Raise UsageError (nothing done) naming the parts of ``pattern`` in ``unmatched``, if any."""
    if unmatched:
        raise UsageError(f"host pattern {pattern!r}: {', '.join(unmatched)} "
                         f"match{'es' if len(unmatched) == 1 else ''} no host or group; nothing was done",
                         hint="check the spelling against the inventory, or leave out --strict-patterns")


def load_hosts(settings: Settings, pattern: str) -> list[Host]:
    """The hosts of the configured inventory ``pattern`` matches; ConfigError if none is configured, HostNotFound if none match."""
    return list(configured_inventory(settings).select(pattern))


def load_host(settings: Settings, name: str) -> Host:
    """The configured inventory's host called exactly ``name`` (never a pattern); HostNotFound otherwise."""
    return configured_inventory(settings).get(name)


def select_hosts(settings: Settings, pattern: str, inventory_files: Sequence[Path] = ()) -> list[Host]:
    """The hosts ``pattern`` selects in the configured inventory and each of ``inventory_files``, in that order.

    A file where the pattern matches nothing adds nothing, and a host a later file repeats with
    the same variables is the same host. Raise HostNotFound when no file has a match, ConfigError
    when there is no inventory at all, UsageError when two files give one host different variables.
    """
    from inventory import load_inventory

    paths = [*([settings.inventory] if settings.inventory is not None else []), *inventory_files]
    if not paths:
        raise ConfigError("no inventory configured and no --inventory-file given",
                          hint="set 'inventory: PATH' in opsctl.yaml or pass --inventory-file PATH")
    selected: dict[str, Host] = {}
    for path in dict.fromkeys(paths):
        inventory = load_inventory(path)
        try:
            hosts = inventory.select(pattern)
        except HostNotFound:
            continue
        for host in hosts:
            earlier = selected.get(host.name)
            if earlier is not None and earlier.vars != host.vars:
                raise UsageError(f"host {host.name} is in more than one of the inventories given, "
                                 f"with other variables in {path}")
            selected.setdefault(host.name, host)
    if not selected:
        raise HostNotFound(f"pattern {pattern!r} matches no host in {', '.join(map(str, dict.fromkeys(paths)))}")
    return list(selected.values())


def unmatched_in_inventories(settings: Settings, pattern: str, inventory_files: Sequence[Path] = (), *,
                             strict: bool = False) -> tuple[str, ...]:
    """The parts of ``pattern`` that match no host and no group in the configured inventory nor any of ``inventory_files``.

    What :func:`select_hosts` reads, checked apart so a caller can warn before a scan (none
    without any inventory: selecting then says so). Raise UsageError for such parts when ``strict``.
    """
    from inventory import load_inventory

    paths = [*([settings.inventory] if settings.inventory is not None else []), *inventory_files]
    unmatched: tuple[str, ...] = ()
    for index, path in enumerate(dict.fromkeys(paths)):
        here = inventory_unmatched_parts(load_inventory(path), pattern)
        unmatched = here if index == 0 else tuple(part for part in unmatched if part in here)
    if strict:
        refuse_unmatched(pattern, unmatched)
    return unmatched


def inventory_hosts(settings: Settings, inventory_files: Sequence[Path] = ()) -> list[Host]:
    """Every host of the configured inventory and of ``inventory_files`` (none when there is no inventory at all)."""
    if settings.inventory is None and not inventory_files:
        return []
    try:
        return select_hosts(settings, "all", inventory_files)
    except HostNotFound:  # inventories without a host
        return []


@dataclass(frozen=True)
class Selection:
    """The hosts a pattern matched that the work can reach, and those left out with one message naming them."""

    pattern: str
    hosts: tuple[Host, ...]
    left_out: tuple[str, ...] = ()
    message: str | None = None
    # the pattern's parts (as written) that matched no host and no group: the caller warns
    unmatched: tuple[str, ...] = ()

    @property
    def unmatched_warnings(self) -> tuple[str, ...]:
        """One warning line for each part of the pattern that matched nothing."""
        return tuple(unmatched_warning(part) for part in self.unmatched)


def reachable_hosts(settings: Settings, pattern: str, *, need: Need, strict: bool = False) -> Selection:
    """The hosts ``pattern`` matches that fleet work can reach: ``need`` is ``ssh`` (logins) or ``shell`` (commands).

    The others (``opsctl_ssh: false``; for a shell also network devices, ``ansible_network_os``)
    are the selection's ``left_out``, named in its ``message``; the pattern's parts that match
    nothing are its ``unmatched``. Raise UsageError for such parts when ``strict``, HostNotFound
    when no host is left.
    """
    inventory = configured_inventory(settings)
    unmatched = inventory_unmatched_parts(inventory, pattern)
    if strict:
        refuse_unmatched(pattern, unmatched)
    try:
        hosts = inventory.select(pattern)
    except HostNotFound as error:
        if not unmatched:
            raise
        raise HostNotFound(f"{error.message}; {', '.join(unmatched)} "
                           f"match{'es' if len(unmatched) == 1 else ''} no host or group", hint=error.hint) from None
    kept = [host for host in hosts if (host.shell if need == "shell" else host.ssh)]
    kept_names = {host.name for host in kept}
    left_out = [host.name for host in hosts if host.name not in kept_names]
    what = "a shell over SSH" if need == "shell" else "SSH"
    why = "opsctl_ssh: false, or a network device's ansible_network_os" if need == "shell" else "opsctl_ssh: false"
    if not kept:
        raise HostNotFound(f"pattern {pattern!r} matches no host with {what} ({len(left_out)} without: {why})")
    message = None
    if left_out:
        names = ", ".join(left_out[:NAMED_IN_MESSAGE])
        if len(left_out) > NAMED_IN_MESSAGE:
            names += f" and {len(left_out) - NAMED_IN_MESSAGE} more"
        message = f"skipping {len(left_out)} hosts without {what} ({why}): {names}"
    return Selection(pattern, tuple(kept), tuple(left_out), message, unmatched)


@dataclass(frozen=True)
class TargetSelection:
    """SSH targets for what some patterns matched (each host once), and one selection per pattern."""

    targets: tuple[SshTarget, ...]
    selections: tuple[Selection, ...]

    @property
    def messages(self) -> tuple[str, ...]:
        """The patterns' messages about hosts left out, in pattern order."""
        return tuple(selection.message for selection in self.selections if selection.message)

    @property
    def unmatched_warnings(self) -> tuple[str, ...]:
        """One warning line for each pattern part that matched nothing, in pattern order, each once."""
        return tuple(dict.fromkeys(line for selection in self.selections for line in selection.unmatched_warnings))


def ssh_targets(settings: Settings, patterns: Sequence[str], *, strict: bool = False) -> TargetSelection:
    """SSH targets for the hosts ``patterns`` match that take SSH logins, in pattern and inventory order, each once.

    Raise HostNotFound for a pattern that leaves no such host, ConfigError without an inventory,
    UsageError with ``strict`` for a pattern part that matches nothing.
    """
    from opsctl.core.ssh import target_from_host

    selections = tuple(reachable_hosts(settings, pattern, need="ssh", strict=strict) for pattern in patterns)
    targets = {host.name: target_from_host(host, settings.ssh) for s in selections for host in s.hosts}
    return TargetSelection(tuple(targets.values()), selections)


def host_targets(settings: Settings, names: Sequence[str]) -> list[SshTarget]:
    """SSH targets for the configured inventory's hosts called exactly ``names``; HostNotFound for any other."""
    from opsctl.core.ssh import target_from_host

    return [target_from_host(load_host(settings, name), settings.ssh) for name in names]
