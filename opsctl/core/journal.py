"""The fleet journal: host results and steps to the state store as they land, the run to the audit log.

The state store and audit log are opened in the background while the hosts connect (which
changes nothing); a task calls :meth:`RunJournal.wait_ready` before it changes anything, so a
run that could not be recorded never starts. Host results and finished steps are written by
the same background thread in batches, one transaction at most a second after the first
unwritten one landed and one at the end, so a run of many fast hosts costs one transaction, not
one per host, while a long run's steps are in the store within about a second of finishing
(and so survive a SIGKILL of the controller).

A journal opened with ``resume=True`` continues a recorded run of the same kind, command and
target: the executor gets the steps its earlier attempts completed (:meth:`completed_steps`)
and runs only the rest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsctl.core.audit import AuditLog
    from opsctl.core.fleet import FleetResult, HostResult, StepResult
    from opsctl.core.settings import Settings
    from opsctl.core.state import StepRecord

FLUSH_INTERVAL_SECONDS = 1.0
# the journal keeps the tail of each output stream of a step (the full output is the live result's)
STEP_OUTPUT_LIMIT_CHARS = 8192


def _tail(text: str) -> str:
    if len(text) <= STEP_OUTPUT_LIMIT_CHARS:
        return text
    cut = len(text) - STEP_OUTPUT_LIMIT_CHARS
    return f"[{cut} characters cut]\n" + text[cut:]


def step_record(position: int, step: StepResult, finished_at: datetime | None = None) -> StepRecord:
    """The state store's record of a finished step (each output stream cut to its last 8192 characters)."""
    from opsctl.core.state import StepRecord

    return StepRecord(
        step=step.name, position=position, outcome=str(step.outcome), changed=step.changed,
        duration_seconds=step.duration_seconds, stdout=_tail(step.stdout), stderr=_tail(step.stderr),
        error=step.error, finished_at=finished_at or datetime.now(UTC),
    )


def step_result(record: StepRecord) -> StepResult:
    """The executor's view of a recorded step (marked ``resumed``)."""
    from opsctl.core.fleet import Outcome, StepResult

    return StepResult(record.step, Outcome(record.outcome), record.changed, record.duration_seconds,
                      record.stdout, record.stderr, record.error, resumed=True)


class RunJournal:
    """A :class:`opsctl.core.fleet.StepJournal` over the state store and the audit log."""

    def __init__(self, settings: Settings, *, run_id: str, kind: str, command: str, target: str,
                 resume: bool = False) -> None:
        """Begin recording run ``run_id`` (in the background), or with ``resume`` reopen it.

        Resuming a run that does not exist, or one of another kind, command or target, makes
        :meth:`wait_ready` raise UsageError; one whose process still runs, SafetyRefusal.
        """
        self.run_id, self.kind, self.command, self.target = run_id, kind, command, target
        self.resume = resume
        self._hosts: list[HostResult] = []
        self._steps: list[tuple[str, int, StepResult, datetime]] = []
        self._completed: dict[str, tuple[StepResult, ...]] = {}
        self._changed = threading.Condition()
        self._flushing = threading.Lock()
        self._first_pending: float | None = None
        self._finishing = False
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._flush_error: BaseException | None = None
        self._audit: AuditLog | None = None
        self._writer = threading.Thread(target=self._run, args=(settings,), name="opsctl-journal", daemon=True)
        self._writer.start()

    # -- the background thread: open, then write batches until the run finishes

    def _run(self, settings: Settings) -> None:
        try:
            self._audit = self._open(settings)
        except BaseException as error:  # handed to whoever waits: the run must not start
            self._error = error
            return
        finally:
            self._ready.set()
        while True:
            with self._changed:
                while not self._finishing and not self._due():
                    self._changed.wait(self._wait_seconds())
                if self._finishing:
                    return
            try:
                self._flush()
            except Exception as error:  # raised again by finish(), in the caller's thread
                self._flush_error = error
                return

    def _open(self, settings: Settings) -> AuditLog:
        from opsctl.core.audit import open_audit

        audit = open_audit(settings)
        audit.check_appendable()  # a log that would refuse the run's end refuses its start
        if not self.resume:
            audit.store.begin_run(self.run_id, self.kind, self.command, self.target, audit.operator)
            return audit
        from opsctl.core.errors import UsageError
        from opsctl.core.owner import ProcessIdentity

        record = audit.store.resume_run(self.run_id, owner=ProcessIdentity.current())
        asked = (self.kind, self.command, self.target)
        if (record.kind, record.command, record.target) != asked:
            raise UsageError(
                f"run {self.run_id} was {record.kind} {record.target!r} -- {record.command!r}, "
                f"not {self.kind} {self.target!r} -- {self.command!r}: it cannot be resumed as that"
            )
        self._completed = {
            host: tuple(step_result(step) for step in steps)
            for host, steps in audit.store.recorded_steps(self.run_id).items()
        }
        return audit

    def _due(self) -> bool:
        return self._first_pending is not None and time.monotonic() - self._first_pending >= FLUSH_INTERVAL_SECONDS

    def _wait_seconds(self) -> float | None:
        if self._first_pending is None:
            return None
        return max(0.0, self._first_pending + FLUSH_INTERVAL_SECONDS - time.monotonic())

    def _flush(self) -> None:
        """Write what is pending in one transaction (the writer thread, and finish)."""
        from opsctl.core.state import HostResult as StoredHostResult

        with self._flushing:
            with self._changed:
                hosts, self._hosts = self._hosts, []
                steps, self._steps = self._steps, []
                self._first_pending = None
            if not hosts and not steps:
                return
            by_host: dict[str, list[StepRecord]] = {}
            for host, position, step, finished_at in steps:
                by_host.setdefault(host, []).append(step_record(position, step, finished_at))
            stored = [StoredHostResult(r.host, str(r.outcome), r.exit_status, r.duration_seconds, r.error)
                      for r in hosts]
            assert self._audit is not None
            self._audit.store.record_steps(self.run_id, by_host, stored)

    def _pending(self, host: HostResult | None = None,
                 step: tuple[str, int, StepResult, datetime] | None = None) -> None:
        with self._changed:
            if host is not None:
                self._hosts.append(host)
            if step is not None:
                self._steps.append(step)
            if self._first_pending is None:
                self._first_pending = time.monotonic()
                self._changed.notify()

    # -- the executor's side

    def wait_ready(self) -> AuditLog:
        """Block until the run is recorded as begun (or reopened); raise why it could not be."""
        self._ready.wait()
        if self._error is not None:
            raise self._error
        assert self._audit is not None
        return self._audit

    def begin(self, hosts: Sequence[str]) -> None:
        """The run was begun in the background; :meth:`wait_ready` says when it is recorded."""

    def completed_steps(self) -> Mapping[str, Sequence[StepResult]]:
        """The steps earlier attempts of a resumed run recorded, by host; empty for a new run."""
        if not self.resume:
            return {}
        self.wait_ready()
        return self._completed

    def step_done(self, host: str, position: int, step: StepResult) -> None:
        """Queue a finished step for the next batch (any thread)."""
        self._pending(step=(host, position, step, datetime.now(UTC)))

    def host_done(self, result: HostResult) -> None:
        """Queue a host's result for the next batch."""
        self._pending(host=result)

    def finish(self, result: FleetResult) -> None:
        """Write what is pending, record the run's end and append it to the audit log."""
        audit = self.wait_ready()
        with self._changed:
            self._finishing = True
            self._changed.notify()
        self._writer.join()
        if self._flush_error is not None:
            raise self._flush_error
        self._flush()
        audit.store.finish_run(self.run_id, result.outcome)
        details: dict[str, Any] = {"run_id": self.run_id, "counts": result.counts,
                                   "halted_reason": result.halted_reason, "waves": [len(w) for w in result.waves]}
        if self.resume:
            details["resumed"] = True
        audit.append(f"{self.kind} {self.target} -- {self.command}", [r.host for r in result.results],
                     result.outcome, details)
