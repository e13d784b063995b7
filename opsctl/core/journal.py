"""The fleet journal: host results to the state store as they land, the run to the audit log.

The state store and audit log are opened before anything runs (a run that could not be
recorded must not start). Host results are written in batches, at most a second apart and
at the end, so a run of many fast hosts costs one transaction, not one per host, while a
long run is still journaled as it goes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsctl.core.fleet import FleetResult, HostResult
    from opsctl.core.settings import Settings
    from opsctl.core.state import HostResult as StoredHostResult

FLUSH_INTERVAL_SECONDS = 1.0


class RunJournal:
    """A :class:`opsctl.core.fleet.FleetJournal` over the state store and the audit log."""

    def __init__(self, settings: Settings, *, run_id: str, kind: str, command: str, target: str) -> None:
        from opsctl.core.audit import open_audit

        self.run_id, self.kind, self.command, self.target = run_id, kind, command, target
        self._audit = open_audit(settings)
        self._store = self._audit.store
        self._pending: list[StoredHostResult] = []
        self._last_flush = time.monotonic()

    def begin(self, hosts: Sequence[str]) -> None:
        self._store.begin_run(self.run_id, self.kind, self.command, self.target, self._audit.operator)
        self._last_flush = time.monotonic()

    def host_done(self, result: HostResult) -> None:
        from opsctl.core.state import HostResult as StoredHostResult

        self._pending.append(StoredHostResult(result.host, str(result.outcome), result.exit_status,
                                              result.duration_seconds, result.error))
        if time.monotonic() - self._last_flush >= FLUSH_INTERVAL_SECONDS:
            self._flush()

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        self._store.record_hosts(self.run_id, pending)
        self._last_flush = time.monotonic()

    def finish(self, result: FleetResult) -> None:
        self._flush()
        self._store.finish_run(self.run_id, result.outcome)
        self._audit.append(
            f"{self.kind} {self.target} -- {self.command}",
            [r.host for r in result.results],
            result.outcome,
            {"run_id": self.run_id, "counts": result.counts, "halted_reason": result.halted_reason,
             "waves": [len(w) for w in result.waves]},
        )
