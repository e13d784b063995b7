"""opsctl backup schedule / opsctl drill schedule: install the policies' systemd timers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output

if TYPE_CHECKING:
    from backup.schedule import InstallReport, Job


def _install(ctx: typer.Context, job: Job, policies: list[str] | None, directory: Path | None,
             json_output: bool) -> None:
    from backup.schedule import SYSTEMD_UNIT_DIR
    from backup.timers import install_schedules

    context = app_context(ctx)
    report = install_schedules(context.settings, job, policies or (), recorder=context.recorder,
                               directory=directory or SYSTEMD_UNIT_DIR, config_path=context.config_file)
    out = make_output(json_output)
    if out.json:
        out.document(f"{job}-schedule", _document(report))
    else:
        out.stdout.print(report.summary(), highlight=False)
        if report.commands and not report.ran_commands:
            out.stderr.print("systemd is not running here; to enable the timers run:", highlight=False)
            for command in report.commands:
                out.stderr.print(f"  {command}", highlight=False)
    raise typer.Exit(0)


def _document(report: InstallReport) -> dict[str, object]:
    return {"directory": str(report.directory), "written": list(report.written),
            "unchanged": list(report.unchanged), "timers": list(report.timers),
            "commands": list(report.commands), "ran_commands": report.ran_commands}


PoliciesArgument = Annotated[list[str] | None, typer.Argument(help="Policies (default: every one with a schedule).")]
DirectoryOption = Annotated[Path | None, typer.Option("--directory", help="Where the units go (/etc/systemd/system).")]

backup_app = typer.Typer(no_args_is_help=True)
drill_app = typer.Typer(no_args_is_help=True)


@backup_app.command("install")
def install_backup(ctx: typer.Context, policies: PoliciesArgument = None, directory: DirectoryOption = None,
                   json_output: JsonOption = False) -> None:
    """Write and verify the timers of the policies' full and incremental runs (enabled where systemd runs)."""
    _install(ctx, "backup", policies, directory, json_output)


@drill_app.command("install")
def install_drill(ctx: typer.Context, policies: PoliciesArgument = None, directory: DirectoryOption = None,
                  json_output: JsonOption = False) -> None:
    """Write and verify the timers of the policies' drills (drill_schedule)."""
    _install(ctx, "drill", policies, directory, json_output)
