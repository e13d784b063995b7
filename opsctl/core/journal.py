"""The fleet journal: host results to the state store as they land, the run to the audit log.

The state store and audit log are opened in the background while the hosts connect (which
changes nothing); a task calls :meth:`RunJournal.wait_ready` before it changes anything, so a
run that could not be recorded never starts. Host results are written in batches, at most a
second apart and at the end, so a run of many fast hosts costs one transaction, not one per
host, while a long run is still journaled as it goes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opsctl.core.audit import AuditLog
    from opsctl.core.fleet import FleetResult, HostResult
    from opsctl.core.settings import Settings
    from opsctl.core.state import HostResult as StoredHostResult

FLUSH_INTERVAL_SECONDS = 1.0


class RunJournal:
    """A :class:`opsctl.core.fleet.FleetJournal` over the state store and the audit log."""

    def __init__(self, settings: Settings, *, run_id: str, kind: str, command: str, target: str) -> None:
        self.run_id, self.kind, self.command, self.target = run_id, kind, command, target
        self._pending: list[StoredHostResult] = []
        self._last_flush = time.monotonic()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._audit: AuditLog | None = None
        threading.Thread(target=self._open, args=(settings,), name="opsctl-journal", daemon=True).start()

    def _open(self, settings: Settings) -> None:
        try:
            from opsctl.core.audit import open_audit

            audit = open_audit(settings)
            audit.check_appendable()  # a log that would refuse the run's end refuses its start
            audit.store.begin_run(self.run_id, self.kind, self.command, self.target, audit.operator)
            self._audit = audit
        except BaseException as error:  # handed to whoever waits: the run must not start
            self._error = error
        finally:
            self._ready.set()

    def wait_ready(self) -> AuditLog:
        """Block until the run is recorded as begun; raise why it could not be."""
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self._audit is not None
        return self._audit

    def begin(self, hosts: Sequence[str]) -> None:
        """The run was begun in the background; :meth:`wait_ready` says when it is recorded."""

    def host_done(self, result: HostResult) -> None:
        from opsctl.core.state import HostResult as StoredHostResult

        self._pending.append(StoredHostResult(result.host, str(result.outcome), result.exit_status,
                                              result.duration_seconds, result.error))
        if self._ready.is_set() and time.monotonic() - self._last_flush >= FLUSH_INTERVAL_SECONDS:
            self._flush(self.wait_ready())

    def _flush(self, audit: AuditLog) -> None:
        pending, self._pending = self._pending, []
        audit.store.record_hosts(self.run_id, pending)
        self._last_flush = time.monotonic()

    def finish(self, result: FleetResult) -> None:
        audit = self.wait_ready()
        self._flush(audit)
        audit.store.finish_run(self.run_id, result.outcome)
        audit.append(
            f"{self.kind} {self.target} -- {self.command}",
            [r.host for r in result.results],
            result.outcome,
            {"run_id": self.run_id, "counts": result.counts, "halted_reason": result.halted_reason,
             "waves": [len(w) for w in result.waves]},
        )
