"""opsctl audit: show the hash-chained audit log, verify its integrity, acknowledge a break."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output
from opsctl.core.output import for_people

if TYPE_CHECKING:
    from rich.table import Table

    from opsctl.core.audit import AuditEntry, AuditLog, RunStatus
    from opsctl.core.output import Output

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


def _operator_cell(entry: AuditEntry) -> str:
    """The operator as recorded, with the real user beside a declared name that is not theirs."""
    actor = entry.actor
    if not actor or not actor.get("operator_declared_by"):
        return entry.operator
    real = actor.get("user") or f"uid {actor.get('uid')}"
    if real == entry.operator:
        return entry.operator
    return f"{entry.operator} (declared by {actor['operator_declared_by']}; ran as {real})"


def _entries_table(entries: list[AuditEntry], width: int | None = None) -> Table:
    from opsctl.cli.render import Column, fit_table

    # for_people: a command such as "echo [red]" or "printf '\\033]0;'" is data, not markup or control
    rows = [[
        for_people(str(entry.seq)),
        for_people(_short_time(entry.time)),
        for_people(_operator_cell(entry)),
        for_people(entry.command),
        for_people(_shorten_targets(entry.targets)),
        for_people(entry.outcome),
    ] for entry in entries]
    # targets and operators break only between names, so each stays whole; the command folds; on a
    # narrow terminal the time drops first, then the operator
    columns = [Column("seq", "no", justify="right"), Column("time", "no", drop=2),
               Column("operator", "words", drop=1), Column("command"), Column("targets", "words"),
               Column("outcome", "no")]
    return fit_table(width, columns, rows, boxed=False, header_style="bold")


def _show_runs(output: Output, runs: list[RunStatus]) -> None:
    """Runs begun and not ended, on stderr: a dead owner as a warning, the others as notes."""
    for status in runs:
        if status.alive is False:
            output.warn(status.describe())
        else:
            output.info(for_people(status.describe()))


@app.command("log")
def log(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show the newest N entries.")
    ] = 50,
    json: JsonOption = False,
) -> None:
    """Show the newest entries of the audit log, oldest first, and runs that began and never ended."""
    output = make_output(json=json)
    listing = _open_audit(ctx).listing(limit)
    if output.json:
        output.document("audit.log", listing.to_dict())
        return
    if not listing.entries:
        output.info("the audit log is empty")
    else:
        output.stdout.print(_entries_table(listing.entries, output.stdout.width))
    _show_runs(output, listing.unfinished_runs)


@app.command("verify")
def verify(ctx: typer.Context, json: JsonOption = False) -> None:
    """Check every line's hash chain and the anchor; exit 1 if anything was tampered with.

    Runs that began and never ended are listed too; one whose owner died is a warning, not a
    failure (the chain is intact): `opsctl audit acknowledge` records it and ends it.
    """
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
                for_people(f"line {problem.line}: {problem.message}"), highlight=False
            )
        output.stderr.print(
            for_people(
                f"audit log {audit.path} FAILED verification: {len(report.problems)} problem(s)"
            ),
            highlight=False,
        )
    if not output.json:
        for acknowledged in report.acknowledged:
            output.stdout.print(
                for_people(
                    f"line {acknowledged.line}: acknowledged at seq {acknowledged.seq}: "
                    f"{acknowledged.message}"
                ),
                highlight=False,
            )
        for note in report.notes:
            output.stderr.print(for_people(f"note: {note}"), highlight=False)
        _show_runs(output, report.unfinished_runs)
    raise typer.Exit(int(report.exit_code))


@app.command("acknowledge")
def acknowledge(
    ctx: typer.Context,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: recorded in the acknowledgement entry.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Record a reported break of the audit log (and runs whose owner died) in the log; re-anchor.

    The entry says what was found (the anchor and the tail seen, every problem verify
    reports); appends go on after it, and verify lists those problems as acknowledged. Lines
    are never rewritten. Refused when there is nothing to acknowledge.
    """
    output = make_output(json=json)
    audit = _open_audit(ctx)
    done = audit.acknowledge(reason)
    if output.json:
        output.document("audit.acknowledge", {"path": audit.path, **done.to_dict()})
        return
    found = [done.found] if done.found else []
    found += [f"line {problem.line}: {problem.message}" for problem in done.problems]
    found += [status.describe() for status in done.runs_ended]
    for item in dict.fromkeys(found):
        output.stdout.print(for_people(f"found: {item}"), highlight=False)
    output.stdout.print(
        for_people(
            f"acknowledged at seq {done.entry.seq}; the audit log {audit.path} is anchored there"
        ),
        highlight=False,
    )
