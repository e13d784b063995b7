"""Steps on the fleet executor: a host's outcome from its steps, stopping, Ctrl-C, and the step journal."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from opsctl.core.errors import ExitCode
from opsctl.core.fleet import (
    FleetOptions,
    HostResult,
    Outcome,
    Step,
    StepContext,
    StepResult,
    outcome_of_steps,
    run_steps,
)

HOSTS = [f"h{i:02d}" for i in range(1, 7)]
Oc = Outcome


@pytest.mark.parametrize(("steps", "expected"), [
    ([], Oc.OK),
    ([(Oc.OK, False), (Oc.OK, False)], Oc.OK),
    ([(Oc.OK, False), (Oc.CHANGED, True)], Oc.CHANGED),
    ([(Oc.FAILED, False), (Oc.SKIPPED, False)], Oc.FAILED),                 # stopped before changing anything
    ([(Oc.OK, False), (Oc.FAILED, False), (Oc.SKIPPED, False)], Oc.FAILED),
    ([(Oc.CHANGED, True), (Oc.FAILED, False), (Oc.SKIPPED, False)], Oc.PARTIAL),  # left part-way
    ([(Oc.FAILED, True)], Oc.PARTIAL),                                     # changed something, then failed
    ([(Oc.UNREACHABLE, False), (Oc.SKIPPED, False)], Oc.UNREACHABLE),
    ([(Oc.CHANGED, True), (Oc.UNREACHABLE, False)], Oc.PARTIAL),           # patched, then never came back
    ([(Oc.OK, False), (Oc.PARTIAL, True)], Oc.PARTIAL),
    ([(Oc.OK, False), (Oc.SKIPPED, False)], Oc.FAILED),                     # interrupted between steps
    ([(Oc.CHANGED, True), (Oc.SKIPPED, False)], Oc.PARTIAL),
    ([(Oc.SKIPPED, False), (Oc.SKIPPED, False)], Oc.SKIPPED),
])
def test_a_hosts_outcome_follows_its_steps(steps: list[tuple[Outcome, bool]], expected: Outcome) -> None:
    assert outcome_of_steps(steps) == expected


class Recorder:
    """Steps that note each real execution and do what a per-host plan says."""

    def __init__(self, plan: dict[tuple[str, str], Outcome] | None = None) -> None:
        self.plan = plan or {}
        self.ran: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def step(self, name: str, default: Outcome = Oc.CHANGED) -> Step[str]:
        def run(host: str, context: StepContext) -> StepResult:
            with self.lock:
                self.ran.append((host, name))
            outcome = self.plan.get((host, name), default)
            error = None if outcome in (Oc.OK, Oc.CHANGED) else f"{host}: {name} went wrong"
            return StepResult("ignored", outcome, stdout=f"{name} on {host}\n", error=error,
                              exit_status=0 if error is None else 1)
        return Step(name, run)


CAMPAIGN = ("precheck", "patch", "reboot", "postcheck")


def campaign(recorder: Recorder) -> list[Step[str]]:
    return [recorder.step("precheck", Oc.OK), recorder.step("patch"), recorder.step("reboot"),
            recorder.step("postcheck", Oc.OK)]


def test_every_host_runs_its_steps_in_order() -> None:
    recorder = Recorder()
    result = run_steps(HOSTS, campaign(recorder), name_of=str, options=FleetOptions(forks=3))
    assert result.exit_code == ExitCode.OK
    for host in HOSTS:
        assert [step for h, step in recorder.ran if h == host] == list(CAMPAIGN)
    first = result.results[0]
    assert first.outcome == Oc.CHANGED
    assert [(s.name, s.outcome, s.changed) for s in first.steps] == [
        ("precheck", Oc.OK, False), ("patch", Oc.CHANGED, True), ("reboot", Oc.CHANGED, True), ("postcheck", Oc.OK, False)]
    assert first.stdout == "postcheck on h01\n"


def test_a_failed_step_stops_its_host_only() -> None:
    recorder = Recorder({("h02", "reboot"): Oc.FAILED, ("h03", "precheck"): Oc.FAILED})
    result = run_steps(HOSTS, campaign(recorder), name_of=str)
    by_host = {r.host: r for r in result.results}
    assert [step for h, step in recorder.ran if h == "h02"] == ["precheck", "patch", "reboot"]
    assert [step for h, step in recorder.ran if h == "h03"] == ["precheck"]
    h02, h03 = by_host["h02"], by_host["h03"]
    assert h02.outcome == Oc.PARTIAL  # patched, then the reboot failed: left part-way
    assert [s.outcome for s in h02.steps] == [Oc.OK, Oc.CHANGED, Oc.FAILED, Oc.SKIPPED]
    assert h02.steps[3].error == "not run: step reboot failed"
    assert h02.error == "h02: reboot went wrong (step reboot)"
    assert h02.exit_status == 1 and h02.stdout == "reboot on h02\n"
    assert h03.outcome == Oc.FAILED  # nothing was changed
    assert by_host["h01"].outcome == Oc.CHANGED
    assert result.exit_code == ExitCode.PARTIAL
    document = result.to_dict()["hosts"][1]
    assert [(s["name"], s["outcome"]) for s in document["steps"]] == [
        ("precheck", "ok"), ("patch", "changed"), ("reboot", "failed"), ("postcheck", "skipped")]


def test_a_step_that_raises_fails_its_host_and_names_the_step() -> None:
    def broken(host: str, context: StepContext) -> StepResult:
        raise KeyError("missing fact")

    recorder = Recorder()
    result = run_steps(HOSTS[:2], [recorder.step("precheck", Oc.OK), Step("patch", broken)], name_of=str)
    assert [r.outcome for r in result.results] == [Oc.FAILED, Oc.FAILED]
    assert "step patch: KeyError" in (result.results[0].error or "")


def test_a_step_sees_the_hosts_earlier_steps() -> None:
    seen: dict[str, list[str]] = {}

    def postcheck(host: str, context: StepContext) -> StepResult:
        seen[host] = [f"{name}={step.outcome}" for name, step in context.earlier.items()]
        return StepResult("postcheck", Oc.OK)

    recorder = Recorder()
    run_steps(["h01"], [recorder.step("precheck", Oc.OK), recorder.step("patch"), Step("postcheck", postcheck)],
              name_of=str)
    assert seen == {"h01": ["precheck=ok", "patch=changed"]}


def test_on_step_reports_each_step_as_it_completes() -> None:
    reported: list[tuple[str, str, str]] = []
    lock = threading.Lock()

    def on_step(host: str, step: StepResult) -> None:
        with lock:
            reported.append((host, step.name, str(step.outcome)))

    recorder = Recorder({("h01", "patch"): Oc.FAILED})
    run_steps(HOSTS[:2], campaign(recorder), name_of=str, on_step=on_step)
    assert [(s, o) for h, s, o in reported if h == "h01"] == [("precheck", "ok"), ("patch", "failed")]
    assert len([r for r in reported if r[0] == "h02"]) == 4


def test_repeated_or_missing_step_names_are_refused() -> None:
    recorder = Recorder()
    with pytest.raises(ValueError):
        run_steps(HOSTS, [recorder.step("a"), recorder.step("a")], name_of=str)
    with pytest.raises(ValueError):
        run_steps(HOSTS, [], name_of=str)


def test_ctrl_c_stops_each_host_between_steps() -> None:
    import _thread

    started = threading.Event()

    def slow(host: str, context: StepContext) -> StepResult:
        started.set()
        if context.cancel.wait(5):
            return StepResult("patch", Oc.FAILED, changed=True, error=f"{host}: interrupted; the command was stopped")
        return StepResult("patch", Oc.CHANGED)

    def press_ctrl_c() -> None:
        started.wait(5)
        time.sleep(0.1)
        _thread.interrupt_main()

    recorder = Recorder()
    threading.Thread(target=press_ctrl_c).start()
    steps = [recorder.step("precheck", Oc.OK), Step("patch", slow), recorder.step("reboot")]
    result = run_steps(HOSTS, steps, name_of=str, options=FleetOptions(forks=2, waves=("2",)))
    assert result.interrupted and result.exit_code == ExitCode.INTERRUPTED
    assert ("h01", "reboot") not in recorder.ran and ("h02", "reboot") not in recorder.ran
    assert [s.outcome for s in result.results[0].steps] == [Oc.OK, Oc.FAILED, Oc.SKIPPED]
    assert result.results[0].outcome == Oc.PARTIAL  # it had begun changing the host
    assert all(r.outcome == Oc.SKIPPED for r in result.results[2:])


# ----------------------------------------------------------------------------- the step journal and resume


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    from opsctl.core.settings import Settings

    return Settings.model_validate({"state": {"dir": str(tmp_path / "state")}, "audit": {"operator": "alice"}})


def journal(settings, run_id: str, *, resume: bool = False, command: str = "patch all"):  # type: ignore[no-untyped-def]
    from opsctl.core.journal import RunJournal

    return RunJournal(settings, run_id=run_id, kind="patch", command=command, target="web", resume=resume)


def file_steps(root: Path, stop: threading.Event | None = None, stop_after_patch: tuple[str, ...] = (),
               fail: set[tuple[str, str]] = frozenset()) -> list[Step[str]]:  # type: ignore[assignment]
    """Four steps that each append a line to host's file: a real, countable execution each.

    The hosts in ``stop_after_patch`` set ``stop`` (as Ctrl-C would) once all of them finished patch.
    """
    barrier = threading.Barrier(len(stop_after_patch)) if stop_after_patch else None

    def make(name: str) -> Step[str]:
        def run(host: str, context: StepContext) -> StepResult:
            with (root / host).open("a", encoding="utf-8") as done:
                done.write(name + "\n")
            if (host, name) in fail:
                return StepResult(name, Oc.FAILED, error=f"{host}: {name} failed")
            if stop is not None and barrier is not None and name == "patch" and host in stop_after_patch:
                barrier.wait(5)
                stop.set()
            return StepResult(name, Oc.CHANGED if name in ("patch", "reboot") else Oc.OK, stdout=f"{name} done\n")
        return Step(name, run)
    return [make(name) for name in CAMPAIGN]


def executions(root: Path) -> dict[str, list[str]]:
    return {path.name: path.read_text(encoding="utf-8").split() for path in sorted(root.iterdir())}


def test_an_interrupted_run_resumes_where_it_stopped_and_redoes_nothing(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from opsctl.core.state import open_state

    root = tmp_path / "hosts"
    root.mkdir()
    cancel = threading.Event()
    waves = FleetOptions(forks=3, waves=("2",))
    first = run_steps(HOSTS, file_steps(root, cancel, ("h03", "h04")), name_of=str, cancel=cancel,
                      options=waves, journal=journal(settings, "r1"))
    assert first.interrupted
    # wave 1 finished; wave 2 was interrupted after step 2 of 4; wave 3 never began
    assert executions(root) == {"h01": list(CAMPAIGN), "h02": list(CAMPAIGN),
                                "h03": ["precheck", "patch"], "h04": ["precheck", "patch"]}
    assert [s.outcome for s in first.results[2].steps] == [Oc.OK, Oc.CHANGED, Oc.SKIPPED, Oc.SKIPPED]
    assert first.results[2].outcome == Oc.PARTIAL
    assert [r.outcome for r in first.results[4:]] == [Oc.SKIPPED, Oc.SKIPPED]
    with open_state(settings) as store:
        recorded = store.recorded_steps("r1")
        assert {h: [s.step for s in steps] for h, steps in recorded.items()} == {
            "h01": list(CAMPAIGN), "h02": list(CAMPAIGN), "h03": ["precheck", "patch"], "h04": ["precheck", "patch"]}
        assert recorded["h03"][1].stdout == "patch done\n" and recorded["h03"][1].changed
        assert store.last_run("patch").outcome == "interrupted"  # type: ignore[union-attr]

    again = run_steps(HOSTS, file_steps(root), name_of=str, options=waves,
                      journal=journal(settings, "r1", resume=True))
    assert again.exit_code == ExitCode.OK
    assert executions(root) == {h: list(CAMPAIGN) for h in HOSTS}  # each step ran exactly once
    assert all(s.resumed for s in again.results[0].steps)  # finished the first time: not touched
    h03 = again.results[2]
    assert h03.outcome == Oc.CHANGED
    assert [(s.name, s.resumed) for s in h03.steps] == [
        ("precheck", True), ("patch", True), ("reboot", False), ("postcheck", False)]
    assert h03.steps[1].stdout == "patch done\n"
    with open_state(settings) as store:
        run = store.last_run("patch")
        assert run is not None and run.run_id == "r1" and run.outcome == "ok"
        assert {h.outcome for h in run.hosts} == {"changed"}
        assert all(len(steps) == 4 for steps in store.recorded_steps("r1").values())

    done = run_steps(HOSTS, file_steps(root), name_of=str, journal=journal(settings, "r1", resume=True))
    assert done.exit_code == ExitCode.OK
    assert executions(root) == {h: list(CAMPAIGN) for h in HOSTS}  # a finished host is not touched again
    assert all(all(s.resumed for s in r.steps) for r in done.results)


def test_a_resumed_run_retries_a_failed_step_and_goes_on_from_it(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "hosts"
    root.mkdir()
    first = run_steps(HOSTS[:2], file_steps(root, fail={("h01", "reboot")}), name_of=str,
                      journal=journal(settings, "r2"))
    assert first.results[0].outcome == Oc.PARTIAL and first.exit_code == ExitCode.PARTIAL
    again = run_steps(HOSTS[:2], file_steps(root), name_of=str, journal=journal(settings, "r2", resume=True))
    assert again.exit_code == ExitCode.OK
    assert executions(root) == {"h01": ["precheck", "patch", "reboot", "reboot", "postcheck"], "h02": list(CAMPAIGN)}


def test_a_one_command_run_resumes_only_the_hosts_it_did_not_finish(settings) -> None:  # type: ignore[no-untyped-def]
    from opsctl.core.fleet import Budget, run_fleet

    ran: list[str] = []
    failing = {"h01"}

    def task(name: str, cancel: threading.Event) -> HostResult:
        ran.append(name)
        return HostResult(name, Outcome.FAILED if name in failing else Outcome.OK, 0)

    options = FleetOptions(waves=("2",), max_failed_total=Budget(0))
    first = run_fleet(HOSTS, task, name_of=str, options=options, journal=journal(settings, "r3"))
    assert first.halted_reason is not None and sorted(ran) == ["h01", "h02"]
    ran.clear()
    failing.clear()
    again = run_fleet(HOSTS, task, name_of=str, options=options, journal=journal(settings, "r3", resume=True))
    assert sorted(ran) == ["h01", "h03", "h04", "h05", "h06"]  # h02 finished the first time
    assert again.exit_code == ExitCode.OK
    assert again.results[1].steps[0].resumed and not again.results[0].steps[0].resumed


def test_a_run_is_resumed_only_as_what_it_was(settings) -> None:  # type: ignore[no-untyped-def]
    from opsctl.core.errors import UsageError
    from opsctl.core.fleet import run_fleet

    run_fleet(HOSTS[:1], lambda name, cancel: HostResult(name, Oc.OK), name_of=str, journal=journal(settings, "r4"))
    other = journal(settings, "r4", resume=True, command="reboot all")
    with pytest.raises(UsageError, match="cannot be resumed"):
        other.wait_ready()
    missing = journal(settings, "nope", resume=True)
    with pytest.raises(UsageError, match="no run nope"):
        missing.wait_ready()


def test_no_step_runs_when_the_run_cannot_be_recorded(tmp_path: Path) -> None:
    from opsctl.core.errors import StateError
    from opsctl.core.settings import Settings

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("", encoding="utf-8")
    unusable = Settings.model_validate({"state": {"dir": str(blocker / "state")}})
    recorder = Recorder()
    with pytest.raises(StateError):
        run_steps(HOSTS, campaign(recorder), name_of=str, journal=journal(unusable, "r7"))
    assert recorder.ran == []


def test_steps_are_written_in_batches_not_one_transaction_each(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from opsctl.core.fleet import run_fleet
    from opsctl.core.state import StateStore

    calls: list[int] = []
    original = StateStore.record_steps

    def counting(self, run_id, steps, hosts=()):  # type: ignore[no-untyped-def]
        calls.append(sum(len(s) for s in steps.values()))
        return original(self, run_id, steps, hosts)

    monkeypatch.setattr(StateStore, "record_steps", counting)
    names = [f"host{i:02d}" for i in range(50)]
    result = run_fleet(names, lambda name, cancel: HostResult(name, Oc.OK, 0), name_of=str,
                       journal=journal(settings, "r5"))
    assert result.exit_code == ExitCode.OK
    assert sum(calls) == 50 and len(calls) <= 2


def test_a_long_step_is_in_the_journal_within_a_second_of_finishing(settings) -> None:  # type: ignore[no-untyped-def]
    from opsctl.core.state import open_state

    release = threading.Event()

    def hold(host: str, context: StepContext) -> StepResult:
        release.wait(10)
        return StepResult("reboot", Oc.CHANGED)

    recorder = Recorder()
    box: dict[str, object] = {}
    worker = threading.Thread(target=lambda: box.update(result=run_steps(
        ["h01"], [recorder.step("patch"), Step("reboot", hold)], name_of=str, journal=journal(settings, "r6"))))
    worker.start()
    try:
        deadline = time.monotonic() + 5
        recorded: dict[str, tuple[object, ...]] = {}
        while time.monotonic() < deadline and not recorded:
            time.sleep(0.1)
            with open_state(settings) as store:
                recorded = dict(store.recorded_steps("r6"))
        assert list(recorded) == ["h01"]  # patch is recorded while reboot still runs
    finally:
        release.set()
        worker.join()


# ----------------------------------------------------------------------------- the store's step journal


# on SQLite here; tests/integration/test_steps_postgres.py runs the same tests on the lab's PostgreSQL
@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    from opsctl.core.state import StateStore

    url = f"sqlite:///{tmp_path / 'steps.db'}"
    with StateStore(url) as opened:
        opened.begin_run("r1", "patch", "patch all", "web", "alice")
        yield opened


def record(step: str, position: int, outcome: str = "ok", **extra: object):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from opsctl.core.state import StepRecord

    fields: dict[str, object] = {"step": step, "position": position, "outcome": outcome, "changed": False,
                                 "duration_seconds": 0.5, "stdout": "", "stderr": "", "error": None,
                                 "finished_at": datetime(2026, 12, 1, 3, 0, tzinfo=UTC)}
    return StepRecord(**{**fields, **extra})  # type: ignore[arg-type]


def test_recorded_steps_round_trip_in_position_order(store) -> None:  # type: ignore[no-untyped-def]
    from opsctl.core.state import HostResult as StoredHost

    store.record_steps("r1", {"web1": [record("patch", 1, "changed", changed=True, stdout="1 upgraded\n",
                                              stderr="W: é\n"), record("precheck", 0)],
                              "web2": [record("precheck", 0, "failed", error="web2: disk full")]},
                       [StoredHost("web2", "failed", 1, 0.5, "web2: disk full")])
    steps = store.recorded_steps("r1")
    assert [s.step for s in steps["web1"]] == ["precheck", "patch"]
    patch = steps["web1"][1]
    assert (patch.outcome, patch.changed, patch.stdout, patch.stderr) == ("changed", True, "1 upgraded\n", "W: é\n")
    assert patch.finished_at.tzinfo is not None
    assert steps["web2"][0].error == "web2: disk full"
    assert [(h.host, h.outcome) for h in store.last_run("patch").hosts] == [("web2", "failed")]
    assert store.recorded_steps("other") == {}


def test_recording_a_step_again_replaces_it(store) -> None:  # type: ignore[no-untyped-def]
    store.record_steps("r1", {"web1": [record("reboot", 2, "failed", error="timed out")]})
    store.record_steps("r1", {"web1": [record("reboot", 2, "changed", changed=True)]})
    (reboot,) = store.recorded_steps("r1")["web1"]
    assert (reboot.outcome, reboot.error) == ("changed", None)


def test_unknown_step_outcomes_are_refused_before_anything_is_written(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="outcome must be one of"):
        store.record_steps("r1", {"web1": [record("a", 0), record("b", 1, "done")]})
    assert store.recorded_steps("r1") == {}


def test_resume_run_reopens_a_run_and_refuses_one_still_running(store) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from opsctl.core.errors import SafetyRefusal, UsageError
    from opsctl.core.owner import ProcessIdentity

    store.finish_run("r1", "interrupted")
    reopened = store.resume_run("r1", owner=ProcessIdentity.current())
    assert (reopened.kind, reopened.command, reopened.outcome) == ("patch", "patch all", "interrupted")
    assert store.last_run("patch").finished_at is None
    with pytest.raises(UsageError):
        store.resume_run("nope")

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        store.begin_run("r2", "patch", "patch all", "web", "alice", owner=ProcessIdentity.of_pid(sleeper.pid))
        with pytest.raises(SafetyRefusal, match=f"pid {sleeper.pid}"):
            store.resume_run("r2", owner=ProcessIdentity.current())
    finally:
        sleeper.kill()
        sleeper.wait()
    assert store.resume_run("r2", owner=ProcessIdentity.current()).run_id == "r2"  # its owner is gone


_KILLED_CONTROLLER = """
import sys, threading, time
from pathlib import Path
from opsctl.core.fleet import Outcome, Step, StepResult, run_steps
from opsctl.core.journal import RunJournal
from opsctl.core.settings import Settings

state, root = Path(sys.argv[1]), Path(sys.argv[2])
settings = Settings.model_validate({"state": {"dir": str(state)}})

def make(name):
    def run(host, context):
        with (root / host).open("a") as done:
            done.write(name + "\\n")
        if name == "reboot":
            time.sleep(600)  # the controller is killed here
        return StepResult(name, Outcome.CHANGED if name in ("patch", "reboot") else Outcome.OK)
    return Step(name, run)

journal = RunJournal(settings, run_id="killed", kind="patch", command="patch all", target="web")
run_steps(["h01", "h02", "h03"], [make(n) for n in ("precheck", "patch", "reboot", "postcheck")],
          name_of=str, journal=journal)
"""


def test_a_controller_killed_mid_run_resumes_without_redoing_recorded_steps(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import signal
    import subprocess
    import sys

    from opsctl.core.state import open_state

    root = tmp_path / "hosts"
    root.mkdir()
    controller = subprocess.Popen([sys.executable, "-c", _KILLED_CONTROLLER, str(settings.state_dir), str(root)])
    try:
        deadline = time.monotonic() + 20
        recorded: dict[str, tuple[object, ...]] = {}
        while time.monotonic() < deadline and len(recorded) < 3:
            time.sleep(0.2)
            if (settings.state_dir / "state.db").exists():
                with open_state(settings) as store:
                    recorded = dict(store.recorded_steps("killed"))
        assert sorted(recorded) == ["h01", "h02", "h03"] and all(len(s) == 2 for s in recorded.values())
    finally:
        controller.send_signal(signal.SIGKILL)  # the OOM killer: no cleanup of any kind
        controller.wait()
    assert executions(root) == {h: ["precheck", "patch", "reboot"] for h in ("h01", "h02", "h03")}

    resumed = run_steps(["h01", "h02", "h03"], file_steps(root), name_of=str,
                        journal=journal(settings, "killed", resume=True))
    assert resumed.exit_code == ExitCode.OK
    # precheck and patch were recorded: not redone; the reboot that was cut short runs again
    assert executions(root) == {h: ["precheck", "patch", "reboot", "reboot", "postcheck"] for h in ("h01", "h02", "h03")}
