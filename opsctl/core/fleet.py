"""The fleet executor: a bounded thread pool, waves, failure budgets, gates, steps and per-host outcomes.

One host's failure never raises out of the executor: every host ends with a
:class:`HostResult`, which holds the :class:`StepResult` of each of its steps. A host's work is
either one task (:func:`run_fleet`, a one-step run) or a sequence of :class:`Step` (a playbook's
tasks, a campaign's phases: :func:`run_steps`); a step that fails, is unreachable or is partial
stops its host, whose later steps are ``skipped``, and the host's outcome follows
:func:`opsctl.core.outcome.outcome_of_steps`.

Waves follow Ansible's ``serial``: sizes of successive batches, a percentage of all targeted
hosts rounded down but at least 1, the last size repeating. Before each wave (the first
included) a gate may halt the run with a reason (health and fresh-backup prechecks); after each
wave a spent failure budget halts it. A halted run's untouched hosts are ``skipped``. Ctrl-C
sets the cancel event (steps stop their remote commands, the host's later steps are not
started), records what ran, and the result says ``interrupted``.

A journal that is a :class:`StepJournal` records each step as it completes and hands back the
steps an earlier attempt of the same run completed: those (``ok`` or ``changed``, from a host's
first step on) are not run again, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from opsctl.core.errors import ExitCode, UsageError
from opsctl.core.outcome import (
    DONE_OUTCOMES,
    STOPPING_OUTCOMES,
    Outcome,
    exit_code_for_outcomes,
    outcome_of_steps,
)

__all__ = [
    "Budget", "FleetJournal", "FleetOptions", "FleetResult", "Gate", "HostResult", "Outcome",
    "Step", "StepContext", "StepJournal", "StepResult", "Task", "exit_code_for_outcomes",
    "outcome_of_steps", "parse_wave_sizes", "plan_waves", "run_fleet", "run_steps",
]

Item = TypeVar("Item")

# the name of the one step of a run_fleet task (opsctl run's command)
DEFAULT_STEP_NAME = "run"


@dataclass(frozen=True)
class StepResult:
    """What one step did on one host. ``changed`` is true for a ``changed`` outcome and may be
    true for a failed or partial one (it changed something, then stopped). ``resumed``: an
    earlier attempt of the run completed it, so this attempt did not run it (its output is what
    the step journal kept of it)."""

    name: str
    outcome: Outcome
    changed: bool = False
    duration_seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    exit_status: int | None = None
    hint: str | None = None
    resumed: bool = False

    def __post_init__(self) -> None:
        if self.outcome == Outcome.CHANGED and not self.changed:
            object.__setattr__(self, "changed", True)

    @property
    def done(self) -> bool:
        """Whether the step completed its work (ok or changed): a resumed run does not redo it."""
        return self.outcome in DONE_OUTCOMES

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "outcome": str(self.outcome), "changed": self.changed,
            "exit_status": self.exit_status, "duration_seconds": round(self.duration_seconds, 3),
            "stdout": self.stdout, "stderr": self.stderr, "error": self.error, "hint": self.hint,
            "resumed": self.resumed,
        }


@dataclass(frozen=True)
class HostResult:
    """What happened on one host. ``error`` is a one-line message naming the host.

    ``steps`` are the host's steps in order; a host a halted or interrupted run never reached
    has none. A host of several steps takes its exit status, output, error and hint from the
    step that stopped it, else from its last step that ran.

    ``stdout``/``stderr`` are the output decoded as UTF-8 (undecodable bytes replaced);
    ``stdout_bytes``/``stderr_bytes``, when the task kept them, are the exact bytes, which
    :meth:`to_dict` adds in base64 (``stdout_base64``) when they are not valid UTF-8.
    """

    host: str
    outcome: Outcome
    exit_status: int | None = None
    duration_seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    wave: int | None = None
    hint: str | None = None
    steps: tuple[StepResult, ...] = ()
    stdout_bytes: bytes | None = field(default=None, repr=False)
    stderr_bytes: bytes | None = field(default=None, repr=False)

    @classmethod
    def from_steps(cls, host: str, steps: Sequence[StepResult]) -> HostResult:
        """The host's result from its steps: the outcome by :func:`outcome_of_steps`."""
        outcome = outcome_of_steps((step.outcome, step.changed) for step in steps)
        ran = [step for step in steps if step.outcome != Outcome.SKIPPED]
        stopper = next((step for step in ran if step.outcome in STOPPING_OUTCOMES), None)
        shown = stopper or (ran[-1] if ran else None)
        blamed = shown
        if stopper is None and outcome not in DONE_OUTCOMES:  # left unfinished: name the first step not run
            blamed = next((step for step in steps if step.outcome == Outcome.SKIPPED), shown)
        error = None if blamed is None else blamed.error
        if error is not None and blamed is not None and len(steps) > 1:
            error = f"{error} (step {blamed.name})"
        return cls(
            host, outcome,
            None if shown is None else shown.exit_status,
            sum(step.duration_seconds for step in steps if not step.resumed),
            "" if shown is None else shown.stdout,
            "" if shown is None else shown.stderr,
            error,
            hint=None if shown is None else shown.hint,
            steps=tuple(steps),
        )

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "host": self.host, "outcome": str(self.outcome), "exit_status": self.exit_status,
            "duration_seconds": round(self.duration_seconds, 3), "stdout": self.stdout,
            "stderr": self.stderr, "error": self.error, "hint": self.hint, "wave": self.wave,
            "steps": [step.to_dict() for step in self.steps],
        }
        for stream, data in (("stdout", self.stdout_bytes), ("stderr", self.stderr_bytes)):
            if data is not None and not _is_utf8(data):
                document[f"{stream}_base64"] = base64.b64encode(data).decode("ascii")
        return document


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _one_step(result: HostResult, name: str) -> StepResult:
    """The step a one-step task's host result stands for."""
    return StepResult(name, result.outcome, result.outcome == Outcome.CHANGED, result.duration_seconds,
                      result.stdout, result.stderr, result.error, result.exit_status, result.hint)


@dataclass(frozen=True)
class Budget:
    """A failure budget: how many failures are tolerated, as a count or a percentage."""

    value: int
    percent: bool = False

    @classmethod
    def parse(cls, text: str, *, option: str) -> Budget:
        """Parse ``N`` or ``P%``; raise UsageError naming ``option`` otherwise."""
        raw = text.strip()
        percent = raw.endswith("%")
        number = raw[:-1] if percent else raw
        if not number.isdigit() or (percent and int(number) > 100):
            raise UsageError(f"{option} {text!r}: expected a count N or a percentage P% (0-100)")
        return cls(int(number), percent)

    def allowed(self, total: int) -> int:
        """How many failures among ``total`` hosts stay within the budget."""
        return total * self.value // 100 if self.percent else self.value

    def __str__(self) -> str:
        return f"{self.value}%" if self.percent else str(self.value)


def parse_wave_sizes(spec: str) -> tuple[str, ...]:
    """Split ``1,10%,50%`` into its parts; raise UsageError for anything else."""
    parts = tuple(part.strip() for part in spec.split(",") if part.strip())
    for part in parts:
        number = part[:-1] if part.endswith("%") else part
        if not number.isdigit() or int(number) == 0 or (part.endswith("%") and int(number) > 100):
            raise UsageError(f"--waves {spec!r}: each size is a count N >= 1 or a percentage P% (1-100)")
    if not parts:
        raise UsageError("--waves: give at least one size, e.g. 1,10%,50%")
    return parts


def plan_waves(total: int, sizes: Sequence[str]) -> list[int]:
    """Batch sizes covering ``total`` hosts; percentages of ``total``, floored, at least 1."""
    if total <= 0:
        return []
    if not sizes:
        return [total]
    counts = [max(1, total * int(s[:-1]) // 100) if s.endswith("%") else int(s) for s in sizes]
    plan: list[int] = []
    remaining = total
    index = 0
    while remaining > 0:
        size = min(counts[min(index, len(counts) - 1)], remaining)
        plan.append(size)
        remaining -= size
        index += 1
    return plan


@dataclass(frozen=True)
class FleetOptions:
    """How many hosts at once, the waves, and the failure budgets.

    The budgets count ``failed`` and ``partial`` hosts, and ``unreachable`` ones unless
    ``unreachable_counts_as_failed`` is false (``--unreachable skip``).
    """

    forks: int = 50
    waves: tuple[str, ...] = ()
    max_failed: Budget | None = None
    max_failed_total: Budget | None = None
    unreachable_counts_as_failed: bool = True


@dataclass(frozen=True)
class FleetResult:
    """Every host's result in target order, why the run halted (if it did), and the waves."""

    results: tuple[HostResult, ...]
    waves: tuple[tuple[str, ...], ...]
    halted_reason: str | None = None
    interrupted: bool = False
    duration_seconds: float = 0.0

    def count(self, outcome: Outcome) -> int:
        return sum(1 for result in self.results if result.outcome == outcome)

    @property
    def counts(self) -> dict[str, int]:
        return {str(outcome): self.count(outcome) for outcome in Outcome}

    @property
    def outcome(self) -> str:
        """``interrupted``, ``refused`` (a gate halted it before anything ran), ``halted``, ``ok`` or ``failed``."""
        if self.interrupted:
            return "interrupted"
        if self.exit_code == ExitCode.REFUSED:
            return "refused"
        if self.halted_reason:
            return "halted"
        return "ok" if self.exit_code == ExitCode.OK else "failed"

    @property
    def exit_code(self) -> ExitCode:
        if self.interrupted:
            return ExitCode.INTERRUPTED
        return exit_code_for_outcomes((r.outcome for r in self.results), halted=self.halted_reason is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome, "exit_code": int(self.exit_code), "counts": self.counts,
            "halted_reason": self.halted_reason, "interrupted": self.interrupted,
            "duration_seconds": round(self.duration_seconds, 3),
            "waves": [list(wave) for wave in self.waves],
            "hosts": [result.to_dict() for result in self.results],
        }


class FleetJournal(Protocol):
    """Where a run is recorded as it goes (the state store) and when it ends (the audit log)."""

    def begin(self, hosts: Sequence[str]) -> None: ...
    def host_done(self, result: HostResult) -> None: ...
    def finish(self, result: FleetResult) -> None: ...


@runtime_checkable
class StepJournal(FleetJournal, Protocol):
    """A journal that also records each step as it completes, so an interrupted run can resume.

    ``step_done`` is called from worker threads, once for each step that ran (not for skipped
    or resumed ones). ``completed_steps`` returns, by host, the steps an earlier attempt of this
    run recorded, in order (empty for a new run); the executor calls it once, before any host runs.
    ``wait_ready`` blocks until the journal can record (the run is recorded as begun) and raises
    why it cannot; :func:`run_steps` calls it before a host's first step, so nothing runs
    unrecorded (a :func:`run_fleet` task calls it itself, after it connected).
    """

    def step_done(self, host: str, position: int, step: StepResult) -> None: ...
    def completed_steps(self) -> Mapping[str, Sequence[StepResult]]: ...
    def wait_ready(self) -> object: ...


@dataclass(frozen=True)
class StepContext:
    """What a step is given besides its item: the host's name, the run's cancel event (set on
    Ctrl-C: stop what runs and return), and the host's steps before this one, by name."""

    host: str
    cancel: threading.Event
    earlier: Mapping[str, StepResult]


@dataclass(frozen=True)
class Step(Generic[Item]):
    """One named step of every host's work. ``run(item, context)`` returns the step's result
    (its name is set to the step's); an exception it raises makes the step ``failed``. A step
    with nothing to do returns ``ok``. Names are unique within a run: the step journal keys on them."""

    name: str
    run: Callable[[Item, StepContext], StepResult]


Task = Callable[[Item, threading.Event], HostResult]
# given the results so far (target order) and the names in the next wave: a reason to halt, or None
Gate = Callable[[Sequence[HostResult], Sequence[str]], str | None]


def _completed_prefix(recorded: Sequence[StepResult], names: Sequence[str]) -> list[StepResult]:
    """The recorded steps that open ``names`` in order, each done (ok or changed), marked resumed."""
    by_name = {step.name: step for step in recorded}
    prefix: list[StepResult] = []
    for name in names:
        step = by_name.get(name)
        if step is None or not step.done:
            break
        prefix.append(replace(step, resumed=True))
    return prefix


@dataclass
class _Run(Generic[Item]):
    items: Sequence[Item]
    names: list[str]
    task: Task[Item] | None
    steps: Sequence[Step[Item]]
    options: FleetOptions
    cancel: threading.Event
    on_start: Callable[[str], None] | None
    on_result: Callable[[HostResult], None] | None
    on_step: Callable[[str, StepResult], None] | None
    journal: FleetJournal | None
    gate: Gate | None
    results: dict[str, HostResult] = field(default_factory=dict)
    recorded: Mapping[str, Sequence[StepResult]] = field(default_factory=dict)

    @property
    def _step_names(self) -> list[str]:
        return [step.name for step in self.steps] if self.task is None else [DEFAULT_STEP_NAME]

    def _counts_as_failed(self, result: HostResult) -> bool:
        if result.outcome in (Outcome.FAILED, Outcome.PARTIAL):
            return True
        return result.outcome == Outcome.UNREACHABLE and self.options.unreachable_counts_as_failed

    def _step_finished(self, name: str, position: int, step: StepResult) -> None:
        if isinstance(self.journal, StepJournal):
            self.journal.step_done(name, position, step)
        if self.on_step is not None:
            self.on_step(name, step)

    def _host(self, item: Item, name: str, wave: int) -> HostResult:
        """Run one host's work (a pool thread); never raises for the host's sake."""
        resumed = _completed_prefix(self.recorded.get(name, ()), self._step_names)
        if len(resumed) == len(self._step_names):  # an earlier attempt finished this host
            return replace(HostResult.from_steps(name, resumed), wave=wave)
        if self.on_start is not None:
            self.on_start(name)
        if self.task is not None:
            return replace(self._task(item, name), wave=wave)
        return replace(self._steps(item, name, resumed), wave=wave)

    def _task(self, item: Item, name: str) -> HostResult:
        assert self.task is not None
        started = time.monotonic()
        try:
            result = replace(self.task(item, self.cancel), host=name)
        except Exception as error:  # a task bug must not take the other hosts down
            result = HostResult(name, Outcome.FAILED, error=f"{name}: {type(error).__name__}: {error}",
                                duration_seconds=time.monotonic() - started)
        if not result.steps:
            result = replace(result, steps=(_one_step(result, DEFAULT_STEP_NAME),))
        for position, step in enumerate(result.steps):
            if step.outcome != Outcome.SKIPPED and not step.resumed:
                self._step_finished(name, position, step)
        return result

    def _steps(self, item: Item, name: str, resumed: list[StepResult]) -> HostResult:
        if isinstance(self.journal, StepJournal):
            self.journal.wait_ready()  # raises (the host fails) if the run cannot be recorded
        results = list(resumed)
        stopped_by: StepResult | None = None
        for position in range(len(resumed), len(self.steps)):
            step = self.steps[position]
            if stopped_by is not None:
                results.append(StepResult(step.name, Outcome.SKIPPED,
                                          error=f"not run: step {stopped_by.name} {stopped_by.outcome}"))
                continue
            if self.cancel.is_set():
                results.append(StepResult(step.name, Outcome.SKIPPED, error="not run: interrupted"))
                continue
            context = StepContext(name, self.cancel, {done.name: done for done in results})
            started = time.monotonic()
            try:
                result = replace(step.run(item, context), name=step.name, resumed=False)
            except Exception as error:  # a step bug fails its host, not the run
                result = StepResult(step.name, Outcome.FAILED, duration_seconds=time.monotonic() - started,
                                    error=f"{name}: step {step.name}: {type(error).__name__}: {error}")
            results.append(result)
            self._step_finished(name, position, result)
            if result.outcome in STOPPING_OUTCOMES or result.outcome == Outcome.SKIPPED:
                stopped_by = result
        return HostResult.from_steps(name, results)

    def _safe_host(self, item: Item, name: str, wave: int) -> HostResult:
        try:
            return self._host(item, name, wave)
        except Exception as error:  # a journal or callback bug: still one host's result
            return HostResult(name, Outcome.FAILED, error=f"{name}: {type(error).__name__}: {error}", wave=wave)

    def _record(self, result: HostResult) -> None:
        self.results[result.host] = result
        if self.journal is not None:
            self.journal.host_done(result)
        if self.on_result is not None:
            self.on_result(result)

    def _gate_reason(self, wave_number: int, wave: Sequence[str]) -> str | None:
        if self.gate is None:
            return None
        done = tuple(self.results[name] for name in self.names if name in self.results)
        try:
            reason = self.gate(done, wave)
        except Exception as error:  # a check that cannot be made must not wave the run through
            reason = f"the gate failed: {type(error).__name__}: {error}"
        return None if reason is None else f"before wave {wave_number}: {reason}"

    def execute(self) -> FleetResult:
        started = time.monotonic()
        plan = plan_waves(len(self.items), self.options.waves)
        waves: list[tuple[str, ...]] = []
        halted_reason: str | None = None
        interrupted = False
        position = 0
        total_failed = 0
        if self.journal is not None:
            self.journal.begin(self.names)
        if isinstance(self.journal, StepJournal):
            self.recorded = self.journal.completed_steps()
        with ThreadPoolExecutor(max_workers=max(1, min(self.options.forks, max(plan, default=1))),
                                thread_name_prefix="opsctl-fleet") as pool:
            for wave_number, size in enumerate(plan, start=1):
                indices = range(position, position + size)
                wave = tuple(self.names[i] for i in indices)
                try:
                    halted_reason = self._gate_reason(wave_number, wave)
                except KeyboardInterrupt:
                    interrupted = True
                    self.cancel.set()
                    break
                if halted_reason is not None:
                    break
                position += size
                waves.append(wave)
                futures: dict[Future[HostResult], str] = {
                    pool.submit(self._safe_host, self.items[i], self.names[i], wave_number): self.names[i]
                    for i in indices
                }
                try:
                    pending = set(futures)
                    while pending:
                        done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                        for future in done:
                            self._record(future.result())
                except KeyboardInterrupt:
                    interrupted = True
                    self.cancel.set()
                    for future in futures:
                        future.cancel()
                    self._drain(futures)
                    break
                if self.cancel.is_set():  # cancelled from elsewhere: the failures it caused spend no budget
                    interrupted = True
                    break
                wave_results = [self.results[futures[f]] for f in futures]
                wave_failed = sum(1 for r in wave_results if self._counts_as_failed(r))
                total_failed += wave_failed
                halted_reason = self._budget_spent(wave_number, size, wave_failed, total_failed)
                if halted_reason is not None:
                    break
        for name in self.names:
            if name not in self.results:
                self._record(HostResult(name, Outcome.SKIPPED,
                                        error="not run: " + ("interrupted" if interrupted else
                                                             halted_reason or "halted")))
        result = FleetResult(tuple(self.results[name] for name in self.names), tuple(waves),
                             halted_reason, interrupted, time.monotonic() - started)
        if self.journal is not None:
            self.journal.finish(result)
        return result

    def _drain(self, futures: dict[Future[HostResult], str]) -> None:
        """After Ctrl-C: wait for running tasks to stop their remote commands (Ctrl-C again skips)."""
        try:
            for future, _name in futures.items():
                if future.cancelled():
                    continue
                result = future.result()
                if result.host not in self.results:
                    self._record(result)
        except KeyboardInterrupt:
            return

    def _budget_spent(self, wave_number: int, wave_size: int, wave_failed: int, total_failed: int) -> str | None:
        options = self.options
        total = len(self.items)
        if options.max_failed is not None and wave_failed > options.max_failed.allowed(wave_size):
            return (f"wave {wave_number}: {wave_failed} of {wave_size} hosts failed, "
                    f"over the per-wave budget --max-failed {options.max_failed}")
        if options.max_failed_total is not None and total_failed > options.max_failed_total.allowed(total):
            return (f"{total_failed} of {total} hosts failed so far, "
                    f"over the run budget --max-failed-total {options.max_failed_total}")
        # Ansible's rule without a budget: a wave in which every host failed stops the run.
        no_budget = options.max_failed is None and options.max_failed_total is None
        if no_budget and wave_failed == wave_size and len(self.results) < total:
            return f"wave {wave_number}: every host failed"
        return None


def _names(items: Sequence[Item], name_of: Callable[[Item], str]) -> list[str]:
    names = [name_of(item) for item in items]
    if len(set(names)) != len(names):
        raise UsageError("duplicate host names in the target list")
    return names


def run_fleet(
    items: Sequence[Item],
    task: Task[Item],
    *,
    name_of: Callable[[Item], str],
    options: FleetOptions = FleetOptions(),
    cancel: threading.Event | None = None,
    on_start: Callable[[str], None] | None = None,
    on_result: Callable[[HostResult], None] | None = None,
    journal: FleetJournal | None = None,
    gate: Gate | None = None,
) -> FleetResult:
    """Run ``task`` for every item in waves on a bounded pool; return every host's result.

    ``task(item, cancel)`` returns a HostResult; an exception it raises becomes ``failed``. The
    run is a one-step run: each host's result holds one step named ``run`` standing for the task
    (unless the task filled in its own steps), and a :class:`StepJournal` records it and skips,
    on resume, the hosts whose task completed. ``gate`` is asked before each wave, the first
    included; a reason it returns (or an exception it raises) halts the run like a spent budget:
    the untouched hosts are ``skipped`` and the exit code is 3, or 5 (refused) if it halted the
    run before the first wave. Ctrl-C (KeyboardInterrupt in the calling
    thread) sets ``cancel``, lets running tasks stop, marks the rest ``skipped`` and returns a
    result with ``interrupted`` set. Raise UsageError for duplicate host names.
    """
    run = _Run(items, _names(items, name_of), task, (), options, cancel or threading.Event(),
               on_start, on_result, None, journal, gate)
    return run.execute()


def run_steps(
    items: Sequence[Item],
    steps: Sequence[Step[Item]],
    *,
    name_of: Callable[[Item], str],
    options: FleetOptions = FleetOptions(),
    cancel: threading.Event | None = None,
    on_start: Callable[[str], None] | None = None,
    on_result: Callable[[HostResult], None] | None = None,
    on_step: Callable[[str, StepResult], None] | None = None,
    journal: FleetJournal | None = None,
    gate: Gate | None = None,
) -> FleetResult:
    """Run ``steps`` in order on every item, in waves on a bounded pool; return every host's result.

    A host's steps run one after another in one pool thread; a failed, unreachable or partial
    step (or an exception, which becomes ``failed``) stops the host, and its later steps are
    ``skipped``, as they are after Ctrl-C. With a :class:`StepJournal`, each step is recorded as
    it completes (``on_step(host, step)`` is called then too, from the pool thread) and the
    steps an earlier attempt of the run completed are not run again. Waves, budgets, the gate and
    Ctrl-C are as for :func:`run_fleet`. Raise ValueError for no steps or a repeated step name,
    UsageError for duplicate host names.
    """
    step_names = [step.name for step in steps]
    if not step_names or len(set(step_names)) != len(step_names):
        raise ValueError(f"steps need unique names, at least one: {step_names}")
    run = _Run(items, _names(items, name_of), None, tuple(steps), options, cancel or threading.Event(),
               on_start, on_result, on_step, journal, gate)
    return run.execute()
