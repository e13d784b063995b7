"""The backup package's queries over its tables (:mod:`backup.state`): runs, good snapshots, checks, rotation.

Every function takes the :class:`~opsctl.core.state.StateStore` and runs one transaction.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backup.state import (
    backup_checks,
    backup_copies,
    backup_drills,
    backup_read_rotation,
    backup_runs,
    backup_snapshots,
)
from opsctl.core.sql import upsert
from opsctl.core.state import StateStore


@dataclass(frozen=True)
class RunRow:
    """One backup run as recorded."""

    run_id: str
    policy: str
    kind: str
    repository: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    snapshot_ids: tuple[str, ...]
    bytes_added: int
    files: int
    duration_seconds: float | None
    error: str | None
    manifest: Mapping[str, Any] | None


@dataclass(frozen=True)
class SnapshotRow:
    """A snapshot recorded as good."""

    snapshot_id: str
    repository: str
    policy: str
    run_id: str
    kind: str
    source: str
    taken_at: datetime
    bytes_added: int
    files: int


@dataclass(frozen=True)
class CheckRow:
    """One ``restic check`` as recorded."""

    repository: str
    policy: str | None
    run_id: str | None
    started_at: datetime
    finished_at: datetime
    read_data_subset: str | None
    outcome: str
    errors: tuple[str, ...]


@dataclass(frozen=True)
class DrillRow:
    """One restore drill as recorded (written by the drill runner)."""

    drill_id: str
    policy: str
    source: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    rto_seconds: float | None
    rpo_seconds: float | None
    steps: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class CopyRow:
    """One off-site copy (``restic copy``) as recorded."""

    copy_id: str
    policy: str
    source_repository: str
    target_repository: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    snapshot_ids: tuple[str, ...]
    error: str | None


def _run(row: sa.Row[Any]) -> RunRow:
    return RunRow(row.run_id, row.policy, row.kind, row.repository, row.started_at, row.finished_at,
                  row.outcome, tuple(json.loads(row.snapshot_ids)), row.bytes_added, row.files,
                  row.duration_seconds, row.error, json.loads(row.manifest) if row.manifest else None)


def begin_run(store: StateStore, *, run_id: str, policy: str, kind: str, repository: str,
              started_at: datetime) -> None:
    """Record a run's start (``running``, owned by this process on this host)."""
    with store.transaction("record a backup run's start", write=True) as conn:
        conn.execute(backup_runs.insert().values(
            run_id=run_id, policy=policy, kind=kind, repository=repository, started_at=started_at,
            finished_at=None, outcome="running", snapshot_ids="[]", bytes_added=0, files=0,
            duration_seconds=None, error=None, manifest=None, hostname=socket.gethostname(), pid=os.getpid()))


def finish_run(store: StateStore, *, run_id: str, finished_at: datetime, outcome: str,
               snapshot_ids: Sequence[str], bytes_added: int, files: int, duration_seconds: float,
               error: str | None, manifest: Mapping[str, Any] | None) -> None:
    """Record a run's end."""
    with store.transaction("record a backup run's end", write=True) as conn:
        conn.execute(backup_runs.update().where(backup_runs.c.run_id == run_id).values(
            finished_at=finished_at, outcome=outcome, snapshot_ids=json.dumps(list(snapshot_ids)),
            bytes_added=bytes_added, files=files, duration_seconds=duration_seconds, error=error,
            manifest=json.dumps(manifest, sort_keys=True) if manifest is not None else None))


def interrupt_stale_runs(store: StateStore, policy: str, *, finished_at: datetime) -> tuple[str, ...]:
    """Mark the policy's runs still ``running`` as ``interrupted``; return their ids.

    Called while holding the policy's lock, so no such run is alive: it was killed outright.
    """
    with store.transaction("mark interrupted backup runs", write=True) as conn:
        stale = tuple(conn.execute(sa.select(backup_runs.c.run_id).where(
            backup_runs.c.policy == policy, backup_runs.c.outcome == "running")).scalars())
        if stale:
            conn.execute(backup_runs.update().where(backup_runs.c.run_id.in_(stale)).values(
                outcome="interrupted", finished_at=finished_at,
                error="the run was killed before it finished (found by a later run)"))
        return stale


def record_snapshot(store: StateStore, row: SnapshotRow) -> None:
    """Record a snapshot as good (its step succeeded and its source was whole)."""
    with store.transaction("record a good snapshot", write=True) as conn:
        upsert(conn, backup_snapshots, dict(row.__dict__), ("snapshot_id", "repository"))


def last_run(store: StateStore, policy: str, *, outcomes: Sequence[str] | None = None) -> RunRow | None:
    """The policy's most recent run (with one of ``outcomes`` when given)."""
    query = sa.select(backup_runs).where(backup_runs.c.policy == policy)
    if outcomes is not None:
        query = query.where(backup_runs.c.outcome.in_(tuple(outcomes)))
    with store.transaction("read backup runs") as conn:
        row = conn.execute(query.order_by(backup_runs.c.started_at.desc()).limit(1)).first()
    return _run(row) if row is not None else None


def last_success(store: StateStore, policy: str) -> RunRow | None:
    """The policy's most recent run that ended ``ok``."""
    return last_run(store, policy, outcomes=("ok",))


def latest_good_snapshot(store: StateStore, policy: str, repository: str, *,
                         source: str | None = None) -> SnapshotRow | None:
    """The newest snapshot of ``policy`` in ``repository`` recorded as good (of ``source`` when given)."""
    query = sa.select(backup_snapshots).where(backup_snapshots.c.policy == policy,
                                              backup_snapshots.c.repository == repository)
    if source is not None:
        query = query.where(backup_snapshots.c.source == source)
    with store.transaction("read good snapshots") as conn:
        row = conn.execute(query.order_by(backup_snapshots.c.taken_at.desc()).limit(1)).first()
    return SnapshotRow(**row._mapping) if row is not None else None


def record_check(store: StateStore, row: CheckRow) -> None:
    """Record one ``restic check``."""
    with store.transaction("record a check", write=True) as conn:
        conn.execute(backup_checks.insert().values(
            policy=row.policy, repository=row.repository, run_id=row.run_id, started_at=row.started_at,
            finished_at=row.finished_at, read_data_subset=row.read_data_subset, outcome=row.outcome,
            errors=json.dumps(list(row.errors))))


def last_check(store: StateStore, repository: str) -> CheckRow | None:
    """The most recent check of ``repository``."""
    with store.transaction("read checks") as conn:
        row = conn.execute(sa.select(backup_checks).where(backup_checks.c.repository == repository)
                           .order_by(backup_checks.c.started_at.desc()).limit(1)).first()
    if row is None:
        return None
    return CheckRow(row.repository, row.policy, row.run_id, row.started_at, row.finished_at,
                    row.read_data_subset, row.outcome, tuple(json.loads(row.errors)))


def take_read_part(store: StateStore, policy: str, repository: str, parts: int) -> int:
    """The part (1..``parts``) the next full run reads, advancing the rotation for the one after.

    A changed number of parts restarts the cycle at 1.
    """
    keys = {"policy": policy, "repository": repository}
    with store.transaction("advance the read rotation", write=True) as conn:
        row = conn.execute(sa.select(backup_read_rotation).where(
            backup_read_rotation.c.policy == policy, backup_read_rotation.c.repository == repository)).first()
        part = row.next_part if row is not None and row.parts == parts and 1 <= row.next_part <= parts else 1
        upsert(conn, backup_read_rotation, {**keys, "parts": parts, "next_part": part % parts + 1},
               ("policy", "repository"))
    return part


def record_drill(store: StateStore, row: DrillRow) -> None:
    """Record (or update) a restore drill."""
    with store.transaction("record a drill", write=True) as conn:
        upsert(conn, backup_drills, {**row.__dict__, "steps": json.dumps([dict(s) for s in row.steps])},
               ("drill_id",))


def last_drill(store: StateStore, policy: str) -> DrillRow | None:
    """The policy's most recent drill."""
    with store.transaction("read drills") as conn:
        row = conn.execute(sa.select(backup_drills).where(backup_drills.c.policy == policy)
                           .order_by(backup_drills.c.started_at.desc()).limit(1)).first()
    if row is None:
        return None
    return DrillRow(row.drill_id, row.policy, row.source, row.started_at, row.finished_at, row.outcome,
                    row.rto_seconds, row.rpo_seconds, tuple(json.loads(row.steps)))


def begin_copy(store: StateStore, *, copy_id: str, policy: str, source_repository: str,
               target_repository: str, started_at: datetime) -> None:
    """Record an off-site copy's start (``running``)."""
    with store.transaction("record an off-site copy's start", write=True) as conn:
        conn.execute(backup_copies.insert().values(
            copy_id=copy_id, policy=policy, source_repository=source_repository,
            target_repository=target_repository, started_at=started_at, finished_at=None, outcome="running",
            snapshot_ids="[]", error=None))


def finish_copy(store: StateStore, *, copy_id: str, finished_at: datetime, outcome: str,
                snapshot_ids: Sequence[str], error: str | None) -> None:
    """Record an off-site copy's end."""
    with store.transaction("record an off-site copy's end", write=True) as conn:
        conn.execute(backup_copies.update().where(backup_copies.c.copy_id == copy_id).values(
            finished_at=finished_at, outcome=outcome, snapshot_ids=json.dumps(list(snapshot_ids)), error=error))


def interrupt_stale_copies(store: StateStore, policy: str, *, finished_at: datetime) -> tuple[str, ...]:
    """Mark the policy's copies still ``running`` as ``interrupted`` (called holding the copy lock)."""
    with store.transaction("mark interrupted off-site copies", write=True) as conn:
        stale = tuple(conn.execute(sa.select(backup_copies.c.copy_id).where(
            backup_copies.c.policy == policy, backup_copies.c.outcome == "running")).scalars())
        if stale:
            conn.execute(backup_copies.update().where(backup_copies.c.copy_id.in_(stale)).values(
                outcome="interrupted", finished_at=finished_at,
                error="the copy was killed before it finished (found by a later copy)"))
        return stale


def last_copy(store: StateStore, policy: str, *, outcomes: Sequence[str] | None = None) -> CopyRow | None:
    """The policy's most recent off-site copy (with one of ``outcomes`` when given)."""
    query = sa.select(backup_copies).where(backup_copies.c.policy == policy)
    if outcomes is not None:
        query = query.where(backup_copies.c.outcome.in_(tuple(outcomes)))
    with store.transaction("read off-site copies") as conn:
        row = conn.execute(query.order_by(backup_copies.c.started_at.desc()).limit(1)).first()
    if row is None:
        return None
    return CopyRow(row.copy_id, row.policy, row.source_repository, row.target_repository, row.started_at,
                   row.finished_at, row.outcome, tuple(json.loads(row.snapshot_ids)), row.error)


def good_snapshots(store: StateStore, policy: str, repository: str) -> tuple[SnapshotRow, ...]:
    """Every snapshot of ``policy`` in ``repository`` recorded as good, oldest first."""
    with store.transaction("read good snapshots") as conn:
        rows = conn.execute(sa.select(backup_snapshots).where(
            backup_snapshots.c.policy == policy, backup_snapshots.c.repository == repository)
            .order_by(backup_snapshots.c.taken_at)).all()
    return tuple(SnapshotRow(**row._mapping) for row in rows)


def forget_snapshots(store: StateStore, repository: str, snapshot_ids: Sequence[str]) -> None:
    """Drop the records of snapshots that restic forgot (prune) from ``repository``.

    A recorded id may be restic's short form (its backup summary's) of a forgotten full id.
    """
    if not snapshot_ids:
        return
    with store.transaction("forget pruned snapshots", write=True) as conn:
        recorded = conn.execute(sa.select(backup_snapshots.c.snapshot_id).where(
            backup_snapshots.c.repository == repository)).scalars().all()
        gone = [known for known in recorded
                if any(forgotten.startswith(known) or known.startswith(forgotten) for forgotten in snapshot_ids)]
        if gone:
            conn.execute(backup_snapshots.delete().where(backup_snapshots.c.repository == repository,
                                                         backup_snapshots.c.snapshot_id.in_(gone)))


__all__ = [
    "CheckRow",
    "CopyRow",
    "DrillRow",
    "RunRow",
    "SnapshotRow",
    "begin_copy",
    "begin_run",
    "finish_copy",
    "finish_run",
    "forget_snapshots",
    "good_snapshots",
    "interrupt_stale_copies",
    "interrupt_stale_runs",
    "last_check",
    "last_copy",
    "last_drill",
    "last_run",
    "last_success",
    "latest_good_snapshot",
    "record_check",
    "record_drill",
    "record_snapshot",
    "take_read_part",
]
