"""The policies' schedules as systemd timers: ``opsctl backup schedule install`` and ``opsctl drill
schedule install`` over :mod:`backup.schedule`.

A backup policy's ``schedule.full`` and ``schedule.incremental`` become one timer each; its
``drill_schedule`` becomes the drill's timer. The services run the installed ``opsctl`` (the
one next to this Python, else the one on PATH) with the configuration file given, and may
write only the state directory, the textfile directory, local repositories and (drills) the
scratch directory.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from backup.schedule import (
    SYSTEMD_UNIT_DIR,
    InstallReport,
    Job,
    ScheduleError,
    install_units,
    render_units,
)
from backup.settings import backup_settings, policy, policy_names
from opsctl.core.errors import ConfigError

if TYPE_CHECKING:
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings


def installed_opsctl() -> Path:
    """The absolute path of the installed ``opsctl`` (beside this Python, else on PATH)."""
    beside = Path(sys.executable).parent / "opsctl"
    if beside.is_file():
        return beside.absolute()
    found = shutil.which("opsctl")
    if found is None:
        raise ScheduleError("no installed opsctl found (beside this Python or on PATH) for ExecStart")
    return Path(found).absolute()


def schedule_units(settings: Settings, job: Job, policies: Sequence[str] = (), *, config_path: Path | None,
                   opsctl_path: Path | None = None) -> dict[str, str]:
    """Every unit file the ``job`` schedules of ``policies`` (default: every policy that has one) need.

    Raise ConfigError for a named policy without a schedule of that job.
    """
    section = backup_settings(settings)
    names = tuple(policies) or policy_names(settings)
    program = opsctl_path or installed_opsctl()
    units: dict[str, str] = {}
    for name in names:
        chosen = policy(settings, name)
        writable = [settings.state_dir, section.textfile_dir]
        for repository in (chosen.repository, chosen.offsite):
            if repository is not None and section.repositories[repository].type == "local":
                writable.append(Path(section.repositories[repository].options["path"]))
        if job == "drill":
            if chosen.drill_schedule is None:
                if policies:
                    raise ConfigError(f"policy {name} has no drill_schedule",
                                      key_path=f"backup.policies.{name}.drill_schedule")
                continue
            if section.drill_workdir is not None:
                writable.append(section.drill_workdir)
            units.update(render_units("drill", name, on_calendar=chosen.drill_schedule, opsctl_path=program,
                                      config_path=config_path, read_write_paths=tuple(dict.fromkeys(writable))))
            continue
        kinds = [(kind, calendar) for kind, calendar in (("full", chosen.schedule.full),
                                                         ("incremental", chosen.schedule.incremental)) if calendar]
        if not kinds and policies:
            raise ConfigError(f"policy {name} has no schedule (full or incremental)",
                              key_path=f"backup.policies.{name}.schedule")
        for kind, calendar in kinds:
            units.update(render_units("backup", name, kind=kind, on_calendar=calendar,  # type: ignore[arg-type]
                                      opsctl_path=program, config_path=config_path,
                                      read_write_paths=tuple(dict.fromkeys(writable))))
    return units


def install_schedules(settings: Settings, job: Job, policies: Sequence[str] = (), *, recorder: Recorder,
                      directory: Path = SYSTEMD_UNIT_DIR, config_path: Path | None = None,
                      opsctl_path: Path | None = None) -> InstallReport:
    """Render, verify and install the ``job`` timers of ``policies``; audited when anything changed."""
    config = config_path.absolute() if config_path is not None else None  # ExecStart runs from /
    units = schedule_units(settings, job, policies, config_path=config, opsctl_path=opsctl_path)
    if not units:
        raise ConfigError(f"no policy has a {'drill_schedule' if job == 'drill' else 'schedule'} to install",
                          key_path="backup.policies")
    recorder.check()
    report = install_units(units, directory)
    if report.changed:
        recorder.record(f"{job} schedule install", sorted(units), "changed",
                        {"directory": str(directory), "written": list(report.written),
                         "commands": list(report.commands)})
    return report


__all__ = ["install_schedules", "installed_opsctl", "schedule_units"]
