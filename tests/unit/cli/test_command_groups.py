"""The root app registers the group a command names, alone; help and mistakes see every group. The console
script, one command a process, registers that group with the command it runs alone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from opsctl.cli.main import _GROUPS, _pruned, _requested, _subcommand

OPSCTL = str(Path(sys.executable).with_name("opsctl"))


@pytest.mark.parametrize(
    ("argv", "group"),
    [
        (["backup", "run", "his"], "backup"),
        (["-c", "/etc/opsctl/site.yaml", "backup", "run", "his", "--full"], "backup"),
        (["--config=/etc/opsctl/site.yaml", "-v", "drill", "run", "his"], "drill"),
        (["--verbose", "health", "--json"], "health"),
        (["-c", "backup"], None),  # "backup" is the configuration file's name here
        (["--help"], None),
        (["--version"], None),
        (["-x", "backup"], None),  # an option the root does not know: typer says so
        (["bakup", "run"], None),  # a mistake: typer's message lists every group
        ([], None),
    ],
)
def test_the_group_is_the_first_word_that_is_no_option_nor_an_options_value(argv: list[str],
                                                                            group: str | None) -> None:
    assert _requested(argv) == group


def _opsctl(*argv: str) -> subprocess.CompletedProcess[str]:
    """opsctl ``argv`` in a new interpreter, printing afterwards which command modules it imported."""
    code = (
        "import sys\n"
        "from opsctl.cli.main import main\n"
        f"code = main({list(argv)!r})\n"
        "print('MODULES', sorted(m for m in sys.modules if m.startswith('opsctl.cli.')))\n"
        "sys.exit(code)\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def _modules(done: subprocess.CompletedProcess[str]) -> list[str]:
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    return json.loads(line.removeprefix("MODULES ").replace("'", '"'))


def test_a_command_imports_its_own_group_and_no_other() -> None:
    done = _opsctl("backup", "run", "--help")
    assert done.returncode == 0, done.stderr
    assert "--full" in done.stdout
    modules = _modules(done)
    assert "opsctl.cli.backup" in modules
    assert not {"opsctl.cli.inventory", "opsctl.cli.health", "opsctl.cli.lab", "opsctl.cli.drill"} & set(modules)


def test_backup_keeps_its_schedule_group() -> None:
    done = _opsctl("backup", "schedule", "--help")
    assert done.returncode == 0, done.stderr
    assert "install" in done.stdout


def test_the_roots_help_lists_every_group() -> None:
    done = _opsctl("--help")
    assert done.returncode == 0, done.stderr
    listed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 2}
    assert set(_GROUPS) <= listed


def test_a_mistaken_group_is_a_usage_error_that_offers_the_right_one() -> None:
    done = _opsctl("bakup", "run")
    assert done.returncode == 2
    assert "bakup" in done.stderr
    assert "backup" in done.stderr  # the suggestion needs every group registered


def test_the_collector_is_off_for_the_start_only() -> None:
    """A daemon or a long scan must collect its cycles: the collector comes back after the start."""
    code = (
        "import gc, time\n"
        "from opsctl.cli.main import START_WITHOUT_GC_SECONDS, _start_without_gc\n"
        "_start_without_gc()\n"
        "print(gc.isenabled())\n"
        "time.sleep(START_WITHOUT_GC_SECONDS + 1.0)\n"
        "print(gc.isenabled())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True"]


@pytest.mark.parametrize(
    ("argv", "group", "command"),
    [
        (["backup", "run", "his"], "backup", "run"),
        (["-c", "backup", "backup", "status"], "backup", "status"),  # the first "backup" is the file's name
        (["backup", "--help"], "backup", None),
        (["backup"], "backup", None),
        (["-v", "drill", "schedule", "install"], "drill", "schedule"),
    ],
)
def test_the_command_is_the_word_after_its_group(argv: list[str], group: str, command: str | None) -> None:
    assert _subcommand(argv, group) == command


def _names(group: typer.Typer) -> set[str]:
    return {info.name or "" for info in group.registered_commands} | {info.name or "" for info in
                                                                     group.registered_groups}


def test_a_pruned_group_holds_its_one_command_and_leaves_the_group_whole() -> None:
    from opsctl.cli import backup

    everything = _names(backup.app)
    assert _names(_pruned(backup.app, "run")) == {"run"}
    assert _names(_pruned(backup.app, "offsite")) == {"offsite"}
    assert _pruned(backup.app, "nosuch") is backup.app  # typer's error then lists every command
    assert _names(backup.app) == everything and {"run", "status", "snapshots", "ls"} <= everything


def _console(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPSCTL, *argv], capture_output=True, text=True, timeout=120,
                          env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})


def test_the_console_script_runs_a_command_of_a_pruned_group_and_lists_the_whole_group_on_a_mistake() -> None:
    done = _console("backup", "run", "--help")
    assert done.returncode == 0, done.stderr
    assert "--full" in done.stdout
    schedule = _console("backup", "schedule", "--help")
    assert schedule.returncode == 0 and "install" in schedule.stdout
    mistake = _console("backup", "nosuch")
    assert mistake.returncode == 2 and "No such command 'nosuch'" in mistake.stderr
    whole = _console("backup", "--help")
    listed = {line.split()[1] for line in whole.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 2}
    assert {"run", "status", "restore", "snapshots", "ls", "schedule", "offsite"} <= listed
