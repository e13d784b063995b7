"""``opsctl backup schedule install`` and ``opsctl drill schedule install``: the policies' calendars
as systemd units that ``systemd-analyze verify`` accepts, written once, audited."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backup.timers import schedule_units
from opsctl.cli.main import _register, app
from opsctl.core.config import load_settings
from opsctl.core.errors import ConfigError

CONFIG = """\
backup:
  textfile_dir: {tmp}/textfile
  repositories:
    local: {{type: local, path: {tmp}/repo, password: env:SOME_PASSWORD}}
  policies:
    his:
      paths: [{tmp}/data]
      repository: local
      schedule: {{full: "Sun *-*-* 01:00:00", incremental: "*-*-* 00/4:00:00"}}
      drill_schedule: "Sat *-*-* 03:00:00"
    pacs:
      paths: [{tmp}/data]
      repository: local
"""
OPSCTL = Path(sys.executable).with_name("opsctl")


def config(tmp_path: Path) -> Path:
    path = tmp_path / "opsctl.yaml"
    path.write_text(CONFIG.format(tmp=tmp_path))
    return path


def test_each_calendar_becomes_a_timer(tmp_path: Path) -> None:
    settings = load_settings(config(tmp_path), environ={"OPSCTL_STATE__DIR": str(tmp_path / "state")},
                             system_file=tmp_path / "none.yaml", user_file=tmp_path / "none2.yaml")
    backups = schedule_units(settings, "backup", config_path=tmp_path / "opsctl.yaml", opsctl_path=OPSCTL)
    assert sorted(backups) == ["opsctl-backup-his-full.service", "opsctl-backup-his-full.timer",
                               "opsctl-backup-his-incremental.service", "opsctl-backup-his-incremental.timer"]
    assert "OnCalendar=Sun *-*-* 01:00:00" in backups["opsctl-backup-his-full.timer"]
    assert f"ReadWritePaths=-{tmp_path}/repo" in backups["opsctl-backup-his-full.service"]
    drills = schedule_units(settings, "drill", config_path=None, opsctl_path=OPSCTL)
    assert sorted(drills) == ["opsctl-drill-his.service", "opsctl-drill-his.timer"]
    assert f"ExecStart={OPSCTL} drill run his" in drills["opsctl-drill-his.service"]
    with pytest.raises(ConfigError, match="policy pacs has no drill_schedule"):
        schedule_units(settings, "drill", ["pacs"], config_path=None, opsctl_path=OPSCTL)


def test_install_writes_verified_units_once_and_audits_it(tmp_path: Path) -> None:
    _register()
    units = tmp_path / "units"
    units.mkdir()
    environment = {"OPSCTL_STATE__DIR": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    runner = CliRunner()
    arguments = ["-c", str(config(tmp_path)), "drill", "schedule", "install", "--directory", str(units), "--json"]
    first = runner.invoke(app, arguments, env=environment)
    assert first.exit_code == 0, first.output
    document = json.loads(first.stdout)
    assert document["written"] == ["opsctl-drill-his.service", "opsctl-drill-his.timer"]
    assert document["commands"][-1] == "systemctl enable --now opsctl-drill-his.timer"
    again = runner.invoke(app, arguments, env=environment)
    assert again.exit_code == 0 and json.loads(again.stdout)["written"] == []
    backup = runner.invoke(app, ["-c", str(config(tmp_path)), "backup", "schedule", "install", "his",
                                 "--directory", str(units)], env=environment)
    assert backup.exit_code == 0, backup.output
    assert "wrote opsctl-backup-his-full.service" in backup.stdout
    audit = [json.loads(line)["command"] for line in (tmp_path / "state" / "audit.jsonl").read_text().splitlines()]
    assert audit == ["drill schedule install", "backup schedule install"]
