"""opsctl health: the fleet at a glance, worst first; --watch, --json, --nagios."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output

if TYPE_CHECKING:
    from rich.console import Group
    from rich.text import Text

    from monitoring.health import HealthReport


def _problems(report: HealthReport) -> list[Text]:
    from opsctl.core.output import for_people

    problems = [for_people(f"error: {report.unreachable}", "red")] if report.unreachable else []
    return problems + [for_people(f"source {source} failed: {error}", "red")
                       for source, error in report.source_errors.items()]


def _view(report: HealthReport, width: int | None, *, with_problems: bool = False) -> Group:
    """The table and the counts; with ``with_problems`` (a live view, where stderr would tear it) what could not be read too."""
    from datetime import datetime

    from rich.console import Group
    from rich.text import Text

    from opsctl.cli.monitor import readings_table

    counts = ", ".join(f"{count} {state}" for state, count in report.counts.items() if count) or "nothing read"
    when = datetime.fromtimestamp(report.generated_at).strftime("%H:%M:%S")
    table = readings_table(report.readings, width, f"health ({report.origin}, {when})", report.since,
                           report.generated_at)
    return Group(table, Text(counts), *(_problems(report) if with_problems else []))


def health(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Argument(help="A probe, host or device (a shell pattern).")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Redraw every --interval seconds until Ctrl-C "
                                                        "(a terminal only).")] = False,
    interval: Annotated[float, typer.Option(min=1, help="Seconds between redraws with --watch.")] = 5.0,
    nagios: Annotated[bool, typer.Option("--nagios", help="Print one Nagios status line; exit 0/1/2/3.")] = False,
    json_output: JsonOption = False,
) -> None:
    """The fleet at a glance, worst first: every probe, host agent and (with the poller) device."""
    from monitoring.health import fleet_health

    context = app_context(ctx)
    out = make_output(json_output)
    if watch:
        _refuse_watch(out.json, nagios, out.stdout.is_terminal)
        import time

        from rich.live import Live

        with Live(console=out.stdout, auto_refresh=False) as live:
            while True:  # until Ctrl-C: the CLI's handler exits 130, Live has put the cursor back
                live.update(_view(fleet_health(context.settings, target), out.stdout.width, with_problems=True),
                            refresh=True)
                time.sleep(interval)
    report = fleet_health(context.settings, target)
    if nagios:
        out.stdout.out(report.nagios_line(), highlight=False)
    elif out.json:
        out.document("health", report.to_dict())
    else:
        out.stdout.print(_view(report, out.stdout.width))
        for problem in _problems(report):
            out.stderr.print(problem, highlight=False)
    raise typer.Exit(report.exit_code_for(nagios))


def _refuse_watch(json_output: bool, nagios: bool, terminal: bool) -> None:
    """``--watch`` redraws a terminal: with ``--json``, ``--nagios`` or output that is no terminal it is a usage error."""
    from opsctl.core.errors import UsageError

    if json_output or nagios:
        raise UsageError(f"--watch redraws a terminal and does not go with {'--json' if json_output else '--nagios'}",
                         hint="run it without --watch, once per check")
    if not terminal:
        raise UsageError("--watch redraws a terminal, and the output is not one",
                         hint="run without --watch (or --json) when the output goes to a file or a pipe")
