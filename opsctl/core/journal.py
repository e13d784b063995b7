"""The fleet journal: each host's result to the state store as it lands, the run to the audit log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsctl.core.fleet import FleetResult, HostResult
    from opsctl.core.settings import Settings


class RunJournal:
    """A :class:`opsctl.core.fleet.FleetJournal` over the state store and the audit log."""

    def __init__(self, settings: Settings, *, run_id: str, kind: str, command: str, target: str) -> None:
        from opsctl.core.audit import open_audit

        self.run_id, self.kind, self.command, self.target = run_id, kind, command, target
        self._audit = open_audit(settings)
        self._store: Any = self._audit.store

    def begin(self, hosts: Sequence[str]) -> None:
        self._store.begin_run(self.run_id, self.kind, self.command, self.target, self._audit.operator)

    def host_done(self, result: HostResult) -> None:
        self._store.record_host(self.run_id, result.host, str(result.outcome), result.exit_status,
                                result.duration_seconds, result.error)

    def finish(self, result: FleetResult) -> None:
        self._store.finish_run(self.run_id, result.outcome)
        self._audit.append(
            f"{self.kind} {self.target} -- {self.command}",
            [r.host for r in result.results],
            result.outcome,
            {"run_id": self.run_id, "counts": result.counts, "halted_reason": result.halted_reason,
             "waves": [len(w) for w in result.waves]},
        )
