"""The ``agent`` probe: one scrape of a host's ``opsctl-agent`` ``/metrics``, boiled down to what says a server is unwell.

From the agent's families (agents/collectors.py): load per CPU (``node_load1`` over the CPUs
``node_cpu_seconds_total`` names: one scrape holds no rate, so load stands in for CPU use),
memory in use (``opsctl_agent_memory_mem_available_bytes`` of ``..._mem_total_bytes``), the
fullest filesystem (``node_filesystem_avail_bytes`` of ``node_filesystem_size_bytes``, read-only
and errored mounts left out), degraded md arrays (``opsctl_agent_md_degraded``) and failed md
disks (``node_md_disks{state="failed"}``). Options: ``url`` (default
``http://ADDRESS:PORT/metrics``, port 9101).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from monitoring.probes import ProbeResult, ProbeTarget
from monitoring.probes_http import HttpProbeError, http_get

DEFAULT_AGENT_PORT = 9101


@dataclass(frozen=True)
class ServerSummary:
    """What a scrape says about a server: the samples, and the fullest filesystem's mount point."""

    samples: dict[str, float]
    fullest_mountpoint: str | None


def summarise_scrape(text: str) -> ServerSummary:
    """Boil an agent's exposition ``text`` down to the probe's samples; raise ValueError for text that is not exposition."""
    from prometheus_client.parser import text_string_to_metric_families

    cpus: set[str] = set()
    values: dict[str, float] = {}
    sizes: dict[str, float] = {}
    available: dict[str, float] = {}
    skipped: set[str] = set()
    degraded = failed = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "node_cpu_seconds_total":
                cpus.add(labels.get("cpu", ""))
            elif name in ("node_load1", "opsctl_agent_memory_mem_total_bytes",
                          "opsctl_agent_memory_mem_available_bytes"):
                values[name] = value
            elif name == "node_filesystem_size_bytes":
                sizes[labels.get("mountpoint", "")] = value
            elif name == "node_filesystem_avail_bytes":
                available[labels.get("mountpoint", "")] = value
            elif name in ("node_filesystem_readonly", "node_filesystem_device_error") and value:
                skipped.add(labels.get("mountpoint", ""))
            elif name == "opsctl_agent_md_degraded":
                degraded += 1.0 if value else 0.0
            elif name == "node_md_disks" and labels.get("state") == "failed":
                failed += value
    samples: dict[str, float] = {"opsctl_probe_agent_md_degraded_arrays": degraded,
                                 "opsctl_probe_agent_md_failed_disks": failed}
    if "node_load1" in values and cpus:
        samples["opsctl_probe_agent_load_per_cpu"] = values["node_load1"] / len(cpus)
    total = values.get("opsctl_agent_memory_mem_total_bytes")
    if total and "opsctl_agent_memory_mem_available_bytes" in values:
        samples["opsctl_probe_agent_memory_used_ratio"] = 1 - values["opsctl_agent_memory_mem_available_bytes"] / total
    used = {mount: 1 - available[mount] / size for mount, size in sizes.items()
            if size > 0 and mount in available and mount not in skipped}
    fullest = max(used, key=lambda mount: (used[mount], mount), default=None)
    if fullest is not None:
        samples["opsctl_probe_agent_fullest_filesystem_used_ratio"] = used[fullest]
    return ServerSummary(samples, fullest)


def agent_url(target: ProbeTarget) -> str:
    """The agent's ``/metrics`` URL: the ``url`` option, else ``http://ADDRESS:PORT/metrics``."""
    address = f"[{target.address}]" if ":" in target.address else target.address
    return target.options.get("url") or f"http://{address}:{target.port or DEFAULT_AGENT_PORT}/metrics"


def _describe(summary: ServerSummary) -> Iterable[str]:
    samples = summary.samples
    if "opsctl_probe_agent_load_per_cpu" in samples:
        yield f"load {samples['opsctl_probe_agent_load_per_cpu']:.2f}/CPU"
    if "opsctl_probe_agent_memory_used_ratio" in samples:
        yield f"memory {samples['opsctl_probe_agent_memory_used_ratio']:.0%}"
    if summary.fullest_mountpoint is not None:
        yield f"{summary.fullest_mountpoint} {samples['opsctl_probe_agent_fullest_filesystem_used_ratio']:.0%}"
    if samples["opsctl_probe_agent_md_degraded_arrays"]:
        yield f"{samples['opsctl_probe_agent_md_degraded_arrays']:.0f} md array(s) degraded"


class AgentProbe:
    """Scrapes one host agent and summarises load, memory, the fullest filesystem and md RAID."""

    name = "agent"

    def probe(self, target: ProbeTarget, timeout: float) -> ProbeResult:
        url = agent_url(target)
        started = time.monotonic()
        try:
            answer = http_get(url, timeout)
            if answer.status != 200:
                raise HttpProbeError(f"answered HTTP {answer.status}")
            summary = summarise_scrape(answer.body.decode("utf-8", errors="replace"))
        except (HttpProbeError, ValueError) as error:
            return ProbeResult(False, time.monotonic() - started, f"agent {url}: {error}")
        return ProbeResult(True, time.monotonic() - started, f"agent {url}: " + ", ".join(_describe(summary)),
                           summary.samples)


AGENT = AgentProbe()
