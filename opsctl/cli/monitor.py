"""opsctl monitor: run the metric sources as a daemon (serve) or once, printed (once)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rich.table import Table
    from rich.text import Text

    from monitoring.sources import Reading

app = typer.Typer(no_args_is_help=True)

STATE_STYLE = {"ok": "green", "warning": "yellow", "critical": "red", "unknown": "magenta"}


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}".removesuffix(".0") + unit
    return f"{max(seconds, 0):.0f}s"


def readings_table(readings: list[Reading], width: int | None, title: str,
                   since: Mapping[str, float] | None = None, now: float = 0.0) -> Table:
    """State, target, kind and summary per reading, and with ``since`` how long each has been in its
    state (at ``now``); the target never cut, the summary wrapped."""
    from opsctl.cli.render import Column, fit_table
    from opsctl.core.output import for_people

    rows: list[list[Text | str]] = [[for_people(reading.state, STATE_STYLE.get(reading.state, "")), for_people(reading.target),
             for_people(reading.kind), for_people(reading.summary),
             *([_age(now - since[reading.target]) if reading.target in since else "-"] if since else [])]
            for reading in readings]
    columns = [Column("state", "no"), Column("target", "no"), Column("kind", "no", drop=2), Column("summary"),
               *([Column("for", "no", drop=1)] if since else [])]
    table = fit_table(width, columns, rows)
    table.title = title
    table.title_justify = "left"
    return table


@app.command("serve")
def serve(
    ctx: typer.Context,
    listen: Annotated[str | None, typer.Option(help="HOST:PORT for /metrics and /readings "
                                                    "(default: monitoring.listen).")] = None,
) -> None:
    """Run every probe (and, once merged, the SNMP poller) on its interval; serve /metrics and /readings."""
    from monitoring.daemon import serve as serve_sources

    context = app_context(ctx)
    raise typer.Exit(serve_sources(context.settings, listen))


@app.command("once")
def once(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Argument(help="A probe, host or device (a shell pattern).")] = None,
    prometheus: Annotated[bool, typer.Option("--prometheus", help="Print the Prometheus exposition format.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Collect every source once and print its readings (a table, --json, or --prometheus)."""
    from monitoring.daemon import monitor_once
    from opsctl.core.output import for_people

    context = app_context(ctx)
    result = monitor_once(context.settings, target)
    out = make_output(json_output)
    if out.json:
        out.document("monitor-once", {"readings": [reading.to_dict() for reading in result.readings],
                                      "source_errors": result.source_errors})
    elif prometheus:
        from monitoring.daemon import exposition

        out.stdout.out(exposition(result.families), highlight=False, end="")
    else:
        out.stdout.print(readings_table(result.readings, out.stdout.width, "monitor once"))
    for source, error in result.source_errors.items():
        out.stderr.print(for_people(f"source {source} failed: {error}"), highlight=False)
    raise typer.Exit(result.exit_code)
