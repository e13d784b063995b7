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

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric


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


def read_text(path: Path) -> str:
    """The whole text of a /proc or /sys file (their sizes lie, so read to the end).

    Plain ``os.read`` calls: a Python file object would add an fstat, an ioctl, an lseek and a
    decoder to each of the files every scrape reads.
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
        errors = CounterMetricFamily(
            "opsctl_agent_collector_errors", "Errors each collector met reading its sources since the agent started.",
            labels=["collector"])
        for collector in self.collectors:
            errors.add_metric([collector.name], counts.get(collector.name, 0))
        yield errors
        duration = GaugeMetricFamily(
            "opsctl_agent_scrape_collector_duration_seconds", "Time each collector took in this scrape.",
            labels=["collector"])
        for name, seconds in durations:
            duration.add_metric([name], seconds)
        yield duration
        success = GaugeMetricFamily(
            "opsctl_agent_scrape_collector_success", "1 if the collector finished this scrape, 0 if it raised.",
            labels=["collector"])
        for name, value in successes:
            success.add_metric([name], value)
        yield success
