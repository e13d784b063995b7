"""``opsctl backup copy``: a policy's snapshots copied to its off-site repository, recorded and published.

:func:`copy_policy` runs ``restic copy`` from the policy's repository into its ``offsite``
one, only the snapshots tagged ``opsctl`` and ``policy=NAME`` (the manifest snapshots carry
those tags too, so a drill from the off-site copy verifies without the controller); restic
skips what the off-site repository already holds. It holds the named lock
``backup-copy:POLICY``, not the run's ``backup:POLICY``: a copy over a slow line must not
delay the next backup (the RPO), restic's own repository locks keep a copy and a run apart
inside the repositories, and the lock refuses two copies of one policy at once (exit 5).
Afterwards the off-site snapshots whose local original was recorded good (same run tag and
source) are recorded good in the off-site repository, so status and the metrics give the
off-site copy's age. The policy's metrics file is rewritten on every exit path
(:func:`publish_policy_metrics`), its run gauges read back from the state store.

:func:`setup_offsite` makes the policy's off-site S3 bucket (versioning, object lock with a
default retention, the lifecycle rule) with an administrator's keys, given by reference.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from backup import queries
from backup.metrics import PolicyMetrics, write_policy_metrics
from backup.repositories import repository_for
from backup.restic import RepositoryLocked, Restic, Snapshot
from backup.settings import PolicySettings, backup_settings, policy
from opsctl.core.errors import ConfigError, ExitCode, OpsctlError
from opsctl.core.outcome import Outcome
from opsctl.core.secrets import SecretRef

if TYPE_CHECKING:
    from backup.s3 import BucketReport
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings
    from opsctl.core.state import StateStore


@dataclass(frozen=True)
class CopyResult:
    """What one off-site copy did. ``exit_code``: 0 ok, 1 failed."""

    policy: str
    copy_id: str
    source_repository: str
    target_repository: str
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    copied_snapshots: tuple[str, ...] = ()
    offsite_snapshots: int = 0
    latest_offsite_snapshot: datetime | None = None
    error: str | None = None
    interrupted_copies: tuple[str, ...] = ()
    metrics_file: Path | None = None

    @property
    def exit_code(self) -> int:
        return int(ExitCode.OK if self.outcome == Outcome.OK else ExitCode.FAILED)

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy, "copy_id": self.copy_id, "source_repository": self.source_repository,
            "target_repository": self.target_repository, "outcome": str(self.outcome),
            "exit_code": self.exit_code, "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(), "duration_seconds": round(self.duration_seconds, 3),
            "copied_snapshots": list(self.copied_snapshots), "offsite_snapshots": self.offsite_snapshots,
            "latest_offsite_snapshot": self.latest_offsite_snapshot.isoformat()
            if self.latest_offsite_snapshot else None,
            "error": self.error, "interrupted_copies": list(self.interrupted_copies),
            "metrics_file": str(self.metrics_file) if self.metrics_file else None,
        }


@contextlib.contextmanager
def opened_store(settings: Settings, store: StateStore | None) -> Iterator[StateStore]:
    """``store``, or the settings' state store opened for the block (and closed after it)."""
    if store is not None:
        yield store
        return
    from opsctl.core.state import open_state

    with open_state(settings) as opened:
        yield opened


T = TypeVar("T")


def retry_unlocked(restic: Restic, action: Callable[[], T], removed: list[str] | None = None) -> T:
    """Run ``action``; when a restic lock blocks it and every holder is a dead process on this
    host (a copy or run killed outright), remove them (``restic unlock``) and retry once.
    A live holder, or one on another host, is left alone and its error raised. The ids removed
    are added to ``removed``."""
    import socket

    from backup.runner import pid_alive, stale_locks

    try:
        return action()
    except RepositoryLocked:
        locks = [restic.cat_lock(lock_id) for lock_id in restic.list_locks()]
        stale = stale_locks(locks, hostname=socket.gethostname(), pid_alive=pid_alive)
        if not stale or len(stale) < len(locks):
            raise
        restic.unlock()
        if removed is not None:
            removed.extend(stale)
        return action()


def snapshot_source(snapshot: Snapshot) -> str:
    """The run step a snapshot of a run holds, from its tags and paths, as the run recorded it:
    ``postgres:DB``, ``orthanc``, ``manifest`` (a manifest alone) or ``paths`` (which holds the
    run's manifest too when the policy has paths) (pure)."""
    from backup.runner import MANIFEST_FILENAME

    database = snapshot.tag_value("database")
    if database:
        return f"postgres:{database}"
    if "orthanc" in snapshot.tags:
        return "orthanc"
    if "manifest" in snapshot.tags and all(path.rpartition("/")[2] == MANIFEST_FILENAME for path in snapshot.paths):
        return "manifest"
    return "paths"


def offsite_rows(policy_name: str, offsite_repository: str, offsite: tuple[Snapshot, ...],
                 good_local: tuple[queries.SnapshotRow, ...]) -> tuple[queries.SnapshotRow, ...]:
    """The off-site snapshots to record good: those whose local original (same run, same source)
    was recorded good (pure). A copy of a snapshot that was never good stays unrecorded."""
    originals = {(row.run_id, row.source): row for row in good_local}
    rows = []
    for snapshot in offsite:
        run_id = snapshot.tag_value("run")
        original = originals.get((run_id or "", snapshot_source(snapshot)))
        if original is None:
            continue
        rows.append(queries.SnapshotRow(snapshot.id, offsite_repository, policy_name, original.run_id,
                                        original.kind, original.source, snapshot.time, original.bytes_added,
                                        original.files))
    return tuple(rows)


def offsite_of(settings: Settings, policy_name: str) -> tuple[PolicySettings, str]:
    """The policy and its off-site repository's name; raise ConfigError when it has none."""
    chosen = policy(settings, policy_name)
    if chosen.offsite is None:
        raise ConfigError(f"backup policy {policy_name} has no off-site repository",
                          key_path=f"backup.policies.{policy_name}.offsite")
    return chosen, chosen.offsite


def policy_metrics(store: StateStore, policy_name: str, chosen: PolicySettings, *,
                   now: datetime) -> PolicyMetrics:
    """The policy's metrics as the state store has them now (its last run, snapshots, check, copy)."""
    last_run = queries.last_run(store, policy_name)
    last_success = queries.last_success(store, policy_name)
    latest = queries.latest_good_snapshot(store, policy_name, chosen.repository)
    last_check = queries.last_check(store, chosen.repository)
    finished = (last_run.finished_at or last_run.started_at) if last_run else now
    return PolicyMetrics(
        policy=policy_name, run_finished=finished, run_ok=last_run is not None and last_run.outcome == "ok",
        run_duration_seconds=(last_run.duration_seconds or 0.0) if last_run else 0.0,
        added_bytes=last_run.bytes_added if last_run else 0, files=last_run.files if last_run else 0,
        last_success=last_success.finished_at if last_success else None, repository=chosen.repository,
        latest_snapshot=latest.taken_at if latest else None, rpo_seconds=chosen.objectives.rpo.total_seconds(),
        last_check_ok=(last_check.outcome == "ok") if last_check else None,
        has_run=last_run is not None and last_run.outcome != "running", written_at=now,
        **offsite_fields(store, policy_name, chosen))


def offsite_fields(store: StateStore, policy_name: str, chosen: PolicySettings) -> dict[str, Any]:
    """The ``offsite_*`` fields of the policy's :class:`PolicyMetrics` (empty without an off-site repository)."""
    if chosen.offsite is None:
        return {}
    latest = queries.latest_good_snapshot(store, policy_name, chosen.offsite)
    last_good = queries.last_copy(store, policy_name, outcomes=("ok",))
    last = queries.last_copy(store, policy_name, outcomes=("ok", "failed", "interrupted"))
    return {
        "offsite_repository": chosen.offsite,
        "offsite_latest_snapshot": latest.taken_at if latest else None,
        "offsite_last_success": last_good.finished_at if last_good else None,
        "offsite_last_copy": (last.finished_at or last.started_at) if last else None,
        "offsite_last_copy_ok": (last.outcome == "ok") if last else None,
    }


def publish_policy_metrics(settings: Settings, store: StateStore, policy_name: str, *,
                           now: datetime | None = None) -> Path | None:
    """Rewrite the policy's metrics file from the state store; None when it cannot be written."""
    chosen = policy(settings, policy_name)
    metrics = policy_metrics(store, policy_name, chosen, now=now or datetime.now(UTC))
    try:
        return write_policy_metrics(backup_settings(settings).textfile_dir, metrics)
    except OSError:
        return None


def copy_policy(settings: Settings, policy_name: str, *, store: StateStore | None, recorder: Recorder,
                snapshot_ids: tuple[str, ...] | None = None, now: Callable[[], datetime] | None = None,
                timeout: float | None = None) -> CopyResult:
    """Copy the policy's snapshots (or only ``snapshot_ids``) to its off-site repository; return what it did.

    Raise ConfigError (exit 2) for an unknown policy or one without an off-site repository,
    SecretError for an unreadable secret, LockHeld (exit 5) while another copy of the policy
    runs, AuditError when it cannot be recorded. A failure of restic or the store is the
    result's ``failed`` outcome with a one-line ``error``; the metrics say so. The off-site
    repository is created (``restic init``) when it does not exist. ``timeout`` bounds each
    restic call (default: restic's own bound). ``store`` None opens the settings' state store.
    """
    with opened_store(settings, store) as opened:
        return _copy(settings, policy_name, store=opened, recorder=recorder, snapshot_ids=snapshot_ids, now=now,
                     timeout=timeout)


def _copy(settings: Settings, policy_name: str, *, store: StateStore, recorder: Recorder,
          snapshot_ids: tuple[str, ...] | None, now: Callable[[], datetime] | None,
          timeout: float | None) -> CopyResult:
    clock = now or (lambda: datetime.now(UTC))
    section = backup_settings(settings)
    chosen, offsite_name = offsite_of(settings, policy_name)
    source = repository_for(settings, chosen.repository)
    target = repository_for(settings, offsite_name)
    for value in (*source.environment.values(), *target.environment.values()):
        if isinstance(value, SecretRef):
            value.check()
    recorder.check()
    with store.lock(f"backup-copy:{policy_name}", purpose=f"off-site copy of {policy_name}"):
        started = clock()
        copy_id = f"copy-{started.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        interrupted = queries.interrupt_stale_copies(store, policy_name, finished_at=started)
        queries.begin_copy(store, copy_id=copy_id, policy=policy_name, source_repository=chosen.repository,
                           target_repository=offsite_name, started_at=started)
        outcome = Outcome.FAILED
        error: str | None = None
        copied: tuple[str, ...] = ()
        offsite: tuple[Snapshot, ...] = ()
        stopped: BaseException | None = None
        kwargs: dict[str, Any] = {"restic": section.restic, "cache_dir": section.cache_dir}
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            destination = Restic(target, **kwargs)
            destination.init(exist_ok=True)
            tags = ("opsctl", f"policy={policy_name}")
            retry_unlocked(destination, lambda: destination.copy(
                source, snapshot_ids=snapshot_ids or (), tags=() if snapshot_ids else tags))
            offsite = destination.snapshots(tags=tags)
            known = {row.snapshot_id for row in queries.good_snapshots(store, policy_name, offsite_name)}
            rows = offsite_rows(policy_name, offsite_name, offsite,
                                queries.good_snapshots(store, policy_name, chosen.repository))
            for row in rows:
                queries.record_snapshot(store, row)
            copied = tuple(row.snapshot_id for row in rows if row.snapshot_id not in known)
            outcome = Outcome.OK
        except OpsctlError as failure:
            error = failure.message
        except BaseException as failure:  # Ctrl-C, SIGTERM: recorded, then passed on
            stopped = failure
            error = f"interrupted ({type(failure).__name__})"
        finally:
            finished = clock()
            state = "interrupted" if stopped is not None else str(outcome)
            queries.finish_copy(store, copy_id=copy_id, finished_at=finished, outcome=state,
                                snapshot_ids=copied, error=error)
            metrics_file = None
            with contextlib.suppress(OpsctlError):
                metrics_file = publish_policy_metrics(settings, store, policy_name, now=finished)
            latest = queries.latest_good_snapshot(store, policy_name, offsite_name)
            result = CopyResult(
                policy=policy_name, copy_id=copy_id, source_repository=chosen.repository,
                target_repository=offsite_name, outcome=outcome, started_at=started, finished_at=finished,
                copied_snapshots=copied, offsite_snapshots=len(offsite),
                latest_offsite_snapshot=latest.taken_at if latest else None, error=error,
                interrupted_copies=interrupted, metrics_file=metrics_file)
            recorder.record("backup copy", [policy_name], state, {
                "copy_id": copy_id, "from": chosen.repository, "to": offsite_name,
                "copied_snapshots": list(copied), "error": error})
    if stopped is not None:
        raise stopped
    return result


def setup_offsite(settings: Settings, policy_name: str, *, admin_access_key_id: SecretRef,
                  admin_secret_access_key: SecretRef, retention_days: int, mode: str = "GOVERNANCE",
                  noncurrent_expire_days: int = 7, recorder: Recorder) -> BucketReport:
    """Make the policy's off-site S3 bucket as :func:`backup.s3.ensure_bucket` does, with the
    administrator's keys (references); return its report. Raise ConfigError when the policy
    has no off-site repository or it is not on S3, and what ``ensure_bucket`` raises."""
    from backup.s3 import S3Credentials, ensure_bucket, s3_location

    _chosen, offsite_name = offsite_of(settings, policy_name)
    configured = backup_settings(settings).repositories[offsite_name]
    if configured.type != "s3":
        raise ConfigError(f"off-site repository {offsite_name} of policy {policy_name} is {configured.type}, "
                          "not s3: there is no bucket to set up", key_path=f"backup.repositories.{offsite_name}.type")
    options = {key: value for key, value in configured.options.items()
               if key in ("endpoint", "bucket", "prefix", "region")}
    location = s3_location(options)
    recorder.check()
    report = ensure_bucket(location.endpoint, location.bucket,
                           S3Credentials(admin_access_key_id, admin_secret_access_key), retention_days, mode,
                           noncurrent_expire_days, region=location.region)
    recorder.record("backup offsite setup", [policy_name], "changed" if report.changed else "ok",
                    {"repository": offsite_name, **report.to_dict()})
    return report


__all__ = [
    "CopyResult",
    "copy_policy",
    "offsite_fields",
    "offsite_of",
    "offsite_rows",
    "opened_store",
    "policy_metrics",
    "publish_policy_metrics",
    "retry_unlocked",
    "setup_offsite",
    "snapshot_source",
]
