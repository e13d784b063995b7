"""The ``agent`` probe: one scrape of a host's ``opsctl-agent`` ``/metrics``, boiled down to what says a server is unwell.

Everything comes from the agent's own families (agents/collectors.py), parsed from the scrape:

- CPU busy: ``node_cpu_seconds_total`` summed over CPUs, the share not ``idle`` or ``iowait``
  between this scrape and the probe's previous one of the same agent (on the first, a second
  scrape half a second later); load per CPU: ``node_load1`` over the CPUs;
- memory in use: ``opsctl_agent_memory_mem_available_bytes`` of ``..._mem_total_bytes``;
- the fullest filesystem: ``node_filesystem_avail_bytes`` of ``node_filesystem_size_bytes``
  (read-only and errored mounts left out), and its ``opsctl_agent_filesystem_time_to_full_seconds``
  when the agent gives one (absent when it is not filling);
- md RAID: arrays (``node_md_state``), degraded ones (``opsctl_agent_md_degraded``), failed
  disks (``node_md_disks{state="failed"}``), and arrays recovering or resyncing
  (``node_md_state{state="recovering"|"resync"}``) with the least progress
  (``opsctl_agent_md_sync_progress_ratio``).

Options: ``url`` (default ``http://ADDRESS:PORT/metrics``, port 9101).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from monitoring.probes import ProbeResult, ProbeTarget
from monitoring.probes_http import HttpProbeError, http_get

DEFAULT_AGENT_PORT = 9101


@dataclass(frozen=True)
class ServerSummary:
    """What a scrape says about a server: the samples, the fullest filesystem's mount point, and
    the CPU seconds counted so far (all CPUs: idle and iowait, and all modes) for a busy share."""

    samples: dict[str, float]
    fullest_mountpoint: str | None
    cpu_idle_seconds: float = 0.0
    cpu_total_seconds: float = 0.0


_IDLE_MODES = ("idle", "iowait")


def summarise_scrape(text: str) -> ServerSummary:
    """Boil an agent's exposition ``text`` down to the probe's samples; raise ValueError for text that is not exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    cpus: set[str] = set()
    idle = total = 0.0
    values: dict[str, float] = {}
    sizes: dict[str, float] = {}
    available: dict[str, float] = {}
    time_to_full: dict[str, float] = {}
    skipped: set[str] = set()
    arrays: set[str] = set()
    syncing: set[str] = set()
    progress: list[float] = []
    degraded = failed = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "node_cpu_seconds_total":
                cpus.add(labels.get("cpu", ""))
                total += value
                idle += value if labels.get("mode") in _IDLE_MODES else 0.0
            elif name in ("node_load1", "opsctl_agent_memory_mem_total_bytes",
                          "opsctl_agent_memory_mem_available_bytes"):
                values[name] = value
            elif name == "node_filesystem_size_bytes":
                sizes[labels.get("mountpoint", "")] = value
            elif name == "node_filesystem_avail_bytes":
                available[labels.get("mountpoint", "")] = value
            elif name == "opsctl_agent_filesystem_time_to_full_seconds":
                time_to_full[labels.get("mountpoint", "")] = value
            elif name in ("node_filesystem_readonly", "node_filesystem_device_error") and value:
                skipped.add(labels.get("mountpoint", ""))
            elif name == "opsctl_agent_md_degraded":
                degraded += 1.0 if value else 0.0
            elif name == "node_md_disks" and labels.get("state") == "failed":
                failed += value
            elif name == "node_md_state":
                arrays.add(labels.get("device", ""))
                if value and labels.get("state") in ("recovering", "resync"):
                    syncing.add(labels.get("device", ""))
            elif name == "opsctl_agent_md_sync_progress_ratio":
                progress.append(value)
    samples: dict[str, float] = {"opsctl_probe_agent_md_arrays": float(len(arrays)),
                                 "opsctl_probe_agent_md_degraded_arrays": degraded,
                                 "opsctl_probe_agent_md_failed_disks": failed,
                                 "opsctl_probe_agent_md_syncing_arrays": float(len(syncing))}
    if progress:
        samples["opsctl_probe_agent_md_sync_progress_ratio"] = min(progress)
    if "node_load1" in values and cpus:
        samples["opsctl_probe_agent_load_per_cpu"] = values["node_load1"] / len(cpus)
    total_memory = values.get("opsctl_agent_memory_mem_total_bytes")
    if total_memory and "opsctl_agent_memory_mem_available_bytes" in values:
        samples["opsctl_probe_agent_memory_used_ratio"] = 1 - values["opsctl_agent_memory_mem_available_bytes"] / total_memory
    used = {mount: 1 - available[mount] / size for mount, size in sizes.items()
            if size > 0 and mount in available and mount not in skipped}
    fullest = max(used, key=lambda mount: (used[mount], mount), default=None)
    if fullest is not None:
        samples["opsctl_probe_agent_fullest_filesystem_used_ratio"] = used[fullest]
        if fullest in time_to_full and time_to_full[fullest] == time_to_full[fullest]:  # not NaN
            samples["opsctl_probe_agent_fullest_filesystem_time_to_full_seconds"] = time_to_full[fullest]
    return ServerSummary(samples, fullest, idle, total)


def cpu_busy_ratio(earlier: ServerSummary, later: ServerSummary) -> float | None:
    """The share of CPU time not idle between two scrapes of one agent; None when no CPU time passed
    (or the counters went back: the host restarted)."""
    elapsed = later.cpu_total_seconds - earlier.cpu_total_seconds
    rested = later.cpu_idle_seconds - earlier.cpu_idle_seconds
    if elapsed <= 0 or rested < 0:
        return None
    return min(1.0, max(0.0, 1 - rested / elapsed))


def agent_url(target: ProbeTarget) -> str:
    """The agent's ``/metrics`` URL: the ``url`` option, else ``http://ADDRESS:PORT/metrics``."""
    address = f"[{target.address}]" if ":" in target.address else target.address
    return target.options.get("url") or f"http://{address}:{target.port or DEFAULT_AGENT_PORT}/metrics"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}".replace(".0 ", " ")
    return f"{seconds:.0f} s"


def describe_server(samples: Mapping[str, float], fullest_mountpoint: str | None) -> str:
    """A server's reading in words: CPU, load, memory, the fullest filesystem (and when it fills, or
    "no filesystem reported"), RAID."""
    parts: list[str] = []
    if "opsctl_probe_agent_cpu_busy_ratio" in samples:
        parts.append(f"CPU {samples['opsctl_probe_agent_cpu_busy_ratio']:.0%}")
    if "opsctl_probe_agent_load_per_cpu" in samples:
        parts.append(f"load {samples['opsctl_probe_agent_load_per_cpu']:.2f}/CPU")
    if "opsctl_probe_agent_memory_used_ratio" in samples:
        parts.append(f"memory {samples['opsctl_probe_agent_memory_used_ratio']:.0%}")
    if fullest_mountpoint is not None and "opsctl_probe_agent_fullest_filesystem_used_ratio" in samples:
        text = f"{fullest_mountpoint} {samples['opsctl_probe_agent_fullest_filesystem_used_ratio']:.0%}"
        if "opsctl_probe_agent_fullest_filesystem_time_to_full_seconds" in samples:
            text += f" (full in {_duration(samples['opsctl_probe_agent_fullest_filesystem_time_to_full_seconds'])})"
        parts.append(text)
    else:  # said, not left out: an agent that serves no filesystem is worth a look
        parts.append("no filesystem reported")
    arrays = samples.get("opsctl_probe_agent_md_arrays", 0.0)
    degraded = samples.get("opsctl_probe_agent_md_degraded_arrays", 0.0)
    failed = samples.get("opsctl_probe_agent_md_failed_disks", 0.0)
    syncing = samples.get("opsctl_probe_agent_md_syncing_arrays", 0.0)
    if not arrays and not degraded:
        parts.append("no md RAID")
    else:
        raid = [f"RAID {arrays:.0f} array(s)"]
        if degraded:
            raid.append(f"{degraded:.0f} degraded")
        if failed:
            raid.append(f"{failed:.0f} failed disk(s)")
        if syncing:
            progress = samples.get("opsctl_probe_agent_md_sync_progress_ratio")
            raid.append(f"{syncing:.0f} syncing" + (f" {progress:.0%}" if progress is not None else ""))
        if len(raid) == 1:
            raid.append("ok")
        parts.append(" ".join(raid[:1]) + ": " + ", ".join(raid[1:]))
    return ", ".join(parts)


def _scrape(url: str, timeout: float) -> ServerSummary:
    answer = http_get(url, timeout)
    if answer.status != 200:
        raise HttpProbeError(f"answered HTTP {answer.status}")
    return summarise_scrape(answer.body.decode("utf-8", errors="replace"))


class AgentProbe:
    """Scrapes one host agent and summarises CPU, load, memory, the fullest filesystem and md RAID.

    It remembers each agent's last scrape (by URL) for the CPU's busy share between scrapes.
    """

    name = "agent"
    first_gap_seconds = 0.5  # between the two scrapes of an agent not scraped before

    def __init__(self) -> None:
        self._last: dict[str, ServerSummary] = {}
        self._lock = threading.Lock()

    def probe(self, target: ProbeTarget, timeout: float) -> ProbeResult:
        url = agent_url(target)
        started = time.monotonic()
        try:
            with self._lock:
                earlier = self._last.get(url)
            if earlier is None:
                earlier = _scrape(url, timeout)
                time.sleep(self.first_gap_seconds)
            summary = _scrape(url, timeout)
        except (HttpProbeError, ValueError) as error:
            return ProbeResult(False, time.monotonic() - started, f"agent {url}: {error}")
        with self._lock:
            self._last[url] = summary
        samples = dict(summary.samples)
        busy = cpu_busy_ratio(earlier, summary)
        if busy is not None:
            samples["opsctl_probe_agent_cpu_busy_ratio"] = busy
        return ProbeResult(True, time.monotonic() - started,
                           f"agent {url}: {describe_server(samples, summary.fullest_mountpoint)}", samples)


AGENT = AgentProbe()
