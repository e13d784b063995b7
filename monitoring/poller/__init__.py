"""The SNMP poller: the inventory's devices polled on an interval with metric profiles as data.

:func:`metric_sources` is what the monitoring daemon calls: given the settings and the devices
the inventory's scans hold (:class:`inventory.devices.Device`, as
:func:`inventory.queries.list_devices` returns them), it returns the SNMP poller as one
:class:`~monitoring.poller.types.MetricSource` (when any device answers SNMP) and the NUT
servers of ``monitoring.nut_servers`` as another. A device's SNMP access comes from its
inventory host (``opsctl_snmp_*`` variables, secrets by reference), else from the first
``discovery.snmp`` credential set at its management address.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from monitoring.poller.types import MetricSource, Reading

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from inventory.devices import Device
    from monitoring.poller.poll import DevicePoll, DeviceState, PollTarget
    from monitoring.poller.profiles import Profile
    from monitoring.settings import MonitoringSettings
    from opsctl.core.settings import Settings



class SnmpPoller:
    """The SNMP poller as a metric source (named ``snmp``): one pass per ``collect()``, readings from the last pass.

    Its event loop, SNMP engines and what it learnt of each device (GETBULK size, answered
    tables, error counts) live as long as the source, so passes reuse them.
    """

    def __init__(self, targets: Sequence[PollTarget], profiles: Sequence[Profile], *,
                 interval_seconds: float = 60.0, concurrency: int = 32, deadline_seconds: float = 30.0,
                 reprobe_passes: int = 30) -> None:
        from inventory.snmp.client import SnmpClient

        self.name = "snmp"
        self.interval_seconds = interval_seconds
        self.targets = tuple(targets)
        self.profiles = tuple(profiles)
        self.concurrency = concurrency
        self.deadline_seconds = deadline_seconds
        self.reprobe_passes = reprobe_passes
        self.states: dict[str, DeviceState] = {}
        self.results: list[DevicePoll] = []
        self.pass_seconds = 0.0
        self._plans = {target.device: tuple(p for p in self.profiles if p.applies_to(target.role, target.manufacturer))
                       for target in self.targets}
        self._client = SnmpClient()
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()

    def _plan(self, target: PollTarget) -> Sequence[Profile]:
        return self._plans[target.device]

    def poll(self) -> list[DevicePoll]:
        """Run one pass over every device and keep its results; never raises for a device."""
        from monitoring.poller.poll import poll_pass

        with self._lock:
            started = time.monotonic()
            previous = self._loop.get_exception_handler()
            self._loop.set_exception_handler(_quiet)
            try:
                self.results = self._loop.run_until_complete(poll_pass(
                    self.targets, self._plan, self.states, client=self._client, concurrency=self.concurrency,
                    deadline_seconds=self.deadline_seconds, reprobe_passes=self.reprobe_passes))
            finally:
                self._loop.set_exception_handler(previous)
            self.pass_seconds = time.monotonic() - started
            return self.results

    def collect(self) -> list[Metric]:
        """One full pass; the devices' families and the poller's own (up, duration, timeouts, errors per device)."""
        from monitoring.poller.expose import DeviceSeries, device_families, poller_families

        results = self.poll()
        series = [DeviceSeries(result.target.labels(), result.evaluation.samples, result.evaluation.status_flags)
                  for result in results if result.answered]
        return [*device_families(series),
                *poller_families(results, self.states, source=self.name, pass_seconds=self.pass_seconds)]

    def readings(self) -> list[Reading]:
        """Each device's reading from the last pass (a pass is made first if there was none)."""
        from monitoring.poller.expose import device_reading

        results = self.results or self.poll()
        return [device_reading(result) for result in results]

    def close(self) -> None:
        """Close the SNMP engines and the event loop."""
        with self._lock:
            self._client.close()
            # pysnmp leaves a timer task per transport: let them end before the loop closes
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()


def _quiet(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    """What pysnmp raises in its datagram callbacks is a device's garbage (the client counts it), not the pass's."""
    from inventory.snmp.discovery import _log_library_error

    _log_library_error(loop, context)


def poll_targets(settings: Settings, devices: Sequence[Device], section: MonitoringSettings) -> list[PollTarget]:
    """The devices that answer SNMP, with their access: from the inventory host of the same name, else the
    first ``discovery.snmp`` credential set at the device's management address (not for a server the
    inventory reads over SSH). Others, and hosts whose SNMP variables are unusable, are left out."""
    from inventory.settings import discovery_settings
    from inventory.snmp.client import SnmpTarget
    from inventory.snmp.credentials import (
        VERSION,
        credential_set_of_host,
        credential_set_of_settings,
        snmp_port_of,
    )
    from monitoring.poller.poll import PollTarget
    from opsctl.core.errors import ConfigError, OpsctlError

    try:
        from inventory.select import inventory_hosts

        hosts = {host.name: host for host in inventory_hosts(settings)}
    except OpsctlError:
        hosts = {}  # no inventory configured: the discovery credentials alone
    discovery = discovery_settings(settings)
    fallback = credential_set_of_settings(discovery.snmp[0]) if discovery.snmp else None
    targets: list[PollTarget] = []
    for device in devices:
        host = hosts.get(device.name)
        try:
            if host is not None and host.vars.get(VERSION) is not None:
                address, port, credentials = host.address, snmp_port_of(host), credential_set_of_host(host)
            elif fallback is not None and device.management_address and (host is None or device.role != "server"):
                address, port, credentials = device.management_address, discovery.snmp_port, fallback
            else:
                continue
        except ConfigError:
            continue  # the inventory's scan reports a host's bad SNMP variables
        targets.append(PollTarget(
            device=device.name, role=device.role, site=device.site or "", rack=device.rack or "",
            manufacturer=device.manufacturer,
            target=SnmpTarget(address, port, timeout=section.poll_timeout_seconds, retries=section.poll_retries),
            credentials=credentials,
        ))
    return targets


def metric_sources(settings: Settings, devices: Sequence[Device]) -> list[MetricSource]:
    """The poller's sources for ``devices`` (the inventory's scanned devices): SNMP when any answers it, NUT when
    ``monitoring.nut_servers`` names servers. Raise ConfigError for an invalid metric profile."""
    from monitoring.nut import NutSource
    from monitoring.poller.profiles import load_profiles
    from monitoring.settings import monitoring_settings

    section = monitoring_settings(settings)
    sources: list[MetricSource] = []
    targets = poll_targets(settings, devices, section)
    if targets:
        sources.append(SnmpPoller(targets, load_profiles(), interval_seconds=section.poll_interval_seconds,
                                  concurrency=section.poll_concurrency, deadline_seconds=section.poll_deadline_seconds))
    if section.nut_servers:
        sources.append(NutSource(section.nut_servers, interval_seconds=section.nut_interval_seconds))
    return sources


__all__ = ["MetricSource", "Reading", "SnmpPoller", "metric_sources", "poll_targets"]
