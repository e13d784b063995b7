"""One timed run of opsctl's SNMP discovery in a fresh process, for ``bench/discovery``.

Reads a JSON job list on stdin (``{"concurrency": N, "devices": [[address, port, community],
...]}``), imports opsctl's discovery, then times only ``discover_many`` (``perf_counter`` for
wall clock, ``process_time`` for this process's CPU, every thread). Prints one JSON object:
the timings, the import time, and per device its outcome, tables and row counts.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def main() -> int:
    job = json.load(sys.stdin)
    repo = Path(__file__).resolve().parent.parent
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))
    import_started = time.perf_counter()
    import asyncio

    from inventory.snmp.client import SnmpCredentials, SnmpTarget
    from inventory.snmp.discovery import DiscoveryOptions, discover_many

    import_seconds = time.perf_counter() - import_started
    jobs = [
        (SnmpTarget(address, port, timeout=job.get("timeout", 1.0), retries=job.get("retries", 1)),
         SnmpCredentials.v2c(community))
        for address, port, community in job["devices"]
    ]  # fmt: skip
    options = DiscoveryOptions(max_repetitions=job.get("max_repetitions", 25))
    wall_started = time.perf_counter()
    cpu_started = time.process_time()
    snapshots = asyncio.run(discover_many(jobs, concurrency=job["concurrency"], options=options))
    cpu_seconds = time.process_time() - cpu_started
    wall_seconds = time.perf_counter() - wall_started
    devices: list[dict[str, Any]] = []
    for (_target, _credentials), snapshot, (_address, _port, community) in zip(
        jobs, snapshots, job["devices"], strict=True
    ):
        devices.append({
            "community": community,
            "outcome": snapshot.outcome,
            "message": snapshot.message,
            "tables": {t.table: {"status": t.status, "rows": t.rows} for t in snapshot.tables},
        })  # fmt: skip
    print(json.dumps({
        "wall_seconds": wall_seconds, "cpu_seconds": cpu_seconds,
        "import_seconds": import_seconds, "devices": devices,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
