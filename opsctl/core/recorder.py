"""The audit recorder: one per command, through which libraries record what they changed.

The CLI opens one for each command and closes it when the command ends; a library function
that changes something takes a :class:`Recorder` and calls :meth:`Recorder.record` once per
change, so no CLI module writes audit entries. The audit log is opened on the first record only,
so a command that changes nothing never touches the state store.

A record is refused (AuditError, the log untouched) when the log's tail does not match its
anchor (see :mod:`opsctl.core.audit`); work that must not start unless it can be recorded calls
:meth:`AuditRecorder.check` first. A long run records its start in the state store before it
changes anything (:meth:`AuditRecorder.begin_run`: the run's row with its owner process), so a
run killed outright is still seen, begun and never ended, by ``opsctl audit log`` and ``verify``;
:meth:`AuditRecorder.finish_run` records its end and appends its audit entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from opsctl.core.audit import AuditEntry, AuditLog
    from opsctl.core.settings import Settings


class Recorder(Protocol):
    """Where a library records a change: what was done, to which targets, how it ended."""

    def record(
        self,
        action: str,
        targets: Sequence[str],
        outcome: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one audit entry; raise AuditError if it could not be written.

        Refused (AuditError, exit 1, the log untouched) when the log's tail does not match
        its anchor: the log was changed outside opsctl and ``opsctl audit acknowledge`` must
        record that first.
        """
        ...

    def check(self) -> None:
        """Raise AuditError now if a record would be refused, so a change is refused before it is made."""
        ...


class AuditRecorder:
    """A :class:`Recorder` over the audit log that ``open_log`` opens on first use."""

    def __init__(self, open_log: Callable[[], AuditLog]) -> None:
        self._open_log = open_log
        self._log: AuditLog | None = None
        self.entries: list[AuditEntry] = []

    @classmethod
    def for_settings(cls, settings: Callable[[], Settings]) -> AuditRecorder:
        """A recorder over the audit log of the settings ``settings()`` returns when first needed."""

        def open_log() -> AuditLog:
            from opsctl.core.audit import open_audit

            return open_audit(settings())

        return cls(open_log)

    @property
    def log(self) -> AuditLog:
        """The audit log, opened now if it was not yet."""
        if self._log is None:
            self._log = self._open_log()
        return self._log

    def record(
        self,
        action: str,
        targets: Sequence[str],
        outcome: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        entry = self.log.append(action, targets, outcome, details)
        self.entries.append(entry)
        return entry

    def check(self) -> None:
        """Raise AuditError now if a record would be refused (a break the log's anchor does not cover)."""
        self.log.check_appendable()

    def begin_run(self, run_id: str, kind: str, command: str, target: str) -> None:
        """Check the log can take the run's end, then record its start and owner (this process)."""
        log = self.log
        log.check_appendable()
        log.store.begin_run(run_id, kind, command, target, log.operator)

    def finish_run(
        self,
        run_id: str,
        outcome: str,
        action: str,
        targets: Sequence[str],
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Record a begun run's end in the state store, then its audit entry."""
        self.log.store.finish_run(run_id, outcome)
        return self.record(action, targets, outcome, {"run_id": run_id, **(details or {})})

    def close(self) -> None:
        """Close the state store behind the log, if it was opened."""
        if self._log is not None:
            self._log.store.close()
            self._log = None
