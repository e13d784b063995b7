"""The core's part of the state store: its migrations (:data:`CORE_SCHEMA`) and its tables as
they stand now (runs and their hosts and steps, audit anchors, named locks).

The migrations build each version's tables as that version defined them; the table objects
below are the newest version's, for the store's queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsctl.core.migrations import CORE_COMPONENT, Migration, Schema
from opsctl.core.owner import ProcessIdentity
from opsctl.core.sql import UtcDateTime

# the project's one outcome vocabulary (opsctl.core.fleet.Outcome spells the same names)
HOST_OUTCOMES = ("ok", "changed", "failed", "unreachable", "skipped", "partial")
# the audit anchor of a store written before anchors were keyed by the log's identity
LEGACY_AUDIT_LOG_ID = "legacy"


def _core_1(connection: Connection) -> None:
    # the tables as version 1 defined them: later versions change them with later steps
    metadata = sa.MetaData()
    sa.Table(
        "audit_anchor",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.CheckConstraint("id = 1", name="audit_anchor_single_row"),
    )
    sa.Table(
        "runs",
        metadata,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("operator", sa.String(128), nullable=False),
        sa.Index("runs_kind_started_at", "kind", "started_at"),
    )
    _run_hosts_table(metadata, "run_hosts", ("ok", "changed", "failed", "unreachable", "skipped"))
    metadata.create_all(connection)


def _run_hosts_table(metadata: sa.MetaData, name: str, outcomes: Sequence[str]) -> sa.Table:
    listed = ", ".join(f"'{outcome}'" for outcome in outcomes)
    return sa.Table(
        name,
        metadata,
        sa.Column(
            "run_id",
            sa.String(64),
            sa.ForeignKey("runs.run_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("exit_status", sa.Integer, nullable=True),
        sa.Column("duration_seconds", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.CheckConstraint(f"outcome IN ({listed})", name="run_hosts_outcome"),
    )


def _core_2(connection: Connection) -> None:
    # 1. 'partial' joins the outcomes. SQLite cannot alter a CHECK constraint: rebuild the table.
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ALTER TABLE run_hosts DROP CONSTRAINT run_hosts_outcome")
        connection.exec_driver_sql(
            "ALTER TABLE run_hosts ADD CONSTRAINT run_hosts_outcome CHECK (outcome IN "
            f"({', '.join(repr(o) for o in HOST_OUTCOMES)}))"
        )
    else:
        metadata = sa.MetaData()
        sa.Table("runs", metadata, sa.Column("run_id", sa.String(64), primary_key=True))
        rebuilt = _run_hosts_table(metadata, "run_hosts_rebuilt", HOST_OUTCOMES)
        rebuilt.create(connection)
        connection.exec_driver_sql(
            "INSERT INTO run_hosts_rebuilt (run_id, host, outcome, exit_status, duration_seconds, "
            "error) SELECT run_id, host, outcome, exit_status, duration_seconds, error FROM run_hosts"
        )
        connection.exec_driver_sql("DROP TABLE run_hosts")
        connection.exec_driver_sql("ALTER TABLE run_hosts_rebuilt RENAME TO run_hosts")
    # 2. a run names its owner, so one that was killed (SIGKILL, the OOM killer) is told from one
    #    still running: the host, the pid, that process's start time and the boot it ran in
    for column in (
        "owner_host VARCHAR(255)",
        "owner_pid INTEGER",
        "owner_process_started FLOAT",
        "owner_boot_id VARCHAR(64)",
    ):
        connection.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {column}")
    metadata = sa.MetaData()
    # runs exists (core 1): named here only so the step journal's foreign key can point at it
    sa.Table("runs", metadata, sa.Column("run_id", sa.String(64), primary_key=True))
    # 3. the audit anchor, keyed by the log's identity (several controllers may share a store),
    #    with the pending (seq, hash) recorded before a line is written
    sa.Table(
        "audit_anchors",
        metadata,
        sa.Column("log_id", sa.String(255), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("pending_seq", sa.Integer, nullable=True),
        sa.Column("pending_hash", sa.String(64), nullable=True),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    # 4. named locks (SQLite; PostgreSQL uses advisory locks): the owner row, and a heartbeat
    #    that decides for a holder on another host
    sa.Table(
        "locks",
        metadata,
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("owner_host", sa.String(255), nullable=False),
        sa.Column("owner_pid", sa.Integer, nullable=False),
        sa.Column("owner_process_started", sa.Float, nullable=False),
        sa.Column("owner_boot_id", sa.String(64), nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("acquired_at", UtcDateTime, nullable=False),
        sa.Column("heartbeat_at", UtcDateTime, nullable=False),
    )
    # 5. the step journal: each completed step of each host of a run, so a run resumes
    sa.Table(
        "run_steps",
        metadata,
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("step", sa.String(255), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("changed", sa.Boolean, nullable=False),
        sa.Column("duration_seconds", sa.Float, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("finished_at", UtcDateTime, nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], ondelete="CASCADE"),
        sa.CheckConstraint(
            f"outcome IN ({', '.join(repr(o) for o in HOST_OUTCOMES)})", name="run_steps_outcome"
        ),
    )
    metadata.create_all(connection)
    connection.exec_driver_sql(
        "INSERT INTO audit_anchors (log_id, seq, hash, updated_at) "
        f"SELECT '{LEGACY_AUDIT_LOG_ID}', seq, hash, updated_at FROM audit_anchor"
    )
    connection.exec_driver_sql("DROP TABLE audit_anchor")


CORE_SCHEMA = Schema(
    CORE_COMPONENT,
    (
        Migration(1, "audit anchor, runs and per-host results", _core_1),
        Migration(
            2,
            "partial outcomes, run owners, audit anchors by log, named locks, step journal",
            _core_2,
        ),
    ),
)

# ----------------------------------------------------------------------------- current tables

_metadata = sa.MetaData()
audit_anchors = sa.Table(
    "audit_anchors",
    _metadata,
    sa.Column("log_id", sa.String(255), primary_key=True),
    sa.Column("seq", sa.Integer),
    sa.Column("hash", sa.String(64)),
    sa.Column("pending_seq", sa.Integer),
    sa.Column("pending_hash", sa.String(64)),
    sa.Column("updated_at", UtcDateTime),
)
runs = sa.Table(
    "runs",
    _metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32)),
    sa.Column("command", sa.Text),
    sa.Column("target", sa.Text),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("outcome", sa.String(32)),
    sa.Column("operator", sa.String(128)),
    sa.Column("owner_host", sa.String(255)),
    sa.Column("owner_pid", sa.Integer),
    sa.Column("owner_process_started", sa.Float),
    sa.Column("owner_boot_id", sa.String(64)),
)
run_hosts = sa.Table(
    "run_hosts",
    _metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("outcome", sa.String(16)),
    sa.Column("exit_status", sa.Integer),
    sa.Column("duration_seconds", sa.Float),
    sa.Column("error", sa.Text),
)
run_steps = sa.Table(
    "run_steps",
    _metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("step", sa.String(255), primary_key=True),
    sa.Column("position", sa.Integer),
    sa.Column("outcome", sa.String(16)),
    sa.Column("changed", sa.Boolean),
    sa.Column("duration_seconds", sa.Float),
    sa.Column("output", sa.Text),
    sa.Column("error", sa.Text),
    sa.Column("finished_at", UtcDateTime),
)
locks = sa.Table(
    "locks",
    _metadata,
    sa.Column("name", sa.String(255), primary_key=True),
    sa.Column("owner_host", sa.String(255)),
    sa.Column("owner_pid", sa.Integer),
    sa.Column("owner_process_started", sa.Float),
    sa.Column("owner_boot_id", sa.String(64)),
    sa.Column("token", sa.String(64)),
    sa.Column("purpose", sa.Text),
    sa.Column("acquired_at", UtcDateTime),
    sa.Column("heartbeat_at", UtcDateTime),
)


def owner_columns(owner: ProcessIdentity) -> dict[str, Any]:
    """The ``owner_*`` columns (of a run or a lock) naming ``owner``."""
    return {
        "owner_host": owner.host,
        "owner_pid": owner.pid,
        "owner_process_started": owner.started,
        "owner_boot_id": owner.boot_id,
    }


def owner_of(row: sa.Row[Any]) -> ProcessIdentity | None:
    """The owner a row's ``owner_*`` columns name; None for a run recorded before owners were."""
    if row.owner_host is None or row.owner_pid is None:
        return None
    return ProcessIdentity(
        host=row.owner_host,
        pid=row.owner_pid,
        started=row.owner_process_started or 0.0,
        boot_id=row.owner_boot_id or "",
    )
