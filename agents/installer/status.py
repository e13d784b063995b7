"""Does an agent answer? One HTTP GET of its ``/metrics`` from the controller, with a timeout.

The version comes from the agent's own ``opsctl_agent_build_info{version="..."} 1`` line; an
endpoint that answers without it is not an opsctl agent (another exporter on the port).
"""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.installer.units import AgentHostLike, AgentPlacement, placement_of
from opsctl.core.errors import ExitCode
from opsctl.core.fleet import FleetOptions, HostResult, Outcome, run_fleet
from opsctl.core.outcome import exit_code_for_outcomes

_BUILD_INFO = re.compile(r'^opsctl_agent_build_info\{(?:[^}]*,)?version="([^"\\]*)"[^}]*\}\s', re.MULTILINE)
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Scrape:
    """Pure: what a ``/metrics`` body says: the agent's version (None: no build info) and its series."""

    version: str | None
    series: int


def parse_metrics(text: str) -> Scrape:
    """Pure: the build-info version and the number of samples (lines that are not comments)."""
    found = _BUILD_INFO.search(text)
    series = sum(1 for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return Scrape(found.group(1) if found else None, series)


@dataclass(frozen=True)
class AgentAnswer:
    """One GET of an agent: answered or not, why not, the version it reports and how long it took."""

    url: str
    answering: bool
    version: str | None = None
    series: int = 0
    seconds: float = 0.0
    reason: str | None = None
    reached: bool = False  # something answered HTTP at all (False: refused, timed out, no route)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "answering": self.answering, "version": self.version, "series": self.series,
                "seconds": round(self.seconds, 3), "reason": self.reason}


def ask_agent(url: str, *, timeout: float) -> AgentAnswer:
    """GET ``url`` once within ``timeout`` seconds; never raises for the agent's sake."""
    started = time.monotonic()
    request = urllib.request.Request(url, headers={"Accept": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_BODY_BYTES)
    except urllib.error.HTTPError as error:
        return AgentAnswer(url, False, seconds=time.monotonic() - started, reason=f"HTTP {error.code}", reached=True)
    except TimeoutError:
        return AgentAnswer(url, False, seconds=time.monotonic() - started, reason=f"no answer within {timeout:g} s")
    except urllib.error.URLError as error:
        reason = error.reason
        text = getattr(reason, "strerror", None) or str(reason)
        if isinstance(reason, TimeoutError):
            text = f"no answer within {timeout:g} s"
        return AgentAnswer(url, False, seconds=time.monotonic() - started, reason=text.lower())
    except (OSError, ValueError) as error:
        return AgentAnswer(url, False, seconds=time.monotonic() - started, reason=str(error) or type(error).__name__)
    seconds = time.monotonic() - started
    scrape = parse_metrics(body.decode("utf-8", "replace"))
    if scrape.version is None:
        return AgentAnswer(url, False, series=scrape.series, seconds=seconds, reached=True,
                           reason="answers, but is not an opsctl agent (no opsctl_agent_build_info)")
    return AgentAnswer(url, True, scrape.version, scrape.series, seconds, reached=True)


def wait_for_agent(url: str, *, seconds: float, timeout: float = 2.0) -> AgentAnswer:
    """Ask ``url`` until it answers as an agent or ``seconds`` pass; return the last answer."""
    deadline = time.monotonic() + seconds
    while True:
        answer = ask_agent(url, timeout=timeout)
        if answer.answering or time.monotonic() >= deadline:
            return answer
        time.sleep(0.25)


@dataclass(frozen=True)
class AgentStatus:
    """One host's agent as ``opsctl agent status`` shows it: where it was asked and what it said."""

    host: str
    answer: AgentAnswer

    @property
    def outcome(self) -> Outcome:
        """``ok`` answering; ``failed`` something else answers there; ``unreachable`` nothing answers."""
        if self.answer.answering:
            return Outcome.OK
        return Outcome.FAILED if self.answer.reached else Outcome.UNREACHABLE

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "outcome": str(self.outcome), **self.answer.to_dict()}


@dataclass(frozen=True)
class AgentStatusReport:
    """Every targeted host's agent, in target order."""

    target: str
    agents: tuple[AgentStatus, ...]

    @property
    def exit_code(self) -> ExitCode:
        """DESIGN.md's rule: 0 all answer, 4 some do not answer at all, 1/3 when something else answers."""
        return exit_code_for_outcomes(agent.outcome for agent in self.agents)

    def to_dict(self) -> dict[str, Any]:
        counts = {str(outcome): sum(1 for a in self.agents if a.outcome == outcome) for outcome in Outcome}
        return {"target": self.target, "agents": [agent.to_dict() for agent in self.agents],
                "counts": {name: count for name, count in counts.items() if count}}


def agent_status(hosts: Sequence[AgentHostLike], *, target: str, timeout: float = 3.0,
                 forks: int = 50) -> AgentStatusReport:
    """Ask every host's agent once (at most ``forks`` at a time, on the fleet executor).

    Raise :class:`ConfigError` naming the host for a bad ``opsctl_agent_*`` variable.
    """
    placements = [placement_of(host) for host in hosts]
    answers: dict[str, AgentAnswer] = {}

    def ask(placement: AgentPlacement, cancel: threading.Event) -> HostResult:
        answers[placement.host] = ask_agent(placement.url, timeout=timeout)
        return HostResult(placement.host, Outcome.OK)

    run_fleet(placements, ask, name_of=lambda placement: placement.host, options=FleetOptions(forks=forks))
    return AgentStatusReport(target, tuple(AgentStatus(p.host, answers[p.host]) for p in placements))
