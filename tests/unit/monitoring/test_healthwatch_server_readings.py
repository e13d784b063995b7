"""A server's reading in ``opsctl health`` from its agent's own families: CPU busy between two scrapes,
memory, the fullest filesystem with its time to full, and md RAID.

The scrapes are two recorded from a lab agent one second apart (tests/fixtures/monitoring/
lab-agent-scrape-{1,2}.prom: the CPU, load, memory and filesystem families of an opsctl-agent
on a lab SSH host). This machine has no md driver and nothing filling its disks, so RAID and
time-to-full come from the agent's own collectors run on the agent's recorded trees
(tests/fixtures/agent/: /proc/mdstat layouts, a server's mounts) with a statvfs the test moves,
and their exposition is what the probe parses, as it parses a real scrape.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from agents.base import ErrorCounter
from agents.collectors import FilesystemCollector, MdadmCollector
from monitoring.probes import ProbeResult
from monitoring.probes_agent import cpu_busy_ratio, describe_server, summarise_scrape
from monitoring.sources import Reading, probe_facts
from monitoring.thresholds import judge

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FIRST, SECOND = ((FIXTURES / "monitoring" / f"lab-agent-scrape-{n}.prom").read_text() for n in (1, 2))
PROC = FIXTURES / "agent" / "debian12-vm" / "proc"
MDSTAT = FIXTURES / "agent" / "mdstat"


def _exposition(*collectors: object) -> str:
    registry = CollectorRegistry()
    for collector in collectors:
        registry.register(collector)  # type: ignore[arg-type]
    return generate_latest(registry).decode()


def _cpu_seconds(text: str) -> tuple[float, float]:
    idle = total = 0.0
    for line in text.splitlines():
        if line.startswith("node_cpu_seconds_total{"):
            value = float(line.split()[-1])
            total += value
            idle += value if ('mode="idle"' in line or 'mode="iowait"' in line) else 0.0
    return idle, total


def test_cpu_busy_is_the_share_not_idle_between_two_scrapes() -> None:
    earlier, later = summarise_scrape(FIRST), summarise_scrape(SECOND)
    (idle_1, total_1), (idle_2, total_2) = _cpu_seconds(FIRST), _cpu_seconds(SECOND)

    busy = cpu_busy_ratio(earlier, later)

    assert busy == pytest.approx(1 - (idle_2 - idle_1) / (total_2 - total_1))
    assert 0.0 <= busy <= 1.0  # type: ignore[operator]
    assert cpu_busy_ratio(later, earlier) is None  # counters went back: the host restarted
    assert cpu_busy_ratio(later, later) is None  # no CPU time passed


def test_the_lab_servers_reading_names_cpu_memory_and_its_fullest_filesystem() -> None:
    summary = summarise_scrape(SECOND)
    samples = {**summary.samples, "opsctl_probe_agent_cpu_busy_ratio": 0.25}
    text = describe_server(samples, summary.fullest_mountpoint)
    used = samples["opsctl_probe_agent_fullest_filesystem_used_ratio"]
    memory = samples["opsctl_probe_agent_memory_used_ratio"]
    assert text.startswith(f"CPU 25%, load {samples['opsctl_probe_agent_load_per_cpu']:.2f}/CPU, memory {memory:.0%}, "
                           f"/ {used:.0%}")
    assert text.endswith("no md RAID")
    assert "full in" not in text  # the lab host's disk was not filling


def test_the_fullest_filesystem_shows_when_it_will_be_full() -> None:
    now = [1000.0]
    available = {"/": 1000}

    def statvfs(path: str) -> os.statvfs_result:
        blocks = available.get("/" + path.removeprefix("/").rstrip("/"), 1900)
        return os.statvfs_result((4096, 4096, 2000, blocks + 10, blocks, 100, 50, 50, 0, 255))

    collector = FilesystemCollector(ErrorCounter(), PROC, statvfs=statvfs, clock=lambda: now[0],
                                    fill_window_seconds=3600, min_span_seconds=300)
    _exposition(collector)
    now[0] += 600
    available["/"] = 940  # 60 blocks in 600 s: full in 9400 s

    summary = summarise_scrape(_exposition(collector))

    assert summary.fullest_mountpoint == "/"
    assert summary.samples["opsctl_probe_agent_fullest_filesystem_time_to_full_seconds"] == pytest.approx(9400)
    assert "/ 53% (full in 2.6 h)" in describe_server(summary.samples, summary.fullest_mountpoint)


@pytest.mark.parametrize(("layout", "raid", "state"), [
    ("raid1-normal.txt", "RAID 2 array(s): ok", "ok"),
    # md1 lost sdb2 (F), md0 runs on one of two disks
    ("raid1-degraded.txt", "RAID 2 array(s): 2 degraded, 1 failed disk(s)", "critical"),
    ("raid5-recovering.txt", "RAID 1 array(s): 1 degraded, 1 syncing 13%", "critical"),
    # md2 at 8.4%, md3 PENDING: the least advanced is shown
    ("raid1-resync.txt", "RAID 2 array(s): 2 syncing 0%", "ok"),
    ("empty.txt", "no md RAID", "ok"),
])
def test_md_raid_state_from_the_agents_families(tmp_path: Path, layout: str, raid: str, state: str) -> None:
    shutil.copy(MDSTAT / layout, tmp_path / "mdstat")
    summary = summarise_scrape(_exposition(MdadmCollector(tmp_path)))
    text = describe_server(summary.samples, None)
    result = ProbeResult(True, 0.1, f"agent http://db1:9101/metrics: {text}", summary.samples)

    facts, line = probe_facts("agent", result, 0.0)
    reading = judge(Reading("db1", "agent", facts, line, dict(summary.samples)))

    assert text == f"no filesystem reported, {raid}"  # this scrape holds the md collector alone
    assert (reading.state, reading.summary) == (state, text)
