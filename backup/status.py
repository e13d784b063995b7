"""``opsctl backup status``: per policy, the last run, the newest good snapshot and its age
against the RPO, the repository's size, the last check and the last drill; for a policy with
an off-site repository also its newest good off-site snapshot and age against the RPO, the
last copy, what the target's check says of its place (an S3 bucket without versioning, object
lock or lifecycle rule, or a lifecycle rule the backup keys replaced) and, on S3, the bucket's
real size (every version counted: what the store keeps)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from backup import queries
from backup.repositories import repository_for
from backup.restic import Restic
from backup.settings import backup_settings, policy
from opsctl.core.errors import ExitCode, OpsctlError

if TYPE_CHECKING:
    from opsctl.core.settings import Settings
    from opsctl.core.state import StateStore


@dataclass(frozen=True)
class PolicyStatus:
    """One policy as ``opsctl backup status`` shows it."""

    policy: str
    repository: str
    rpo_seconds: float
    last_run: queries.RunRow | None
    last_success: queries.RunRow | None
    latest_snapshot: queries.SnapshotRow | None
    snapshot_age_seconds: float | None
    last_check: queries.CheckRow | None
    last_drill: queries.DrillRow | None
    offsite: str | None
    offsite_status: str = "not configured"
    repository_size_bytes: int | None = None
    problems: tuple[str, ...] = field(default=())
    offsite_snapshot: queries.SnapshotRow | None = None
    offsite_age_seconds: float | None = None
    last_copy: queries.CopyRow | None = None
    offsite_size_bytes: int | None = None
    offsite_warnings: tuple[str, ...] = ()
    pacs_stopped: str | None = None  # a PACS a killed run left stopped (backup.orthanc.stopped_pacs)

    @property
    def within_rpo(self) -> bool:
        return self.snapshot_age_seconds is not None and self.snapshot_age_seconds <= self.rpo_seconds

    @property
    def offsite_within_rpo(self) -> bool | None:
        """Whether the newest off-site copy is within the RPO (None: no off-site repository)."""
        if self.offsite is None:
            return None
        return self.offsite_age_seconds is not None and self.offsite_age_seconds <= self.rpo_seconds

    def to_dict(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "policy": self.policy, "repository": self.repository, "rpo_seconds": self.rpo_seconds,
            "last_run": {"run_id": self.last_run.run_id, "kind": self.last_run.kind,
                         "outcome": self.last_run.outcome, "started_at": when(self.last_run.started_at),
                         "error": self.last_run.error} if self.last_run else None,
            "last_success_at": when(self.last_success.finished_at) if self.last_success else None,
            "latest_snapshot": {"snapshot_id": self.latest_snapshot.snapshot_id,
                                "taken_at": when(self.latest_snapshot.taken_at)} if self.latest_snapshot else None,
            "snapshot_age_seconds": self.snapshot_age_seconds, "within_rpo": self.within_rpo,
            "repository_size_bytes": self.repository_size_bytes,
            "last_check": {"outcome": self.last_check.outcome, "at": when(self.last_check.finished_at),
                           "read_data_subset": self.last_check.read_data_subset} if self.last_check else None,
            "last_drill": {"outcome": self.last_drill.outcome, "at": when(self.last_drill.started_at),
                           "rto_seconds": self.last_drill.rto_seconds,
                           "rpo_seconds": self.last_drill.rpo_seconds} if self.last_drill else None,
            "offsite": {"repository": self.offsite, "status": self.offsite_status} if self.offsite is None else {
                "repository": self.offsite, "status": self.offsite_status,
                "latest_snapshot": {"snapshot_id": self.offsite_snapshot.snapshot_id,
                                    "taken_at": when(self.offsite_snapshot.taken_at)}
                if self.offsite_snapshot else None,
                "snapshot_age_seconds": self.offsite_age_seconds, "within_rpo": self.offsite_within_rpo,
                "last_copy": {"copy_id": self.last_copy.copy_id, "outcome": self.last_copy.outcome,
                              "at": when(self.last_copy.finished_at or self.last_copy.started_at),
                              "error": self.last_copy.error} if self.last_copy else None,
                "bucket_size_bytes": self.offsite_size_bytes, "warnings": list(self.offsite_warnings)},
            "problems": list(self.problems),
            "pacs_stopped": self.pacs_stopped,
        }


@dataclass(frozen=True)
class BackupStatusReport:
    """Every policy's status; ``exit_code`` 0, or 1 when a policy's last run failed, its newest
    local or off-site snapshot is past its RPO (or missing), or a killed run left its PACS stopped."""

    policies: tuple[PolicyStatus, ...]

    @property
    def exit_code(self) -> int:
        bad = any((p.last_run is not None and p.last_run.outcome not in ("ok", "running")) or not p.within_rpo
                  or p.offsite_within_rpo is False or p.pacs_stopped is not None for p in self.policies)
        return int(ExitCode.FAILED if bad else ExitCode.OK)

    def to_dict(self) -> dict[str, Any]:
        return {"policies": [p.to_dict() for p in self.policies]}


def backup_status(settings: Settings, policy_name: str | None = None, *, store: StateStore | None = None,
                  with_size: bool = True, now: datetime | None = None) -> BackupStatusReport:
    """The status of ``policy_name`` (every policy when None), from the state store; with
    ``with_size`` also the places themselves: ``restic stats`` for the repository's size, the
    off-site target's check (warnings) and, on S3, the bucket's real size. A failure there is a
    problem or warning line, not an error."""
    from backup.orthanc import stopped_pacs
    from backup.settings import policy_names
    from opsctl.core.state import open_state

    names = (policy_name,) if policy_name else policy_names(settings)
    stopped = stopped_pacs(settings.state_dir)
    moment = now or datetime.now(UTC)
    owned = store is None
    opened = open_state(settings) if store is None else store
    places = _Places(settings)
    try:
        statuses = []
        for name in names:
            chosen = policy(settings, name)
            repository = chosen.repository
            latest = queries.latest_good_snapshot(opened, name, repository)
            problems: list[str] = []
            size: int | None = None
            if with_size:
                size, said = places.size(repository)
                problems += said
            offsite: dict[str, Any] = {}
            if chosen.offsite is not None:
                offsite = _offsite(opened, name, chosen.offsite, moment, places if with_size else None,
                                   chosen.objectives.rpo.total_seconds())
            statuses.append(PolicyStatus(
                policy=name, repository=repository, rpo_seconds=chosen.objectives.rpo.total_seconds(),
                last_run=queries.last_run(opened, name), last_success=queries.last_success(opened, name),
                latest_snapshot=latest,
                snapshot_age_seconds=(moment - latest.taken_at).total_seconds() if latest else None,
                last_check=queries.last_check(opened, repository), last_drill=queries.last_drill(opened, name),
                offsite=chosen.offsite, repository_size_bytes=size, problems=tuple(problems),
                pacs_stopped=stopped.get(name), **offsite))
        return BackupStatusReport(tuple(statuses))
    finally:
        if owned:
            opened.close()


def offsite_state(age_seconds: float | None, rpo_seconds: float, last_copy: queries.CopyRow | None) -> str:
    """One word for the off-site copy (pure): ``never copied``, ``copy failed``, ``stale`` or ``ok``."""
    if last_copy is not None and last_copy.outcome in ("failed", "interrupted"):
        return "copy failed"
    if age_seconds is None:
        return "never copied"
    return "ok" if age_seconds <= rpo_seconds else "stale"


def _offsite(store: StateStore, name: str, repository: str, moment: datetime,
             places: _Places | None, rpo_seconds: float) -> dict[str, Any]:
    latest = queries.latest_good_snapshot(store, name, repository)
    age = (moment - latest.taken_at).total_seconds() if latest else None
    last_copy = queries.last_copy(store, name, outcomes=("ok", "failed", "interrupted"))
    fields: dict[str, Any] = {"offsite_snapshot": latest, "offsite_age_seconds": age, "last_copy": last_copy,
                              "offsite_status": offsite_state(age, rpo_seconds, last_copy)}
    if places is not None:
        fields["offsite_warnings"] = places.warnings(repository)
        fields["offsite_size_bytes"] = places.bucket_size(repository)
    return fields


class _Places:
    """The repositories' places, each looked at once per status (restic stats, target check, bucket size)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._sizes: dict[str, tuple[int | None, tuple[str, ...]]] = {}
        self._warnings: dict[str, tuple[str, ...]] = {}
        self._buckets: dict[str, int | None] = {}

    def size(self, repository: str) -> tuple[int | None, tuple[str, ...]]:
        if repository not in self._sizes:
            section = backup_settings(self.settings)
            try:
                restic = Restic(repository_for(self.settings, repository), restic=section.restic,
                                cache_dir=section.cache_dir, timeout=300)
                self._sizes[repository] = (restic.stats().total_size, ())
            except OpsctlError as error:
                self._sizes[repository] = (None, (error.message,))
        return self._sizes[repository]

    def warnings(self, repository: str) -> tuple[str, ...]:
        if repository not in self._warnings:
            from backup.targets import BACKUP_TARGETS

            try:
                kind = backup_settings(self.settings).repositories[repository].type
                self._warnings[repository] = tuple(
                    BACKUP_TARGETS.get(kind).check(repository_for(self.settings, repository)))
            except OpsctlError as error:
                self._warnings[repository] = (error.message,)
        return self._warnings[repository]

    def bucket_size(self, repository: str) -> int | None:
        if repository not in self._buckets:
            self._buckets[repository] = None
            if backup_settings(self.settings).repositories[repository].type == "s3":
                from backup.s3 import bucket_usage

                with contextlib.suppress(OpsctlError):
                    self._buckets[repository] = bucket_usage(repository_for(self.settings, repository)).total_bytes
        return self._buckets[repository]


__all__ = ["BackupStatusReport", "PolicyStatus", "backup_status", "offsite_state"]
