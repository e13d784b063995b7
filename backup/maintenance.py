"""``opsctl backup prune`` and ``opsctl backup check``: retention and verification of a policy's repository.

:func:`prune_policy` applies the policy's ``keep`` with ``restic forget --prune``, only to the
snapshots tagged ``opsctl`` and ``policy=NAME`` (another policy sharing the repository keeps
its own), holding the policy's run lock ``backup:POLICY`` (prune needs restic's exclusive
lock anyway). The forgotten snapshots leave the state store's good snapshots. On an S3
repository the bucket's real size is measured before and after (:func:`backup.s3.bucket_usage`):
on a versioned bucket restic's deletes only add delete markers, so the versions stay until
the lifecycle rule (``opsctl backup offsite setup``) or the retention job expires them, and
the result says so.

:func:`check_policy` runs ``restic check --read-data-subset n/m``: the next part of the
rotation shared with full runs (so the whole repository is read over a cycle), or the part
asked. It is recorded (``backup_checks``) whether it found errors or could not run at all,
and the policy's metrics file is rewritten (``opsctl_backup_last_check_success`` 0 on errors).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from backup import queries
from backup.offsite import opened_store, publish_policy_metrics, retry_unlocked
from backup.repositories import repository_for
from backup.restic import CheckReport, Restic
from backup.runner import keep_policy
from backup.settings import PolicySettings, backup_settings, policy, subset_parts
from opsctl.core.errors import ConfigError, ExitCode, OpsctlError, UsageError
from opsctl.core.outcome import Outcome
from opsctl.core.secrets import SecretRef

if TYPE_CHECKING:
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings
    from opsctl.core.state import StateStore

Where = Literal["local", "offsite"]
VERSIONED_NOTE = ("on a versioned S3 bucket prune only adds delete markers: the old versions stay until the "
                  "lifecycle rule (or the retention job) expires them after the object lock's retention")


def chosen_repository(settings: Settings, policy_name: str, where: Where) -> tuple[PolicySettings, str]:
    """The policy and the name of its ``local`` (``repository``) or ``offsite`` repository.

    Raise ConfigError when ``offsite`` is asked of a policy without one.
    """
    chosen = policy(settings, policy_name)
    if where == "offsite":
        if chosen.offsite is None:
            raise ConfigError(f"backup policy {policy_name} has no off-site repository",
                              key_path=f"backup.policies.{policy_name}.offsite")
        return chosen, chosen.offsite
    return chosen, chosen.repository


def restic_for(settings: Settings, repository_name: str) -> Restic:
    """The restic runner of the repository ``repository_name``; raise SecretError now for a secret it cannot read."""
    section = backup_settings(settings)
    repository = repository_for(settings, repository_name)
    for value in repository.environment.values():
        if isinstance(value, SecretRef):
            value.check()
    return Restic(repository, restic=section.restic, cache_dir=section.cache_dir)


def _is_s3(settings: Settings, repository_name: str) -> bool:
    return backup_settings(settings).repositories[repository_name].type == "s3"


@dataclass(frozen=True)
class PruneResult:
    """What one prune did: the snapshots forgotten and the repository's size before and after.

    ``size_kind``: ``bucket`` (every version in the S3 bucket, what the store bills) or
    ``repository`` (``restic stats --mode raw-data``).
    """

    policy: str
    repository: str
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    removed_snapshots: tuple[str, ...] = ()
    size_kind: str = "repository"
    size_before_bytes: int | None = None
    size_after_bytes: int | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None

    @property
    def exit_code(self) -> int:
        return int(ExitCode.OK if self.outcome == Outcome.OK else ExitCode.FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy, "repository": self.repository, "outcome": str(self.outcome),
            "exit_code": self.exit_code, "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(), "removed_snapshots": list(self.removed_snapshots),
            "size_kind": self.size_kind, "size_before_bytes": self.size_before_bytes,
            "size_after_bytes": self.size_after_bytes, "notes": list(self.notes), "error": self.error,
        }


def _size(settings: Settings, repository_name: str, restic: Restic) -> int | None:
    if _is_s3(settings, repository_name):
        from backup.s3 import bucket_usage

        return bucket_usage(repository_for(settings, repository_name)).total_bytes
    return restic.stats().total_size


def prune_policy(settings: Settings, policy_name: str, *, store: StateStore | None, recorder: Recorder,
                 where: Where = "local") -> PruneResult:
    """Apply the policy's retention to its ``where`` repository (``forget --prune``); return what it did.

    Raise ConfigError / SecretError (exit 2) for a bad policy or secret, LockHeld (exit 5)
    while a run of the policy holds its lock; a failure of restic or the store is the result's
    ``failed`` outcome with a one-line ``error``. ``store`` None opens the settings' state store.
    """
    with opened_store(settings, store) as opened:
        return _prune(settings, policy_name, opened, recorder, where)


def _prune(settings: Settings, policy_name: str, store: StateStore, recorder: Recorder, where: Where) -> PruneResult:
    chosen, repository_name = chosen_repository(settings, policy_name, where)
    restic = restic_for(settings, repository_name)
    s3 = _is_s3(settings, repository_name)
    recorder.check()
    with store.lock(f"backup:{policy_name}", purpose=f"prune of {policy_name}"):
        started = datetime.now(UTC)
        before: int | None = None
        after: int | None = None
        removed: tuple[str, ...] = ()
        error: str | None = None
        outcome = Outcome.FAILED
        try:
            before = _size(settings, repository_name, restic)
            removed = retry_unlocked(restic, lambda: restic.forget_policy(
                keep_policy(chosen), tags=("opsctl", f"policy={policy_name}"), prune=True))
            queries.forget_snapshots(store, repository_name, removed)
            after = _size(settings, repository_name, restic)
            outcome = Outcome.OK
        except OpsctlError as failure:
            error = failure.message
        finished = datetime.now(UTC)
        result = PruneResult(policy_name, repository_name, outcome, started, finished, removed,
                             "bucket" if s3 else "repository", before, after,
                             (VERSIONED_NOTE,) if s3 else (), error)
        with contextlib.suppress(OpsctlError):
            publish_policy_metrics(settings, store, policy_name, now=finished)
        recorder.record("backup prune", [policy_name], "changed" if removed else str(outcome), {
            "repository": repository_name, "removed_snapshots": list(removed), "size_before_bytes": before,
            "size_after_bytes": after, "error": error})
    return result


@dataclass(frozen=True)
class CheckResult:
    """One ``opsctl backup check``: the part read, what restic found, and whether it could run."""

    policy: str
    repository: str
    read_data_subset: str
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    report: CheckReport | None = None
    error: str | None = None
    metrics_file: Path | None = None

    @property
    def errors(self) -> tuple[str, ...]:
        return self.report.errors if self.report is not None else ((self.error,) if self.error else ())

    @property
    def exit_code(self) -> int:
        return int(ExitCode.OK if self.outcome == Outcome.OK else ExitCode.FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy, "repository": self.repository, "read_data_subset": self.read_data_subset,
            "outcome": str(self.outcome), "exit_code": self.exit_code, "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(), "errors": list(self.errors),
            "packs_read": self.report.packs_read if self.report else None,
            "packs_total": self.report.packs_total if self.report else None, "error": self.error,
            "metrics_file": str(self.metrics_file) if self.metrics_file else None,
        }


def check_policy(settings: Settings, policy_name: str, *, store: StateStore | None, recorder: Recorder,
                 read_data_subset: str | None = None, where: Where = "local") -> CheckResult:
    """``restic check`` of the policy's ``where`` repository, reading ``read_data_subset`` (``n/m``)
    or the rotation's next part; record it, publish the metrics and return it.

    Raise UsageError for a subset that is not ``n/m`` with 1 <= n <= m, ConfigError /
    SecretError (exit 2) for a bad policy or secret, LockHeld (exit 5) while another check of
    the policy runs. Errors found, or a check that could not run (wrong password, unreachable),
    are the result's ``failed`` outcome. ``store`` None opens the settings' state store.
    """
    with opened_store(settings, store) as opened:
        return _check(settings, policy_name, opened, recorder, read_data_subset, where)


def _check(settings: Settings, policy_name: str, store: StateStore, recorder: Recorder,
           read_data_subset: str | None, where: Where) -> CheckResult:
    chosen, repository_name = chosen_repository(settings, policy_name, where)
    if read_data_subset is not None:
        parts = read_data_subset.split("/")
        if len(parts) != 2 or not all(p.isdigit() for p in parts) or not 1 <= int(parts[0]) <= int(parts[1]):
            raise UsageError(f"--read-data-subset {read_data_subset!r}: expected n/m with 1 <= n <= m (e.g. 2/10)")
    restic = restic_for(settings, repository_name)
    recorder.check()
    with store.lock(f"backup-check:{policy_name}", purpose=f"check of {policy_name}"):
        subset = read_data_subset
        if subset is None:
            total = subset_parts(chosen.full_read_data_subset)
            subset = f"{queries.take_read_part(store, policy_name, repository_name, total)}/{total}"
        started = datetime.now(UTC)
        report: CheckReport | None = None
        error: str | None = None
        try:
            report = retry_unlocked(restic, lambda: restic.check(read_data_subset=subset))
        except OpsctlError as failure:
            error = failure.message
        finished = datetime.now(UTC)
        ok = report is not None and report.ok
        queries.record_check(store, queries.CheckRow(
            repository_name, policy_name, None, started, finished, subset, "ok" if ok else "failed",
            report.errors if report is not None else (error or "check did not run",)))
        metrics_file = None
        with contextlib.suppress(OpsctlError):
            metrics_file = publish_policy_metrics(settings, store, policy_name, now=finished)
        result = CheckResult(policy_name, repository_name, subset, Outcome.OK if ok else Outcome.FAILED, started,
                             finished, report, error, metrics_file)
        recorder.record("backup check", [policy_name], str(result.outcome), {
            "repository": repository_name, "read_data_subset": subset, "errors": list(result.errors)[:20]})
    return result


__all__ = [
    "VERSIONED_NOTE",
    "CheckResult",
    "PruneResult",
    "check_policy",
    "chosen_repository",
    "prune_policy",
]
