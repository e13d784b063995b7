"""Timed passes of opsctl's SNMP poller in a fresh process, for ``bench/poller``.

Reads a JSON job on stdin (``{"devices": [[address, port], ...], "community_env": NAME,
"passes": N, "concurrency": C, "profile_pass": bool}``). The community is read from the
environment variable the job names (a secret reference, as in production). Builds one
:class:`monitoring.poller.SnmpPoller` over every device with the shipped profiles, runs one
warm-up pass (it probes every standard table and learns what each device answers), then
``passes`` timed passes, each timed with ``process_time`` (this process's CPU, every thread) and
``perf_counter``. With ``profile_pass`` one more pass runs under cProfile and its top functions
are returned. Prints one JSON object.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any


def main() -> int:
    job = json.load(sys.stdin)
    repo = Path(__file__).resolve().parent.parent
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    from inventory.snmp.client import SnmpTarget
    from inventory.snmp.credentials import SnmpCredentialSet
    from monitoring.poller import SnmpPoller
    from monitoring.poller.poll import PollTarget
    from monitoring.poller.profiles import load_profiles
    from opsctl.core.secrets import SecretRef

    credentials = SnmpCredentialSet("2c", community=SecretRef("env", job["community_env"]))
    targets = [
        PollTarget(f"dev{index:04d}", "ups", "bench", "", None, SnmpTarget(address, port, timeout=2.0, retries=1),
                   credentials)
        for index, (address, port) in enumerate(job["devices"], start=1)
    ]
    poller = SnmpPoller(targets, load_profiles(), concurrency=job["concurrency"], deadline_seconds=60.0)
    warm_started = time.perf_counter()
    poller.collect()
    warm_seconds = time.perf_counter() - warm_started
    passes: list[dict[str, Any]] = []
    for _ in range(job["passes"]):
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        metrics = poller.collect()
        cpu, wall = time.process_time() - cpu_started, time.perf_counter() - wall_started
        answered = sum(1 for result in poller.results if result.answered)
        passes.append({
            "cpu_seconds": cpu, "wall_seconds": wall, "answered": answered,
            "varbinds": sum(result.varbinds for result in poller.results),
            "samples": sum(len(metric.samples) for metric in metrics),
            "problems": [f"{r.target.device}: {r.outcome}: {r.message}" for r in poller.results if r.outcome != "ok"][:5],
        })  # fmt: skip
    profile_text = ""
    if job.get("profile_pass"):
        profiler = cProfile.Profile()
        profiler.enable()
        poller.collect()
        profiler.disable()
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(25)
        profile_text = stream.getvalue()
    state = poller.states[targets[0].device]
    plan = sorted(state.answered_tables or ())
    poller.close()
    print(json.dumps({"warm_seconds": warm_seconds, "passes": passes, "profile": profile_text,
                      "answered_tables": plan, "max_repetitions": state.repetitions}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
