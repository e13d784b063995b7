"""``opsctl inventory scan`` and its readers: discover inventory hosts, record the scan, report.

:func:`scan` splits the hosts by how they answer: a host with ``opsctl_snmp_version`` is
discovered over SNMP, a host with ``ansible_network_os`` is read through its CLI (netmiko,
strict host keys from opsctl's known_hosts), any other host gives Linux facts over SSH. Every
host ends as a device in the recorded scan (``ok``, ``partial`` or ``unreachable``); one
host's failure never stops the others. Credentials are secret references in the inventory,
resolved at use and never shown. :func:`list_devices`, :func:`show_device` and
:func:`changes_since` read what the scans recorded.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inventory.devices import ROLES, Device, DeviceScan, ScanResult, find_duplicate_serials, flatten
from inventory.scan_convert import (
    DEFAULT_ROLE,
    device_from_facts,
    device_from_snapshot,
    device_from_switch,
    unreachable_device,
)
from opsctl.core.errors import (
    ConfigError,
    ExitCode,
    HostNotFound,
    Interrupted,
    OpsctlError,
    UsageError,
)

if TYPE_CHECKING:
    from inventory.diff import Change
    from inventory.history import DeviceSnapshot as StoredSnapshot
    from inventory.model import Host
    from inventory.snmp.client import SnmpCredentials, SnmpTarget
    from opsctl.core.settings import Settings
    from opsctl.core.ssh import SshPool
    from opsctl.core.state import StateStore

SNMP = "snmp"
SSH = "ssh"
CLI = "cli"
# what a device's scan came to, for people and exit codes: "failed" is stored as unreachable
OUTCOMES = ("ok", "partial", "failed", "unreachable")
DEFAULT_CONCURRENCY = 32


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
            "management_address": self.device.management_address,
        }


@dataclass(frozen=True)
class ScanReport:
    """A finished scan: its id and scope, each device, duplicate-serial warnings and the closing counts."""

    scan_id: str
    scope: str
    started_at: datetime
    finished_at: datetime
    devices: tuple[DeviceReport, ...]
    found: int
    changed: int
    partial: int
    unreachable: int
    vanished: int
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> int:
        """Devices that answered but refused or broke (auth, host key, configuration)."""
        return sum(1 for device in self.devices if device.outcome == "failed")

    @property
    def summary(self) -> str:
        """The closing line: found / changed / partial / unreachable."""
        text = (
            f"{len(self.devices)} devices: {self.found} found, {self.changed} changed, "
            f"{self.partial} partial, {self.unreachable} unreachable"
        )
        if self.failed:
            text += f" ({self.failed} of them refused or failed)"
        if self.vanished:
            text += f", {self.vanished} vanished"
        return text

    @property
    def exit_code(self) -> ExitCode:
        """0 all ok; 4 only unreachable devices besides ok ones; 1 nothing found; 3 otherwise."""
        outcomes = [device.outcome for device in self.devices]
        if all(outcome == "ok" for outcome in outcomes):
            return ExitCode.OK
        if all(outcome in ("ok", "unreachable") for outcome in outcomes):
            return ExitCode.UNREACHABLE
        if not any(outcome in ("ok", "partial") for outcome in outcomes):
            return ExitCode.FAILED
        return ExitCode.PARTIAL

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {
            "scan_id": self.scan_id,
            "scope": self.scope,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "summary": {
                "devices": len(self.devices),
                "found": self.found,
                "changed": self.changed,
                "partial": self.partial,
                "unreachable": self.unreachable,
                "failed": self.failed,
                "vanished": self.vanished,
            },
            "devices": [device.to_dict() for device in self.devices],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class _Job:
    host: Host
    method: str
    role: str | None
    started_at: datetime  # when the scan began: the time of what the inventory declares


@dataclass
class _Progress:
    callback: Callable[[DeviceReport], None] | None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, report: DeviceReport) -> None:
        if self.callback is not None:
            with self.lock:
                self.callback(report)


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


def _secret(host: Host, variable: str) -> str:
    """The secret behind ``variable``'s reference; raise ConfigError/SecretError naming the reference only."""
    from inventory.model import parse_secret_reference

    reference = host.vars.get(variable)
    if reference is None:
        raise ConfigError(f"host {host.name}: {variable} is not set")
    try:
        parsed = parse_secret_reference(reference)
    except ValueError as error:
        raise ConfigError(f"host {host.name}: {variable} {error}") from None
    return parsed.resolve()


def snmp_job(host: Host, *, timeout: float = 2.0, retries: int = 1) -> tuple[SnmpTarget, SnmpCredentials]:
    """The SNMP target and credentials of an inventory host (``opsctl_snmp_*`` variables), secrets resolved now.

    Raise ConfigError for a bad version, port or missing variable, SecretError for an unreadable secret.
    """
    from inventory.model import parse_port
    from inventory.snmp.client import SnmpCredentials, SnmpTarget

    version = str(host.vars.get("opsctl_snmp_version", "")).strip().lower().removeprefix("v")
    try:
        port = parse_port(host.vars.get("opsctl_snmp_port", 161))
    except ValueError as error:
        raise ConfigError(f"host {host.name}: opsctl_snmp_port {error}") from None
    target = SnmpTarget(host.address, port, timeout=timeout, retries=retries)
    if version in ("2", "2c"):
        return target, SnmpCredentials.v2c(_secret(host, "opsctl_snmp_community"))
    if version == "3":
        user = host.vars.get("opsctl_snmp_v3_user")
        if not isinstance(user, str) or not user:
            raise ConfigError(f"host {host.name}: opsctl_snmp_v3_user is not set")
        auth_key = _secret(host, "opsctl_snmp_v3_auth_key") if host.vars.get("opsctl_snmp_v3_auth_key") else ""
        priv_key = _secret(host, "opsctl_snmp_v3_priv_key") if host.vars.get("opsctl_snmp_v3_priv_key") else ""
        return target, SnmpCredentials.v3(
            user,
            auth_key,
            priv_key,
            auth_protocol=str(host.vars.get("opsctl_snmp_v3_auth_protocol", "SHA")).upper(),
            priv_protocol=str(host.vars.get("opsctl_snmp_v3_priv_protocol", "AES")).upper(),
            context_name=str(host.vars.get("opsctl_snmp_context") or ""),
        )
    raise ConfigError(f"host {host.name}: opsctl_snmp_version must be 2c or 3")


def _report(job: _Job, scanned: DeviceScan, outcome: str | None = None) -> DeviceReport:
    """The device as scanned, with what the inventory declares about it (placement, links, power) on top.

    A declaration that is not usable fails the device with a message naming the variable.
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


def _not_read(job: _Job, error: BaseException) -> DeviceReport:
    """A device that raised: unreachable when the network said so, failed otherwise (stored as unreachable)."""
    from opsctl.core.errors import HostUnreachable

    unreachable = isinstance(error, HostUnreachable | TimeoutError | ConnectionError) and not isinstance(
        error, PermissionError
    )
    text = str(error) if isinstance(error, OpsctlError) else f"{type(error).__name__}: {error}"
    default_role = "switch" if job.method == CLI else DEFAULT_ROLE
    scanned = unreachable_device(job.host.name, job.host.address, job.role or default_role, text)
    return _report(job, scanned, "unreachable" if unreachable else "failed")


def _scan_snmp(
    jobs: Sequence[_Job], concurrency: int, done: _Progress, cancel: threading.Event
) -> dict[str, DeviceReport]:
    from inventory.snmp.snapshot import DeviceSnapshot as SnmpSnapshot

    results: dict[str, DeviceReport] = {}
    runnable: list[tuple[_Job, Any]] = []
    for job in jobs:
        try:
            runnable.append((job, snmp_job(job.host)))
        except Exception as error:  # a bad variable or unreadable secret fails this host only
            results[job.host.name] = _not_read(job, error)
            done(results[job.host.name])
    waiting: dict[str, list[_Job]] = {}
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


def _snmp_report(job: _Job, snapshot: Any, seen_at: datetime) -> DeviceReport:
    try:
        scanned = device_from_snapshot(job.host.name, job.host.address, snapshot, seen_at, role=job.role)
    except Exception as error:  # what the device said cannot make a device: this one fails, not the scan
        return _not_read(job, error)
    outcome = {"auth_failed": "failed", "failed": "failed", "unreachable": "unreachable"}.get(snapshot.outcome)
    return _report(job, scanned, outcome)


def _scan_ssh(settings: Settings, pool: SshPool, job: _Job) -> DeviceReport:
    from inventory.facts import gather_facts
    from opsctl.core.ssh import target_from_host

    try:
        connection = pool.connection(target_from_host(job.host, settings.ssh))
        facts = gather_facts(connection, timeout=min(settings.ssh.command_timeout, 120.0))
    except Exception as error:  # one host's failure never stops the scan
        return _not_read(job, error)
    scanned = device_from_facts(job.host.name, job.host.address, facts, datetime.now(UTC), role=job.role)
    return _report(job, scanned)


def _scan_switch(settings: Settings, job: _Job) -> DeviceReport:
    from inventory.netcli import gather_switch, switch_target_from_host

    try:
        target = switch_target_from_host(job.host)
        password = None if target.password is None else target.password.resolve()
        enable = None if target.enable_password is None else target.enable_password.resolve()
        facts = gather_switch(target, known_hosts_path=settings.known_hosts_path, password=password,
                              enable_secret=enable, timeout=settings.ssh.connect_timeout)
    except Exception as error:  # one switch's failure never stops the scan
        return _not_read(job, error)
    scanned = device_from_switch(job.host.name, job.host.address, facts, datetime.now(UTC), role=job.role)
    return _report(job, scanned)


def scan(
    settings: Settings,
    hosts: Sequence[Host],
    *,
    scope: str = "all",
    on_done: Callable[[DeviceReport], None] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    store: StateStore | None = None,
) -> ScanReport:
    """Discover ``hosts`` (at most ``concurrency`` at once per method), record the scan under ``scope``, audit it, and report.

    ``on_done`` is called once per device as it finishes (from worker threads, one at a time).
    Raise UsageError when two hosts share a name; a device's failure is in its report, never raised.
    """
    from inventory.history import list_scans, record_scan
    from opsctl.core.audit import default_operator, open_audit
    from opsctl.core.ssh import open_pool
    from opsctl.core.state import open_state

    names = [host.name for host in hosts]
    if len(set(names)) != len(names):
        raise UsageError("two inventory hosts share one name; give each inventory its own names")
    started_at = datetime.now(UTC)
    jobs = [_Job(host, method_of(host), _role_hint(host), started_at) for host in hosts]
    done = _Progress(on_done)
    started = time.monotonic()
    results: dict[str, DeviceReport] = {}
    workers = max(1, concurrency)
    snmp_jobs = [job for job in jobs if job.method == SNMP]
    other_jobs = [job for job in jobs if job.method != SNMP]
    snmp_results: dict[str, DeviceReport] = {}

    cancel = threading.Event()

    def snmp_work() -> None:
        try:
            snmp_results.update(_scan_snmp(snmp_jobs, workers, done, cancel))
        except asyncio.CancelledError:
            return  # interrupted: nothing of this scan is recorded
        except Exception as error:  # a broken SNMP engine fails the SNMP devices, not the scan
            snmp_results.update({job.host.name: _not_read(job, error) for job in snmp_jobs})

    # SNMP runs on asyncio in its own thread while the SSH and CLI work runs on the pool
    snmp_thread = threading.Thread(target=snmp_work, name="inventory-scan-snmp", daemon=True)
    snmp_thread.start()
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="inventory-scan")
    try:
        with open_pool(settings) as pool:

            def one(job: _Job) -> DeviceReport:
                if cancel.is_set():
                    raise Interrupted("inventory scan interrupted")
                try:
                    report = _scan_switch(settings, job) if job.method == CLI else _scan_ssh(settings, pool, job)
                except Exception as error:  # e.g. a device the model refuses: this device fails, not the scan
                    report = _not_read(job, error)
                if not cancel.is_set():
                    done(report)
                return report

            # Waited for in steps: a Ctrl-C the kernel hands to another thread only reaches this
            # one (as KeyboardInterrupt) once it wakes up, and an endless wait never would.
            pending = {executor.submit(one, job) for job in other_jobs}
            while pending:
                finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in finished:
                    finished_report = future.result()
                    results[finished_report.name] = finished_report
            while snmp_thread.is_alive():
                snmp_thread.join(0.2)
    except KeyboardInterrupt:
        cancel.set()
        executor.shutdown(wait=False, cancel_futures=True)
        snmp_thread.join(5.0)
        read = len(results) + len(snmp_results)
        open_audit(settings).append("inventory scan", names, "interrupted", {
            "scope": scope, "devices_read": read, "recorded": False,
            "duration_seconds": round(time.monotonic() - started, 3),
        })
        raise Interrupted(
            f"inventory scan of {scope} interrupted after {read} of {len(names)} devices; nothing was recorded"
        ) from None
    executor.shutdown(wait=True)
    results.update(snmp_results)
    ordered = [results[name] for name in names]
    finished_at = datetime.now(UTC)
    own_store = store is None
    active = store or open_state(settings)
    try:
        previous = _latest_by_name(active)
        duplicates = find_duplicate_serials(r.device for r in ordered if r.outcome in ("ok", "partial"))
        flagged = {name: d.message for d in duplicates for name in d.devices}
        ordered = [
            _with_change(report, previous.get(report.name), flagged.get(report.name)) for report in ordered
        ]
        device_scans = tuple(
            DeviceScan(report.device, "unreachable" if report.outcome == "failed" else report.outcome, report.messages)
            for report in ordered
        )
        scan_result = ScanResult(scope=scope, operator=settings.audit.operator or default_operator(),
                                 started_at=started_at, finished_at=finished_at, devices=device_scans)
        scan_id = record_scan(active, scan_result)
        recorded = [s for s in list_scans(active, limit=50) if s.scan_id == scan_id]
    finally:
        if own_store:
            active.close()
    report = ScanReport(
        scan_id=scan_id, scope=scope, started_at=started_at, finished_at=finished_at, devices=tuple(ordered),
        # the counts record_scan stored; the same definitions, should newer scans hide this one
        found=sum(1 for r in ordered if r.outcome in ("ok", "partial")),
        changed=recorded[0].changed if recorded else sum(1 for r in ordered if r.changed),
        partial=sum(1 for r in ordered if r.outcome == "partial"),
        unreachable=sum(1 for r in ordered if r.outcome in ("unreachable", "failed")),
        vanished=recorded[0].vanished if recorded else 0,
        warnings=tuple(d.message for d in duplicates),
    )
    outcome = {ExitCode.OK: "ok", ExitCode.UNREACHABLE: "unreachable", ExitCode.FAILED: "failed"}.get(
        report.exit_code, "partial"
    )
    open_audit(settings).append("inventory scan", names, outcome, {
        "scan_id": scan_id, "scope": scope, "found": report.found, "changed": report.changed,
        "partial": report.partial, "unreachable": report.unreachable, "failed": report.failed,
        "vanished": report.vanished, "duration_seconds": round(time.monotonic() - started, 3),
    })
    return report


def _latest_by_name(store: StateStore) -> dict[str, Device]:
    from inventory.history import devices_at

    return {device.name: device for device in devices_at(store)}


def _with_change(report: DeviceReport, previous: Device | None, duplicate: str | None) -> DeviceReport:
    from dataclasses import replace

    changed = False
    if report.outcome in ("ok", "partial"):
        if previous is None:
            changed = True
        else:
            old, new = flatten(previous), flatten(report.device)
            if report.outcome == "partial":
                changed = any(old.get(path) != value for path, value in new.items())
            else:
                changed = old != new
    messages = report.messages if duplicate is None else (*report.messages, duplicate)
    return replace(report, changed=changed, messages=messages)


# ----------------------------------------------------------------------------- reading the history


def list_devices(
    settings: Settings, *, role: str | None = None, site: str | None = None, tag: str | None = None
) -> list[Device]:
    """The latest known state of every recorded device, filtered by role, site and tag, sorted by name."""
    from inventory.history import devices_at
    from opsctl.core.state import open_state

    with open_state(settings) as store:
        devices = devices_at(store)
    return [
        device for device in devices
        if (role is None or device.role == role)
        and (site is None or device.site == site)
        and (tag is None or tag in device.tags)
    ]


@dataclass(frozen=True)
class DeviceView:
    """One device as last known, the status and messages of its newest scan, and how many scans saw it."""

    device: Device
    last_status: str
    last_scan_id: str
    last_scanned_at: datetime
    messages: tuple[str, ...]
    scans: int

    def values(self) -> list[dict[str, Any]]:
        """Every set value by component path with where it came from (source, origin, seen_at)."""
        rows = []
        for path, value in flatten(self.device).items():
            provenance = self.device.provenance_of(path)
            rows.append({
                "path": path,
                "value": value,
                "source": provenance.source if provenance else None,
                "origin": provenance.origin if provenance else None,
                "seen_at": provenance.seen_at.isoformat() if provenance else None,
            })
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``: the whole device, its newest scan and every value's provenance."""
        return {
            "device": self.device.to_dict(),
            "last_status": self.last_status,
            "last_scan_id": self.last_scan_id,
            "last_scanned_at": self.last_scanned_at.isoformat(),
            "messages": list(self.messages),
            "scans": self.scans,
            "values": self.values(),
        }


def show_device(settings: Settings, name: str) -> DeviceView:
    """The device called ``name`` as last known; raise HostNotFound if no scan ever saw it."""
    from inventory.history import device_history
    from opsctl.core.state import open_state

    with open_state(settings) as store:
        history = device_history(store, name)
    known: list[StoredSnapshot] = [s for s in history if s.status in ("ok", "partial")]
    if not known:
        raise HostNotFound(f"no scan has found a device named '{name}'",
                           hint="run `opsctl inventory scan`, or see `opsctl inventory list`")
    newest = history[-1]
    return DeviceView(device=known[-1].device, last_status=newest.status, last_scan_id=newest.scan_id,
                      last_scanned_at=newest.started_at, messages=newest.messages, scans=len(history))


_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``2h``, ``30m``, ``1d``, ``1w`` ago, or an ISO 8601 time (UTC if it has no zone); raise UsageError otherwise."""
    current = now or datetime.now(UTC)
    match = _RELATIVE.match(text.strip().lower())
    if match is not None:
        return current - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since {text!r}: expected an ISO 8601 time or an age such as 30m, 2h, 1d") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DiffReport:
    """The changes since ``since`` (``None`` when no scan was recorded yet)."""

    since: datetime | None
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "changes": [change.to_dict() for change in self.changes],
        }


def changes_since(settings: Settings, since: str | None = None) -> DiffReport:
    """What appeared, vanished or changed since ``since`` (see :func:`parse_when`); by default what the newest scan changed."""
    from inventory.diff import diff_since
    from inventory.history import list_scans
    from opsctl.core.state import open_state

    with open_state(settings) as store:
        if since is not None:
            when = parse_when(since)
        else:
            scans = list_scans(store, limit=2)
            if not scans:
                return DiffReport(None, ())
            # the state as the previous scan left it; with one scan, the empty state before it
            when = scans[1].started_at if len(scans) > 1 else scans[0].started_at - timedelta(microseconds=1)
        return DiffReport(when, tuple(diff_since(store, when)))


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


def inventory_hosts(settings: Settings, inventory_files: Sequence[Path] = ()) -> list[Host]:
    """Every host of the configured inventory and of ``inventory_files`` (none when there is no inventory at all)."""
    if settings.inventory is None and not inventory_files:
        return []
    try:
        return select_hosts(settings, "all", inventory_files)
    except HostNotFound:  # inventories without a host
        return []
