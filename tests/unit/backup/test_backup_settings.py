"""The backup: section: validated like every section (file:line and key path), conf.d fragments merged, the built-in policy."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from backup.repositories import repository_for
from backup.settings import (
    BUILTIN_POLICY,
    backup_settings,
    check_calendar,
    parse_duration,
    policy,
    policy_names,
    subset_parts,
)
from opsctl.core.config import load_settings
from opsctl.core.errors import ConfigError
from opsctl.core.secrets import SecretRef

GOOD = """\
backup:
  textfile_dir: {tmp}/textfile
  repositories:
    local: {{type: local, path: {tmp}/repo, password: env:OPSCTL_TEST_RESTIC_PASSWORD}}
  policies:
    his:
      paths: [{tmp}/data]
      postgres:
        - {{host: 127.0.0.1, database: his, user: backup, password: env:PGPW, count_tables: [patients]}}
      repository: local
      schedule: {{full: "Sun *-*-* 01:00:00", incremental: "*-*-* 00/4:00:00"}}
      keep: {{daily: 7, weekly: 4}}
      objectives: {{rpo: 24h, rto: 4h}}
      full_read_data_subset: 5%
"""


def _load(tmp_path: Path, text: str, fragments: dict[str, str] | None = None) -> object:
    config = tmp_path / "opsctl.yaml"
    config.write_text(text, encoding="utf-8")
    for name, fragment in (fragments or {}).items():
        (tmp_path / "conf.d").mkdir(exist_ok=True)
        (tmp_path / "conf.d" / name).write_text(fragment, encoding="utf-8")
    return load_settings(config, environ={}, system_file=tmp_path / "none.yaml", user_file=tmp_path / "none2.yaml")


def test_a_policy_is_read_with_its_objectives_and_subset(tmp_path: Path) -> None:
    settings = _load(tmp_path, GOOD.format(tmp=tmp_path))
    his = policy(settings, "his")  # type: ignore[arg-type]
    assert his.objectives.rpo == timedelta(hours=24)
    assert his.read_subset_parts == 20
    assert his.postgres[0].dump_filename == "his.dump"
    assert his.schedule.full == "Sun *-*-* 01:00:00"
    repository = repository_for(settings, "local")  # type: ignore[arg-type]
    assert repository.location == str(tmp_path / "repo")
    assert repository.environment["RESTIC_PASSWORD"] == SecretRef("env", "OPSCTL_TEST_RESTIC_PASSWORD")
    assert backup_settings(settings).textfile_dir == tmp_path / "textfile"  # type: ignore[arg-type]


@pytest.mark.parametrize(("old", "new", "where"), [
    ("rpo: 24h", "rpo: 24 hours", "opsctl.yaml:13: backup.policies.his.objectives.rpo"),
    ("full_read_data_subset: 5%", "full_read_data_subset: 2/20", "opsctl.yaml:14: backup.policies.his.full_read_data_subset"),
    ('full: "Sun *-*-* 01:00:00"', 'full: "every sunday"', "backup.policies.his.schedule.full"),
    ("repository: local\n", "repository: elsewhere\n", "policies.his.repository: no repository named 'elsewhere'"),
    ("password: env:OPSCTL_TEST_RESTIC_PASSWORD}", "password: hunter2}", "backup.repositories.local.password"),
    ("keep: {daily: 7, weekly: 4}", "keep: {daily: 0, weekly: 0, monthly: 0}", "keeps nothing"),
])
def test_a_bad_value_is_named_with_file_line_and_key(tmp_path: Path, old: str, new: str, where: str) -> None:
    text = GOOD.format(tmp=tmp_path)
    assert old in text
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, text.replace(old, new))
    assert where in str(raised.value)
    assert "hunter2" not in str(raised.value)


def test_the_target_checks_its_type_and_options_when_the_repository_is_used(tmp_path: Path) -> None:
    text = GOOD.format(tmp=tmp_path)
    relative = _load(tmp_path, text.replace(f"path: {tmp_path}/repo", "path: relative/repo"))
    with pytest.raises(ConfigError, match=r"^backup.repositories.local.path: a local repository's path is absolute"):
        repository_for(relative, "local")  # type: ignore[arg-type]
    tape = _load(tmp_path, text.replace("type: local,", "type: tape,"))
    with pytest.raises(ConfigError, match=r"^backup.repositories.local.type: unknown repository type 'tape' \(known: "):
        repository_for(tape, "local")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^backup.repositories.offsite: no backup repository named 'offsite'"):
        repository_for(tape, "offsite")  # type: ignore[arg-type]


def test_policies_come_from_conf_d_fragments_too(tmp_path: Path) -> None:
    fragment = f"backup:\n  policies:\n    pacs:\n      paths: [{tmp_path}/pacs]\n      repository: local\n"
    settings = _load(tmp_path, GOOD.format(tmp=tmp_path), {"50-pacs.yaml": fragment})
    assert policy_names(settings) == ("his", "pacs")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="no backup policy named 'pcs' \\(known: his, pacs\\)"):
        policy(settings, "pcs")  # type: ignore[arg-type]


def test_the_built_in_policy_exists_once_its_repository_is_named(tmp_path: Path) -> None:
    settings = _load(tmp_path, GOOD.format(tmp=tmp_path))
    assert BUILTIN_POLICY not in policy_names(settings)  # type: ignore[arg-type]
    enabled = _load(tmp_path, GOOD.format(tmp=tmp_path).replace("backup:\n", "backup:\n  builtin_repository: local\n"))
    assert policy_names(enabled)[0] == BUILTIN_POLICY  # type: ignore[arg-type]
    builtin = policy(enabled, BUILTIN_POLICY)  # type: ignore[arg-type]
    assert builtin.state_store
    assert enabled.audit_path in builtin.paths  # type: ignore[attr-defined]
    assert enabled.known_hosts_path in builtin.paths  # type: ignore[attr-defined]


@pytest.mark.parametrize("expression", ["daily", "hourly", "*-*-* 02:00:00", "Sun *-*-* 01:00:00",
                                        "Mon..Fri *-*-* 00/4:00:00", "*-*-* 02:30", "Sat,Sun 03:00",
                                        "2026-12-24 18:00:00 UTC"])
def test_calendar_expressions(expression: str) -> None:
    assert check_calendar(expression) == expression


@pytest.mark.parametrize("expression", ["every day", "25:00", "* * * * *", ""])
def test_bad_calendar_expressions(expression: str) -> None:
    with pytest.raises(ValueError, match="OnCalendar"):
        check_calendar(expression)


def test_durations_and_subsets() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_duration(3600) == timedelta(hours=1)
    assert (subset_parts("1/20"), subset_parts("5%"), subset_parts("30%"), subset_parts("100%")) == (20, 20, 4, 1)
    for bad in ("0s", "-1h", "4 hours"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    for bad in ("2/20", "0%", "150%", "half"):
        with pytest.raises(ValueError):
            subset_parts(bad)


def test_a_policy_s_keep_becomes_restic_s_forget_options(tmp_path: Path) -> None:
    from backup.restic import KeepPolicy
    from backup.runner import keep_policy

    his = policy(_load(tmp_path, GOOD.format(tmp=tmp_path)), "his")  # type: ignore[arg-type]
    assert keep_policy(his).options() == ("--keep-daily", "7", "--keep-weekly", "4", "--keep-monthly", "12")
    with pytest.raises(ValueError, match="keeps nothing"):
        KeepPolicy().options()
