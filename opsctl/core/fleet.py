"""The fleet executor: a bounded thread pool, waves, failure budgets and per-host outcomes.

One host's failure never raises out of the executor: every host ends with a
:class:`HostResult`. Waves follow Ansible's ``serial``: sizes of successive batches, a
percentage of all targeted hosts rounded down but at least 1, the last size repeating. A
spent budget halts the run before the next wave and the untouched hosts are ``skipped``.
Ctrl-C sets the cancel event (tasks stop their remote commands), records what ran, and the
result says ``interrupted``.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Protocol, TypeVar

from opsctl.core.errors import ExitCode, UsageError

Item = TypeVar("Item")


class Outcome(enum.StrEnum):
    OK = "ok"
    CHANGED = "changed"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class HostResult:
    """What happened on one host. ``error`` is a one-line message naming the host."""

    host: str
    outcome: Outcome
    exit_status: int | None = None
    duration_seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    wave: int | None = None
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host, "outcome": str(self.outcome), "exit_status": self.exit_status,
            "duration_seconds": round(self.duration_seconds, 3), "stdout": self.stdout,
            "stderr": self.stderr, "error": self.error, "hint": self.hint, "wave": self.wave,
        }


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


def exit_code_for_outcomes(outcomes: Iterable[Outcome], *, halted: bool = False) -> ExitCode:
    """0 all good; 1 nothing succeeded; 3 partly done; 4 only unreachable hosts, no budget spent."""
    counts = Counter(outcomes)
    succeeded = counts[Outcome.OK] + counts[Outcome.CHANGED]
    failed, skipped, unreachable = counts[Outcome.FAILED], counts[Outcome.SKIPPED], counts[Outcome.UNREACHABLE]
    if failed == 0 and skipped == 0 and unreachable == 0:
        return ExitCode.OK
    if failed == 0 and skipped == 0 and not halted:
        return ExitCode.UNREACHABLE
    if succeeded == 0 and skipped == 0:
        return ExitCode.FAILED
    return ExitCode.PARTIAL


@dataclass(frozen=True)
class FleetOptions:
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
        if self.interrupted:
            return "interrupted"
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


Task = Callable[[Item, threading.Event], HostResult]


@dataclass
class _Run(Generic[Item]):
    items: Sequence[Item]
    names: list[str]
    task: Task[Item]
    options: FleetOptions
    cancel: threading.Event
    on_start: Callable[[str], None] | None
    on_result: Callable[[HostResult], None] | None
    journal: FleetJournal | None
    results: dict[str, HostResult] = field(default_factory=dict)

    def _counts_as_failed(self, result: HostResult) -> bool:
        if result.outcome == Outcome.FAILED:
            return True
        return result.outcome == Outcome.UNREACHABLE and self.options.unreachable_counts_as_failed

    def _safe_task(self, item: Item, name: str, wave: int) -> HostResult:
        if self.on_start is not None:
            self.on_start(name)
        started = time.monotonic()
        try:
            result = self.task(item, self.cancel)
        except Exception as error:  # a task bug must not take the other hosts down
            result = HostResult(name, Outcome.FAILED, error=f"{name}: {type(error).__name__}: {error}",
                                duration_seconds=time.monotonic() - started)
        return replace(result, host=name, wave=wave)

    def _record(self, result: HostResult) -> None:
        self.results[result.host] = result
        if self.journal is not None:
            self.journal.host_done(result)
        if self.on_result is not None:
            self.on_result(result)

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
        with ThreadPoolExecutor(max_workers=max(1, min(self.options.forks, max(plan, default=1))),
                                thread_name_prefix="opsctl-fleet") as pool:
            for wave_number, size in enumerate(plan, start=1):
                indices = range(position, position + size)
                position += size
                waves.append(tuple(self.names[i] for i in indices))
                futures: dict[Future[HostResult], str] = {
                    pool.submit(self._safe_task, self.items[i], self.names[i], wave_number): self.names[i]
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
                wave_results = [self.results[futures[f]] for f in futures]
                wave_failed = sum(1 for r in wave_results if self._counts_as_failed(r))
                total_failed += wave_failed
                halted_reason = self._budget_spent(wave_number, size, wave_failed, total_failed)
                if halted_reason is not None or self.cancel.is_set():
                    interrupted = interrupted or (self.cancel.is_set() and halted_reason is None)
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
) -> FleetResult:
    """Run ``task`` for every item in waves on a bounded pool; return every host's result.

    ``task(item, cancel)`` returns a HostResult; an exception it raises becomes ``failed``.
    Ctrl-C (KeyboardInterrupt in the calling thread) sets ``cancel``, lets running tasks stop,
    marks the rest ``skipped`` and returns a result with ``interrupted`` set.
    """
    names = [name_of(item) for item in items]
    if len(set(names)) != len(names):
        raise UsageError("duplicate host names in the target list")
    run = _Run(items, names, task, options, cancel or threading.Event(), on_start, on_result, journal)
    return run.execute()
