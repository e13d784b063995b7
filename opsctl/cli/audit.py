"""opsctl audit: show the hash-chained audit log and verify its integrity."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output
from opsctl.core.errors import ExitCode

if TYPE_CHECKING:
    from rich.table import Table

    from opsctl.core.audit import AuditEntry, AuditLog

app = typer.Typer(no_args_is_help=True)

TARGETS_SHOWN = 3


def _open_audit(ctx: typer.Context) -> AuditLog:
    from opsctl.core.audit import open_audit

    return open_audit(app_context(ctx).settings)


def _shorten_targets(targets: tuple[str, ...]) -> str:
    shown = ", ".join(targets[:TARGETS_SHOWN])
    more = len(targets) - TARGETS_SHOWN
    return f"{shown} (+{more} more)" if more > 0 else shown


def _short_time(time: str) -> str:
    """Show a stored ISO 8601 UTC time to the second; leave anything unparseable as it is."""
    try:
        return datetime.fromisoformat(time).strftime("%Y-%m-%d %H:%M:%SZ")
    except ValueError:
        return time


def _entries_table(entries: list[AuditEntry]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold")
    for column in ("seq", "time", "operator", "command", "targets", "outcome"):
        table.add_column(
            column,
            justify="right" if column == "seq" else "left",
            no_wrap=column in ("seq", "time"),
        )
    for entry in entries:
        # Text, not str: a command such as "echo [red]" must not be read as rich markup
        table.add_row(
            Text(str(entry.seq)),
            Text(_short_time(entry.time)),
            Text(entry.operator),
            Text(entry.command),
            Text(_shorten_targets(entry.targets)),
            Text(entry.outcome),
        )
    return table


@app.command("log")
def log(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show the newest N entries.")
    ] = 50,
    json: JsonOption = False,
) -> None:
    """Show the newest entries of the audit log, oldest first."""
    output = make_output(json=json)
    entries = _open_audit(ctx).entries()[-limit:]
    if output.json:
        output.document("audit.log", {"entries": [entry.to_dict() for entry in entries]})
    elif not entries:
        output.info("the audit log is empty")
    else:
        output.stdout.print(_entries_table(entries))


@app.command("verify")
def verify(ctx: typer.Context, json: JsonOption = False) -> None:
    """Check every line's hash chain and the anchor; exit 1 if anything was tampered with."""
    output = make_output(json=json)
    audit = _open_audit(ctx)
    report = audit.verify()
    if output.json:
        output.document("audit.verify", {"path": audit.path, **report.to_dict()})
    elif report.ok:
        anchored = f", anchored at seq {report.anchor_seq}" if report.anchor_seq is not None else ""
        output.stdout.print(f"audit log OK: {report.entries} entries{anchored}", highlight=False)
    else:
        for problem in report.problems:
            output.stdout.print(
                f"line {problem.line}: {problem.message}", highlight=False, markup=False
            )
        output.stderr.print(
            f"audit log {audit.path} FAILED verification: {len(report.problems)} problem(s)",
            highlight=False,
            markup=False,
        )
    if not report.ok:
        raise typer.Exit(ExitCode.FAILED)
