"""``opsctl inventory scan``: discover inventory hosts, record the scan, report.

:func:`scan` splits the hosts by how they answer: a host with ``opsctl_snmp_version`` is
discovered over SNMP (on asyncio, in a thread of its own), a host with ``ansible_network_os``
is read through its CLI (netmiko, strict host keys from opsctl's known_hosts), any other host
gives Linux facts over SSH; the SSH and CLI work runs on the fleet executor
(:func:`opsctl.core.fleet.run_fleet`). Every host ends as a device in the recorded scan
(``ok``, ``partial`` or ``unreachable``); one host's failure never stops the others. The scan
is recorded in the state store and, through the command's recorder, in the audit log.
:func:`run_scan` is the whole command: hosts chosen by a pattern (:mod:`inventory.select`) or
by a subnet sweep (:mod:`inventory.sweep`), then scanned. Credentials are secret references in
the inventory (:mod:`inventory.snmp.credentials`), resolved at use and never shown; what the
scans recorded is read by :mod:`inventory.queries`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from inventory.devices import Device, DeviceScan, ScanResult, find_duplicate_serials, flatten
from inventory.readers import (
    CLI,
    SNMP,
    DeviceReaders,
    DeviceReport,
    ScanJob,
    error_report,
    scan_job,
)
from opsctl.core.errors import ConfigError, ExitCode, Interrupted, UsageError

if TYPE_CHECKING:
    from inventory.model import Host
    from inventory.sweep import SweepResult
    from opsctl.core.fleet import HostResult, Outcome
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings
    from opsctl.core.ssh import SshPool
    from opsctl.core.state import StateStore

DEFAULT_CONCURRENCY = 32
# the subnet sweep asks many silent addresses at once: it waits on UDP timeouts, not on work
SWEEP_CONCURRENCY = 64
AUDIT_ACTION = "inventory scan"


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
        """The project's one rule over the devices' outcomes: 0 all ok; 4 only unreachable devices
        besides ok ones; 1 nothing read; 3 otherwise (any partial device included)."""
        from opsctl.core.outcome import exit_code_for_outcomes

        return exit_code_for_outcomes(device.outcome for device in self.devices)

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


@dataclass
class _Progress:
    callback: Callable[[DeviceReport], None] | None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, report: DeviceReport) -> None:
        if self.callback is not None:
            with self.lock:
                self.callback(report)


def fleet_outcome(outcome: str) -> Outcome:
    """The fleet executor's outcome for a device's: the same word (the project has one vocabulary).

    Raise ValueError for a word outside it.
    """
    from opsctl.core.fleet import Outcome

    return Outcome(outcome)


def _read_on_fleet(
    settings: Settings,
    pool: SshPool,
    jobs: Sequence[ScanJob],
    readers: DeviceReaders,
    forks: int,
    done: Callable[[DeviceReport], None],
    cancel: threading.Event,
    reports: dict[str, DeviceReport],
) -> None:
    """Read the SSH and CLI ``jobs`` on the fleet executor, each report into ``reports`` as it finishes."""
    from opsctl.core.fleet import FleetOptions, HostResult, Outcome, run_fleet

    def read(job: ScanJob, stop: threading.Event) -> HostResult:
        if stop.is_set():
            return HostResult(job.host.name, Outcome.SKIPPED, error="not run: interrupted")
        started = time.monotonic()
        try:
            report = readers.switch(settings, job) if job.method == CLI else readers.linux(settings, pool, job)
        except Exception as error:  # e.g. a device the model refuses: this device fails, not the scan
            report = error_report(job, error)
        reports[report.name] = report
        return HostResult(report.name, fleet_outcome(report.outcome), duration_seconds=time.monotonic() - started,
                          error=None if report.outcome == "ok" else f"{report.name}: {report.message}")

    def finished(result: HostResult) -> None:
        report = reports.get(result.host)
        if report is not None and not cancel.is_set():
            done(report)

    run_fleet(jobs, read, name_of=lambda job: job.host.name, options=FleetOptions(forks=max(1, forks)),
              cancel=cancel, on_result=finished)


# ----------------------------------------------------------------------------- one scan


def _check_secrets(settings: Settings, jobs: Sequence[ScanJob]) -> None:
    """Pre-flight: raise SecretError (exit 2, nothing scanned or recorded) if a secret reference a device's
    read would use does not resolve: SNMP communities and keys, SSH keys and passphrases, switch passwords.

    A device whose variables are otherwise unusable is left to fail alone, in its report.
    """
    from inventory.netcli import switch_target_from_host
    from inventory.snmp.credentials import snmp_secret_problems
    from opsctl.core.errors import SecretError
    from opsctl.core.secrets import secret_problems
    from opsctl.core.ssh import SshTarget, target_from_host, target_secret_problems

    problems = snmp_secret_problems(job.host for job in jobs if job.method == SNMP)
    ssh_targets: list[SshTarget] = []
    for job in jobs:
        try:
            if job.method == CLI:
                switch = switch_target_from_host(job.host)
                problems += secret_problems([(switch.name, switch.password), (switch.name, switch.enable_password)])
            elif job.method != SNMP:
                ssh_targets.append(target_from_host(job.host, settings.ssh, become=False))
        except (ConfigError, ValueError):
            continue  # its read reports the bad variable
    problems += target_secret_problems(ssh_targets, settings.ssh)
    if problems:
        raise SecretError("secrets of the targeted devices cannot be read, nothing was scanned: " + "; ".join(problems),
                          hint="fix the references (env:NAME, file:/path, keyring:service/name) or leave "
                          "these devices out of the pattern")


def scan(
    settings: Settings,
    hosts: Sequence[Host],
    *,
    recorder: Recorder,
    scope: str = "all",
    on_done: Callable[[DeviceReport], None] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    store: StateStore | None = None,
    readers: DeviceReaders = DeviceReaders(),
) -> ScanReport:
    """Discover ``hosts``, record the scan under ``scope`` in the state store and through ``recorder``, and report.

    SNMP reads at most ``concurrency`` devices at once; SSH and CLI reads run on the fleet
    executor, at most ``concurrency`` and ``fleet.forks`` at once. ``on_done`` is called once per
    device as it finishes (from worker threads, one at a time). Raise UsageError when two hosts
    share a name, SecretError when an SNMP device's secret reference does not resolve (before anything
    is scanned or recorded); a device's failure is in its report, never raised. Ctrl-C raises Interrupted
    (exit 130): nothing of the scan is stored, and the interruption is recorded.
    """
    from opsctl.core.ssh import open_pool

    names = [host.name for host in hosts]
    if len(set(names)) != len(names):
        raise UsageError("two inventory hosts share one name; give each inventory its own names")
    started_at = datetime.now(UTC)
    jobs = [scan_job(host, started_at) for host in hosts]
    _check_secrets(settings, jobs)
    recorder.check()  # a log that would refuse the scan's record refuses the scan, before it starts
    done = _Progress(on_done)
    started = time.monotonic()
    workers = max(1, concurrency)
    snmp_jobs = [job for job in jobs if job.method == SNMP]
    other_jobs = [job for job in jobs if job.method != SNMP]
    reports: dict[str, DeviceReport] = {}
    snmp_reports: dict[str, DeviceReport] = {}
    fleet_errors: list[BaseException] = []
    cancel = threading.Event()

    def snmp_work() -> None:
        try:
            snmp_reports.update(readers.snmp(snmp_jobs, workers, done, cancel))
        except asyncio.CancelledError:
            return  # interrupted: nothing of this scan is recorded
        except Exception as error:  # a broken SNMP engine fails the SNMP devices, not the scan
            snmp_reports.update({job.host.name: error_report(job, error) for job in snmp_jobs})

    # SNMP runs on asyncio in its own thread while the SSH and CLI work runs on the fleet executor
    snmp_thread = threading.Thread(target=snmp_work, name="inventory-scan-snmp", daemon=True)
    snmp_thread.start()
    try:
        with open_pool(settings) as pool:

            def fleet_work() -> None:
                try:
                    _read_on_fleet(settings, pool, other_jobs, readers, min(workers, settings.fleet.forks),
                                   done, cancel, reports)
                except Exception as error:  # raised again in the calling thread
                    fleet_errors.append(error)

            # The executor runs in a thread of its own so that this one can leave it on Ctrl-C: after
            # a Ctrl-C it waits for running tasks, and a connection that hangs before SSH's banner
            # would hold the scan until its connect timeout.
            fleet_thread = threading.Thread(target=fleet_work, name="inventory-scan-fleet", daemon=True)
            fleet_thread.start()
            # Waited for in steps: a Ctrl-C the kernel hands to another thread only reaches this
            # one (as KeyboardInterrupt) once it wakes up, and an endless wait never would.
            for thread in (fleet_thread, snmp_thread):
                while thread.is_alive():
                    thread.join(0.2)
    except KeyboardInterrupt:
        cancel.set()
        snmp_thread.join(5.0)
        read = len(reports) + len(snmp_reports)
        recorder.record(AUDIT_ACTION, names, "interrupted", {
            "scope": scope, "devices_read": read, "recorded": False,
            "duration_seconds": round(time.monotonic() - started, 3),
        })
        raise Interrupted(
            f"inventory scan of {scope} interrupted after {read} of {len(names)} devices; nothing was recorded"
        ) from None
    if fleet_errors:
        raise fleet_errors[0]
    reports.update(snmp_reports)
    return _recorded(settings, [reports[name] for name in names], scope=scope, started_at=started_at,
                     started=started, store=store, recorder=recorder)


def _recorded(
    settings: Settings,
    reports: Sequence[DeviceReport],
    *,
    scope: str,
    started_at: datetime,
    started: float,
    store: StateStore | None,
    recorder: Recorder,
) -> ScanReport:
    """Flag shared serials, mark what changed, store the scan, record it through ``recorder``, and report."""
    from inventory.history import list_scans, record_scan
    from inventory.queries import latest_by_name
    from opsctl.core.audit import default_operator
    from opsctl.core.state import open_state

    finished_at = datetime.now(UTC)
    own_store = store is None
    active = store or open_state(settings)
    try:
        previous = latest_by_name(active)
        duplicates = find_duplicate_serials(r.device for r in reports if r.outcome in ("ok", "partial"))
        flagged = {name: d.message for d in duplicates for name in d.devices}
        ordered = [
            _with_change(report, previous.get(report.name), flagged.get(report.name)) for report in reports
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
    recorder.record(AUDIT_ACTION, [r.name for r in reports], outcome, {
        "scan_id": scan_id, "scope": scope, "found": report.found, "changed": report.changed,
        "partial": report.partial, "unreachable": report.unreachable, "failed": report.failed,
        "vanished": report.vanished, "duration_seconds": round(time.monotonic() - started, 3),
    })
    return report


def _with_change(report: DeviceReport, previous: Device | None, duplicate: str | None) -> DeviceReport:
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


# ----------------------------------------------------------------------------- the command


@dataclass(frozen=True)
class ScanRequest:
    """What to scan: the hosts ``pattern`` selects (default: all), or the SNMP agents a sweep of ``subnet`` finds.

    ``inventory_files`` are inventories besides the configured one; ``snmp_port`` is the port a
    sweep asks. Raise UsageError for options that do not go together.
    """

    pattern: str | None = None
    subnet: str | None = None
    snmp_port: int | None = None
    inventory_files: tuple[Path, ...] = ()
    concurrency: int = DEFAULT_CONCURRENCY

    def __post_init__(self) -> None:
        if self.subnet is not None and self.pattern is not None:
            raise UsageError("give a host pattern or --subnet CIDR, not both")
        if self.snmp_port is not None and self.subnet is None:
            raise UsageError("--snmp-port goes with --subnet (an inventory host has opsctl_snmp_port)")


class ScanProgress(Protocol):
    """What a caller hears while a scan runs (for progress bars and event streams); called one at a time."""

    def sweeping(self, addresses: int) -> None:
        """A sweep of ``addresses`` addresses begins."""

    def probed(self, address: str, answered: bool) -> None:
        """One address of the sweep is done."""

    def swept(self, result: SweepResult) -> None:
        """The sweep is done."""

    def scanning(self, devices: int) -> None:
        """The scan of ``devices`` devices begins."""

    def scanned(self, device: DeviceReport) -> None:
        """One device is done (whether it changed is known only at the end)."""


class _Silent:
    def sweeping(self, addresses: int) -> None:
        pass

    def probed(self, address: str, answered: bool) -> None:
        pass

    def swept(self, result: SweepResult) -> None:
        pass

    def scanning(self, devices: int) -> None:
        pass

    def scanned(self, device: DeviceReport) -> None:
        pass


@dataclass(frozen=True)
class ScanRun:
    """A finished ``inventory scan``: the scan's report, and the sweep that chose its hosts (if one did)."""

    report: ScanReport
    sweep: SweepResult | None = None

    @property
    def exit_code(self) -> ExitCode:
        """The scan's exit code (see :attr:`ScanReport.exit_code`); 4 when a sweep found no agent at all."""
        if self.sweep is not None and not self.sweep.answered:
            return ExitCode.UNREACHABLE
        return self.report.exit_code

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``: the scan's, with the sweep's under ``sweep``."""
        body = self.report.to_dict()
        if self.sweep is not None:
            body["sweep"] = self.sweep.to_dict()
        return body


def run_scan(
    settings: Settings,
    request: ScanRequest,
    *,
    recorder: Recorder,
    progress: ScanProgress | None = None,
) -> ScanRun:
    """Choose the hosts ``request`` names (a pattern, or a subnet sweep with ``discovery.snmp``), scan and record them.

    Hosts a sweep finds are named by an inventory SNMP host at that address and port, or by the
    address. Raise UsageError, ConfigError or HostNotFound before anything is scanned, Interrupted on Ctrl-C.
    """
    from inventory.select import inventory_hosts, select_hosts

    heard = progress or _Silent()
    swept: SweepResult | None = None
    if request.subnet is None:
        scope = request.pattern or "all"
        hosts = select_hosts(settings, scope, request.inventory_files)
    else:
        from inventory.settings import discovery_settings
        from inventory.sweep import hosts_from_sweep, subnet_addresses, sweep

        discovery = discovery_settings(settings)
        addresses = subnet_addresses(request.subnet, limit=discovery.max_addresses)
        known = inventory_hosts(settings, request.inventory_files)
        heard.sweeping(len(addresses))
        swept = sweep(request.subnet, discovery, port=request.snmp_port,
                      concurrency=max(request.concurrency, SWEEP_CONCURRENCY), addresses=addresses,
                      on_probed=heard.probed)
        heard.swept(swept)
        hosts = hosts_from_sweep(swept, known)
        scope = f"subnet {swept.subnet}"
    heard.scanning(len(hosts))
    report = scan(settings, hosts, recorder=recorder, scope=scope, on_done=heard.scanned,
                  concurrency=request.concurrency)
    return ScanRun(report, swept)
