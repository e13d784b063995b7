"""Reading one device for a scan, by the method its variables name, into a :class:`DeviceReport`.

A host with ``opsctl_snmp_version`` is read over SNMP (:func:`read_snmp`, every SNMP host of a
scan at once on asyncio), one with ``ansible_network_os`` through its CLI (:func:`read_switch`,
netmiko with strict host keys), any other as a Linux host over SSH (:func:`read_linux`). A
reader never raises for a device's sake: what went wrong is the report's outcome and message,
on top of which :func:`device_report` lays what the inventory declares about the device.
:class:`DeviceReaders` lets a caller (a test) give its own readers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from inventory.devices import ROLES, Device, DeviceScan
from inventory.scan_convert import (
    DEFAULT_ROLE,
    device_from_facts,
    device_from_snapshot,
    device_from_switch,
    unreachable_device,
)
from opsctl.core.errors import ConfigError, OpsctlError

if TYPE_CHECKING:
    from inventory.model import Host
    from opsctl.core.settings import Settings
    from opsctl.core.ssh import SshPool

SNMP = "snmp"
SSH = "ssh"
CLI = "cli"
# what a device's scan came to, for people and exit codes: "failed" is stored as unreachable
OUTCOMES = ("ok", "partial", "failed", "unreachable")


@dataclass(frozen=True)
class DeviceReport:
    """One device in a scan: how it was read, its outcome and message, what it is, and whether it changed."""

    name: str
    method: str
    outcome: str
    messages: tuple[str, ...]
    device: Device
    changed: bool = False

    @property
    def message(self) -> str:
        """The messages on one line."""
        return "; ".join(self.messages)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {
            "name": self.name,
            "method": self.method,
            "outcome": self.outcome,
            "message": self.message,
            "messages": list(self.messages),
            "changed": self.changed,
            "role": self.device.role,
            "manufacturer": self.device.manufacturer,
            "model": self.device.model,
            "serial": self.device.serial,
            "os_version": self.device.os_version,
            "sys_name": self.device.sys_name,
            "management_address": self.device.management_address,
        }


@dataclass(frozen=True)
class ScanJob:
    """One host to read: how (``snmp``, ``ssh`` or ``cli``), its role hint, and when the scan began.

    ``started_at`` is the time of what the inventory declares about the host.
    """

    host: Host
    method: str
    role: str | None
    started_at: datetime


def method_of(host: Host) -> str:
    """How ``host`` is read: ``snmp`` with ``opsctl_snmp_version``, ``cli`` with ``ansible_network_os``, else ``ssh``."""
    if host.vars.get("opsctl_snmp_version") is not None:
        return SNMP
    if host.vars.get("ansible_network_os"):
        return CLI
    return SSH


def _role_hint(host: Host) -> str | None:
    role = host.vars.get("opsctl_role")
    return role if isinstance(role, str) and role in ROLES else None


def scan_job(host: Host, started_at: datetime) -> ScanJob:
    """The job for ``host`` in a scan begun at ``started_at``: its method and its ``opsctl_role`` hint."""
    return ScanJob(host, method_of(host), _role_hint(host), started_at)


def device_report(job: ScanJob, scanned: DeviceScan, outcome: str | None = None) -> DeviceReport:
    """The device as scanned, with what the inventory declares about it (placement, links, power) on top.

    ``outcome`` overrides the scan's status. A declaration that is not usable fails the device
    with a message naming the variable.
    """
    from inventory.declared import declare

    messages = scanned.messages
    device = scanned.device
    try:
        device = declare(device, job.host, job.started_at)
    except ConfigError as error:
        outcome, messages = "failed", (*messages, str(error))
    return DeviceReport(
        name=job.host.name,
        method=job.method,
        outcome=outcome or scanned.status,
        messages=messages,
        device=device,
    )


def error_report(job: ScanJob, error: BaseException) -> DeviceReport:
    """A device whose reading raised ``error``: unreachable when the network said so, failed otherwise (stored as unreachable)."""
    from opsctl.core.errors import HostUnreachable

    unreachable = isinstance(error, HostUnreachable | TimeoutError | ConnectionError) and not isinstance(
        error, PermissionError
    )
    text = str(error) if isinstance(error, OpsctlError) else f"{type(error).__name__}: {error}"
    default_role = "switch" if job.method == CLI else DEFAULT_ROLE
    scanned = unreachable_device(job.host.name, job.host.address, job.role or default_role, text)
    return device_report(job, scanned, "unreachable" if unreachable else "failed")


# ----------------------------------------------------------------------------- reading devices


def read_snmp(
    jobs: Sequence[ScanJob], concurrency: int, done: Callable[[DeviceReport], None], cancel: threading.Event
) -> dict[str, DeviceReport]:
    """Discover the SNMP ``jobs`` on asyncio (at most ``concurrency`` at once) and report each by host name.

    ``done`` is called as each device finishes; ``cancel`` stops the discovery (raising
    asyncio.CancelledError). A host whose variables or secrets are unusable fails alone.
    """
    from inventory.snmp.credentials import snmp_access
    from inventory.snmp.snapshot import DeviceSnapshot as SnmpSnapshot

    results: dict[str, DeviceReport] = {}
    runnable: list[tuple[ScanJob, Any]] = []
    for job in jobs:
        try:
            runnable.append((job, snmp_access(job.host)))
        except Exception as error:  # a bad variable or unreadable secret fails this host only
            results[job.host.name] = error_report(job, error)
            done(results[job.host.name])
    waiting: dict[str, list[ScanJob]] = {}
    for job, pair in runnable:
        waiting.setdefault(str(pair[0]), []).append(job)
    seen_at = datetime.now(UTC)

    def finished(snapshot: SnmpSnapshot) -> None:
        # progress only: two hosts on one address and port may be told apart in the wrong order
        queue = waiting.get(snapshot.target)
        if queue:
            done(_snmp_report(queue.pop(0), snapshot, seen_at))

    if runnable:
        from inventory.snmp.discovery import discover_many

        async def until_cancelled() -> list[SnmpSnapshot]:
            # Ctrl-C reaches the main thread only: it sets ``cancel``, and this stops the discovery
            pairs = [pair for _job, pair in runnable]
            work = asyncio.create_task(discover_many(pairs, concurrency=concurrency, on_done=finished))
            while not work.done():
                if cancel.is_set():
                    work.cancel()
                    break
                await asyncio.wait({work}, timeout=0.1)
            return await work

        snapshots = asyncio.run(until_cancelled())
        for (job, _pair), snapshot in zip(runnable, snapshots, strict=True):
            results[job.host.name] = _snmp_report(job, snapshot, seen_at)
    return results


def _snmp_report(job: ScanJob, snapshot: Any, seen_at: datetime) -> DeviceReport:
    from inventory.snmp.snapshot import GARBAGE_OUTCOME

    if snapshot.outcome == GARBAGE_OUTCOME:
        # it answers, unreadably: partial (something is on its port), never unreachable, which
        # would send on-call to the cabling; nothing it said is recorded
        scanned = unreachable_device(job.host.name, job.host.address, job.role or DEFAULT_ROLE, snapshot.message)
        return device_report(job, scanned, "partial")
    try:
        scanned = device_from_snapshot(job.host.name, job.host.address, snapshot, seen_at, role=job.role)
    except Exception as error:  # what the device said cannot make a device: this one fails, not the scan
        return error_report(job, error)
    outcome = {"auth_failed": "failed", "failed": "failed", "unreachable": "unreachable"}.get(snapshot.outcome)
    return device_report(job, scanned, outcome)


def read_linux(settings: Settings, pool: SshPool, job: ScanJob) -> DeviceReport:
    """A Linux host's facts over SSH (through ``pool``) as a device; a failure is in the report, never raised."""
    from inventory.facts import gather_facts
    from opsctl.core.ssh import target_from_host

    try:
        connection = pool.connection(target_from_host(job.host, settings.ssh))
        facts = gather_facts(connection, timeout=min(settings.ssh.command_timeout, 120.0))
    except Exception as error:  # one host's failure never stops the scan
        return error_report(job, error)
    scanned = device_from_facts(job.host.name, job.host.address, facts, datetime.now(UTC), role=job.role)
    return device_report(job, scanned)


def read_switch(settings: Settings, job: ScanJob) -> DeviceReport:
    """A switch read through its CLI (netmiko) as a device; a failure is in the report, never raised."""
    from inventory.netcli import gather_switch, switch_target_from_host

    try:
        target = switch_target_from_host(job.host)
        password = None if target.password is None else target.password.resolve()
        enable = None if target.enable_password is None else target.enable_password.resolve()
        facts = gather_switch(target, known_hosts_path=settings.known_hosts_path, password=password,
                              enable_secret=enable, timeout=settings.ssh.connect_timeout)
    except Exception as error:  # one switch's failure never stops the scan
        return error_report(job, error)
    scanned = device_from_switch(job.host.name, job.host.address, facts, datetime.now(UTC), role=job.role)
    return device_report(job, scanned)


SnmpReader = Callable[[Sequence[ScanJob], int, Callable[[DeviceReport], None], threading.Event],
                      dict[str, DeviceReport]]
LinuxReader = Callable[["Settings", "SshPool", ScanJob], DeviceReport]
SwitchReader = Callable[["Settings", ScanJob], DeviceReport]


@dataclass(frozen=True)
class DeviceReaders:
    """How each method reads its devices (see :func:`read_snmp`, :func:`read_linux`, :func:`read_switch`).

    The defaults use the network; a test gives recorded results instead.
    """

    snmp: SnmpReader = read_snmp
    linux: LinuxReader = read_linux
    switch: SwitchReader = read_switch


