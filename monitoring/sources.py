"""Metric sources: what ``opsctl monitor serve`` runs, each on its own interval, and ``opsctl health`` reads.

A source (:class:`MetricSource`) collects one full pass (``collect()``, the Prometheus
families) and says what that pass means for people (``readings()``, one :class:`Reading` per
target). Sources come from the factories in :data:`SOURCE_FACTORIES` (``"module:function"``,
imported when first used), each ``(settings, devices) -> list[MetricSource]``.

This module's own factory, :func:`probe_sources`, gives one source per configured probe
(``monitoring.probes``) and, with ``monitoring.agents``, one ``agent`` probe per inventory host
with ``opsctl_agent: true``. A probe's families carry the labels ``probe`` (its name), ``type``
and ``host`` (the inventory host it runs on; the probe's name when none is configured).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from monitoring.catalogue import PROBE_LABELS, families_of
from monitoring.probes import PROBES, Probe, ProbeResult, ProbeTarget
from monitoring.probes_postgres import replication_state

if TYPE_CHECKING:
    from monitoring.settings import ProbeSettings, ThresholdSettings
    from opsctl.core.settings import Settings

State = Literal["ok", "warning", "critical", "unknown"]
STATES: tuple[State, ...] = ("critical", "warning", "unknown", "ok")  # worst first

SOURCE_FACTORIES: tuple[str, ...] = (
    "monitoring.sources:probe_sources",
    "monitoring.poller:metric_sources",  # the SNMP poller and NUT
)

# Every family a probe source exposes, with its help text: the catalogue's probe families.
PROBE_FAMILIES: Mapping[str, str] = {entry.name: entry.help for entry in families_of("probes")}


@dataclass(frozen=True)
class Reading:
    """What one target's last pass means for people: its state, a one-line summary, the values behind it."""

    target: str
    kind: str
    state: str  # ok | warning | critical | unknown
    summary: str
    values: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "kind": self.kind, "state": self.state, "summary": self.summary,
                "values": dict(self.values)}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Reading:
        state = str(data["state"])
        if state not in STATES:
            raise ValueError(f"reading of {data.get('target')!r}: unknown state {state!r}")
        return cls(str(data["target"]), str(data["kind"]), state, str(data["summary"]),
                   {str(key): float(value) for key, value in dict(data.get("values") or {}).items()})


@runtime_checkable
class MetricSource(Protocol):
    """One thing the daemon runs on an interval.

    Contract: ``collect()`` makes one full pass, bounded by the source's own timeouts, and
    returns its families; a target that is down is part of the result, never an exception (an
    exception means the source itself broke: the daemon counts it and keeps serving the rest).
    ``readings()`` describes the last pass, one reading per target (``unknown`` before the first).
    """

    name: str
    interval_seconds: float

    def collect(self) -> list[Metric]: ...

    def readings(self) -> list[Reading]: ...


# -- what a probe's samples mean ----------------------------------------------------------------

def _worse(first: State, second: State) -> State:
    return first if STATES.index(first) <= STATES.index(second) else second


def probe_facts(kind: str, result: ProbeResult, now: float) -> tuple[State, str]:
    """The state and summary of one probe result before any threshold: a failed probe is critical, a
    degraded md array on an agent's host critical, anything else ok; the summary says what was read
    (``now``, seconds since the epoch, dates a certificate's days left)."""
    samples = result.samples
    if not result.success:
        return "critical", result.detail
    state: State = "ok"
    notes: list[str] = []
    if kind == "postgres":
        connections = samples.get("opsctl_probe_postgres_connections", 0.0)
        limit = samples.get("opsctl_probe_postgres_max_connections") or 0.0
        notes.append(f"{connections:.0f}/{limit:.0f} connections")
        standby = replication_state(samples, result.detail)
        if standby is not None:
            state = _worse(state, standby[0])
        notes.append("primary" if standby is None else standby[1])
        notes.append(f"{samples.get('opsctl_probe_postgres_database_size_bytes', 0.0) / 1024**2:.0f} MiB")
    elif kind == "orthanc":
        notes.append(f"up, {samples.get('opsctl_probe_orthanc_instances', 0.0):.0f} instances, "
                     f"{samples.get('opsctl_probe_orthanc_studies', 0.0):.0f} studies")
        if samples.get("opsctl_probe_orthanc_dicom_echo_success") == 1.0:
            notes.append("C-ECHO ok")
    elif kind == "http":
        notes.append(f"HTTP {samples.get('opsctl_probe_http_status_code', 0.0):.0f} in {result.duration_seconds * 1000:.0f} ms")
        if "opsctl_probe_tls_certificate_expiry_timestamp_seconds" in samples:
            days = (samples["opsctl_probe_tls_certificate_expiry_timestamp_seconds"] - now) / 86400
            notes.append(f"certificate {days:.0f} d left")
    elif kind == "agent":
        if samples.get("opsctl_probe_agent_md_degraded_arrays") or samples.get("opsctl_probe_agent_md_failed_disks"):
            state = _worse(state, "critical")
        notes.append(result.detail.partition(": ")[2] or result.detail)
    else:
        notes.append(result.detail)
    return state, ", ".join(note for note in notes if note)


def probe_state(kind: str, result: ProbeResult, now: float, thresholds: ThresholdSettings | None = None) -> tuple[State, str]:
    """The state and summary of one probe result: :func:`probe_facts`, then ``thresholds`` (default: the
    defaults of ``monitoring.thresholds``) as :func:`monitoring.thresholds.judge` applies them.

    ``now`` (seconds since the epoch) dates a certificate's days left.
    """
    from monitoring.thresholds import DEFAULT_THRESHOLDS, judge

    state, summary = probe_facts(kind, result, now)
    if not result.success:
        return state, summary
    judged = judge(Reading("", kind, state, summary, dict(result.samples)), thresholds or DEFAULT_THRESHOLDS, now)
    return judged.state, judged.summary  # type: ignore[return-value]


# -- the probes' source ---------------------------------------------------------------------------

class ProbeSource:
    """One probe on one target: ``collect()`` runs it once; ``readings()`` says what the last run means."""

    def __init__(self, name: str, kind: str, host: str, probe: Probe, target: ProbeTarget, *,
                 interval_seconds: float, timeout_seconds: float, clock: Callable[[], float] | None = None) -> None:
        import time

        self.name = name
        self.kind = kind
        self.host = host
        self.probe = probe
        self.target = target
        self.interval_seconds = interval_seconds
        self.timeout_seconds = timeout_seconds
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._last: ProbeResult | None = None

    def collect(self) -> list[Metric]:
        result = self.probe.probe(self.target, self.timeout_seconds)
        with self._lock:
            self._last = result
        return self.families(result)

    def families(self, result: ProbeResult) -> list[Metric]:
        """``result`` as gauge families labelled ``probe``, ``type``, ``host``."""
        labels = [self.name, self.kind, self.host]
        values = {"opsctl_probe_success": 1.0 if result.success else 0.0,
                  "opsctl_probe_duration_seconds": result.duration_seconds, **result.samples}
        families: list[Metric] = []
        for name, value in values.items():
            family = GaugeMetricFamily(name, PROBE_FAMILIES.get(name, f"Probe sample {name}."), labels=list(PROBE_LABELS))
            family.add_metric(labels, value)
            families.append(family)
        return families

    def readings(self) -> list[Reading]:
        with self._lock:
            result = self._last
        if result is None:
            return [Reading(self.name, self.kind, "unknown", "not probed yet")]
        state, summary = probe_facts(self.kind, result, self._clock())  # the daemon judges thresholds
        return [Reading(self.name, self.kind, state, summary,
                        {"success": 1.0 if result.success else 0.0, **result.samples})]


def _probe_target(name: str, probe: ProbeSettings) -> ProbeTarget:
    import urllib.parse

    address = probe.address or urllib.parse.urlsplit(probe.url or "").hostname or name
    return ProbeTarget(host=probe.host or name, address=address, port=probe.port, options=probe.options())


def probe_sources(settings: Settings, devices: Sequence[object] = ()) -> list[MetricSource]:
    """One :class:`ProbeSource` per configured probe, then one ``agent`` probe per inventory host that runs the agent.

    ``devices`` is unused (the poller's factory reads them). Raise ConfigError for an agent
    host whose ``opsctl_agent_port`` is wrong; a configured probe named like an agent host wins.
    """
    from monitoring.settings import monitoring_settings

    section = monitoring_settings(settings)
    sources: list[MetricSource] = []
    for name, probe in section.probes.items():
        sources.append(ProbeSource(
            name, probe.type, probe.host or name, PROBES.get(probe.type), _probe_target(name, probe),
            interval_seconds=probe.interval_seconds or section.probe_interval_seconds,
            timeout_seconds=probe.timeout_seconds or section.probe_timeout_seconds))
    if section.agents and settings.inventory is not None:
        from inventory.exports.prometheus import agent_target, runs_agent
        from inventory.select import configured_inventory

        for host in configured_inventory(settings).hosts.values():
            if not runs_agent(host) or host.name in section.probes:
                continue
            url = f"http://{agent_target(host)}/metrics"
            target = ProbeTarget(host=host.name, address=host.address, options={"url": url})
            sources.append(ProbeSource(host.name, "agent", host.name, PROBES.get("agent"), target,
                                       interval_seconds=section.probe_interval_seconds,
                                       timeout_seconds=section.probe_timeout_seconds))
    return sources


def load_sources(settings: Settings, devices: Sequence[object] = (),
                 factories: Sequence[str] = SOURCE_FACTORIES) -> list[MetricSource]:
    """Every factory's sources, in the factories' order; a malformed reference is a ValueError."""
    sources: list[MetricSource] = []
    for reference in factories:
        module, _, attribute = reference.partition(":")
        if not module or not attribute:
            raise ValueError(f"source factory {reference!r} is not module:function")
        factory: Callable[[Settings, Sequence[object]], list[MetricSource]] = getattr(
            importlib.import_module(module), attribute)
        sources.extend(factory(settings, devices))
    return sources
