"""opsctl backup: run a policy, show every policy's status, create a repository."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsctl.cli.common import JsonOption, app_context, make_output

if TYPE_CHECKING:
    from backup.runner import BackupProgress, BackupRunResult
    from backup.status import BackupStatusReport
    from opsctl.core.output import Output

app = typer.Typer(no_args_is_help=True)


class _ProgressView:
    """restic's status messages as a rich progress bar on stderr: files, bytes, rate, time left."""

    def __init__(self, out: Output) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                  TransferSpeedColumn(), TimeRemainingColumn(), console=out.stderr, transient=True)
        self._tasks: dict[str, Any] = {}
        self._out = out

    def __enter__(self) -> _ProgressView:
        if self._out.stderr.is_terminal:  # bars are for a person watching; a log gets the messages only
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress.live.is_started:
            self._progress.stop()

    def __call__(self, event: BackupProgress) -> None:
        from rich.markup import escape

        if event.message is not None:
            self._progress.console.print(f"[dim]{escape(event.step)}:[/] {escape(event.message)}", highlight=False)
            return
        status = event.status
        if status is None:
            return
        task = self._tasks.get(event.step)
        if task is None:
            task = self._tasks[event.step] = self._progress.add_task(event.step, total=None)
        files = f"{status.files_done}/{status.total_files} files" if status.total_files else f"{status.files_done} files"
        self._progress.update(task, description=f"{escape(event.step)} {files}",
                              completed=status.bytes_done, total=status.total_bytes or None)


def _render_run(out: Output, result: BackupRunResult) -> None:
    from rich.markup import escape

    from opsctl.core.output import for_people

    colour = {"ok": "green", "partial": "yellow"}.get(str(result.outcome), "red")
    out.stdout.print(
        f"[bold]{escape(result.policy)}[/] {result.kind} run {result.run_id}: [{colour}]{result.outcome}[/] "
        f"in {result.duration_seconds:.1f} s, +{result.bytes_added} bytes", highlight=False)
    for snapshot in result.snapshots:
        out.stdout.print(f"  {escape(snapshot.source):<24} {snapshot.snapshot_id[:8]}  "
                         f"+{snapshot.bytes_added} bytes, {snapshot.files} files", highlight=False)
    if result.check is not None:
        state = "no errors" if result.check.ok else f"{len(result.check.errors)} error(s)"
        out.stdout.print(f"  check --read-data-subset {result.check.read_data_subset}: {state}", highlight=False)
    for lock in result.removed_stale_locks:
        out.stderr.print(f"removed stale restic lock {lock[:8]} (its process is gone)", highlight=False)
    if result.error:
        out.stderr.print(for_people(f"error: {result.error}"), highlight=False)


@app.command("run")
def run(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="The policy to run (opsctl-state: the built-in one).")],
    full: Annotated[bool, typer.Option("--full", help="Re-read every file and read back part of the data.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Back up one policy now: incremental by default, full with --full."""
    from backup.runner import run_backup

    context = app_context(ctx)
    out = make_output(json_output)
    if out.json:
        result = run_backup(policy, settings=lambda: context.settings, full=full, recorder=context.recorder,
                            config_file=context.config_file)
        out.document("backup-run", result.to_dict())
    else:
        with _ProgressView(out) as view:
            result = run_backup(policy, settings=lambda: context.settings, full=full, recorder=context.recorder,
                                on_progress=view, config_file=context.config_file)
        _render_run(out, result)
    raise typer.Exit(result.exit_code)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}".removesuffix(".0") + unit
    return f"{seconds:.0f}s"


def _render_status(out: Output, report: BackupStatusReport) -> None:
    from rich.table import Table

    from opsctl.core.output import for_people

    table = Table(title="backup status", title_justify="left")
    table.add_column("policy", no_wrap=True)
    for column in ("last run", "snapshot", "age/RPO", "size", "check", "off-site"):
        table.add_column(column)
    for status in report.policies:
        run = status.last_run
        last_run = f"{run.outcome} {'full' if run.kind == 'full' else 'incr'}" if run else "never"
        snapshot = status.latest_snapshot.snapshot_id[:8] if status.latest_snapshot else "none"
        age_style = "green" if status.within_rpo else "red"
        age = f"[{age_style}]{_age(status.snapshot_age_seconds)}[/]/{_age(status.rpo_seconds)}"
        size = f"{status.repository_size_bytes / 1024**2:.1f} MiB" if status.repository_size_bytes is not None else "?"
        check = f"{status.last_check.outcome} {status.last_check.read_data_subset or ''}".strip() \
            if status.last_check else "never"
        offsite = "none" if status.offsite is None else status.offsite_status
        table.add_row(for_people(status.policy), last_run, snapshot, age, size, check, for_people(offsite))
    out.stdout.print(table)
    for status in report.policies:
        if status.last_run is not None and status.last_run.error:
            out.stderr.print(for_people(f"{status.policy}: last run: {status.last_run.error}"), highlight=False)
        for problem in status.problems:
            out.stderr.print(for_people(f"{status.policy}: {problem}"), highlight=False)


@app.command("status")
def status(
    ctx: typer.Context,
    policy: Annotated[str | None, typer.Argument(help="One policy (default: every policy).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Per policy: the last run, the newest good snapshot and its age against the RPO, size, last check."""
    from backup.status import backup_status

    context = app_context(ctx)
    report = backup_status(context.settings, policy)
    out = make_output(json_output)
    if out.json:
        out.document("backup-status", report.to_dict())
    else:
        _render_status(out, report)
    raise typer.Exit(report.exit_code)


@app.command("init")
def init(
    ctx: typer.Context,
    repository: Annotated[str, typer.Argument(help="The repository's name in backup.repositories.")],
    json_output: JsonOption = False,
) -> None:
    """Create a repository (restic init); one that exists already is left as it is."""
    from backup.runner import init_repository

    context = app_context(ctx)
    created = init_repository(context.settings, repository, recorder=context.recorder)
    out = make_output(json_output)
    if out.json:
        out.document("backup-init", {"repository": repository, "created": created})
    else:
        out.stdout.print(f"repository {repository}: {'created' if created else 'already there'}", highlight=False)
    raise typer.Exit(0)
