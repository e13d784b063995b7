"""The run table for hosts of several steps, and the partial outcome, as people see them."""

from __future__ import annotations

import io

from rich.console import Console

from opsctl.cli.render import render_fleet
from opsctl.core.fleet import FleetResult, HostResult, Outcome, StepResult
from opsctl.core.output import Output


def _render(result: FleetResult) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    out = Output(_stdout=Console(file=stdout, width=200), _stderr=Console(file=stderr, width=200))
    render_fleet(out, "run", result.to_dict(), result)
    return stdout.getvalue(), stderr.getvalue()


def test_a_partial_host_of_several_steps_shows_where_it_stopped() -> None:
    steps = (StepResult("precheck", Outcome.OK, resumed=True), StepResult("patch", Outcome.CHANGED),
             StepResult("reboot", Outcome.FAILED, error="web1: did not come back"),
             StepResult("postcheck", Outcome.SKIPPED, error="not run: step reboot failed"))
    partial = HostResult.from_steps("web1", steps)
    done = HostResult.from_steps("web2", tuple(StepResult(s.name, Outcome.OK) for s in steps))
    table, summary = _render(FleetResult((partial, done), (("web1", "web2"),)))
    assert partial.outcome == Outcome.PARTIAL
    assert "2/4 reboot failed (1 resumed)" in table
    assert "4/4" in table
    assert "1 partial" in summary and "1 ok" in summary
    assert "partial: web1: did not come back (step reboot)" in summary


def test_a_one_step_run_keeps_its_table() -> None:
    one = HostResult("web1", Outcome.OK, 0, 0.1, "hello\n", steps=(StepResult("run", Outcome.OK, stdout="hello\n"),))
    table, _ = _render(FleetResult((one,), (("web1",),)))
    header = table.splitlines()[1]
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")] == ["host", "outcome", "exit", "time", "output"]
