"""A recorded fleet run that waits on its hosts until it is killed (the SIGKILL tests run this).

Usage: python recorded_sleeper.py RUN_ID. The settings come from the environment
(OPSCTL_STATE__DIR). Prints ``begun`` once the run's start is recorded and its tasks wait.
"""

from __future__ import annotations

import sys
import threading

from opsctl.core.config import load_settings
from opsctl.core.fleet import HostResult, Outcome, run_fleet
from opsctl.core.recorder import AuditRecorder


def main(run_id: str) -> None:
    recorder = AuditRecorder.for_settings(lambda: load_settings(None))
    recorder.begin_run(run_id, "run", "sleep 600", "web*")
    started = threading.Barrier(3)

    def task(name: str, cancel: threading.Event) -> HostResult:
        started.wait()
        cancel.wait(600)
        return HostResult(name, Outcome.OK)

    def announce() -> None:
        started.wait()
        print("begun", flush=True)

    threading.Thread(target=announce, daemon=True).start()
    result = run_fleet(["web1", "web2"], task, name_of=str)
    recorder.finish_run(run_id, result.outcome, "run web* -- sleep 600", ["web1", "web2"])


if __name__ == "__main__":
    main(sys.argv[1])
