"""opsctl backup: run, copy off-site, status, prune, check and restore a policy; create a repository."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsctl.cli.common import JsonOption, app_context, make_output

if TYPE_CHECKING:
    from datetime import datetime

    from rich.table import Table
    from rich.text import Text

    from backup.runner import BackupProgress, BackupRunResult
    from backup.status import BackupStatusReport
    from opsctl.core.output import Output

app = typer.Typer(no_args_is_help=True)


class _ProgressView:
    """restic's status messages as a rich progress bar on stderr: files, bytes, rate, time left."""

    def __init__(self, out: Output) -> None:
        self._out = out
        self._progress: Any = None  # a rich Progress, made only for a terminal (its import costs 20 ms)
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> _ProgressView:
        if self._out.stderr_is_terminal:  # bars are for a person watching; a log gets the messages only
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                      TransferSpeedColumn(), TimeRemainingColumn(), console=self._out.stderr,
                                      transient=True)
            self._progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __call__(self, event: BackupProgress) -> None:
        # called while restic runs: nothing is imported here unless it is shown (opsctl.core.prefetch
        # may be importing rich in another thread meanwhile)
        if event.message is not None:
            from rich.markup import escape

            self._out.stderr.print(f"[dim]{escape(event.step)}:[/] {escape(event.message)}", highlight=False)
            return
        status = event.status
        if status is None or self._progress is None:
            return
        from rich.markup import escape  # imported with rich.progress already
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
        from opsctl.core import prefetch

        prefetch.later("rich.console", "rich.markup")  # the summary, printed once restic is done
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


def _mib(size: int | None) -> str:
    return f"{size / 1024**2:.1f} MiB" if size is not None else "?"


def _bytes(size: int | None) -> str:
    """A size in the unit that says it: bytes, KiB below a MiB, else MiB."""
    if size is None or size >= 1024**2:
        return _mib(size)
    return f"{size} bytes" if size < 1024 else f"{size / 1024:.1f} KiB"


def _count(number: int | None, noun: str) -> str:
    return f"? {noun}s" if number is None else f"{number} {noun}" + ("" if number == 1 else "s")


def _status_table(report: BackupStatusReport, width: int | None) -> Table:
    """Per policy: last run, local and off-site age against the RPO, sizes, last check and drill."""
    from opsctl.cli.render import Column, fit_table
    from opsctl.core.output import for_people

    rows: list[list[Text | str]] = []
    for status in report.policies:
        run = status.last_run
        last_run = f"{run.outcome} {'full' if run.kind == 'full' else 'incr'}" if run else "never"
        local = for_people(f"{_age(status.snapshot_age_seconds)}/{_age(status.rpo_seconds)}",
                           "green" if status.within_rpo else "red")
        if status.offsite is None:
            offsite = for_people("none")
        else:
            word = {"ok": _age(status.offsite_age_seconds), "copy failed": "failed",
                    "never copied": "never"}.get(status.offsite_status, status.offsite_status)
            offsite = for_people(word, "green" if status.offsite_within_rpo else "red")
        size = _mib(status.repository_size_bytes)
        if status.offsite is not None:
            size += f"\n{_mib(status.offsite_size_bytes)} S3" if status.offsite_size_bytes is not None else ""
        check = f"{status.last_check.outcome} {status.last_check.read_data_subset or ''}".strip() \
            if status.last_check else "never"
        drill = f"{status.last_drill.outcome} {_age(_since(status.last_drill.started_at))}" \
            if status.last_drill else "never"
        rows.append([for_people(status.policy), last_run, local, offsite, size, check, drill])
    columns = [Column("policy", "no"), Column("last run", "no"), Column("local/RPO", "no"),
               Column("off-site", "no"), Column("size", "no", drop=3), Column("check", "no", drop=1),
               Column("drill", "no", drop=2)]
    table = fit_table(width, columns, rows)
    table.title = "backup status"
    table.title_justify = "left"
    return table


def _since(moment: datetime) -> float:
    from datetime import UTC
    from datetime import datetime as clock

    return (clock.now(UTC) - moment).total_seconds()


def _render_status(out: Output, report: BackupStatusReport) -> None:
    from opsctl.core.output import for_people

    out.stdout.print(_status_table(report, out.stdout.width))
    for status in report.policies:
        if status.last_run is not None and status.last_run.error:
            out.stderr.print(for_people(f"{status.policy}: last run: {status.last_run.error}"), highlight=False)
        if status.last_copy is not None and status.last_copy.error:
            out.stderr.print(for_people(f"{status.policy}: last off-site copy: {status.last_copy.error}"),
                             highlight=False)
        for problem in (*status.problems, *([status.pacs_stopped] if status.pacs_stopped else [])):
            out.stderr.print(for_people(f"{status.policy}: {problem}"), highlight=False)
        for warning in status.offsite_warnings:
            out.stderr.print(for_people(f"{status.policy}: off-site {status.offsite}: {warning}"), highlight=False)


@app.command("status")
def status(
    ctx: typer.Context,
    policy: Annotated[str | None, typer.Argument(help="One policy (default: every policy).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Per policy: the last run, local and off-site snapshot age against the RPO, sizes, last check and drill."""
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


@app.command("copy")
def copy(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="The policy whose snapshots go to its off-site repository.")],
    timeout: Annotated[float | None, typer.Option(min=1, help="Stop a restic call after this many seconds "
                                                               "(default: a day).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Copy a policy's snapshots (and manifests) to its off-site repository (restic copy)."""
    from backup.offsite import copy_policy
    from opsctl.core.output import for_people

    context = app_context(ctx)
    result = copy_policy(context.settings, policy, store=None, recorder=context.recorder, timeout=timeout)
    out = make_output(json_output)
    if out.json:
        out.document("backup-copy", result.to_dict())
    else:
        newest = result.latest_offsite_snapshot.isoformat(timespec="seconds") if result.latest_offsite_snapshot \
            else "none"
        out.stdout.print(for_people(
            f"{result.policy}: copy {result.source_repository} -> {result.target_repository}: {result.outcome} in "
            f"{result.duration_seconds:.1f} s, {len(result.copied_snapshots)} new good snapshot(s), "
            f"{result.offsite_snapshots} off-site, newest good {newest}"), highlight=False)
        if result.error:
            out.stderr.print(for_people(f"error: {result.error}"), highlight=False)
    raise typer.Exit(result.exit_code)


offsite_app = typer.Typer(no_args_is_help=True, help="The off-site repository's place (an S3 bucket).")
app.add_typer(offsite_app, name="offsite")


@offsite_app.command("setup")
def offsite_setup(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="The policy whose off-site S3 bucket to set up.")],
    admin_access_key_id: Annotated[str, typer.Option(help="The admin's access key id, by reference (file:, env:).")],
    admin_secret_access_key: Annotated[str, typer.Option(help="The admin's secret key, by reference.")],
    retention_days: Annotated[int, typer.Option(min=1, help="Object lock's default retention in days.")],
    mode: Annotated[str, typer.Option(help="GOVERNANCE or COMPLIANCE.")] = "GOVERNANCE",
    noncurrent_expire_days: Annotated[int, typer.Option(min=0, help="Days after the retention that old "
                                                                    "versions expire.")] = 7,
    json_output: JsonOption = False,
) -> None:
    """Create or check the policy's off-site bucket: versioning, object lock, lifecycle rule."""
    from backup.offsite import setup_offsite
    from opsctl.core.output import for_people
    from opsctl.core.secrets import SecretRef

    context = app_context(ctx)
    report = setup_offsite(context.settings, policy, admin_access_key_id=SecretRef.parse(admin_access_key_id),
                           admin_secret_access_key=SecretRef.parse(admin_secret_access_key),
                           retention_days=retention_days, mode=mode.upper(),
                           noncurrent_expire_days=noncurrent_expire_days, recorder=context.recorder)
    out = make_output(json_output)
    if out.json:
        out.document("backup-offsite-setup", report.to_dict())
    else:
        for line in report.lines():
            out.stdout.print(for_people(line), highlight=False)
    raise typer.Exit(0)


WhereOption = Annotated[str, typer.Option("--from", "--on", help="local or offsite (the policy's repositories).")]


def _where(value: str) -> Any:
    from opsctl.core.errors import UsageError

    if value not in ("local", "offsite"):
        raise UsageError(f"--from {value!r}: expected local or offsite")
    return value


@app.command("prune")
def prune(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="The policy whose retention (keep) to apply.")],
    where: WhereOption = "local",
    json_output: JsonOption = False,
) -> None:
    """Apply the policy's retention to its snapshots (restic forget --prune)."""
    from backup.maintenance import prune_policy
    from opsctl.core.output import for_people

    context = app_context(ctx)
    result = prune_policy(context.settings, policy, store=None, recorder=context.recorder, where=_where(where))
    out = make_output(json_output)
    if out.json:
        out.document("backup-prune", result.to_dict())
    else:
        out.stdout.print(for_people(
            f"{result.policy} on {result.repository}: {result.outcome}, {len(result.removed_snapshots)} snapshot(s) "
            f"forgotten; {result.size_kind} size {_mib(result.size_before_bytes)} before, "
            f"{_mib(result.size_after_bytes)} after"), highlight=False)
        for note in result.notes:
            out.stdout.print(for_people(note), highlight=False)
        if result.error:
            out.stderr.print(for_people(f"error: {result.error}"), highlight=False)
    raise typer.Exit(result.exit_code)


@app.command("check")
def check(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="The policy whose repository to check.")],
    read_data_subset: Annotated[str | None, typer.Option(help="Read part n/m of the data (default: the next part "
                                                               "of the rotation).")] = None,
    where: WhereOption = "local",
    json_output: JsonOption = False,
) -> None:
    """Check a policy's repository and read back part of its data (restic check)."""
    from backup.maintenance import check_policy
    from opsctl.core.output import for_people

    context = app_context(ctx)
    result = check_policy(context.settings, policy, store=None, recorder=context.recorder,
                          read_data_subset=read_data_subset, where=_where(where))
    out = make_output(json_output)
    if out.json:
        out.document("backup-check", result.to_dict())
    else:
        found = "no errors" if result.outcome == "ok" else f"{len(result.errors)} error(s)"
        out.stdout.print(for_people(f"{result.policy} on {result.repository}: check --read-data-subset "
                                    f"{result.read_data_subset}: {found}"), highlight=False)
        for error in result.errors[:20]:
            out.stderr.print(for_people(f"  {error}"), highlight=False)
    raise typer.Exit(result.exit_code)


@app.command("restore")
def restore(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="The policy to restore from.")],
    target: Annotated[Path | None, typer.Option(help="Restore the paths into this new or empty directory.")] = None,
    database: Annotated[str | None, typer.Option(help="Restore the dump into this NEW database.")] = None,
    snapshot: Annotated[str | None, typer.Option(help="A snapshot id (default: the newest good one).")] = None,
    dump: Annotated[str | None, typer.Option(help="Which database's dump, when the policy has several.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Restore over a non-empty target or an existing "
                                                            "database.")] = False,
    include: Annotated[list[str] | None, typer.Option(help="With --target: only this path, as the snapshot holds "
                                                           "it (absolute; repeat for more).")] = None,
    where: WhereOption = "local",
    json_output: JsonOption = False,
) -> None:
    """Restore files (--target DIR) or a database (--database NAME); nothing is overwritten without --replace."""
    from backup.restore import restore_database, restore_files
    from opsctl.core.errors import UsageError
    from opsctl.core.output import for_people

    context = app_context(ctx)
    if (target is None) == (database is None):
        raise UsageError("give one of --target DIR or --database NAME")
    if include and target is None:
        raise UsageError("--include limits a files restore: give it with --target DIR")
    if target is not None:
        result = restore_files(context.settings, policy, target, store=None, recorder=context.recorder,
                               snapshot=snapshot, replace=replace, where=_where(where), include=include or ())
    else:
        result = restore_database(context.settings, policy, database or "", store=None, recorder=context.recorder,
                                  snapshot=snapshot, replace=replace, dump=dump, where=_where(where))
    out = make_output(json_output)
    if out.json:
        out.document("backup-restore", result.to_dict())
    else:
        what = f"{_count(result.files_restored, 'file')}, {_bytes(result.bytes_restored)}" \
            if result.kind == "files" else f"database on {result.server}"
        out.stdout.print(for_people(f"{result.policy}: snapshot {result.snapshot_id[:8]} from {result.repository} "
                                    f"restored into {result.target} ({what}) in {result.duration_seconds:.1f} s"
                                    + (", replacing what was there" if result.replaced else "")), highlight=False)
    raise typer.Exit(result.exit_code)


@app.command("snapshots")
def snapshots(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="The policy whose snapshots to list.")],
    where: WhereOption = "local",
    json_output: JsonOption = False,
) -> None:
    """List a policy's snapshots, newest first, and which its runs recorded good (restore --snapshot takes an id)."""
    from datetime import UTC

    from backup.snapshots import list_snapshots
    from opsctl.cli.render import Column, fit_table
    from opsctl.core.output import for_people

    context = app_context(ctx)
    listing = list_snapshots(context.settings, policy, where=_where(where))
    out = make_output(json_output)
    if out.json:
        out.document("backup-snapshots", listing.to_dict())
        raise typer.Exit(listing.exit_code)
    good = {True: for_people("yes", "green"), False: for_people("no", "yellow"), None: for_people("unknown")}
    rows: list[list[Text | str]] = [
        [for_people(entry.short_id), entry.taken_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
         for_people(entry.source), {"incremental": "incr"}.get(entry.kind or "-", entry.kind or "-"),
         good[entry.recorded_good], for_people(entry.run_id or "-")]
        for entry in listing.snapshots
    ]
    columns = [Column("snapshot", "no"), Column("taken (UTC)", "no"), Column("holds", "no"),
               Column("kind", "no", drop=1), Column("good", "no"), Column("run", "no", drop=2)]
    if rows:
        table = fit_table(out.stdout.width, columns, rows)
        table.title = f"{listing.policy} on {listing.repository}"
        table.title_justify = "left"
        out.stdout.print(table)
    else:
        out.stderr.print(for_people(f"{listing.policy}: no snapshot in repository {listing.repository}"),
                         highlight=False)
    if listing.state_error:
        out.stderr.print(for_people(f"which are recorded good is unknown: {listing.state_error}"), highlight=False)
    elif any(entry.recorded_good is False for entry in listing.snapshots):
        out.stderr.print(for_people("good: no = restic holds it and this state store has no run that recorded it "
                                    "good (a failed run's, or another controller's)"), highlight=False)
    raise typer.Exit(listing.exit_code)


@app.command("ls")
def ls(
    ctx: typer.Context,
    policy: Annotated[str, typer.Argument(help="The policy whose snapshot to list.")],
    paths: Annotated[list[str] | None, typer.Argument(help="Absolute paths in the snapshot (default: the "
                                                           "policy's paths).")] = None,
    snapshot: Annotated[str | None, typer.Option(help="A snapshot id (default: the newest good one).")] = None,
    recursive: Annotated[bool, typer.Option("--recursive", help="Everything below the paths, not only what "
                                                                "they hold directly.")] = False,
    where: WhereOption = "local",
    json_output: JsonOption = False,
) -> None:
    """List the files a snapshot holds, to name them in restore --include."""
    from datetime import UTC

    from backup.snapshots import list_files
    from opsctl.core.output import for_people

    context = app_context(ctx)
    listing = list_files(context.settings, policy, paths or (), snapshot=snapshot, recursive=recursive,
                         where=_where(where))
    out = make_output(json_output)
    if out.json:
        out.document("backup-ls", listing.to_dict())
        raise typer.Exit(listing.exit_code)
    out.stderr.print(for_people(f"{listing.policy}: snapshot {listing.snapshot_id[:8]} on {listing.repository}"),
                     highlight=False)
    for node in listing.nodes:
        size = _bytes(node.size) if node.size is not None else "-"
        when = node.mtime.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if node.mtime else "-"
        kind = {"file": "f", "dir": "d", "symlink": "l"}.get(node.type, "?")
        # the path last and whole: a long one wraps, it is never cut
        out.stdout.print(for_people(f"{kind} {size:>12} {when}  {node.path}"), highlight=False, overflow="fold")
    raise typer.Exit(listing.exit_code)
