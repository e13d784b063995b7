"""What a host collector is, and the one collector that runs them all so none can fail a scrape.

A host collector has a ``name`` and a ``collect()`` that yields metric families read fresh at
that moment; when it cannot read part of what it serves it reports less and calls
``errors.count(name, what)``. ``AgentCollector`` is what the registry holds: on every scrape
it runs each host collector, times it, drops the output of one that raises (counting it), and
adds the agent's own ``opsctl_agent_*`` families about the collectors.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample


class CompactFamily(Metric):
    """A gauge or counter family that keeps its series as ``(label values, value)`` pairs.

    Made for the agent's scrapes: no ``Sample`` and no label dict per series, and no name check
    per scrape (the names are the collectors' own constants, which promtool checks in the
    tests). ``samples`` builds prometheus-client's Samples on demand, so ``generate_latest`` and
    the tests read one as any family; agents/exposition.py reads ``series``.
    """

    family_type = "gauge"
    sample_suffix = ""

    def __init__(self, name: str, documentation: str, value: float | None = None,
                 labels: Sequence[str] | None = None) -> None:
        if labels is not None and value is not None:
            raise ValueError("Can only specify at most one of value and labels.")
        self.name = name
        self.documentation = documentation
        self.unit = ""
        self.type = self.family_type
        self.label_names: tuple[str, ...] = tuple(labels or ())
        self.sample_name = name + self.sample_suffix
        self.series: list[tuple[tuple[str, ...], float]] = [] if value is None else [((), value)]

    def add_metric(self, labels: Sequence[str], value: float) -> None:
        """Add one series: its label values, in the order of the family's label names, and its value."""
        self.series.append((tuple(labels), value))

    @property
    def samples(self) -> list[Sample]:  # type: ignore[override]
        return [Sample(self.sample_name, dict(zip(self.label_names, values, strict=True)), value, None)
                for values, value in self.series]


class GaugeFamily(CompactFamily):
    """A gauge family (``GaugeMetricFamily``'s arguments)."""


class CounterFamily(CompactFamily):
    """A counter family (``CounterMetricFamily``'s arguments): ``name`` without ``_total``, which
    its samples carry."""

    family_type = "counter"
    sample_suffix = "_total"

    def __init__(self, name: str, documentation: str, value: float | None = None,
                 labels: Sequence[str] | None = None) -> None:
        super().__init__(name.removesuffix("_total"), documentation, value, labels)


class ErrorCounter:
    """Errors per collector since the agent started, and the last one seen (thread-safe)."""

    def __init__(self, on_error: Callable[[str, str], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._on_error = on_error

    def count(self, collector: str, what: str) -> None:
        """Count one error of ``collector``; ``what`` (a path and reason) goes to the log hook only."""
        with self._lock:
            self._counts[collector] = self._counts.get(collector, 0) + 1
        if self._on_error is not None:
            self._on_error(collector, what)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


@runtime_checkable
class HostCollector(Protocol):
    """A source of host metrics: ``collect()`` reads fresh values and yields their families."""

    name: str

    def collect(self) -> Iterable[Metric]: ...


def read_text(path: str | Path) -> str:
    """The whole text of a /proc or /sys file (their sizes lie, so read to the end).

    Plain ``os.read`` calls: a Python file object would add an fstat, an ioctl, an lseek and a
    decoder to each of the files every scrape reads (and the collectors pass strings, not
    joined ``Path`` objects, for the same reason).
    """
    descriptor = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(descriptor, 65536):
            chunks.append(chunk)
    finally:
        os.close(descriptor)
    return b"".join(chunks).decode("utf-8", "replace")


class AgentCollector:
    """Runs every host collector on each scrape; one that raises is dropped from that scrape only.

    Given the collectors, the shared ``ErrorCounter`` they count into, and a clock, ``collect()``
    yields each collector's families, then ``opsctl_agent_collector_errors_total{collector}``,
    ``opsctl_agent_scrape_collector_duration_seconds{collector}`` and
    ``opsctl_agent_scrape_collector_success{collector}`` (0 when it raised).
    """

    def __init__(self, collectors: Sequence[HostCollector], errors: ErrorCounter,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.collectors = tuple(collectors)
        self.errors = errors
        self._clock = clock

    def describe(self) -> list[Metric]:
        # nothing to describe up front: registering must not run a scrape
        return []

    def collect(self) -> Iterator[Metric]:
        durations: list[tuple[str, float]] = []
        successes: list[tuple[str, int]] = []
        for collector in self.collectors:
            started = self._clock()
            try:
                families = list(collector.collect())
            except Exception as error:  # one collector never fails the scrape
                self.errors.count(collector.name, f"{type(error).__name__}: {error}")
                families = []
                successes.append((collector.name, 0))
            else:
                successes.append((collector.name, 1))
            durations.append((collector.name, self._clock() - started))
            yield from families
        counts = self.errors.counts()
        errors = CounterFamily(
            "opsctl_agent_collector_errors", "Errors each collector met reading its sources since the agent started.",
            labels=["collector"])
        for collector in self.collectors:
            errors.add_metric([collector.name], counts.get(collector.name, 0))
        yield errors
        duration = GaugeFamily(
            "opsctl_agent_scrape_collector_duration_seconds", "Time each collector took in this scrape.",
            labels=["collector"])
        for name, seconds in durations:
            duration.add_metric([name], seconds)
        yield duration
        success = GaugeFamily(
            "opsctl_agent_scrape_collector_success", "1 if the collector finished this scrape, 0 if it raised.",
            labels=["collector"])
        for name, value in successes:
            success.add_metric([name], value)
        yield success
