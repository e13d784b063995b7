"""The state store: SQLite in the state directory by default, any SQLAlchemy URL by configuration.

Each package owns its part of the store: a :class:`Schema` (its component name and migrations,
each component with its own version sequence), declared in the ``opsctl.state_schemas``
entry-point group and applied when a store is opened, each step in its own transaction; a
component newer than this code is refused. The core keeps the engine, the migration runner, the
runs and their per-host results and steps, the audit anchors and the named locks
(:meth:`StateStore.lock`). One engine serves every thread, each call is one short transaction,
so worker threads may share a store.

PostgreSQL (``postgresql+psycopg://user@host:port/db``, the password given by reference and
joined here, never written in the URL) serves several controllers sharing one installation:
its migrations are serialised by an advisory lock and its named locks are advisory locks.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.types import TypeDecorator

from opsctl.core.errors import LockHeld, StateError
from opsctl.core.owner import ProcessIdentity

if TYPE_CHECKING:
    from opsctl.core.settings import Settings

# the project's one outcome vocabulary (opsctl.core.fleet.Outcome spells the same names)
HOST_OUTCOMES = ("ok", "changed", "failed", "unreachable", "skipped", "partial")
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
# an arbitrary constant: serialises concurrent migrations on a shared PostgreSQL
_POSTGRES_MIGRATION_LOCK = 0x6F707363746C
# a PostgreSQL server that does not answer a connection within this is reported, not waited for
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
# a lock holder on another host is alive while its heartbeat is younger than the TTL (SQLite;
# PostgreSQL's advisory lock ends with the holder's session). The TTL leaves room for a
# heartbeat thread starved on a loaded machine and for clocks a little apart.
LOCK_HEARTBEAT_TTL_SECONDS = 60.0
LOCK_HEARTBEAT_INTERVAL_SECONDS = 10.0


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive, in UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ----------------------------------------------------------------------------- migrations


@dataclass(frozen=True)
class Migration:
    """One schema step of a component: applied once, in its own transaction, in ``version`` order."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _check_migrations(component: str, migrations: Sequence[Migration]) -> None:
    versions = [step.version for step in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(
            f"the {component} migrations' versions must run 1, 2, 3, ... without gaps: {versions}"
        )


@dataclass(frozen=True)
class Schema:
    """A component's part of the store: its name and its migrations, versions 1, 2, 3, ... without gaps.

    Each package owns one (``core`` here, ``inventory`` in ``inventory.state``, later ``monitoring``,
    ``backup``, ``playbooks``) and declares it in the ``opsctl.state_schemas`` entry-point group, so
    a store opened by any command migrates every installed component, imported or not.
    """

    component: str
    migrations: tuple[Migration, ...]

    def __post_init__(self) -> None:
        _check_migrations(self.component, self.migrations)

    @property
    def version(self) -> int:
        """The newest version this code knows for the component (0 for none)."""
        return self.migrations[-1].version if self.migrations else 0


SCHEMA_ENTRY_POINT_GROUP = "opsctl.state_schemas"
CORE_COMPONENT = "core"
# the audit anchor of a store written before anchors were keyed by the log's identity
LEGACY_AUDIT_LOG_ID = "legacy"
# the hash before a log's first line (opsctl.core.audit.GENESIS_HASH): the empty chain's anchor
_GENESIS_HASH = "0" * 64


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

# Before migrations were keyed by component, one sequence served everything: version 1 was
# today's core 1 and version 2 the inventory's tables. A store written then is adopted in place.
_LEGACY_VERSIONS = {1: (CORE_COMPONENT, 1), 2: ("inventory", 1)}
# written into the legacy table once adopted, so an older opsctl refuses the store
_LEGACY_SENTINEL_VERSION = 3

_registered_schemas: dict[str, Schema] = {}


def register_schema(schema: Schema) -> None:
    """Register a component's schema in this process (entry points are found without this).

    Raise ValueError if another schema already holds the component's name.
    """
    if schema.component == CORE_COMPONENT:
        raise ValueError(f"the {CORE_COMPONENT!r} component is opsctl.core.state's own")
    existing = _registered_schemas.get(schema.component)
    if existing is not None and existing is not schema:
        raise ValueError(f"a state schema for component {schema.component!r} is already registered")
    _registered_schemas[schema.component] = schema


def installed_schemas() -> tuple[Schema, ...]:
    """The core's schema, then every other component's (entry points and registered), by name.

    Raise StateError naming an entry point that cannot be loaded or is not the schema of the
    component it is named after (``core`` belongs to this module and cannot be claimed).
    """
    from importlib.metadata import entry_points

    found: dict[str, Schema] = {}
    for point in entry_points(group=SCHEMA_ENTRY_POINT_GROUP):
        try:
            schema = point.load()
        except Exception as error:  # a broken plugin: name it, whatever it raised
            raise StateError(
                f"entry point {point.name} = {point.value} in {SCHEMA_ENTRY_POINT_GROUP} cannot "
                f"be loaded: {type(error).__name__}: {error}",
                hint="reinstall or remove the package that declares it",
            ) from None
        if (
            not isinstance(schema, Schema)
            or schema.component != point.name
            or schema.component == CORE_COMPONENT
        ):
            raise StateError(
                f"entry point {point.name} = {point.value} in {SCHEMA_ENTRY_POINT_GROUP} is not "
                f"the state schema of component {point.name!r}"
            )
        found[schema.component] = schema
    found.update(_registered_schemas)
    return (CORE_SCHEMA, *(found[name] for name in sorted(found)))


# ----------------------------------------------------------------------------- current tables

_metadata = sa.MetaData()
_schema_version = sa.Table(
    "schema_version",
    _metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)
_schema_migrations = sa.Table(
    "schema_migrations",
    _metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)
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
_runs, _run_hosts = runs, run_hosts

# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class AuditAnchor:
    """The sequence number and hash of the newest audit line, as last written.

    ``pending_seq``/``pending_hash`` name the line an append is writing: recorded before the
    line is written, cleared when the anchor moves to it (seq 0 with the genesis hash anchors
    a log whose first line is pending).
    """

    seq: int
    hash: str
    updated_at: datetime
    pending_seq: int | None = None
    pending_hash: str | None = None


@dataclass(frozen=True)
class HostResult:
    """One host's outcome in a run."""

    host: str
    outcome: str
    exit_status: int | None
    duration_seconds: float | None
    error: str | None


@dataclass(frozen=True)
class RunRecord:
    """A recorded run and its per-host results (sorted by host)."""

    run_id: str
    kind: str
    command: str
    target: str
    operator: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None
    hosts: tuple[HostResult, ...]


@dataclass(frozen=True)
class UnfinishedRun:
    """A run that began and has not ended: still running, or killed before it could record its end.

    ``owner`` is None for a run begun before owners were recorded.
    """

    run_id: str
    kind: str
    command: str
    target: str
    operator: str
    started_at: datetime
    owner: ProcessIdentity | None


@dataclass(frozen=True)
class StepRecord:
    """One finished step of one host in a run, as the step journal keeps it.

    ``position`` is the step's place in the host's steps (0 first); ``outcome`` one of
    HOST_OUTCOMES; ``changed`` whether it changed something (a failed step may have).
    """

    step: str
    position: int
    outcome: str
    changed: bool
    duration_seconds: float
    stdout: str
    stderr: str
    error: str | None
    finished_at: datetime


@dataclass(frozen=True)
class LockHolder:
    """Who holds a named lock, as its owner row says: the process, what for, since when."""

    name: str
    owner: ProcessIdentity
    purpose: str
    acquired_at: datetime
    heartbeat_at: datetime

    def describe(self, now: datetime) -> str:
        """``pid 42 on ctl1 since 2026-12-05 02:47:11 UTC (heartbeat 3 s ago): purpose``."""
        since = self.acquired_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        age = max(0.0, (now - self.heartbeat_at).total_seconds())
        return (
            f"{self.owner.describe()} since {since} (heartbeat {age:.0f} s ago): {self.purpose}"
        )


class HeldLock:
    """A named lock this process holds, as :meth:`StateStore.lock` yields it.

    ``lost`` turns true if the lock was found taken away while held (its owner row replaced
    after the heartbeat stalled past the TTL, or the PostgreSQL session that held it ended):
    a long job checks it between steps and stops.
    """

    def __init__(self, name: str, purpose: str, owner: ProcessIdentity, token: str) -> None:
        self.name = name
        self.purpose = purpose
        self.owner = owner
        self.token = token
        self._lost = threading.Event()

    @property
    def lost(self) -> bool:
        return self._lost.is_set()

    def __repr__(self) -> str:
        return f"HeldLock({self.name!r}, purpose={self.purpose!r}, lost={self.lost})"


def lock_key(name: str) -> int:
    """The signed 64-bit PostgreSQL advisory-lock key of the named lock ``name``."""
    digest = hashlib.sha256(f"opsctl.lock:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def holder_is_gone(holder: LockHolder, now: datetime, *, ttl_seconds: float) -> bool:
    """Whether a lock's holder has certainly stopped, so its lock may be taken over.

    On this host and boot, exactly when its process has ended (the heartbeat does not matter:
    a live holder whose heartbeat thread starved still holds). Anywhere else, including a host
    of the same name in another boot (it may be another machine), when its heartbeat is older
    than ``ttl_seconds``.
    """
    if holder.owner.on_this_host():
        return holder.owner.alive() is False
    return (now - holder.heartbeat_at).total_seconds() > ttl_seconds


def _utc_now() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------- the store


def open_state(settings: Settings) -> StateStore:
    """Open (creating and migrating as needed) the state store the settings name.

    A PostgreSQL password comes by reference (``state.password``: ``env:``, ``file:`` or
    ``keyring:``), resolved now and joined to ``state.url`` by :class:`StateStore`.
    """
    reference = settings.state.password
    password = None if reference is None else reference.resolve()
    return StateStore(settings.state.database_url, password=password)


def url_with_password(url: str, password: str | None) -> sa.URL:
    """``url`` parsed, with ``password`` (a resolved secret) joined to it when given.

    Raise StateError when the URL cannot be parsed or already holds a password while another
    is given; the message never repeats the URL (it may hold a secret).
    """
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        # the message would repeat the URL, password included
        raise StateError("the state store URL cannot be parsed", hint="check state.url") from None
    if password is None:
        return parsed
    if parsed.password is not None:
        raise StateError(
            f"the state store URL {parsed.render_as_string(hide_password=True)} holds a password "
            "and state.password gives one too",
            hint="keep the password out of state.url; give it by reference in state.password",
        )
    return parsed.set(password=password)


class StateStore:
    """A migrated state database; every method is one transaction and safe across threads.

    Raise :class:`StateError` naming the database (never its password) when it cannot be
    opened, migrated, read or written, or when its schema is newer than this code.
    """

    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        schemas: Sequence[Schema] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        """Open the store at ``url`` and migrate ``schemas`` (default: every installed component's).

        ``password`` (a resolved secret) is joined to the URL; messages name the URL without it.
        ``clock`` (default: now, in UTC) is what the named locks read, so tests can move time.
        """
        schemas = installed_schemas() if schemas is None else tuple(schemas)
        names = [schema.component for schema in schemas]
        if len(set(names)) != len(names):
            raise ValueError(f"a component appears twice among the state schemas: {names}")
        parsed = url_with_password(url, None)
        self._is_sqlite = parsed.get_backend_name() == "sqlite"
        self._is_postgresql = parsed.get_backend_name() == "postgresql"
        if self._is_sqlite and parsed.database and parsed.database != ":memory:":
            self.location = parsed.database
        else:
            self.location = parsed.render_as_string(hide_password=True)
        parsed = url_with_password(url, password)
        self._url = parsed
        self._schemas = tuple(schemas)
        self._clock = clock or _utc_now
        self._lock_engine: Engine | None = None
        self._lock_engine_guard = threading.Lock()
        if self._is_sqlite:
            self._prepare_sqlite_file(parsed.database)
        with self._errors("cannot open"):
            self._engine = self._create_engine(parsed)
        self._write_engine = self._engine.execution_options(opsctl_write=True)
        try:
            self._migrate()
        except BaseException:
            self._engine.dispose()
            raise

    # -- lifecycle

    def close(self) -> None:
        """Close every pooled connection (a held lock keeps its own until it is released)."""
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def schema_version(self, component: str = CORE_COMPONENT) -> int:
        """Return the newest migration of ``component`` applied to the database (0 for none)."""
        with self._errors("cannot read the schema version"), self._engine.connect() as conn:
            return _applied_versions(conn).get(component, 0)

    def schema_versions(self) -> dict[str, int]:
        """Return each component's newest applied migration, components the code lacks included."""
        with self._errors("cannot read the schema versions"), self._engine.connect() as conn:
            return _applied_versions(conn)

    # -- runs

    def begin_run(
        self,
        run_id: str,
        kind: str,
        command: str,
        target: str,
        operator: str,
        *,
        started_at: datetime | None = None,
        owner: ProcessIdentity | None = None,
    ) -> None:
        """Record the start of a run (default now, UTC) and its owner (default this process).

        Called before the run changes anything, so a run killed outright (SIGKILL, the OOM
        killer) still leaves its row: begun, never finished, its owner dead. Raise StateError if
        ``run_id`` exists.
        """
        started_at = datetime.now(UTC) if started_at is None else started_at
        owner = ProcessIdentity.current() if owner is None else owner
        with self._errors(f"cannot record the start of run {run_id}"), self._write() as conn:
            conn.execute(
                _runs.insert().values(
                    run_id=run_id,
                    kind=kind,
                    command=command,
                    target=target,
                    operator=operator,
                    started_at=started_at,
                    **_owner_columns(owner),
                )
            )

    def record_host(
        self,
        run_id: str,
        host: str,
        outcome: str,
        exit_status: int | None,
        duration_seconds: float | None,
        error: str | None,
    ) -> None:
        """Insert or replace one host's result in a begun run; ``outcome`` is one of HOST_OUTCOMES."""
        self.record_hosts(run_id, [HostResult(host, outcome, exit_status, duration_seconds, error)])

    def record_hosts(self, run_id: str, results: Sequence[HostResult]) -> None:
        """Insert or replace several hosts' results of a begun run in one transaction."""
        for result in results:
            if result.outcome not in HOST_OUTCOMES:
                raise ValueError(
                    f"host outcome must be one of {', '.join(HOST_OUTCOMES)}: {result.outcome}"
                )
        if not results:
            return
        names = ", ".join(r.host for r in results[:3]) + (" …" if len(results) > 3 else "")
        noun = "host" if len(results) == 1 else "hosts"
        with self._errors(f"cannot record {noun} {names} of run {run_id}"), self._write() as conn:
            for result in results:
                values = {
                    "run_id": run_id,
                    "host": result.host,
                    "outcome": result.outcome,
                    "exit_status": result.exit_status,
                    "duration_seconds": result.duration_seconds,
                    "error": result.error,
                }
                _upsert(conn, _run_hosts, values, ("run_id", "host"))

    def finish_run(self, run_id: str, outcome: str) -> None:
        """Record a run's end (now, in UTC) and outcome; raise StateError for an unknown run."""
        with self._errors(f"cannot record the end of run {run_id}"), self._write() as conn:
            result = conn.execute(
                _runs.update()
                .where(_runs.c.run_id == run_id)
                .values(finished_at=datetime.now(UTC), outcome=outcome)
            )
            if result.rowcount == 0:
                raise StateError(f"state store {self.location}: no run {run_id} to finish")

    def last_run(self, kind: str) -> RunRecord | None:
        """Return the newest run of ``kind`` (by start time) with its host results, or None."""
        with self._errors(f"cannot read the last {kind} run"), self._engine.begin() as conn:
            row = conn.execute(
                sa.select(_runs)
                .where(_runs.c.kind == kind)
                .order_by(_runs.c.started_at.desc(), _runs.c.run_id.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            host_rows = conn.execute(
                sa.select(_run_hosts)
                .where(_run_hosts.c.run_id == row.run_id)
                .order_by(_run_hosts.c.host)
            ).all()
        return _run_record(row, host_rows)

    # -- audit anchor

    def get_anchor(self, log_id: str = LEGACY_AUDIT_LOG_ID) -> AuditAnchor | None:
        """Return the stored anchor of the audit log ``log_id``, or None if none was ever written."""
        with self._errors("cannot read the audit anchor"), self._engine.connect() as conn:
            row = conn.execute(
                sa.select(audit_anchors).where(audit_anchors.c.log_id == log_id)
            ).first()
        if row is None:
            return None
        return AuditAnchor(
            seq=row.seq,
            hash=row.hash,
            updated_at=row.updated_at,
            pending_seq=row.pending_seq,
            pending_hash=row.pending_hash,
        )

    def set_anchor(self, seq: int, hash: str, log_id: str = LEGACY_AUDIT_LOG_ID) -> None:
        """Replace the anchor of the audit log ``log_id`` with its newest line's ``seq`` and ``hash``."""
        values = {
            "log_id": log_id,
            "seq": seq,
            "hash": hash,
            "pending_seq": None,
            "pending_hash": None,
            "updated_at": datetime.now(UTC),
        }
        with self._errors("cannot write the audit anchor"), self._write() as conn:
            _upsert(conn, audit_anchors, values, ("log_id",))

    # -- audit recorder: pending anchors, a log's identity, runs begun and never ended

    def set_pending_anchor(self, seq: int, hash: str, log_id: str) -> None:
        """Record the line an append of log ``log_id`` is about to write, before it is written.

        A log with no anchor yet gets the empty chain's (seq 0, the genesis hash) beside it.
        """
        now = datetime.now(UTC)
        with self._errors("cannot write the pending audit anchor"), self._write() as conn:
            done = conn.execute(
                audit_anchors.update()
                .where(audit_anchors.c.log_id == log_id)
                .values(pending_seq=seq, pending_hash=hash, updated_at=now)
            )
            if done.rowcount == 0:
                conn.execute(
                    audit_anchors.insert().values(
                        log_id=log_id,
                        seq=0,
                        hash=_GENESIS_HASH,
                        pending_seq=seq,
                        pending_hash=hash,
                        updated_at=now,
                    )
                )

    def claim_legacy_anchor(self, log_id: str) -> AuditAnchor | None:
        """Give the anchor kept before anchors were keyed by log (``legacy``) to log ``log_id``.

        Called once, when a log gets its identity; return the anchor claimed, or None when
        there was none (or ``log_id`` already had one).
        """
        with self._errors("cannot claim the audit anchor"), self._write() as conn:
            rows = {
                row.log_id: row
                for row in conn.execute(
                    sa.select(audit_anchors).where(
                        audit_anchors.c.log_id.in_((LEGACY_AUDIT_LOG_ID, log_id))
                    )
                )
            }
            legacy = rows.get(LEGACY_AUDIT_LOG_ID)
            if legacy is None or log_id in rows:
                return None
            conn.execute(
                audit_anchors.update()
                .where(audit_anchors.c.log_id == LEGACY_AUDIT_LOG_ID)
                .values(log_id=log_id)
            )
        return AuditAnchor(
            seq=legacy.seq,
            hash=legacy.hash,
            updated_at=legacy.updated_at,
            pending_seq=legacy.pending_seq,
            pending_hash=legacy.pending_hash,
        )

    def unfinished_runs(self) -> list[UnfinishedRun]:
        """Every run that began and has not ended, oldest first."""

        with self._errors("cannot read the unfinished runs"), self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(_runs)
                .where(_runs.c.finished_at.is_(None))
                .order_by(_runs.c.started_at, _runs.c.run_id)
            ).all()
        found = []
        for row in rows:
            owner = _owner_of(row)
            found.append(
                UnfinishedRun(
                    run_id=row.run_id,
                    kind=row.kind,
                    command=row.command,
                    target=row.target,
                    operator=row.operator,
                    started_at=row.started_at,
                    owner=owner,
                )
            )
        return found

    def end_unfinished_run(self, run_id: str, outcome: str) -> bool:
        """Record the end of a run that has not ended (one whose owner died); False if it had ended."""
        with self._errors(f"cannot record the end of run {run_id}"), self._write() as conn:
            done = conn.execute(
                _runs.update()
                .where(_runs.c.run_id == run_id, _runs.c.finished_at.is_(None))
                .values(finished_at=datetime.now(UTC), outcome=outcome)
            )
        return bool(done.rowcount)

    # -- step journal: each finished step of each host of a run, so an interrupted run resumes

    def record_steps(
        self,
        run_id: str,
        steps: Mapping[str, Sequence[StepRecord]],
        hosts: Sequence[HostResult] = (),
    ) -> None:
        """Insert or replace finished steps (by host) and ``hosts``' results of a begun run, in one
        transaction; a step is keyed by run, host and step name. Raise ValueError for an outcome
        outside HOST_OUTCOMES, StateError if the store cannot be written.
        """
        rows = [(host, step) for host, host_steps in steps.items() for step in host_steps]
        for outcome in [step.outcome for _, step in rows] + [host.outcome for host in hosts]:
            if outcome not in HOST_OUTCOMES:
                raise ValueError(f"outcome must be one of {', '.join(HOST_OUTCOMES)}: {outcome}")
        if not rows and not hosts:
            return
        step_rows = [
            {
                "run_id": run_id,
                "host": host,
                "step": step.step,
                "position": step.position,
                "outcome": step.outcome,
                "changed": step.changed,
                "duration_seconds": step.duration_seconds,
                "output": self._encode_output(step.stdout, step.stderr),
                "error": step.error,
                "finished_at": step.finished_at,
            }
            for host, step in rows
        ]
        host_rows = [
            {
                "run_id": run_id,
                "host": result.host,
                "outcome": result.outcome,
                "exit_status": result.exit_status,
                "duration_seconds": result.duration_seconds,
                "error": result.error,
            }
            for result in hosts
        ]
        with self._errors(f"cannot record the steps of run {run_id}"), self._write() as conn:
            self._upsert_many(conn, run_steps, step_rows, ("run_id", "host", "step"))
            self._upsert_many(conn, _run_hosts, host_rows, ("run_id", "host"))

    @staticmethod
    def _upsert_many(
        conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
    ) -> None:
        """Insert or update ``rows`` (same columns each) with one statement run for all of them."""
        if not rows:
            return
        dialect = conn.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            for row in rows:
                _upsert(conn, table, row, keys)
            return
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            lite = sqlite_insert(table)
            lite_updates = {name: lite.excluded[name] for name in rows[0] if name not in keys}
            conn.execute(lite.on_conflict_do_update(index_elements=keys, set_=lite_updates), list(rows))
            return
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        pg = postgresql_insert(table)
        pg_updates = {name: pg.excluded[name] for name in rows[0] if name not in keys}
        conn.execute(pg.on_conflict_do_update(index_elements=keys, set_=pg_updates), list(rows))

    def recorded_steps(self, run_id: str) -> dict[str, tuple[StepRecord, ...]]:
        """Return the steps recorded for ``run_id``, by host, each host's in position order."""
        with self._errors(f"cannot read the steps of run {run_id}"), self._engine.connect() as conn:
            rows = conn.execute(
                sa.select(run_steps)
                .where(run_steps.c.run_id == run_id)
                .order_by(run_steps.c.host, run_steps.c.position)
            ).all()
        found: dict[str, list[StepRecord]] = {}
        for row in rows:
            stdout, stderr = self._decode_output(row.output)
            found.setdefault(row.host, []).append(
                StepRecord(
                    step=row.step,
                    position=row.position,
                    outcome=row.outcome,
                    changed=bool(row.changed),
                    duration_seconds=row.duration_seconds,
                    stdout=stdout,
                    stderr=stderr,
                    error=row.error,
                    finished_at=row.finished_at,
                )
            )
        return {host: tuple(host_steps) for host, host_steps in found.items()}

    def resume_run(self, run_id: str, *, owner: ProcessIdentity | None = None) -> RunRecord:
        """Reopen a recorded run for another attempt, owned by ``owner``; return it as it was.

        Raise UsageError if there is no such run, SafetyRefusal if the process that owns it is
        still running on this host (it has not ended, it is not interrupted), StateError if the
        store cannot be read or written.
        """
        from opsctl.core.errors import SafetyRefusal, UsageError

        with self._errors(f"cannot reopen run {run_id}"), self._write() as conn:
            row = conn.execute(
                sa.select(_runs).where(_runs.c.run_id == run_id).with_for_update()
            ).first()
            if row is None:
                raise UsageError(f"there is no run {run_id} to resume in {self.location}")
            holder = _owner_of(row)
            if row.finished_at is None and holder is not None and holder.alive():
                raise SafetyRefusal(
                    f"run {run_id} is still running ({holder.describe()})",
                    hint="wait for it to end, or stop it first",
                )
            host_rows = conn.execute(
                sa.select(_run_hosts)
                .where(_run_hosts.c.run_id == run_id)
                .order_by(_run_hosts.c.host)
            ).all()
            reopened: dict[str, Any] = {"finished_at": None, "outcome": None}
            if owner is not None:
                reopened |= _owner_columns(owner)
            conn.execute(_runs.update().where(_runs.c.run_id == run_id).values(**reopened))
        return _run_record(row, host_rows)

    @staticmethod
    def _encode_output(stdout: str, stderr: str) -> str:
        """A step's two output streams in the journal's one ``output`` column (a JSON object)."""
        import json

        return json.dumps({"stdout": stdout, "stderr": stderr}, ensure_ascii=False)

    @staticmethod
    def _decode_output(output: str | None) -> tuple[str, str]:
        """(stdout, stderr) from the ``output`` column; text that is not our JSON is stdout."""
        import json

        try:
            streams = json.loads(output or "")
        except ValueError:
            return output or "", ""
        if not isinstance(streams, dict):
            return output or "", ""
        return str(streams.get("stdout", "")), str(streams.get("stderr", ""))

    # -- generic access, for packages that keep their own tables in this store

    @contextlib.contextmanager
    def transaction(self, action: str, *, write: bool = False) -> Iterator[Connection]:
        """Yield a connection inside one transaction, committed on a clean exit and rolled back on error.

        ``write=True`` takes the write lock at the start (``BEGIN IMMEDIATE`` on SQLite). Any
        database error becomes a :class:`StateError` naming the store and ``action``.
        """
        engine = self._write_engine if write else self._engine
        with self._errors(action), engine.begin() as conn:
            yield conn

    # -- named locks

    @contextlib.contextmanager
    def lock(self, name: str, *, purpose: str, wait_seconds: float = 0.0) -> Iterator[HeldLock]:
        """Hold the named lock ``name`` for the block, exclusive across processes and controllers.

        Refused at once (or after ``wait_seconds`` of retrying) with :class:`LockHeld` (exit 5)
        naming the holder: host, pid, since when and ``purpose``. A second ``lock`` of the same
        name in this process is refused too: two blocks would each think they were alone.
        SQLite: an owner row; a holder on this host is alive while its process is (a dead one
        is taken over at once), one elsewhere while its heartbeat, refreshed by a daemon thread,
        is younger than LOCK_HEARTBEAT_TTL_SECONDS. PostgreSQL: ``pg_try_advisory_lock`` on a
        connection of its own held for the block (a pooled one, recycled, would drop the lock
        silently), the owner row only naming the holder. The lock is released when the block
        ends, however it ends; the row removed is only ever our own.
        """
        if not name or len(name) > 255:
            raise ValueError("a lock name is 1 to 255 characters")
        deadline = time.monotonic() + max(0.0, wait_seconds)
        held = HeldLock(name, purpose, ProcessIdentity.current(), secrets.token_hex(16))
        while True:
            try:
                session = self._acquire(held)
                break
            except LockHeld:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        stop = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat,
            args=(held, session, stop),
            name=f"opsctl-lock-heartbeat:{name}",
            daemon=True,
        )
        heartbeat.start()
        try:
            yield held
        except BaseException:
            stop.set()
            heartbeat.join()
            with contextlib.suppress(StateError):
                self._release(held, session)
            raise
        stop.set()
        heartbeat.join()
        self._release(held, session)

    def lock_holder(self, name: str) -> LockHolder | None:
        """The owner row of the named lock ``name`` (it may be stale), or None."""
        with self._errors(f"cannot read lock {name}"), self._engine.connect() as conn:
            row = conn.execute(sa.select(locks).where(locks.c.name == name)).first()
        return None if row is None else _holder_of(row)

    def _acquire(self, held: HeldLock) -> Connection | None:
        """Take the lock for ``held`` or raise LockHeld; return PostgreSQL's session connection."""
        if not self._is_postgresql:
            with self._errors(f"cannot take lock {held.name}"), self._write() as conn:
                row = conn.execute(sa.select(locks).where(locks.c.name == held.name)).first()
                now = self._clock()
                if row is not None:
                    holder = _holder_of(row)
                    if not holder_is_gone(holder, now, ttl_seconds=LOCK_HEARTBEAT_TTL_SECONDS):
                        raise self._lock_held(held.name, holder, now)
                    conn.execute(locks.delete().where(locks.c.name == held.name))
                conn.execute(locks.insert().values(**_owner_row(held, now)))
            return None
        session = self._lock_session()
        try:
            with self._errors(f"cannot take lock {held.name}"):
                taken = session.execute(
                    sa.select(sa.func.pg_try_advisory_lock(lock_key(held.name)))
                ).scalar()
            if not taken:
                raise self._lock_held(held.name, self.lock_holder(held.name), self._clock())
            now = self._clock()
            with self._errors(f"cannot take lock {held.name}"), self._write() as conn:
                # a row left by a holder whose session ended is stale: the advisory lock decides
                _upsert(conn, locks, _owner_row(held, now), ("name",))
        except BaseException:
            session.close()
            raise
        return session

    def _release(self, held: HeldLock, session: Connection | None) -> None:
        """Delete our own owner row (never another's) and end PostgreSQL's session."""
        try:
            with self._errors(f"cannot release lock {held.name}"), self._write() as conn:
                conn.execute(
                    locks.delete().where(locks.c.name == held.name, locks.c.token == held.token)
                )
        finally:
            if session is not None:
                # closing the session releases its advisory locks; unlock first all the same
                with contextlib.suppress(exc.SQLAlchemyError):
                    session.execute(sa.select(sa.func.pg_advisory_unlock(lock_key(held.name))))
                with contextlib.suppress(exc.SQLAlchemyError):
                    session.close()

    def _heartbeat(self, held: HeldLock, session: Connection | None, stop: threading.Event) -> None:
        """Refresh the owner row's heartbeat until ``stop``; mark ``held`` lost if it was taken."""
        while not stop.wait(LOCK_HEARTBEAT_INTERVAL_SECONDS):
            try:
                if session is not None:
                    with self._errors(f"cannot keep lock {held.name}"):
                        session.execute(sa.select(1))
                with self._errors(f"cannot keep lock {held.name}"), self._write() as conn:
                    refreshed = conn.execute(
                        locks.update()
                        .where(locks.c.name == held.name, locks.c.token == held.token)
                        .values(heartbeat_at=self._clock())
                    ).rowcount
            except StateError:
                if session is not None:  # the session, and its advisory lock, may be gone
                    held._lost.set()
                    return
                continue  # SQLite busy for long: the TTL leaves room for the next beat
            if refreshed == 0 and session is None:
                held._lost.set()
                return

    def _lock_session(self) -> Connection:
        """A new PostgreSQL connection outside the pool, in autocommit, for one lock's life."""
        with self._lock_engine_guard:
            if self._lock_engine is None:
                with self._errors("cannot open"):
                    self._lock_engine = self._create_engine(self._url, poolclass=sa.NullPool)
        with self._errors("cannot open a connection for a lock"):
            session = self._lock_engine.connect()
            try:
                session.execution_options(isolation_level="AUTOCOMMIT")
                # a controller that vanishes (power, network) frees its locks in about a
                # minute, instead of after the server's default of two hours of TCP silence
                session.exec_driver_sql(
                    "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; "
                    "SET tcp_keepalives_count = 3"
                )
            except BaseException:
                session.close()
                raise
        return session

    def _lock_held(self, name: str, holder: LockHolder | None, now: datetime) -> LockHeld:
        if holder is None:  # PostgreSQL: taken an instant ago, its owner row not yet written
            return LockHeld(
                f"lock {name!r} is held by another process (its owner is not yet recorded)",
                lock=name,
                hint="try again in a moment",
            )
        mine = holder.owner == ProcessIdentity.current()
        if mine:
            hint = "this process already holds it: a block inside another of the same lock"
        elif self._is_postgresql:
            hint = "PostgreSQL releases it when the holder's session ends"
        elif holder.owner.on_this_host():
            hint = "it is released when the holder ends, and taken over at once if it was killed"
        else:
            hint = (
                f"a holder on another host is taken over once its heartbeat is more than "
                f"{LOCK_HEARTBEAT_TTL_SECONDS:.0f} s old"
            )
        who = holder.describe(now) + (" (this process)" if mine else "")
        return LockHeld(
            f"lock {name!r} is held by {who}",
            lock=name,
            holder_host=holder.owner.host,
            holder_pid=holder.owner.pid,
            since=holder.acquired_at,
            purpose=holder.purpose,
            hint=hint,
        )

    # -- internals

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite, so the busy timeout applies)."""
        with self._write_engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn database and file errors into one StateError naming the store."""
        try:
            yield
        except StateError:
            raise
        except exc.DBAPIError as error:
            # one line: libpq explains over several ("Is the server running on that host ...?")
            reason = " ".join(str(error.orig).split()) or type(error.orig).__name__
            raise StateError(
                f"state store {self.location}: {action}: {reason}", hint=_hint_for(reason)
            ) from None
        except exc.SQLAlchemyError as error:
            raise StateError(
                f"state store {self.location}: {action}: {type(error).__name__}: "
                + " ".join(str(error).split())
            ) from None
        except OSError as error:
            raise StateError(
                f"state store {self.location}: {action}: {error.strerror or error}"
            ) from None
        except ImportError as error:
            raise StateError(
                f"state store {self.location}: {action}: the database driver "
                f"{error.name or ''} is not installed".replace("  ", " "),
                hint="install the driver package for this database URL",
            ) from None

    def _prepare_sqlite_file(self, database: str | None) -> None:
        """Create the database's directory (0700) and the file itself (0600) if missing."""
        if not database or database == ":memory:" or database.startswith("file:"):
            return
        path = Path(database)
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError as error:
            raise StateError(
                f"state store {self.location}: cannot create: {error.strerror or error}",
                hint="check that the state directory (state.dir) is writable",
            ) from None

    def _create_engine(self, parsed: sa.URL, **options: Any) -> Engine:
        """The engine for ``parsed``; ``options`` (a pool class) apply to a server database only."""
        if self._is_postgresql:
            # libpq waits for ever for a host that drops packets; name the store instead
            connect_args: dict[str, Any] = {"application_name": "opsctl"}
            if "connect_timeout" not in parsed.query:
                connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_SECONDS
            return sa.create_engine(
                parsed, pool_pre_ping=True, connect_args=connect_args, **options
            )
        if not self._is_sqlite:
            return sa.create_engine(parsed, pool_pre_ping=True, **options)
        engine = sa.create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # take transactions over from the driver, so BEGIN IMMEDIATE is ours to send
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA foreign_keys = ON")
            finally:
                cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # a deferred write would fail at once (not wait) if another writer got in first
            write = connection.get_execution_options().get("opsctl_write", False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        return engine

    def _migrate(self) -> None:
        """Apply pending migrations; retry a while when another process holds the new database.

        Several processes opening one new SQLite file at once can see "database is locked"
        while one of them switches it to WAL, without SQLite's busy handler being asked.
        """
        attempts = 40
        for attempt in range(1, attempts + 1):
            try:
                self._migrate_once()
                return
            except StateError as error:
                if "database is locked" not in str(error) or attempt == attempts:
                    raise
                time.sleep(min(0.5, 0.02 * attempt))

    def _migrate_once(self) -> None:
        with self._errors("cannot read the schema versions"), self._engine.connect() as conn:
            applied = _applied_versions(conn)
            legacy = _legacy_version(conn)
        for schema in self._schemas:
            self._refuse_newer(schema, applied.get(schema.component, 0))
        if legacy is not None or not applied:
            with self._errors("cannot adopt the schema versions"), self._write() as conn:
                self._serialise_migrations(conn)
                _adopt_legacy_versions(conn, self.location)
        for schema in self._schemas:
            for step in schema.migrations:
                self._apply(schema, step)

    def _apply(self, schema: Schema, step: Migration) -> None:
        """Apply one step in its own transaction unless it (or a newer one) was applied already."""
        label = f"migration {schema.component} {step.version} ({step.description}) failed"
        with self._errors(label), self._write() as conn:
            self._serialise_migrations(conn)
            # another process may have migrated since we looked
            current = _applied_versions(conn).get(schema.component, 0)
            self._refuse_newer(schema, current)
            if step.version <= current:
                return
            step.apply(conn)
            conn.execute(
                _schema_migrations.insert().values(
                    component=schema.component,
                    version=step.version,
                    description=step.description,
                    applied_at=datetime.now(UTC),
                )
            )

    @staticmethod
    def _serialise_migrations(conn: Connection) -> None:
        # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock of its own
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_POSTGRES_MIGRATION_LOCK)))

    def _refuse_newer(self, schema: Schema, current: int) -> None:
        if current > schema.version:
            raise StateError(
                f"state store {self.location}: the {schema.component} schema is at version "
                f"{current}, newer than this opsctl knows (up to {schema.version})",
                hint="upgrade opsctl; a newer version has migrated this database",
            )


def _owner_columns(owner: ProcessIdentity) -> dict[str, Any]:
    """The ``owner_*`` columns (of a run or a lock) naming ``owner``."""
    return {
        "owner_host": owner.host,
        "owner_pid": owner.pid,
        "owner_process_started": owner.started,
        "owner_boot_id": owner.boot_id,
    }


def _owner_of(row: sa.Row[Any]) -> ProcessIdentity | None:
    """The owner a row's ``owner_*`` columns name; None for a run recorded before owners were."""
    if row.owner_host is None or row.owner_pid is None:
        return None
    return ProcessIdentity(
        host=row.owner_host,
        pid=row.owner_pid,
        started=row.owner_process_started or 0.0,
        boot_id=row.owner_boot_id or "",
    )


def _run_record(row: sa.Row[Any], host_rows: Sequence[sa.Row[Any]]) -> RunRecord:
    hosts = tuple(
        HostResult(h.host, h.outcome, h.exit_status, h.duration_seconds, h.error)
        for h in host_rows
    )
    return RunRecord(
        run_id=row.run_id,
        kind=row.kind,
        command=row.command,
        target=row.target,
        operator=row.operator,
        started_at=row.started_at,
        finished_at=row.finished_at,
        outcome=row.outcome,
        hosts=hosts,
    )


def _owner_row(held: HeldLock, now: datetime) -> dict[str, Any]:
    return {
        "name": held.name,
        **_owner_columns(held.owner),
        "token": held.token,
        "purpose": held.purpose,
        "acquired_at": now,
        "heartbeat_at": now,
    }


def _holder_of(row: sa.Row[Any]) -> LockHolder:
    owner = _owner_of(row)
    assert owner is not None  # the lock table's owner columns are NOT NULL
    return LockHolder(
        name=row.name,
        owner=owner,
        purpose=row.purpose,
        acquired_at=row.acquired_at,
        heartbeat_at=row.heartbeat_at,
    )


def _applied_versions(conn: Connection) -> dict[str, int]:
    """Each component's newest applied version; a store older than components reads as such."""
    if not sa.inspect(conn).has_table(_schema_migrations.name):
        legacy = _legacy_version(conn) or 0
        versions: dict[str, int] = {}
        for version in range(1, min(legacy, max(_LEGACY_VERSIONS)) + 1):
            component, component_version = _LEGACY_VERSIONS[version]
            versions[component] = max(versions.get(component, 0), component_version)
        return versions
    rows = conn.execute(
        sa.select(
            _schema_migrations.c.component, sa.func.max(_schema_migrations.c.version)
        ).group_by(_schema_migrations.c.component)
    ).all()
    return {str(component): int(version) for component, version in rows}


def _legacy_version(conn: Connection) -> int | None:
    """The single version of a store written before components, or None for any other store."""
    inspector = sa.inspect(conn)
    if inspector.has_table(_schema_migrations.name) or not inspector.has_table(
        _schema_version.name
    ):
        return None
    version = conn.execute(sa.select(sa.func.max(_schema_version.c.version))).scalar()
    return int(version or 0)


def _adopt_legacy_versions(conn: Connection, location: str) -> None:
    """Create ``schema_migrations``; carry a pre-component store's versions over to it.

    The old ``schema_version`` table gets a version no release before components knew, so an
    older opsctl refuses this store instead of writing into tables it no longer understands.
    """
    if sa.inspect(conn).has_table(_schema_migrations.name):
        return
    legacy = _legacy_version(conn)
    if legacy is not None and legacy > max(_LEGACY_VERSIONS):
        raise StateError(
            f"state store {location}: schema version {legacy} is newer than this opsctl knows "
            f"(up to {max(_LEGACY_VERSIONS)} before components)",
            hint="upgrade opsctl; a newer version has migrated this database",
        )
    _schema_migrations.create(conn)
    _schema_version.create(conn, checkfirst=True)
    now = datetime.now(UTC)
    for version in range(1, (legacy or 0) + 1):
        component, component_version = _LEGACY_VERSIONS[version]
        description = conn.execute(
            sa.select(_schema_version.c.description).where(_schema_version.c.version == version)
        ).scalar()
        conn.execute(
            _schema_migrations.insert().values(
                component=component,
                version=component_version,
                description=str(description or ""),
                applied_at=now,
            )
        )
    conn.execute(
        _schema_version.insert().values(
            version=_LEGACY_SENTINEL_VERSION,
            description="superseded by schema_migrations (versions per component)",
            applied_at=now,
        )
    )


def _upsert(
    conn: Connection, table: sa.Table, values: Mapping[str, Any], keys: Sequence[str]
) -> None:
    """Insert ``values`` into ``table``, or update the row whose ``keys`` match."""
    updates = {name: value for name, value in values.items() if name not in keys}
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        sqlite_statement = sqlite_insert(table).values(**values)
        conn.execute(sqlite_statement.on_conflict_do_update(index_elements=keys, set_=updates))
        return
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        postgresql_statement = postgresql_insert(table).values(**values)
        conn.execute(postgresql_statement.on_conflict_do_update(index_elements=keys, set_=updates))
        return
    match = sa.and_(*(table.c[name] == values[name] for name in keys))
    if conn.execute(table.update().where(match).values(**updates)).rowcount == 0:
        conn.execute(table.insert().values(**values))


def _hint_for(reason: str) -> str | None:
    if "password authentication failed" in reason or "no password supplied" in reason:
        return "check the state store's user in state.url and its password (state.password)"
    if "connection failed" in reason or "could not connect" in reason or "timeout expired" in reason:
        return "check that the database server is running and that state.url names it"
    if "not a database" in reason or "malformed" in reason:
        return "the file is not a usable SQLite database: move it aside to start a new state store"
    if "locked" in reason or "busy" in reason:
        return "another opsctl process is holding the database; try again"
    if "unable to open" in reason or "readonly" in reason or "read-only" in reason:
        return "check that the state directory (state.dir) exists and is writable"
    return None
