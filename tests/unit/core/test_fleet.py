"""The fleet executor: waves, budgets, outcomes, exit codes and Ctrl-C, with in-process tasks."""

from __future__ import annotations

import threading
import time

import pytest

from opsctl.core.errors import ExitCode, UsageError
from opsctl.core.fleet import (
    Budget,
    FleetOptions,
    HostResult,
    Outcome,
    exit_code_for_outcomes,
    parse_wave_sizes,
    plan_waves,
    run_fleet,
)


def _task(failing: set[str] = frozenset(), unreachable: set[str] = frozenset()):  # type: ignore[assignment]
    def task(name: str, cancel: threading.Event) -> HostResult:
        if name in failing:
            return HostResult(name, Outcome.FAILED, exit_status=1, error=f"{name}: exit status 1")
        if name in unreachable:
            return HostResult(name, Outcome.UNREACHABLE, error=f"{name}: connection refused")
        return HostResult(name, Outcome.OK, exit_status=0)
    return task


HOSTS = [f"h{i:02d}" for i in range(1, 11)]


@pytest.mark.parametrize(("total", "sizes", "expected"), [
    (10, (), [10]),
    (10, ("1", "10%", "50%"), [1, 1, 5, 3]),
    (10, ("3",), [3, 3, 3, 1]),
    (3, ("10%",), [1, 1, 1]),          # a percentage rounds down but is at least 1
    (50, ("1", "20%"), [1, 10, 10, 10, 10, 9]),
    (0, ("1",), []),
])
def test_plan_waves_follows_ansible_serial(total: int, sizes: tuple[str, ...], expected: list[int]) -> None:
    assert plan_waves(total, sizes) == expected
    assert sum(expected) == total


@pytest.mark.parametrize("bad", ["", "0", "x", "101%", "1,,-2"])
def test_bad_wave_sizes_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_wave_sizes(bad)


def test_budget_parses_counts_and_percentages() -> None:
    assert Budget.parse("2", option="--max-failed").allowed(10) == 2
    assert Budget.parse("25%", option="--max-failed").allowed(10) == 2
    with pytest.raises(UsageError, match="--max-failed"):
        Budget.parse("two", option="--max-failed")


def test_all_hosts_run_and_results_keep_target_order() -> None:
    result = run_fleet(HOSTS, _task(), name_of=str, options=FleetOptions(forks=3))
    assert [r.host for r in result.results] == HOSTS
    assert result.exit_code == ExitCode.OK
    assert result.counts["ok"] == 10


def test_pool_is_bounded_by_forks() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def task(name: str, cancel: threading.Event) -> HostResult:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.02)
        with lock:
            running -= 1
        return HostResult(name, Outcome.OK)

    run_fleet(HOSTS, task, name_of=str, options=FleetOptions(forks=3))
    assert peak <= 3


def test_spent_wave_budget_halts_before_next_wave_and_skips_the_rest() -> None:
    options = FleetOptions(waves=("2",), max_failed=Budget(0))
    result = run_fleet(HOSTS, _task(failing={"h03"}), name_of=str, options=options)
    outcomes = {r.host: r.outcome for r in result.results}
    assert outcomes["h01"] == outcomes["h02"] == outcomes["h04"] == Outcome.OK
    assert outcomes["h03"] == Outcome.FAILED
    assert all(outcomes[h] == Outcome.SKIPPED for h in HOSTS[4:])
    assert "wave 2" in (result.halted_reason or "")
    assert result.exit_code == ExitCode.PARTIAL


def test_total_budget_counts_across_waves() -> None:
    options = FleetOptions(waves=("2",), max_failed_total=Budget(1))
    result = run_fleet(HOSTS, _task(failing={"h01", "h04"}), name_of=str, options=options)
    assert result.count(Outcome.SKIPPED) == 6
    assert "--max-failed-total 1" in (result.halted_reason or "")


def test_unreachable_counts_as_failed_unless_skipped() -> None:
    options = FleetOptions(waves=("5",), max_failed=Budget(0))
    halted = run_fleet(HOSTS, _task(unreachable={"h02"}), name_of=str, options=options)
    assert halted.count(Outcome.SKIPPED) == 5
    assert halted.exit_code == ExitCode.PARTIAL

    lenient = FleetOptions(waves=("5",), max_failed=Budget(0), unreachable_counts_as_failed=False)
    carried_on = run_fleet(HOSTS, _task(unreachable={"h02"}), name_of=str, options=lenient)
    assert carried_on.count(Outcome.SKIPPED) == 0
    assert carried_on.exit_code == ExitCode.UNREACHABLE


def test_a_task_that_raises_fails_its_host_only() -> None:
    def task(name: str, cancel: threading.Event) -> HostResult:
        if name == "h05":
            raise RuntimeError("bug")
        return HostResult(name, Outcome.OK)

    result = run_fleet(HOSTS, task, name_of=str)
    assert result.results[4].outcome == Outcome.FAILED
    assert "h05" in (result.results[4].error or "")
    assert result.count(Outcome.OK) == 9


def test_every_host_of_a_wave_failing_halts_without_a_budget() -> None:
    result = run_fleet(HOSTS, _task(failing={"h01"}), name_of=str, options=FleetOptions(waves=("1",)))
    assert result.count(Outcome.SKIPPED) == 9
    assert result.halted_reason == "wave 1: every host failed"


def test_ctrl_c_cancels_running_tasks_and_skips_the_rest() -> None:
    started = threading.Event()
    main = threading.main_thread()
    assert threading.current_thread() is main

    def task(name: str, cancel: threading.Event) -> HostResult:
        started.set()
        if cancel.wait(5):
            return HostResult(name, Outcome.FAILED, error=f"{name}: interrupted; the command was stopped")
        return HostResult(name, Outcome.OK)

    import _thread

    def press_ctrl_c() -> None:
        started.wait(5)
        time.sleep(0.1)
        _thread.interrupt_main()

    threading.Thread(target=press_ctrl_c).start()
    result = run_fleet(HOSTS, task, name_of=str, options=FleetOptions(forks=2, waves=("2",)))
    assert result.interrupted
    assert result.exit_code == ExitCode.INTERRUPTED
    assert [r.outcome for r in result.results[:2]] == [Outcome.FAILED, Outcome.FAILED]
    assert all(r.outcome == Outcome.SKIPPED for r in result.results[2:])


@pytest.mark.parametrize(("outcomes", "code"), [
    ([Outcome.OK, Outcome.CHANGED], ExitCode.OK),
    ([Outcome.OK, Outcome.FAILED], ExitCode.PARTIAL),
    ([Outcome.FAILED, Outcome.FAILED], ExitCode.FAILED),
    ([Outcome.OK, Outcome.UNREACHABLE], ExitCode.UNREACHABLE),
    ([Outcome.UNREACHABLE], ExitCode.UNREACHABLE),
    ([Outcome.OK, Outcome.SKIPPED], ExitCode.PARTIAL),
])
def test_exit_codes_follow_design(outcomes: list[Outcome], code: ExitCode) -> None:
    assert exit_code_for_outcomes(outcomes) == code


def test_unreachable_with_a_spent_budget_is_partial() -> None:
    assert exit_code_for_outcomes([Outcome.UNREACHABLE, Outcome.SKIPPED], halted=True) == ExitCode.PARTIAL


class _Journal:
    def __init__(self) -> None:
        self.events: list[str] = []

    def begin(self, hosts: list[str]) -> None:
        self.events.append(f"begin {len(hosts)}")

    def host_done(self, result: HostResult) -> None:
        self.events.append(f"{result.host} {result.outcome}")

    def finish(self, result: object) -> None:
        self.events.append("finish")


def test_journal_sees_every_host_including_skipped() -> None:
    journal = _Journal()
    run_fleet(HOSTS[:3], _task(failing={"h01"}), name_of=str, options=FleetOptions(waves=("1",)), journal=journal)
    assert journal.events == ["begin 3", "h01 failed", "h02 skipped", "h03 skipped", "finish"]


# ----------------------------------------------------------------------------- one vocabulary, one rule


def test_the_state_store_and_the_executor_share_one_outcome_vocabulary() -> None:
    from opsctl.core.state import HOST_OUTCOMES

    assert tuple(str(outcome) for outcome in Outcome) == HOST_OUTCOMES


@pytest.mark.parametrize(("outcomes", "halted", "code"), [
    ([], False, ExitCode.OK),
    ([Outcome.OK, Outcome.PARTIAL], False, ExitCode.PARTIAL),
    ([Outcome.PARTIAL], False, ExitCode.PARTIAL),
    ([Outcome.PARTIAL, Outcome.UNREACHABLE], False, ExitCode.PARTIAL),
    ([Outcome.FAILED, Outcome.UNREACHABLE], False, ExitCode.FAILED),
    ([Outcome.OK, Outcome.UNREACHABLE], True, ExitCode.PARTIAL),      # a spent budget is never "only unreachable"
    ([Outcome.OK, Outcome.SKIPPED], True, ExitCode.PARTIAL),          # halted after a wave: partly done
    ([Outcome.SKIPPED, Outcome.SKIPPED], True, ExitCode.REFUSED),     # halted before anything ran
    ([Outcome.SKIPPED], False, ExitCode.PARTIAL),
])
def test_exit_codes_for_partial_and_halted_runs(outcomes: list[Outcome], halted: bool, code: ExitCode) -> None:
    assert exit_code_for_outcomes(outcomes, halted=halted) == code


def test_exit_codes_accept_outcome_names() -> None:
    assert exit_code_for_outcomes(["ok", "failed"]) == ExitCode.PARTIAL


def test_a_partial_host_counts_against_the_budget() -> None:
    def task(name: str, cancel: threading.Event) -> HostResult:
        return HostResult(name, Outcome.PARTIAL if name == "h01" else Outcome.OK)

    result = run_fleet(HOSTS, task, name_of=str, options=FleetOptions(waves=("2",), max_failed=Budget(0)))
    assert result.count(Outcome.SKIPPED) == 8
    assert result.exit_code == ExitCode.PARTIAL
    assert result.counts["partial"] == 1


# ----------------------------------------------------------------------------- a one-step run


def test_a_task_is_a_one_step_run_and_its_host_result_is_unchanged() -> None:
    def task(name: str, cancel: threading.Event) -> HostResult:
        if name == "h02":
            return HostResult(name, Outcome.FAILED, 2, 0.5, "out", "err", f"{name}: exit status 2", hint="try again")
        return HostResult(name, Outcome.OK, 0, 0.25, f"hello from {name}\n")

    result = run_fleet(HOSTS[:2], task, name_of=str)
    ok, failed = result.results
    assert (ok.outcome, ok.exit_status, ok.stdout, ok.error, ok.wave) == (Outcome.OK, 0, "hello from h01\n", None, 1)
    assert [(s.name, s.outcome, s.stdout, s.exit_status) for s in ok.steps] == [("run", Outcome.OK, "hello from h01\n", 0)]
    assert (failed.outcome, failed.exit_status, failed.stdout, failed.stderr, failed.error, failed.hint) == (
        Outcome.FAILED, 2, "out", "err", "h02: exit status 2", "try again")
    assert failed.steps[0].error == "h02: exit status 2"
    document = result.to_dict()["hosts"][1]
    assert {k: document[k] for k in ("host", "outcome", "exit_status", "stdout", "stderr", "error", "hint", "wave")} == {
        "host": "h02", "outcome": "failed", "exit_status": 2, "stdout": "out", "stderr": "err",
        "error": "h02: exit status 2", "hint": "try again", "wave": 1}
    assert [(s["name"], s["outcome"], s["changed"]) for s in document["steps"]] == [("run", "failed", False)]


def test_a_host_a_halted_run_never_reached_has_no_steps() -> None:
    result = run_fleet(HOSTS[:2], _task(failing={"h01"}), name_of=str, options=FleetOptions(waves=("1",)))
    assert result.results[1].outcome == Outcome.SKIPPED
    assert result.results[1].steps == ()


# ----------------------------------------------------------------------------- the gate between waves


def test_the_gate_sees_the_results_so_far_and_the_next_wave() -> None:
    seen: list[tuple[list[str], list[str]]] = []

    def gate(done, wave):  # type: ignore[no-untyped-def]
        seen.append(([r.host for r in done], list(wave)))
        return None

    result = run_fleet(HOSTS[:5], _task(), name_of=str, options=FleetOptions(waves=("2",)), gate=gate)
    assert result.exit_code == ExitCode.OK
    assert seen == [([], ["h01", "h02"]), (["h01", "h02"], ["h03", "h04"]), (["h01", "h02", "h03", "h04"], ["h05"])]


def test_a_gate_that_closes_between_waves_halts_the_run_like_a_spent_budget() -> None:
    ran: list[str] = []

    def task(name: str, cancel: threading.Event) -> HostResult:
        ran.append(name)
        return HostResult(name, Outcome.CHANGED)

    def gate(done, wave):  # type: ignore[no-untyped-def]
        return "web tier unhealthy: 2 of 4 backends down" if len(done) >= 4 else None

    journal = _Journal()
    result = run_fleet(HOSTS, task, name_of=str, options=FleetOptions(waves=("2",)), gate=gate, journal=journal)
    assert sorted(ran) == HOSTS[:4]
    assert result.halted_reason == "before wave 3: web tier unhealthy: 2 of 4 backends down"
    assert [r.outcome for r in result.results[4:]] == [Outcome.SKIPPED] * 6
    assert all("web tier unhealthy" in (r.error or "") for r in result.results[4:])
    assert result.waves == (("h01", "h02"), ("h03", "h04"))
    assert result.exit_code == ExitCode.PARTIAL
    assert result.outcome == "halted"
    assert journal.events[-1] == "finish" and "h10 skipped" in journal.events


def test_a_gate_that_refuses_the_first_wave_runs_nothing_and_exits_5() -> None:
    ran: list[str] = []

    def task(name: str, cancel: threading.Event) -> HostResult:
        ran.append(name)
        return HostResult(name, Outcome.OK)

    result = run_fleet(HOSTS, task, name_of=str, gate=lambda done, wave: "the last backup is 30 h old (RPO 24 h)")
    assert ran == []
    assert result.count(Outcome.SKIPPED) == 10
    assert result.halted_reason == "before wave 1: the last backup is 30 h old (RPO 24 h)"
    assert result.exit_code == ExitCode.REFUSED
    assert result.outcome == "refused"


def test_a_gate_that_raises_halts_the_run() -> None:
    def gate(done, wave):  # type: ignore[no-untyped-def]
        if done:
            raise ConnectionError("prometheus did not answer")
        return None

    result = run_fleet(HOSTS, _task(), name_of=str, options=FleetOptions(waves=("5",)), gate=gate)
    assert result.count(Outcome.OK) == 5 and result.count(Outcome.SKIPPED) == 5
    assert "the gate failed: ConnectionError: prometheus did not answer" in (result.halted_reason or "")
    assert result.exit_code == ExitCode.PARTIAL


def test_a_cancel_from_elsewhere_interrupts_the_run_and_spends_no_budget() -> None:
    cancel = threading.Event()

    def task(name: str, cancel: threading.Event) -> HostResult:
        cancel.set()  # as a SIGTERM handler would, while the wave runs
        return HostResult(name, Outcome.FAILED, error=f"{name}: interrupted; the command was stopped")

    result = run_fleet(HOSTS, task, name_of=str, options=FleetOptions(waves=("2",)), cancel=cancel)
    assert result.interrupted and result.halted_reason is None
    assert result.exit_code == ExitCode.INTERRUPTED
    assert [r.outcome for r in result.results[2:]] == [Outcome.SKIPPED] * 8
