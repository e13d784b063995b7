"""``opsctl health``: the fleet at a glance, worst first, from the running daemon or one pass of its own.

With ``monitoring.endpoint`` set, the readings come from that daemon's ``/readings``; else every
source runs once here (:func:`monitoring.daemon.collect_once`). Exit codes: 0 when the fleet
was read, whatever its state (a critical reading is what the command reports, not a failure of
the command: scripts that want a verdict use ``--nagios``); 3 when a source raised and only
part of the fleet was read; 4 when the configured endpoint did not answer. With ``--nagios``:
0/1/2/3 for OK/WARNING/CRITICAL/UNKNOWN, the worst reading deciding (an unreadable fleet or
a raising source is UNKNOWN, unless something read is CRITICAL or WARNING).
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monitoring.sources import STATES, Reading
from opsctl.core.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from opsctl.core.settings import Settings

NAGIOS_CODES = {"ok": 0, "warning": 1, "critical": 2, "unknown": 3}


def worst_first(readings: Sequence[Reading]) -> list[Reading]:
    """``readings`` ordered critical, warning, unknown, ok; by target within a state."""
    return sorted(readings, key=lambda reading: (STATES.index(reading.state)
                                                 if reading.state in STATES else 0, reading.target))


def select_readings(readings: Sequence[Reading], target: str | None) -> list[Reading]:
    """The readings whose target is ``target`` or matches it as a shell pattern (``pacs``, ``lab-ssh-*``)."""
    if target is None:
        return list(readings)
    return [reading for reading in readings if fnmatch.fnmatchcase(reading.target, target)]


@dataclass(frozen=True)
class HealthReport:
    """The readings worst first, where they came from, and what could not be read."""

    readings: list[Reading]
    origin: str  # the endpoint's URL, or "collected once"
    generated_at: float
    source_errors: dict[str, str] = field(default_factory=dict)
    unreachable: str | None = None  # why the endpoint could not be read
    since: dict[str, float] = field(default_factory=dict)  # target -> when it entered its state (the daemon's)

    @property
    def counts(self) -> dict[str, int]:
        return {state: sum(1 for reading in self.readings if reading.state == state) for state in STATES}

    @property
    def worst(self) -> str:
        """The worst state read; ``unknown`` when nothing (or not everything) could be read and nothing is worse."""
        states = [reading.state for reading in self.readings]
        if self.unreachable or self.source_errors or not states:
            states.append("unknown")
        return min(states, key=lambda state: STATES.index(state) if state in STATES else 0)

    @property
    def exit_code(self) -> int:
        """0 read, 3 partly read (a source raised), 4 the endpoint did not answer."""
        if self.unreachable:
            return ExitCode.UNREACHABLE
        return ExitCode.PARTIAL if self.source_errors else ExitCode.OK

    @property
    def nagios_code(self) -> int:
        return NAGIOS_CODES[self.worst]

    def exit_code_for(self, nagios: bool) -> int:
        """The Nagios code with ``nagios``, else :attr:`exit_code`."""
        return self.nagios_code if nagios else self.exit_code

    def nagios_line(self) -> str:
        """One Nagios status line: ``OPSCTL HEALTH CRITICAL - 1 critical, 2 ok: pacs: ...`` and perfdata."""
        counts = ", ".join(f"{count} {state}" for state, count in self.counts.items() if count) or "nothing read"
        bad = [reading for reading in self.readings if reading.state != "ok"]
        details = "; ".join(f"{reading.target}: {reading.summary}" for reading in bad[:3])
        if self.unreachable:
            details = "; ".join(filter(None, [self.unreachable, details]))
        for source, error in list(self.source_errors.items())[:1]:
            details = "; ".join(filter(None, [details, f"source {source}: {error}"]))
        perfdata = " ".join(f"{state}={count}" for state, count in self.counts.items())
        line = f"OPSCTL HEALTH {self.worst.upper()} - {counts}" + (f": {details}" if details else "")
        return f"{' '.join(line.split())} | {perfdata}"

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "generated_at": self.generated_at, "worst": self.worst,
                "counts": self.counts,
                "readings": [{**reading.to_dict(), "since": self.since.get(reading.target)} for reading in self.readings],
                "source_errors": dict(self.source_errors), "unreachable": self.unreachable}


@dataclass(frozen=True)
class EndpointReadings:
    """What a running daemon's ``/readings`` says: the readings, since when each is in its state, the sources' errors."""

    readings: list[Reading]
    since: dict[str, float]
    source_errors: dict[str, str]


def read_endpoint(url: str, timeout: float) -> EndpointReadings:
    """Read a running daemon's ``URL/readings``; raise OSError or ValueError if it cannot be read."""
    from monitoring.probes_http import HttpProbeError, http_get

    base = url.rstrip("/").removesuffix("/metrics").removesuffix("/readings")
    try:
        answer = http_get(base + "/readings", timeout)
    except HttpProbeError as error:
        raise OSError(f"monitoring endpoint {base} did not answer: {error}") from None
    if answer.status != 200:
        raise OSError(f"monitoring endpoint {base} answered HTTP {answer.status} for /readings")
    document = json.loads(answer.body)
    if not isinstance(document, dict) or document.get("schema") != "opsctl.monitor-readings/v1":
        raise ValueError(f"monitoring endpoint {base}: /readings is not an opsctl readings document")
    try:
        entries = document.get("readings", [])
        errors = {str(source["name"]): str(source.get("last_error") or "failed")
                  for source in document.get("sources", []) if not source.get("up") and source.get("passes")}
        return EndpointReadings([Reading.from_mapping(entry) for entry in entries],
                                {str(entry["target"]): float(entry["since"]) for entry in entries
                                 if entry.get("since") is not None}, errors)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"monitoring endpoint {base}: a malformed /readings document ({error!r})") from None


def fleet_health(settings: Settings, target: str | None = None, *, timeout: float = 10.0) -> HealthReport:
    """The health of every reading (or those ``target`` names), worst first.

    Reads ``monitoring.endpoint`` when set (an endpoint that does not answer is a report with
    ``unreachable`` set, not an exception), else collects once. Raise UsageError when ``target``
    matches no reading.
    """
    from monitoring.settings import monitoring_settings

    section = monitoring_settings(settings)
    endpoint = section.endpoint
    since: dict[str, float] = {}
    if endpoint:
        origin = endpoint
        try:
            answer = read_endpoint(endpoint, timeout)
        except (OSError, ValueError) as error:
            return HealthReport([], origin, time.time(), unreachable=str(error))
        readings, since, errors = answer.readings, answer.since, answer.source_errors
    else:
        from monitoring.daemon import collect_once, load_sources_for

        origin = "collected once"
        result = collect_once(load_sources_for(settings), section.thresholds)
        readings, errors = result.readings, result.source_errors
    selected = select_readings(readings, target)
    if target is not None and not selected:
        known = ", ".join(sorted({reading.target for reading in readings})[:10]) or "none"
        raise UsageError(f"no probe, host or device called {target!r} (known: {known})")
    return HealthReport(worst_first(selected), origin, time.time(), errors,
                        since={reading.target: since[reading.target] for reading in selected if reading.target in since})
