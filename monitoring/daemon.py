"""``opsctl monitor serve`` and ``once``: every metric source on its own interval, served on one endpoint.

Each source runs in a thread of its own (:class:`SourceRunner`): it collects, keeps the last
families and readings, and waits its interval; an exception ends that pass only, is counted in
``opsctl_monitor_source_errors_total{source}`` and logged (once per distinct message), and the
other sources never notice. The endpoint (:func:`serve`) answers ``/metrics`` (the last
families of every source, merged by name, plus the daemon's own ``opsctl_monitor_*`` families
and its process) and ``/readings`` (every source's readings as JSON, each with the time its
target entered its state, for ``opsctl health``).

Sources that come from the configuration are read again every ``monitoring.reload_seconds``
(:class:`RunnerSet`): the inventory (a host that ``opsctl agent install`` marked
``opsctl_agent: true`` gets its agent probe) and the state store's scanned devices (the
poller's targets) are re-read, a source whose identity (:func:`source_identity`) changed is
replaced, one no longer configured is stopped, and the daemon keeps serving throughout.
Logs are JSON lines on stderr.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from monitoring.sources import MetricSource, Reading
from opsctl.core.errors import ExitCode, OpsctlError

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from prometheus_client import CollectorRegistry

    from monitoring.settings import ThresholdSettings
    from opsctl.core.settings import Settings
    from opsctl.core.state import StateStore

READINGS_SCHEMA = "opsctl.monitor-readings/v1"
_LOGGED_LIMIT = 1000


class ListenError(OpsctlError, OSError):
    """The daemon cannot listen where it was told (address in use, not local, no permission)."""


def log_event(event: str, **fields: object) -> None:
    """Write one JSON line to stderr: time (UTC), event, and the given fields."""
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


@dataclass
class SourceStatus:
    """What the daemon knows of one source: its last pass and its errors so far."""

    families: list[Metric] = field(default_factory=list)
    readings: list[Reading] = field(default_factory=list)
    since: dict[str, float] = field(default_factory=dict)  # target -> when its reading took its state
    errors: int = 0
    last_error: str = ""
    passes: int = 0
    last_duration_seconds: float = 0.0
    last_success_timestamp: float | None = None
    up: bool = False


class SourceRunner:
    """Runs one source: one pass now, then one every ``interval_seconds`` until ``stop`` is set."""

    def __init__(self, source: MetricSource, stop: threading.Event,
                 log: Callable[..., None] = log_event, clock: Callable[[], float] = time.time,
                 status: SourceStatus | None = None, thresholds: ThresholdSettings | None = None) -> None:
        self.source = source
        self.thresholds = thresholds
        self.stop = stop
        self.status = status or SourceStatus()
        self._lock = threading.Lock()
        self._log = log
        self._clock = clock
        self._logged: set[str] = set()
        self.thread = threading.Thread(target=self._loop, name=f"source {source.name}", daemon=True)
        self.added_by_reload = False  # set by RunnerSet for a source a reload brought in

    def snapshot(self) -> SourceStatus:
        """A copy of the status, consistent with itself."""
        with self._lock:
            status = self.status
            return SourceStatus(list(status.families), list(status.readings), dict(status.since), status.errors,
                                status.last_error,
                                status.passes, status.last_duration_seconds, status.last_success_timestamp,
                                status.up)

    def _keep_readings(self, readings: list[Reading]) -> None:
        """Keep ``readings``, and for each target since when it has been in its state (lock held)."""
        now = self._clock()
        earlier = {reading.target: reading.state for reading in self.status.readings}
        self.status.since = {reading.target: self.status.since.get(reading.target, now)
                             if earlier.get(reading.target) == reading.state else now for reading in readings}
        self.status.readings = readings

    def _judged(self, readings: Iterable[Reading]) -> list[Reading]:
        """``readings`` against the thresholds (``monitoring.thresholds``; the defaults without settings)."""
        from monitoring.thresholds import DEFAULT_THRESHOLDS, judge

        now = time.time()  # a certificate's days left; the injected clock dates states only
        return [judge(reading, self.thresholds or DEFAULT_THRESHOLDS, now) for reading in readings]

    def run_once(self) -> None:
        """One pass: collect, then keep the families and readings, or count the error."""
        started = time.monotonic()
        try:
            families = list(self.source.collect())
            readings = self._judged(self.source.readings())
        except Exception as error:  # one source never stops the others
            message = f"{type(error).__name__}: {error}".splitlines()[0]
            with self._lock:
                self.status.errors += 1
                self.status.last_error = message
                self.status.up = False
                self.status.passes += 1
                self.status.last_duration_seconds = time.monotonic() - started
                self._keep_readings([Reading(self.source.name, "source", "unknown",
                                             f"source {self.source.name} failed: {message}")])
            if message not in self._logged and len(self._logged) < _LOGGED_LIMIT:
                self._logged.add(message)
                self._log("source_error", source=self.source.name, message=message)
            return
        with self._lock:
            self.status.families = families
            self._keep_readings(readings)
            self.status.passes += 1
            self.status.up = True
            self.status.last_duration_seconds = time.monotonic() - started
            self.status.last_success_timestamp = self._clock()

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.run_once()
            self.stop.wait(self.source.interval_seconds)
        close = getattr(self.source, "close", None)
        if callable(close):  # the poller's SNMP engines and event loop, closed by the thread that used them
            close()


def source_identity(source: MetricSource) -> str:
    """What makes ``source`` the same source after a reload: its class, name, interval and what it reads.

    Two sources with one identity poll the same targets the same way, so a reload keeps the
    running one; anything else (a new agent host, a newly scanned device) replaces it.
    """
    parts = [type(source).__name__, source.name, repr(source.interval_seconds)]
    parts += [repr(getattr(source, attribute)) for attribute in ("kind", "target", "targets", "servers")
              if hasattr(source, attribute)]
    return "\x1f".join(parts)


class RunnerSet:
    """The daemon's running sources, brought in step with a fresh list by :meth:`update`.

    A source whose identity is unchanged keeps its runner; a changed one gets a new runner that
    starts from the old one's status (its readings and since-times stay served until its first
    pass); one that is gone is stopped (its thread closes it).
    """

    def __init__(self, stop: threading.Event, log: Callable[..., None] = log_event,
                 thresholds: ThresholdSettings | None = None) -> None:
        self.stop = stop
        self.thresholds = thresholds
        self._log = log
        self._lock = threading.Lock()
        self._runners: dict[str, tuple[SourceRunner, threading.Event]] = {}
        self._updated = False

    def current(self) -> list[SourceRunner]:
        """The running sources, in the order they were last given."""
        with self._lock:
            return [runner for runner, _ in self._runners.values()]

    def update(self, sources: Sequence[MetricSource], *, start: bool = True) -> tuple[list[str], list[str]]:
        """Run exactly ``sources``; return the names of the sources started (new or replaced) and stopped (gone).

        With ``start`` false the new runners are made but their threads not started (tests).
        """
        fresh = {source_identity(source): source for source in sources}
        with self._lock:
            old = self._runners
            by_name = {runner.source.name: runner for runner, _ in old.values()}
            kept: dict[str, tuple[SourceRunner, threading.Event]] = {}
            started: list[SourceRunner] = []
            for identity, source in fresh.items():
                if identity in old:
                    kept[identity] = old[identity]
                    close = getattr(source, "close", None)
                    if callable(close):
                        close()  # the duplicate made by the reload, never run
                    continue
                previous = by_name.get(source.name)
                event = threading.Event()
                runner = SourceRunner(source, event, log=self._log, thresholds=self.thresholds,
                                      status=previous.snapshot() if previous is not None else None)
                runner.added_by_reload = self._updated
                kept[identity] = (runner, event)
                started.append(runner)
            retired = [(runner, event) for identity, (runner, event) in old.items() if identity not in kept]
            self._runners = kept
            self._updated = True
        for _, event in retired:
            event.set()
        if start:
            for runner in started:
                runner.thread.start()
        names = {source.name for source in fresh.values()}
        return ([runner.source.name for runner in started],
                [runner.source.name for runner, _ in retired if runner.source.name not in names])

    def stop_all(self) -> None:
        """Stop every runner (their threads end after their current pass)."""
        self.stop.set()
        with self._lock:
            for _, event in self._runners.values():
                event.set()


def merge_families(families: Iterable[Metric]) -> list[Metric]:
    """Families of one name from several sources as one family (its first help and type), in first-seen order.

    A family whose type differs from the first one of its name is left out (the exposition
    cannot hold both); the catalogue gives every name one type, so it is a producer's bug.
    """
    merged: dict[str, Metric] = {}
    for family in families:
        known = merged.get(family.name)
        if known is None:
            copy = Metric(family.name, family.documentation, family.type, family.unit)
            copy.samples = list(family.samples)
            merged[family.name] = copy
        elif known.type == family.type:
            known.samples.extend(family.samples)
    return list(merged.values())


class DaemonCollector:
    """The registry's one collector: every source's last families, then the daemon's own health."""

    def __init__(self, runners: Sequence[SourceRunner] | RunnerSet) -> None:
        self.runners = runners

    def describe(self) -> list[Metric]:
        return []  # registering must not run a pass

    def collect(self) -> Iterator[Metric]:
        statuses = [(runner.source.name, runner.snapshot()) for runner in _runners_of(self.runners)]
        yield from merge_families(family for _, status in statuses for family in status.families)
        yield from own_families(statuses)


def opsctl_version() -> str:
    """The installed opsctl's version (``unknown`` from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("opsctl")
    except PackageNotFoundError:
        return "unknown"


def own_families(statuses: Sequence[tuple[str, SourceStatus]]) -> list[Metric]:
    """The daemon's health per source: errors, the last pass's success and duration, the last success's time."""
    errors = CounterMetricFamily("opsctl_monitor_source_errors", "Passes of each source that raised, since the daemon started.",
                                 labels=["source"])
    up = GaugeMetricFamily("opsctl_monitor_source_up", "1 if the source's last pass finished, 0 if it raised or has not run.",
                           labels=["source"])
    duration = GaugeMetricFamily("opsctl_monitor_source_duration_seconds", "How long each source's last pass took.",
                                 labels=["source"])
    success = GaugeMetricFamily("opsctl_monitor_source_last_success_timestamp_seconds",
                                "When each source last finished a pass.", labels=["source"])
    for name, status in statuses:
        errors.add_metric([name], status.errors)
        up.add_metric([name], 1 if status.up else 0)
        duration.add_metric([name], status.last_duration_seconds)
        if status.last_success_timestamp is not None:
            success.add_metric([name], status.last_success_timestamp)
    info = GaugeMetricFamily("opsctl_monitor_build_info", "The daemon's version; always 1.", labels=["version"])
    info.add_metric([opsctl_version()], 1)
    return [errors, up, duration, success, info]


@dataclass(frozen=True)
class CollectResult:
    """One pass of every source: the merged families, every reading, and the sources that raised."""

    families: list[Metric]
    readings: list[Reading]
    source_errors: dict[str, str]

    @property
    def exit_code(self) -> int:
        """0, or 3 (partly done) when a source raised: the readings that came are still shown."""
        return ExitCode.PARTIAL if self.source_errors else ExitCode.OK


def collect_once(sources: Sequence[MetricSource], thresholds: ThresholdSettings | None = None) -> CollectResult:
    """Run every source once, each in its own thread as the daemon does, its readings judged against
    ``thresholds`` (default: the defaults); wait for all of them."""
    stop = threading.Event()
    runners = [SourceRunner(source, stop, log=lambda *_a, **_k: None, thresholds=thresholds) for source in sources]
    threads = [threading.Thread(target=runner.run_once, name=f"once {runner.source.name}", daemon=True)
               for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = [runner.snapshot() for runner in runners]
    return CollectResult(
        families=merge_families(family for status in statuses for family in status.families),
        readings=[reading for status in statuses for reading in status.readings],
        source_errors={runner.source.name: status.last_error
                       for runner, status in zip(runners, statuses, strict=True) if not status.up})


def exposition(families: Sequence[Metric]) -> str:
    """``families`` in the Prometheus text exposition format."""
    from prometheus_client import CollectorRegistry, generate_latest

    class _Fixed:
        def collect(self) -> Sequence[Metric]:
            return families

    registry = CollectorRegistry()
    registry.register(_Fixed())
    return generate_latest(registry).decode()


def _runners_of(runners: Sequence[SourceRunner] | RunnerSet) -> Sequence[SourceRunner]:
    return runners.current() if isinstance(runners, RunnerSet) else runners


def readings_document(runners: Sequence[SourceRunner] | RunnerSet) -> dict[str, Any]:
    """What ``/readings`` answers: every source's readings and its own state."""
    current = _runners_of(runners)
    statuses = [(runner.source.name, runner.snapshot()) for runner in current]
    return {
        "schema": READINGS_SCHEMA,
        "time": time.time(),
        "readings": [{**reading.to_dict(), "since": status.since.get(reading.target)}
                     for _, status in statuses for reading in status.readings],
        "sources": [{"name": runner.source.name, "up": status.up, "passes": status.passes, "errors": status.errors,
                     "last_error": status.last_error, "last_success_timestamp": status.last_success_timestamp,
                     "added_by_reload": runner.added_by_reload}
                    for runner, (_, status) in zip(current, statuses, strict=True)],
    }


def build_registry(runners: Sequence[SourceRunner] | RunnerSet) -> CollectorRegistry:
    """A registry serving the sources' last families, the daemon's own health and its process."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    registry = CollectorRegistry()
    registry.register(DaemonCollector(runners))
    ProcessCollector(registry=registry)
    return registry


def wsgi_app(registry: CollectorRegistry, runners: Sequence[SourceRunner] | RunnerSet) -> Callable[..., Iterable[bytes]]:
    """``/readings`` as JSON; everything else as prometheus-client's exposition of ``registry``."""
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app(registry)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").rstrip("/") == "/readings":
            body = json.dumps(readings_document(runners)).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return metrics(environ, start_response)  # type: ignore[no-any-return]

    return app


def split_listen(listen: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) as host and port; raise ListenError for anything else."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ListenError(f"listen address {listen!r} is not HOST:PORT", hint="for example 127.0.0.1:9102")
    return host.strip("[]"), int(port)


def serve(settings: Settings | None, listen: str | None = None, *, stop: threading.Event | None = None,
          sources: Sequence[MetricSource] | None = None, log: Callable[..., None] = log_event) -> int:
    """Run every source and serve ``/metrics`` and ``/readings`` on ``listen`` (default ``monitoring.listen``) until stopped.

    Without ``sources`` they come from ``settings`` and are read again every
    ``monitoring.reload_seconds`` (see :class:`RunnerSet`; a reload that raises is logged and
    the running sources kept). Stops when ``stop`` is set or on KeyboardInterrupt (Ctrl-C, and
    SIGTERM through the CLI), which it re-raises after shutting down. Return 0; raise
    ListenError if the address cannot be bound.
    """
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from monitoring.settings import monitoring_settings

    section = monitoring_settings(settings) if settings is not None else None
    address = listen or (section.listen if section is not None else "")
    host, port = split_listen(address)
    reload_seconds: float | None = None  # only sources that come from the settings are read again
    store: StateStore | None = None
    if sources is None:
        if settings is None or section is None:
            raise ValueError("serve needs settings or sources")
        from opsctl.core.state import open_state

        # one store for the daemon's life, never closed by it: each reload opening and closing its
        # own could be SQLite's last connection to a WAL database and remove its -wal and -shm
        # files while another opsctl opens them (seen as "disk I/O error" by `lab down`)
        store = open_state(settings)
        sources, reload_seconds = load_sources_for(settings, store), section.reload_seconds
    stop = stop or threading.Event()
    runners = RunnerSet(stop, log=log, thresholds=section.thresholds if section is not None else None)
    runners.update(sources, start=False)
    registry = build_registry(runners)

    class _Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class _Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

    try:
        server = make_server(host, port, wsgi_app(registry, runners), server_class=_Server, handler_class=_Quiet)
    except OSError as error:
        raise ListenError(f"cannot listen on {address}: {error.strerror or error}") from None
    server_thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    server_thread.start()
    for runner in runners.current():
        runner.thread.start()
    log("listening", address=address, version=opsctl_version(), reload_seconds=reload_seconds,
        sources=[{"name": runner.source.name, "interval_seconds": runner.source.interval_seconds}
                 for runner in runners.current()])
    next_reload = time.monotonic() + (reload_seconds or 0.0)
    try:
        while not stop.wait(min(1.0, reload_seconds or 1.0)):
            if settings is not None and reload_seconds is not None and time.monotonic() >= next_reload:
                next_reload = time.monotonic() + reload_seconds
                reload_sources(settings, runners, log, store)
    finally:
        runners.stop_all()
        server.shutdown()
        server.server_close()
        log("stopped")
    return 0


def reload_sources(settings: Settings, runners: RunnerSet, log: Callable[..., None] = log_event,
                   store: StateStore | None = None) -> None:
    """Read the sources from ``settings`` again (inventory, scanned devices) and bring ``runners`` in step; log what changed.

    A reload that raises (an inventory caught half-written, a state store that is away) is
    logged as ``reload_error`` and the running sources are kept.
    """
    try:
        sources = load_sources_for(settings, store)
    except Exception as error:  # the daemon keeps serving what it has
        log("reload_error", message=f"{type(error).__name__}: {error}".splitlines()[0])
        return
    started, stopped = runners.update(sources)
    if started or stopped:
        log("reloaded", started=started, stopped=stopped)


def load_sources_for(settings: Settings, store: StateStore | None = None) -> list[MetricSource]:
    """Every factory's sources for ``settings``, given the inventory's scanned devices (the poller's),
    read from ``store`` when given (the daemon's own, open for its life), else from a store opened for this."""
    from inventory.queries import list_devices
    from monitoring.sources import load_sources

    if store is None:
        return load_sources(settings, list(list_devices(settings)))
    from inventory.history import devices_at

    return load_sources(settings, list(devices_at(store)))


def monitor_once(settings: Settings, target: str | None = None) -> CollectResult:
    """Collect every source once; with ``target``, only the sources of that name or pattern.

    A source that serves many targets (the poller) runs when no source is named ``target``;
    its readings are then kept for the matching targets only. Raise UsageError when nothing
    matches ``target``.
    """
    import fnmatch

    from monitoring.settings import monitoring_settings
    from opsctl.core.errors import UsageError

    thresholds = monitoring_settings(settings).thresholds
    sources = load_sources_for(settings)
    if target is None:
        return collect_once(sources, thresholds)
    named = [source for source in sources if fnmatch.fnmatchcase(source.name, target)]
    result = collect_once(named or sources, thresholds)
    if named:
        return result
    readings = [reading for reading in result.readings if fnmatch.fnmatchcase(reading.target, target)]
    if not readings:
        known = ", ".join(sorted(source.name for source in sources)[:10]) or "none configured"
        raise UsageError(f"no probe, host or device called {target!r} (sources: {known})")
    return CollectResult(result.families, readings, result.source_errors)
