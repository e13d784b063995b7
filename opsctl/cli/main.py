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


# Each entry of the root app, by name: its module is opsctl.cli.NAME, the text its help line.
_GROUPS: dict[str, str] = {
    "hosts": "Enrol, import, forget and list SSH host keys.",
    "run": "Run one command across the hosts a pattern matches.",
    "inventory": "Discover devices (SNMP, SSH, switch CLIs), their history and drift; import and export.",
    "audit": "Show, verify and acknowledge breaks of the hash-chained audit log.",
    "agent": "Install opsctl-agent on hosts over SSH; show each agent's version and whether it answers.",
    "lab": "Start, stop and inspect the simulated data centre.",
    "state": "Create the state store where the configuration says.",
    "backup": "Run backup policies (restic) and show their status.",
    "drill": "Restore drills with measured RTO and RPO, and their reports.",
    "monitor": "Run the probes as a daemon serving Prometheus metrics, or once.",
    "health": "The fleet at a glance, worst first (--watch, --json, --nagios).",
}
_COMMANDS = frozenset({"run", "health"})  # entries that are one command (the module's function of that name)
_SCHEDULED = ("backup", "drill")  # groups with a `schedule` subgroup (opsctl.cli.schedule)
# the root's options: those that take a value, so that value is not taken for a group's name
_VALUE_OPTIONS = ("-c", "--config")
_FLAG_OPTIONS = ("-v", "--verbose")


def _requested(argv: list[str]) -> str | None:
    """The command group ``argv`` names, or None (none named, help, or an option not known here)."""
    args = iter(argv)
    for arg in args:
        if arg in _VALUE_OPTIONS:
            next(args, None)
        elif arg.startswith("--config=") or arg in _FLAG_OPTIONS:
            continue
        elif arg.startswith("-"):
            return None  # --help, --version or a mistake: typer answers with every group listed
        else:
            return arg if arg in _GROUPS else None
    return None


def _subcommand(argv: list[str], group: str) -> str | None:
    """The word after ``group`` in ``argv`` when it names a command (not an option such as --help), else None."""
    args = iter(argv)
    for arg in args:
        if arg in _VALUE_OPTIONS:
            next(args, None)
        elif arg == group:
            following = next(args, None)
            return following if following is not None and not following.startswith("-") else None
    return None


def _pruned(group: typer.Typer, command: str) -> typer.Typer:
    """``group`` holding its command (or subgroup) named ``command`` alone; ``group`` itself when none is so named.

    typer builds the click command of every command in a group, about 1 ms each (the backup group's
    fourteen took 13 ms of each start); a process that runs one command builds that one. An unknown
    name keeps the whole group, so typer's error lists every command.
    """
    import copy

    def name_of(info: typer.models.CommandInfo) -> str:
        if info.name:
            return info.name
        return info.callback.__name__.replace("_", "-") if info.callback is not None else ""

    commands = [info for info in group.registered_commands if name_of(info) == command]
    groups = [info for info in group.registered_groups if info.name == command]
    if not commands and not groups:
        return group
    pruned = copy.copy(group)  # the group's settings (help, callback) shared; its lists replaced, not changed
    pruned.registered_commands = commands
    pruned.registered_groups = groups
    return pruned


def _register(only: str | None = None, command: str | None = None) -> None:
    """Add the command groups to the root app: ``only`` that one, else every one.

    Importing every group's module and building its commands cost 15-20 ms at each start, so
    a command registers its own group alone; help and unknown names see them all. ``command``
    (the console script's, which runs one command a process) registers the group with that
    command alone (:func:`_pruned`).
    """
    import importlib

    names = [only] if only is not None else list(_GROUPS)
    registered = {info.name for info in app.registered_groups} | {info.name for info in app.registered_commands}
    for name in names:
        if name in registered:
            continue
        module = importlib.import_module(f"opsctl.cli.{name}")
        if name in _COMMANDS:
            app.command(name, help=_GROUPS[name])(getattr(module, name))
            continue
        if name in _SCHEDULED:
            from opsctl.cli import schedule

            group = schedule.backup_app if name == "backup" else schedule.drill_app
            if not any(info.name == "schedule" for info in module.app.registered_groups):
                module.app.add_typer(group, name="schedule", help=f"Install the {name}s' systemd timers.")
        whole: typer.Typer = module.app
        app.add_typer(_pruned(whole, command) if command is not None and only is not None else whole, name=name,
                      help=_GROUPS[name])


# How long a command's start runs without the cyclic garbage collector (see _start_without_gc).
START_WITHOUT_GC_SECONDS = 1.5


def _start_without_gc() -> None:
    """Switch the cyclic collector off for the start of the command, and on again after it.

    A command's start is mostly imports (SQLAlchemy, pydantic, the settings' models): objects
    that live as long as the process, which the collector would walk again and again while they
    are made, about 5% of ``backup run``'s time before restic starts. After
    START_WITHOUT_GC_SECONDS (a command's imports take under one second here) the collector
    runs as usual, so a daemon or a long scan collects its cycles as ever. (Nothing is frozen:
    a cycle alive at that moment, a scan's request in flight, would never be collected.)
    """
    import gc
    import threading

    gc.disable()
    timer = threading.Timer(START_WITHOUT_GC_SECONDS, gc.enable)
    timer.name = "opsctl-gc-on"
    timer.daemon = True
    timer.start()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and, as a console script, exit with) the exit code."""
    from opsctl.cli.errors import run_app

    if argv is None:  # the console script; a test calling main() keeps its collector as it is
        _start_without_gc()
    args = sys.argv[1:] if argv is None else argv
    group = _requested(args)
    # one command a process: the console script builds its own command alone; a test's main() calls, several
    # in one process, keep whole groups
    _register(group, _subcommand(args, group) if argv is None and group is not None else None)
    code = run_app(app, args)
    if argv is None:
        # Everything is written and closed by now. Skip the interpreter's teardown: paramiko's
        # transport threads and tens of thousands of objects cost 0.1-0.2 s at 50 hosts.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BrokenPipeError, ValueError):  # a reader that went away (| head)
                stream.flush()
        os._exit(code)
    return code
