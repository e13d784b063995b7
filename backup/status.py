"""``opsctl backup status``: per policy, the last run, the newest good snapshot and its age
against the RPO, the repository's size, the last check and the last drill."""

from __future__ import annotations

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

    @property
    def within_rpo(self) -> bool:
        return self.snapshot_age_seconds is not None and self.snapshot_age_seconds <= self.rpo_seconds

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
            "offsite": {"repository": self.offsite, "status": self.offsite_status},
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class BackupStatusReport:
    """Every policy's status; ``exit_code`` 0, or 1 when a policy's last run failed or is past its RPO."""

    policies: tuple[PolicyStatus, ...]

    @property
    def exit_code(self) -> int:
        bad = any((p.last_run is not None and p.last_run.outcome not in ("ok", "running")) or not p.within_rpo
                  for p in self.policies)
        return int(ExitCode.FAILED if bad else ExitCode.OK)

    def to_dict(self) -> dict[str, Any]:
        return {"policies": [p.to_dict() for p in self.policies]}


def backup_status(settings: Settings, policy_name: str | None = None, *, store: StateStore | None = None,
                  with_size: bool = True, now: datetime | None = None) -> BackupStatusReport:
    """The status of ``policy_name`` (every policy when None), from the state store (and
    ``restic stats`` for the repository's size when ``with_size``; a failure there is a problem
    line, not an error)."""
    from backup.settings import policy_names
    from opsctl.core.state import open_state

    names = (policy_name,) if policy_name else policy_names(settings)
    section = backup_settings(settings)
    moment = now or datetime.now(UTC)
    owned = store is None
    opened = open_state(settings) if store is None else store
    sizes: dict[str, int | None] = {}
    problems_of: dict[str, tuple[str, ...]] = {}
    try:
        statuses = []
        for name in names:
            chosen = policy(settings, name)
            repository = chosen.repository
            latest = queries.latest_good_snapshot(opened, name, repository)
            problems: list[str] = []
            if with_size and repository not in sizes:
                try:
                    restic = Restic(repository_for(settings, repository), restic=section.restic,
                                    cache_dir=section.cache_dir, timeout=300)
                    sizes[repository] = restic.stats().total_size
                    problems_of[repository] = ()
                except OpsctlError as error:
                    sizes[repository] = None
                    problems_of[repository] = (error.message,)
            problems += problems_of.get(repository, ())
            statuses.append(PolicyStatus(
                policy=name, repository=repository, rpo_seconds=chosen.objectives.rpo.total_seconds(),
                last_run=queries.last_run(opened, name), last_success=queries.last_success(opened, name),
                latest_snapshot=latest,
                snapshot_age_seconds=(moment - latest.taken_at).total_seconds() if latest else None,
                last_check=queries.last_check(opened, repository), last_drill=queries.last_drill(opened, name),
                offsite=chosen.offsite, offsite_status="unknown (phase 2)" if chosen.offsite else "not configured",
                repository_size_bytes=sizes.get(repository), problems=tuple(problems)))
        return BackupStatusReport(tuple(statuses))
    finally:
        if owned:
            opened.close()


__all__ = ["BackupStatusReport", "PolicyStatus", "backup_status"]
