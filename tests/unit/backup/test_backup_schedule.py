"""Backup and drill schedules as systemd units: names, content, calendars, install and removal,
checked against the real ``systemd-escape``, ``systemd-analyze calendar`` and ``verify``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from backup.schedule import (
    ScheduleError,
    check_calendar,
    install_units,
    parse_calendar_output,
    remove_units,
    render_units,
    systemd_escape,
    unit_stem,
)
from opsctl.core.errors import ConfigError, ExitCode

# the real installed opsctl: systemd-analyze verify insists that ExecStart exists
OPSCTL = Path(sys.executable).parent / "opsctl"
CONFIG = Path("/etc/opsctl/opsctl.yaml")

needs_systemd_tools = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or shutil.which("systemd-escape") is None,
    reason="systemd-analyze/systemd-escape missing (Debian package systemd)",
)


def backup_units(policy: str = "his-db", **options: object) -> dict[str, str]:
    arguments: dict[str, object] = {
        "kind": "full", "on_calendar": "Sun *-*-* 01:00:00", "opsctl_path": OPSCTL, "config_path": CONFIG,
    }
    arguments.update(options)
    return render_units("backup", policy, **arguments)  # type: ignore[arg-type]


def line_values(unit: str, key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith(f"{key}=")]


# -- names ---------------------------------------------------------------------------------------


@needs_systemd_tools
@pytest.mark.parametrize(
    "name", ["his db", "pacs.ä", ".hidden", "a_b:c.d", "-dash", "100%", "x\\y", "tab\tin", "ünïcödé-名前"]
)
def test_escaping_matches_the_real_systemd_escape(name: str) -> None:
    real = subprocess.run(["systemd-escape", "--", name], capture_output=True, text=True, check=True)
    assert systemd_escape(name) == real.stdout.strip()


def test_plain_policy_names_stay_as_they_are_and_odd_ones_are_escaped() -> None:
    assert set(backup_units("his-db")) == {"opsctl-backup-his-db-full.service", "opsctl-backup-his-db-full.timer"}
    assert set(backup_units("his db")) == {
        "opsctl-backup-his\\x20db-full.service", "opsctl-backup-his\\x20db-full.timer"}
    # an escaped name always holds a backslash, so it never meets a plain one
    assert unit_stem("backup", "a-b", "full") != unit_stem("backup", "a\\x2db", "full")


@pytest.mark.parametrize("policy", ["", "a/b", "his\n[Service]\nExecStartPre=/bin/rm -rf /"])
def test_names_that_cannot_name_a_unit_are_refused(policy: str) -> None:
    with pytest.raises(ScheduleError, match=r"policy|name"):
        backup_units(policy)


# -- content -------------------------------------------------------------------------------------


def test_full_and_incremental_of_one_policy_are_two_timers_running_the_right_command() -> None:
    full = backup_units(kind="full", on_calendar="Sun *-*-* 01:00:00")
    incremental = backup_units(kind="incremental", on_calendar=["Mon..Sat *-*-* 01:00:00", "*-*-* 13:00:00"])

    assert set(full).isdisjoint(incremental)
    full_service = full["opsctl-backup-his-db-full.service"]
    incremental_service = incremental["opsctl-backup-his-db-incremental.service"]
    assert line_values(full_service, "ExecStart") == [f"{OPSCTL} --config {CONFIG} backup run his-db --full"]
    assert line_values(incremental_service, "ExecStart") == [f"{OPSCTL} --config {CONFIG} backup run his-db"]
    assert line_values(full_service, "Type") == ["oneshot"]
    timer = incremental["opsctl-backup-his-db-incremental.timer"]
    assert line_values(timer, "OnCalendar") == ["Mon..Sat *-*-* 01:00:00", "*-*-* 13:00:00"]
    assert line_values(timer, "Persistent") == ["true"]
    assert line_values(timer, "WantedBy") == ["timers.target"]


def test_a_drill_unit_runs_the_drill_with_its_extra_arguments_and_no_backup_niceness() -> None:
    units = render_units("drill", "his-db", on_calendar="monthly", opsctl_path=OPSCTL, config_path=None,
                         extra_args=("--from", "offsite"))
    service = units["opsctl-drill-his-db.service"]
    assert line_values(service, "ExecStart") == [f"{OPSCTL} drill run his-db --from offsite"]
    assert line_values(service, "Nice") == []
    assert line_values(service, "TimeoutStartSec") == ["4h"]
    assert "opsctl-drill-his-db.timer" in units


def test_the_service_is_hardened_and_writes_only_where_it_is_told() -> None:
    service = backup_units(read_write_paths=[Path("/var/lib/opsctl"), Path("/srv/restic repo")],
                           user="backup")["opsctl-backup-his-db-full.service"]
    for setting in ("NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectSystem=strict", "Nice=10",
                    "IOSchedulingClass=idle", "TimeoutStartSec=6h", "User=backup"):
        assert setting in service.splitlines()
    assert line_values(service, "ReadWritePaths") == ["-/var/lib/opsctl", '"-/srv/restic repo"']

    unconfined = backup_units()["opsctl-backup-his-db-full.service"]
    assert line_values(unconfined, "ProtectSystem") == ["full"]
    assert line_values(unconfined, "ReadWritePaths") == []


def test_specifiers_variables_and_quotes_in_arguments_are_escaped() -> None:
    service = backup_units('his "db" 100%$HOME', config_path=Path("/etc/opsctl 2/o.yaml"))[
        "opsctl-backup-his\\x20\\x22db\\x22\\x20100\\x25\\x24HOME-full.service"]
    assert line_values(service, "ExecStart") == [
        f'{OPSCTL} --config "/etc/opsctl 2/o.yaml" backup run "his \\"db\\" 100%%$$HOME" --full']


def test_a_policy_named_like_an_option_is_passed_after_a_double_dash() -> None:
    service = backup_units("-x")["opsctl-backup-\\x2dx-full.service"]
    assert line_values(service, "ExecStart")[0].endswith("backup run --full -- -x")


# -- calendars -----------------------------------------------------------------------------------


@needs_systemd_tools
def test_valid_calendars_are_read_as_systemd_reads_them() -> None:
    checks = check_calendar("his-db", ["daily", "Mon..Fri 02:30"])
    assert [(c.expression, c.normalized) for c in checks] == [
        ("daily", "*-*-* 00:00:00"), ("Mon..Fri 02:30", "Mon..Fri *-*-* 02:30:00")]
    assert all(c.next_elapse.endswith(" UTC") for c in checks)


@needs_systemd_tools
@pytest.mark.parametrize("expression", ["bogus 99", "Mon..Fri 25:00", "-*-* 1:00"])
def test_a_bad_calendar_is_one_line_naming_the_policy_and_the_expression(expression: str) -> None:
    with pytest.raises(ConfigError) as raised:
        check_calendar("his-db", ["daily", expression])
    message = str(raised.value)
    assert "\n" not in message
    assert "policy his-db" in message and repr(expression) in message
    assert raised.value.exit_code == ExitCode.USAGE


def test_calendar_output_is_parsed_per_expression() -> None:
    text = (Path(__file__).parents[2] / "fixtures/drill/systemd-analyze-calendar.txt").read_text(encoding="utf-8")
    assert parse_calendar_output(text) == [
        ("*-*-* 00:00:00", "Sun 2026-12-06 00:00:00 UTC"),
        ("Mon..Fri *-*-* 02:30:00", "Mon 2026-12-07 02:30:00 UTC"),
    ]


# -- install and remove --------------------------------------------------------------------------


@needs_systemd_tools
def test_install_writes_verified_units_and_a_second_install_changes_nothing(tmp_path: Path) -> None:
    units = backup_units("his db", read_write_paths=[tmp_path]) | backup_units(
        "his db", kind="incremental", on_calendar="Mon..Sat 01:00")
    drill = render_units("drill", "his db", on_calendar=["monthly", "Sat *-*-01..07 04:00"], opsctl_path=OPSCTL,
                         config_path=CONFIG, extra_args=("--from", "offsite"), read_write_paths=[tmp_path / "drill"])

    first = install_units(units, tmp_path, systemd_running=False)
    assert sorted(first.written) == sorted(units) and first.changed
    assert install_units(drill, tmp_path, systemd_running=False).written == (
        "opsctl-drill-his\\x20db.service", "opsctl-drill-his\\x20db.timer")
    for name, content in units.items():
        assert (tmp_path / name).read_text(encoding="utf-8") == content
    assert first.commands == (
        "systemctl daemon-reload",
        "systemctl enable --now 'opsctl-backup-his\\x20db-full.timer' 'opsctl-backup-his\\x20db-incremental.timer'",
    )
    assert not first.ran_commands
    times = {name: (tmp_path / name).stat().st_mtime_ns for name in units}

    second = install_units(units, tmp_path, systemd_running=False)
    assert not second.changed and sorted(second.unchanged) == sorted(units)
    assert "nothing changed" in second.summary()
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in units} == times
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(units | drill)  # no temporary file left


@needs_systemd_tools
def test_a_unit_verify_refuses_is_rolled_back_to_what_was_installed(tmp_path: Path) -> None:
    good = backup_units()
    install_units(good, tmp_path, systemd_running=False)
    # an unparsable OnCalendar only warns in systemd-analyze verify (and the timer never fires)
    bad = backup_units(on_calendar="Sun *-*-* 01:00:00") | {
        "opsctl-backup-his-db-full.timer": good["opsctl-backup-his-db-full.timer"].replace(
            "OnCalendar=Sun *-*-* 01:00:00", "OnCalendar=bogus 99")}
    extra = backup_units(kind="incremental", on_calendar="daily")

    with pytest.raises(ScheduleError, match=r"verify refused.*opsctl-backup-his-db-full\.timer.*bogus 99"):
        install_units(bad | extra, tmp_path, systemd_running=False)
    assert {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()} == good


@needs_systemd_tools
def test_a_missing_opsctl_program_fails_verification(tmp_path: Path) -> None:
    units = backup_units(opsctl_path=tmp_path / "no-such-opsctl")
    with pytest.raises(ScheduleError, match="not executable"):
        install_units(units, tmp_path, systemd_running=False)
    assert list(tmp_path.iterdir()) == []


def test_a_timer_without_its_service_is_refused(tmp_path: Path) -> None:
    timer_only = {name: text for name, text in backup_units().items() if name.endswith(".timer")}
    with pytest.raises(ScheduleError, match="its service"):
        install_units(timer_only, tmp_path, verify=False, systemd_running=False)


def fake_systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A systemctl that records its arguments, first on PATH (systemd is not PID 1 here)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "systemctl.log"
    script = bin_dir / "systemctl"
    script.write_text(f'#!/bin/sh\necho "$*" >> {log}\n', encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return log


def test_where_systemd_runs_install_and_remove_enable_and_disable_the_timers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    log = fake_systemctl(tmp_path, monkeypatch)
    units_dir = tmp_path / "units"
    units_dir.mkdir()
    units = backup_units()

    installed = install_units(units, units_dir, verify=False, systemd_running=True)
    assert installed.ran_commands
    assert log.read_text(encoding="utf-8").splitlines() == [
        "daemon-reload", "enable --now opsctl-backup-his-db-full.timer"]

    log.unlink()
    removed = remove_units(list(units), units_dir, systemd_running=True)
    assert sorted(removed.removed) == sorted(units) and list(units_dir.iterdir()) == []
    assert log.read_text(encoding="utf-8").splitlines() == [
        "disable --now opsctl-backup-his-db-full.timer", "daemon-reload"]


def test_removing_units_already_gone_changes_nothing(tmp_path: Path) -> None:
    report = remove_units(list(backup_units()), tmp_path, systemd_running=False)
    assert not report.changed and report.commands == ()
    assert "nothing changed" in report.summary()
