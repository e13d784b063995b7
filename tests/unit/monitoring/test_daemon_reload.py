"""The daemon's reload (:class:`monitoring.daemon.RunnerSet`) and the lab's readiness check of it.

A reload keeps a source whose identity is unchanged (its runner and its passes), replaces a
changed one starting from the old status (health never sees it "not probed yet" again), stops
one no longer configured, and closes the duplicate a reload made of a kept source.
"""

from __future__ import annotations

import json
import threading

from lab.monitor import readiness
from monitoring.daemon import RunnerSet, source_identity
from monitoring.sources import Reading


class _Source:
    interval_seconds = 1.0

    def __init__(self, name: str, targets: tuple[str, ...]) -> None:
        self.name = name
        self.targets = targets
        self.closed = False

    def collect(self) -> list[object]:
        return []

    def readings(self) -> list[Reading]:
        return [Reading(target, "test", "ok", "fine") for target in self.targets]

    def close(self) -> None:
        self.closed = True


def test_a_reload_keeps_unchanged_sources_replaces_changed_ones_and_stops_the_rest() -> None:
    runners = RunnerSet(threading.Event(), log=lambda *_a, **_k: None)
    agent, snmp, nut = _Source("lab-ssh-01", ("lab-ssh-01",)), _Source("snmp", ("sw1",)), _Source("nut", ("ups",))
    runners.update([agent, snmp, nut], start=False)
    for runner in runners.current():
        runner.run_once()
    kept_runner = runners.current()[0]

    again, grown = _Source("lab-ssh-01", ("lab-ssh-01",)), _Source("snmp", ("sw1", "sw2"))
    started, stopped = runners.update([again, grown], start=False)

    assert (started, stopped) == (["snmp"], ["nut"])
    assert not kept_runner.added_by_reload and runners.current()[1].added_by_reload
    assert runners.current()[0] is kept_runner and again.closed  # the reload's duplicate is closed
    replaced = runners.current()[1]
    assert replaced.source is grown
    # until its first pass the new runner serves what the old one read
    assert [reading.target for reading in replaced.snapshot().readings] == ["sw1"]
    assert replaced.snapshot().passes == 1
    assert source_identity(grown) != source_identity(snmp)


def test_the_lab_daemon_is_ready_only_when_every_source_finished_a_pass() -> None:
    metrics = (200, b"# TYPE opsctl_monitor_build_info gauge\nopsctl_monitor_build_info{version=\"1\"} 1.0\n")

    def readings(*passes: int, reloaded: int = 0) -> tuple[int, bytes]:
        sources = [{"name": f"source-{index}", "passes": count, "added_by_reload": index >= len(passes) - reloaded}
                   for index, count in enumerate(passes)]
        return 200, json.dumps({"readings": [{}] * len(passes), "sources": sources}).encode()

    assert readiness(metrics, readings(1, 3)).ok
    assert readiness(metrics, readings(1, 3)).detail == "2 readings from 2 sources: source-0, source-1"
    waiting = readiness(metrics, readings(2, 0))
    assert not waiting.ok and waiting.detail == "no finished pass yet of source-1"
    assert not readiness(metrics, readings()).ok
    # an agent a reload added after `lab up` may still be on its first pass: the daemon answers
    assert readiness(metrics, readings(5, 0, reloaded=1)).ok
    assert not readiness(metrics, readings(0, reloaded=1)).ok
    assert not readiness((503, b""), readings(1)).ok
    assert not readiness(metrics, (200, b"<html>")).ok
