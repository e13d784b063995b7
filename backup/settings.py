"""The backup settings section (``backup:``), registered by the entry point ``backup`` in ``opsctl.settings``.

```yaml
backup:
  textfile_dir: /var/lib/prometheus/node-exporter
  builtin_repository: local          # enables the built-in policy "opsctl-state"
  repositories:
    local: {type: local, path: /srv/restic/his, password: file:/etc/opsctl/restic.pw}
  policies:
    his:
      paths: [/srv/his/documents]
      postgres:
        - {host: 10.0.0.5, database: his, user: backup, password: env:HIS_DB_PASSWORD,
           count_tables: [patients, encounters]}
      repository: local
      schedule: {full: "Sun *-*-* 01:00:00", incremental: "*-*-* 00/4:00:00"}
      keep: {daily: 7, weekly: 4, monthly: 12, yearly: 3}
      objectives: {rpo: 24h, rto: 4h}
      full_read_data_subset: 1/20
```

A repository's keys besides ``type`` and ``password`` are its target's options (``path`` for
``local``). This module imports only pydantic and :mod:`opsctl.core` (loading a configuration
imports it, never the backup code), so the target (:data:`backup.targets.BACKUP_TARGETS`)
checks its type and options when the repository is used (:func:`backup.repositories.repository_for`),
an error naming the key path (``backup.repositories.NAME.path``).
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from opsctl.core.errors import ConfigError
from opsctl.core.paths import SYSTEM_CONFIG_FILE, user_config_file
from opsctl.core.settings import SecretField, Settings, SettingsModel

SECTION = "backup"
BUILTIN_POLICY = "opsctl-state"
DEFAULT_TEXTFILE_DIR = Path("/var/lib/prometheus/node-exporter")
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"

# -- durations, subsets, calendar expressions ---------------------------------------------------

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """``90s``, ``30m``, ``4h``, ``7d``, ``2w`` (or a number of seconds) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).strip())
        if match is None:
            raise ValueError(f"expected a duration like 30m, 4h or 7d, not {str(value)[:40]!r}")
        seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds <= 0:
        raise ValueError("a duration is more than zero")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


Duration = Annotated[timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration)]

_SUBSET_FRACTION = re.compile(r"^(\d+)/(\d+)$")
_SUBSET_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")


def subset_parts(text: str) -> int:
    """The number of parts a ``full_read_data_subset`` splits the data into (``1/20`` → 20, ``5%`` → 20).

    A full run reads part ``n`` of those (``n/m`` for ``restic check --read-data-subset``),
    rotating so that the whole repository is read over a cycle of ``m`` full runs.
    """
    fraction = _SUBSET_FRACTION.match(text.strip())
    if fraction:
        numerator, parts = int(fraction[1]), int(fraction[2])
        if numerator != 1 or parts < 1:
            raise ValueError("a read subset fraction is 1/m (m parts, one read per full run)")
        return parts
    percent = _SUBSET_PERCENT.match(text.strip())
    if percent:
        share = float(percent[1])
        if not 0 < share <= 100:
            raise ValueError("a read subset percentage is more than 0% and at most 100%")
        return max(1, math.ceil(100 / share))
    raise ValueError(f"expected a read subset like 1/20 or 5%, not {text[:40]!r}")


def _subset(value: Any) -> str:
    subset_parts(str(value))
    return str(value).strip()


ReadSubset = Annotated[str, BeforeValidator(_subset)]

_CALENDAR_SHORTHANDS = frozenset({
    "minutely", "hourly", "daily", "weekly", "monthly", "yearly", "annually", "quarterly", "semiannually",
})
_WEEKDAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)(?:day|sday|nesday|rsday|urday)?"
_WEEKDAYS = rf"{_WEEKDAY}(?:(?:\.\.|,){_WEEKDAY})*"
_VALUES = r"(?:\*|\d+(?:\.\.\d+)?(?:/\d+)?)(?:,(?:\*|\d+(?:\.\.\d+)?(?:/\d+)?))*"
_DATE = rf"(?:{_VALUES}-)?{_VALUES}[-~]{_VALUES}"
_TIME = rf"{_VALUES}:{_VALUES}(?::{_VALUES}(?:\.\d+)?)?"
_CALENDAR = re.compile(rf"^(?:{_WEEKDAYS}\s+)?(?:{_DATE}\s+)?{_TIME}(?:\s+(?:UTC|[A-Za-z_]+/[A-Za-z_]+))?$"
                       rf"|^{_WEEKDAYS}(?:\s+{_DATE})?$|^{_DATE}$")


def _time_in_range(text: str) -> bool:
    """Whether the hours, minutes and seconds written as numbers are on a clock (not 25:00)."""
    for word in text.split():
        if ":" not in word:
            continue
        for value, limit in zip(word.split(":"), (23, 59, 60), strict=False):
            numbers = [int(n) for n in re.findall(r"\d+", value.split("/")[0])]
            if any(number > limit for number in numbers):
                return False
    return True


def check_calendar(value: Any) -> str:
    """A systemd ``OnCalendar=`` expression (a shorthand like ``daily``, or ``[DOW] [DATE] TIME``).

    The syntax is checked here, without systemd; ``systemd-analyze calendar`` has the last word
    when the timer is installed.
    """
    text = str(value).strip()
    if text.lower() in _CALENDAR_SHORTHANDS or (_CALENDAR.match(text) and _time_in_range(text)):
        return text
    raise ValueError(f"not a systemd OnCalendar expression: {text[:60]!r} (e.g. daily, '*-*-* 02:00:00', "
                     "'Sun *-*-* 01:00:00')")


Calendar = Annotated[str, BeforeValidator(check_calendar)]

# -- the models ---------------------------------------------------------------------------------


class RepositorySettings(SettingsModel):
    """A restic repository: its target ``type``, password (by reference) and the target's options."""

    type: str
    password: SecretField
    options: dict[str, str] = Field(default_factory=dict, description="the target's own keys")

    @model_validator(mode="before")
    @classmethod
    def _gather_options(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        own = {"type", "password", "options"}
        options = {key: value for key, value in data.items() if key not in own}
        if not options:
            return data
        for key, value in options.items():
            if isinstance(value, dict | list):
                raise ValueError(f"target option {key}: expected a text value")
        merged = {**dict(data.get("options") or {}), **{k: str(v) for k, v in options.items()}}
        return {**{k: v for k, v in data.items() if k in own}, "options": merged}


class PostgresSource(SettingsModel):
    """One PostgreSQL database dumped with ``pg_dump -Fc`` over the network (password by reference)."""

    host: str
    port: int = Field(default=5432, ge=1, le=65535)
    database: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")
    user: str
    password: SecretField | None = None
    count_tables: tuple[str, ...] = ()
    sanity_queries: tuple[str, ...] = ()
    pg_dump: str = "pg_dump"
    psql: str = "psql"

    @property
    def dump_filename(self) -> str:
        return f"{self.database}.dump"


class OrthancSource(SettingsModel):
    """Orthanc's storage and index, captured consistently (:mod:`backup.orthanc`).

    With the default SQLite ``index`` Orthanc is stopped (``stop_command``) while its storage
    and ``index_dir`` are backed up in one snapshot, and started again (``start_command``) on
    every way out, the downtime bounded by ``max_downtime``. With the PostgreSQL index plugin
    (``index: postgresql``) Orthanc keeps running: the storage is backed up and the index
    database (``index_database``) dumped. The commands are argv lists run without a shell.
    ``dicom_aet``/``dicom_port`` are what a drill's throwaway Orthanc answers C-ECHO on.
    """

    url: str
    storage_dir: Path
    index: Literal["sqlite", "postgresql"] = "sqlite"
    index_dir: Path | None = None
    index_database: PostgresSource | None = None
    username: str | None = None
    password: SecretField | None = None
    stop_command: tuple[str, ...] = ()
    start_command: tuple[str, ...] = ()
    command_timeout: Duration = timedelta(minutes=2)
    max_downtime: Duration = timedelta(minutes=5)
    dicom_aet: str = "ORTHANC"

    @model_validator(mode="after")
    def _complete(self) -> OrthancSource:
        if not self.storage_dir.is_absolute():
            raise ValueError(f"orthanc.storage_dir is absolute: {self.storage_dir}")
        if self.index == "sqlite":
            if not self.stop_command or not self.start_command:
                raise ValueError("orthanc with the sqlite index needs stop_command and start_command "
                                 "(Orthanc is stopped while its storage and index are copied)")
            if self.index_dir is not None and not self.index_dir.is_absolute():
                raise ValueError(f"orthanc.index_dir is absolute: {self.index_dir}")
        elif self.index_database is None:
            raise ValueError("orthanc with the postgresql index needs index_database (the index is dumped)")
        return self

    @property
    def index_path(self) -> Path:
        """Where the SQLite index lives (Orthanc's default: the storage directory)."""
        return self.index_dir or self.storage_dir


class ScheduleSettings(SettingsModel):
    """When the full and the incremental runs start (systemd OnCalendar expressions)."""

    full: Calendar | None = None
    incremental: Calendar | None = None


class KeepSettings(SettingsModel):
    """Retention: how many snapshots to keep per period (restic forget --keep-*)."""

    last: int = Field(default=0, ge=0)
    daily: int = Field(default=7, ge=0)
    weekly: int = Field(default=4, ge=0)
    monthly: int = Field(default=12, ge=0)
    yearly: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _keeps_something(self) -> KeepSettings:
        if not any((self.last, self.daily, self.weekly, self.monthly, self.yearly)):
            raise ValueError("a keep policy that keeps nothing would forget every snapshot")
        return self


class ObjectiveSettings(SettingsModel):
    """Recovery objectives: the data a restore may lose (RPO) and the time it may take (RTO)."""

    rpo: Duration = timedelta(hours=24)
    rto: Duration = timedelta(hours=4)


class PolicySettings(SettingsModel):
    """What to back up (paths, databases, Orthanc), where, when, how long, and the objectives."""

    paths: tuple[Path, ...] = ()
    postgres: tuple[PostgresSource, ...] = ()
    orthanc: OrthancSource | None = None
    repository: str
    offsite: str | None = None
    copy_after_run: bool = Field(default=False, description="copy to the off-site repository after a good run")
    schedule: ScheduleSettings = ScheduleSettings()
    keep: KeepSettings = KeepSettings()
    objectives: ObjectiveSettings = ObjectiveSettings()
    full_read_data_subset: ReadSubset = "1/10"
    state_store: bool = Field(default=False, description="the built-in policy: copy the state store too")
    drill_schedule: Calendar | None = Field(default=None, description="when `opsctl drill run` runs (OnCalendar)")

    @model_validator(mode="after")
    def _has_sources(self) -> PolicySettings:
        if not self.paths and not self.postgres and self.orthanc is None and not self.state_store:
            raise ValueError("a policy needs paths, postgres or orthanc to back up")
        for path in self.paths:
            if not path.is_absolute():
                raise ValueError(f"a backup path is absolute: {path}")
        names = [source.database for source in self.postgres]
        if len(set(names)) != len(names):
            raise ValueError("two postgres sources dump the same database name (their files would clash)")
        if self.copy_after_run and self.offsite is None:
            raise ValueError("copy_after_run needs an offsite repository")
        return self

    @property
    def read_subset_parts(self) -> int:
        return subset_parts(self.full_read_data_subset)


class BackupSettings(SettingsModel):
    """The ``backup:`` section: repositories, policies, the metrics directory, restic itself."""

    textfile_dir: Path = DEFAULT_TEXTFILE_DIR
    restic: str = "restic"
    cache_dir: Path | None = Field(default=None, description="restic's cache (default: restic's own)")
    builtin_repository: str | None = Field(default=None, description=f"enables the {BUILTIN_POLICY} policy")
    drill_workdir: Path | None = Field(default=None, description="where drills restore to scratch (default: "
                                       "STATE_DIR/drill-scratch; the postgres user must pass through it)")
    repositories: dict[Annotated[str, Field(pattern=NAME_PATTERN)], RepositorySettings] = Field(default_factory=dict)
    policies: dict[Annotated[str, Field(pattern=NAME_PATTERN)], PolicySettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_resolve(self) -> BackupSettings:
        for name, policy in self.policies.items():
            if name == BUILTIN_POLICY:
                raise ValueError(f"policy name {BUILTIN_POLICY} is the built-in policy's (set builtin_repository)")
            for role, repository in (("repository", policy.repository), ("offsite", policy.offsite)):
                if repository is not None and repository not in self.repositories:
                    raise ValueError(f"policies.{name}.{role}: no repository named {repository!r}")
        if self.builtin_repository is not None and self.builtin_repository not in self.repositories:
            raise ValueError(f"builtin_repository: no repository named {self.builtin_repository!r}")
        return self


def backup_settings(settings: Settings) -> BackupSettings:
    """The ``backup:`` section of ``settings`` (its defaults when the configuration has none)."""
    return settings.section(SECTION, BackupSettings)


def builtin_policy(settings: Settings) -> PolicySettings | None:
    """The built-in ``opsctl-state`` policy when ``backup.builtin_repository`` is set, else None.

    It backs up a consistent copy of the state store (SQLite: the backup API into a temporary
    file; PostgreSQL: ``pg_dump``), the audit log, the known_hosts file and the configuration
    files that exist (system and user files and their ``conf.d/``).
    """
    section = backup_settings(settings)
    if section.builtin_repository is None:
        return None
    paths = [settings.audit_path, settings.known_hosts_path]
    for config in (SYSTEM_CONFIG_FILE, user_config_file()):
        paths += [config, config.parent / "conf.d"]
    return PolicySettings(paths=tuple(dict.fromkeys(paths)), repository=section.builtin_repository,
                          state_store=True, keep=KeepSettings(daily=14, weekly=8, monthly=12))


def policy(settings: Settings, name: str) -> PolicySettings:
    """The policy ``name`` (the built-in one included); raise ConfigError naming the known ones."""
    section = backup_settings(settings)
    if name == BUILTIN_POLICY:
        builtin = builtin_policy(settings)
        if builtin is not None:
            return builtin
    found = section.policies.get(name)
    if found is None:
        known = ", ".join(policy_names(settings)) or "none configured"
        raise ConfigError(f"no backup policy named {name!r} (known: {known})", key_path=f"backup.policies.{name}")
    return found


def policy_names(settings: Settings) -> tuple[str, ...]:
    """Every policy's name, the built-in one first when it is enabled."""
    names = sorted(backup_settings(settings).policies)
    if builtin_policy(settings) is not None:
        names.insert(0, BUILTIN_POLICY)
    return tuple(names)


__all__ = [
    "BUILTIN_POLICY",
    "DEFAULT_TEXTFILE_DIR",
    "BackupSettings",
    "KeepSettings",
    "ObjectiveSettings",
    "OrthancSource",
    "PolicySettings",
    "PostgresSource",
    "RepositorySettings",
    "ScheduleSettings",
    "backup_settings",
    "builtin_policy",
    "check_calendar",
    "parse_duration",
    "policy",
    "policy_names",
    "subset_parts",
]
