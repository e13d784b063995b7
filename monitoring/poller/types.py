"""The shapes the monitoring daemon reads from every metric source: :class:`MetricSource` and :class:`Reading`.

The daemon (``opsctl monitor serve/once``) and ``opsctl health`` define the same shapes in
``monitoring.sources``; once both exist this module imports them from there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from prometheus_client.metrics_core import Metric

STATES = ("ok", "warning", "critical", "unknown")


@dataclass(frozen=True)
class Reading:
    """What ``opsctl health`` shows of one target: its kind (``ups``, ``switch``, ``sensor``...), state and key values."""

    target: str
    kind: str
    state: str  # ok | warning | critical | unknown
    summary: str
    values: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"a reading's state is one of {', '.join(STATES)}, not {self.state!r}")


@runtime_checkable
class MetricSource(Protocol):
    """A source of metrics the daemon runs every ``interval_seconds``.

    Contract: ``collect`` makes one full pass, bounded by the source's own timeouts, and never
    raises for one target's failure (that becomes the source's error metrics); ``readings``
    gives the last pass's state per target for ``opsctl health``.
    """

    name: str
    interval_seconds: float

    def collect(self) -> list[Metric]: ...

    def readings(self) -> list[Reading]: ...


__all__ = ["STATES", "MetricSource", "Reading"]
