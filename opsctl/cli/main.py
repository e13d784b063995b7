"""The ``opsctl`` entry point: the root app, its command groups, and error-to-exit mapping."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from opsctl import __version__
from opsctl.cli.common import AppContext

app = typer.Typer(
    name="opsctl",
    help="Operations toolkit for a hospital data centre.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"opsctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Configuration file (over system and user files).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks of unexpected errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """opsctl: inventory, fleet commands, monitoring, backups, drills and patching."""
    ctx.obj = AppContext(config_file=config, verbose=verbose)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    if app.registered_groups:
        return
    from opsctl.cli import (
        agent,
        audit,
        backup,
        drill,
        health,
        hosts,
        inventory,
        lab,
        monitor,
        run,
        schedule,
        state,
    )

    app.add_typer(hosts.app, name="hosts", help="Enrol, import, forget and list SSH host keys.")
    app.command("run", help="Run one command across the hosts a pattern matches.")(run.run)
    app.add_typer(inventory.app, name="inventory", help="Discover devices (SNMP, SSH, switch CLIs), their history and drift; import and export.")
    app.add_typer(audit.app, name="audit", help="Show, verify and acknowledge breaks of the hash-chained audit log.")
    app.add_typer(agent.app, name="agent", help="Install opsctl-agent on hosts over SSH; show each agent's version and whether it answers.")
    app.add_typer(lab.app, name="lab", help="Start, stop and inspect the simulated data centre.")
    app.add_typer(state.app, name="state", help="Create the state store where the configuration says.")
    app.add_typer(backup.app, name="backup", help="Run backup policies (restic) and show their status.")
    app.add_typer(drill.app, name="drill", help="Restore drills with measured RTO and RPO, and their reports.")
    app.add_typer(monitor.app, name="monitor", help="Run the probes as a daemon serving Prometheus metrics, or once.")
    app.command("health", help="The fleet at a glance, worst first (--watch, --json, --nagios).")(health.health)
    backup.app.add_typer(schedule.backup_app, name="schedule", help="Install the backups' systemd timers.")
    drill.app.add_typer(schedule.drill_app, name="schedule", help="Install the drills' systemd timers.")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and, as a console script, exit with) the exit code."""
    from opsctl.cli.errors import run_app

    _register()
    code = run_app(app, sys.argv[1:] if argv is None else argv)
    if argv is None:
        # Everything is written and closed by now. Skip the interpreter's teardown: paramiko's
        # transport threads and tens of thousands of objects cost 0.1-0.2 s at 50 hosts.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BrokenPipeError, ValueError):  # a reader that went away (| head)
                stream.flush()
        os._exit(code)
    return code
