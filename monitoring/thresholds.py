"""Where a reading turns warning or critical: the rules of ``monitoring.thresholds``, applied to every reading in one place.

A source says what it saw (a failed probe is critical, a UPS on battery a warning, a degraded
md array critical: facts, not limits); :func:`judge` then compares the reading's values with the
configured thresholds (:class:`monitoring.settings.ThresholdSettings`) and makes the state the
worse of the two, naming each limit crossed in the summary (``memory 93% ≥ 90%``). The daemon
judges every reading of every pass with its configuration's thresholds, as ``monitor once`` and
``health`` collecting once do with theirs; ``health`` reading a daemon shows the daemon's states.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from monitoring.settings import THRESHOLD_DEFAULTS, Level, ThresholdSettings
from monitoring.sources import STATES, Reading, State

DEFAULT_THRESHOLDS = ThresholdSettings()


def _ratio(name: str) -> Callable[[Mapping[str, float], float], float | None]:
    return lambda values, _now: values[name] * 100 if name in values else None


def _value(name: str) -> Callable[[Mapping[str, float], float], float | None]:
    return lambda values, _now: values.get(name)


def _connections(values: Mapping[str, float], _now: float) -> float | None:
    limit = values.get("opsctl_probe_postgres_max_connections")
    used = values.get("opsctl_probe_postgres_connections")
    return used / limit * 100 if limit and used is not None else None


def _days_left(values: Mapping[str, float], now: float) -> float | None:
    expiry = values.get("opsctl_probe_tls_certificate_expiry_timestamp_seconds")
    return (expiry - now) / 86400 if expiry is not None else None


@dataclass(frozen=True)
class Rule:
    """One threshold key applied to readings: what it measures in them, and how a crossing is named."""

    key: str  # a key of ThresholdSettings
    label: str  # the crossing's name in the summary
    unit: str  # after the number: "%", " s", " d", ""
    measure: Callable[[Mapping[str, float], float], float | None]  # (values, now) -> value, None: not measured
    kinds: tuple[str, ...] = ()  # the reading kinds it applies to; empty: any with the value

    @property
    def lower_is_worse(self) -> bool:
        return THRESHOLD_DEFAULTS[self.key][1]


RULES: tuple[Rule, ...] = (
    Rule("filesystem_used_percent", "filesystem", "%", _ratio("opsctl_probe_agent_fullest_filesystem_used_ratio")),
    Rule("memory_used_percent", "memory", "%", _ratio("opsctl_probe_agent_memory_used_ratio")),
    Rule("cpu_busy_percent", "CPU", "%", _ratio("opsctl_probe_agent_cpu_busy_ratio")),
    Rule("ups_charge_percent", "charge", "%", _ratio("battery_charge_ratio"), ("ups",)),
    Rule("ups_runtime_seconds", "runtime", " s", _value("battery_runtime_seconds"), ("ups",)),
    Rule("postgres_connections_percent", "connections", "%", _connections),
    Rule("postgres_replication_lag_seconds", "lag", " s", _value("opsctl_probe_postgres_replication_lag_seconds")),
    Rule("postgres_transaction_seconds", "transaction open", " s",
         _value("opsctl_probe_postgres_longest_transaction_seconds")),
    Rule("certificate_days_left", "certificate", " d", _days_left),
    Rule("switch_port_errors", "port errors", "", _value("interface_errors")),
)


def level_of(value: float, level: Level, *, lower_is_worse: bool) -> State:
    """``critical``, ``warning`` or ``ok`` for ``value`` against ``level`` (at the limit counts as crossed)."""
    if lower_is_worse:
        return "critical" if value <= level.critical else "warning" if value <= level.warning else "ok"
    return "critical" if value >= level.critical else "warning" if value >= level.warning else "ok"


def worse(first: str, second: str) -> str:
    """The worse of two states (critical, warning, unknown, ok)."""
    return min(first, second, key=lambda state: STATES.index(state) if state in STATES else 0)  # type: ignore[arg-type,unused-ignore]


def crossings(kind: str, values: Mapping[str, float], thresholds: ThresholdSettings, now: float) -> list[tuple[State, str]]:
    """Every limit ``values`` (of a reading of ``kind``) cross, as its state and its note (``memory 93% ≥ 90%``)."""
    found: list[tuple[State, str]] = []
    for rule in RULES:
        if rule.kinds and kind not in rule.kinds:
            continue
        value = rule.measure(values, now)
        if value is None or value != value:  # absent, or NaN
            continue
        level: Level = getattr(thresholds, rule.key)
        state = level_of(value, level, lower_is_worse=rule.lower_is_worse)
        if state != "ok":
            limit = level.critical if state == "critical" else level.warning
            sign = "≤" if rule.lower_is_worse else "≥"
            shown = f"{value:.0f}" if rule.unit or abs(value) >= 10 else f"{value:.2f}"
            found.append((state, f"{rule.label} {shown}{rule.unit} {sign} {limit:g}{rule.unit}"))
    return found


def judge(reading: Reading, thresholds: ThresholdSettings = DEFAULT_THRESHOLDS, now: float = 0.0) -> Reading:
    """``reading`` with its state made the worse of its own and the thresholds', each crossing named after its summary.

    ``now`` (seconds since the epoch) dates a certificate's days left.
    """
    found = crossings(reading.kind, reading.values, thresholds, now)
    if not found:
        return reading
    state = reading.state
    for crossed, _ in found:
        state = worse(state, crossed)
    notes = "; ".join(note for _, note in found)
    return replace(reading, state=state, summary=f"{reading.summary}; {notes}" if reading.summary else notes)


__all__ = ["DEFAULT_THRESHOLDS", "RULES", "Rule", "crossings", "judge", "level_of", "worse"]
