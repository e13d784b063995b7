"""opsctl drill: run a restore drill of a policy, render the last drill's report."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output

if TYPE_CHECKING:
    from backup.drill import DrillResult
    from backup.report import DrillStep
    from opsctl.core.output import Output

app = typer.Typer(no_args_is_help=True)


class DrillSource(StrEnum):
    local = "local"
    offsite = "offsite"


class ReportFormat(StrEnum):
    md = "md"
    html = "html"


def _step_printer(out: Output) -> Callable[[DrillStep], None]:
    from rich.markup import escape

    def show(step: DrillStep) -> None:
        colour = "green" if step.passed else "red"
        out.stderr.print(f"[dim]{escape(step.name)}:[/] [{colour}]{step.outcome}[/] "
                         f"{step.duration_seconds:.1f} s  {escape(step.detail)}", highlight=False)

    return show


def _render(out: Output, result: DrillResult) -> None:
    from rich.markup import escape

    from backup.report import format_duration

    report = result.report
    colour = "green" if report.verdict == "passed" else "red"
    out.stdout.print(f"[bold]{escape(report.policy)}[/] drill {result.drill_id} from {report.source}: "
                     f"[{colour}]{report.verdict.upper()}[/], snapshot {report.snapshot_id}, "
                     f"{report.checks_passed}/{len(report.checks)} checks passed", highlight=False)
    for name, objective in (("RTO", report.rto), ("RPO", report.rpo)):
        measured = "not measured" if objective.measured_seconds is None else format_duration(objective.measured_seconds)
        target = "none" if objective.objective_seconds is None else format_duration(objective.objective_seconds)
        met = {True: "met", False: "[red]missed[/]", None: "-"}[objective.met]
        out.stdout.print(f"  {name} {escape(measured)} (objective {escape(target)}): {met}", highlight=False)
    for reason in report.reasons:
        out.stderr.print(f"  {escape(reason)}", highlight=False)


@app.command("run")
def run(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="The policy whose latest snapshot set is restored.")],
    source: Annotated[DrillSource, typer.Option("--from", help="The repository to restore from.")] = DrillSource.local,
    json_output: JsonOption = False,
) -> None:
    """Restore the policy's latest snapshots to scratch, verify them and start the services; RTO and RPO."""
    from backup.drill import drill_policy

    context = app_context(ctx)
    out = make_output(json_output)
    result = drill_policy(context.settings, policy, source=source.value, recorder=context.recorder,
                          on_step=None if out.json else _step_printer(out))
    if out.json:
        out.document("drill-run", result.to_dict())
    else:
        _render(out, result)
    raise typer.Exit(result.exit_code)


@app.command("report")
def report(
    ctx: typer.Context,
    policy: Annotated[str | None, typer.Argument(help="One policy (default: the last drill of any).")] = None,
    output_format: Annotated[ReportFormat, typer.Option("--format", help="Markdown or a self-contained HTML page.")]
    = ReportFormat.md,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file (default: stdout).")]
    = None,
) -> None:
    """The last drill's report, as an auditor reads it: what, from where, checks, steps, RTO and RPO."""
    from backup.drill import drill_report
    from backup.report import render_html, render_markdown

    context = app_context(ctx)
    found = drill_report(context.settings, policy)
    text = render_html(found) if output_format is ReportFormat.html else render_markdown(found)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        make_output().stderr.print(f"wrote {output}", highlight=False)
    raise typer.Exit(0 if found.verdict == "passed" else 1)
