"""The backup package's part of the state store: its schema (component ``backup``) and tables.

``backup_runs`` holds one row per run (written at its start, finished at its end, so a run
killed outright stays ``running`` until the next run of its policy marks it ``interrupted``);
``backup_snapshots`` the snapshots recorded as good; ``backup_checks`` each ``restic check``;
``backup_read_rotation`` which part of the data the next full run reads; ``backup_drills``
the restore drills (written by the drill runner); ``backup_copies`` (migration 2) each
off-site copy (``restic copy``) and what it copied. Queries live in :mod:`backup.queries`.
Declared in the ``opsctl.state_schemas`` entry-point group.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsctl.core.state import Migration, Schema, UtcDateTime

RUN_OUTCOMES = ("running", "ok", "partial", "failed", "interrupted")
COPY_OUTCOMES = ("running", "ok", "failed", "interrupted")


def _tables(metadata: sa.MetaData) -> tuple[sa.Table, ...]:
    runs = sa.Table(
        "backup_runs", metadata,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("repository", sa.String(64), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("snapshot_ids", sa.Text, nullable=False),  # JSON list
        sa.Column("bytes_added", sa.BigInteger, nullable=False),
        sa.Column("files", sa.BigInteger, nullable=False),
        sa.Column("duration_seconds", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("manifest", sa.Text, nullable=True),  # JSON, as stored in the repository
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.CheckConstraint("kind IN ('full', 'incremental')", name="backup_runs_kind"),
        sa.CheckConstraint(f"outcome IN {RUN_OUTCOMES!r}", name="backup_runs_outcome"),
        sa.Index("backup_runs_policy_started_at", "policy", "started_at"),
    )
    snapshots = sa.Table(
        "backup_snapshots", metadata,
        sa.Column("snapshot_id", sa.String(64), primary_key=True),
        sa.Column("repository", sa.String(64), primary_key=True),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),  # "paths", "postgres:DB", "manifest", "state"
        sa.Column("taken_at", UtcDateTime, nullable=False),
        sa.Column("bytes_added", sa.BigInteger, nullable=False),
        sa.Column("files", sa.BigInteger, nullable=False),
        sa.Index("backup_snapshots_policy_source_taken_at", "policy", "source", "taken_at"),
    )
    checks = sa.Table(
        "backup_checks", metadata,
        sa.Column("check_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("policy", sa.String(64), nullable=True),
        sa.Column("repository", sa.String(64), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=False),
        sa.Column("read_data_subset", sa.String(32), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("errors", sa.Text, nullable=False),  # JSON list
        sa.Index("backup_checks_repository_started_at", "repository", "started_at"),
    )
    rotation = sa.Table(
        "backup_read_rotation", metadata,
        sa.Column("policy", sa.String(64), primary_key=True),
        sa.Column("repository", sa.String(64), primary_key=True),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("next_part", sa.Integer, nullable=False),
    )
    drills = sa.Table(
        "backup_drills", metadata,
        sa.Column("drill_id", sa.String(64), primary_key=True),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),  # "local" or "offsite"
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("rto_seconds", sa.Float, nullable=True),
        sa.Column("rpo_seconds", sa.Float, nullable=True),
        sa.Column("steps", sa.Text, nullable=False),  # JSON list of steps
        sa.Index("backup_drills_policy_started_at", "policy", "started_at"),
    )
    return runs, snapshots, checks, rotation, drills


def _copies_table(metadata: sa.MetaData) -> sa.Table:
    return sa.Table(
        "backup_copies", metadata,
        sa.Column("copy_id", sa.String(64), primary_key=True),
        sa.Column("policy", sa.String(64), nullable=False),
        sa.Column("source_repository", sa.String(64), nullable=False),
        sa.Column("target_repository", sa.String(64), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("snapshot_ids", sa.Text, nullable=False),  # JSON list: the off-site snapshots it recorded good
        sa.Column("error", sa.Text, nullable=True),
        sa.CheckConstraint(f"outcome IN {COPY_OUTCOMES!r}", name="backup_copies_outcome"),
        sa.Index("backup_copies_policy_started_at", "policy", "started_at"),
    )


def _backup_1(connection: Connection) -> None:
    metadata = sa.MetaData()
    _tables(metadata)
    metadata.create_all(connection)


def _backup_2(connection: Connection) -> None:
    metadata = sa.MetaData()
    _copies_table(metadata)
    metadata.create_all(connection)


SCHEMA = Schema("backup", (
    Migration(1, "backup runs, good snapshots, checks, read rotation, drills", _backup_1),
    Migration(2, "off-site copies", _backup_2),
))

_metadata = sa.MetaData()
backup_runs, backup_snapshots, backup_checks, backup_read_rotation, backup_drills = _tables(_metadata)
backup_copies = _copies_table(_metadata)

__all__ = [
    "COPY_OUTCOMES",
    "RUN_OUTCOMES",
    "SCHEMA",
    "backup_checks",
    "backup_copies",
    "backup_drills",
    "backup_read_rotation",
    "backup_runs",
    "backup_snapshots",
]
