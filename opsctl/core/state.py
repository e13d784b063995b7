"""The state store: SQLite in the state directory by default, any SQLAlchemy URL by configuration.

The schema is versioned: :data:`MIGRATIONS` is the ordered list of steps, each applied in its
own transaction when a store is opened; a database newer than this code is refused. One engine
serves every thread, each call is one short transaction, so worker threads may share a store.
"""

from __future__ import annotations

import contextlib
import os
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

from opsctl.core.errors import StateError

if TYPE_CHECKING:
    from opsctl.core.settings import Settings

HOST_OUTCOMES = ("ok", "changed", "failed", "unreachable", "skipped")
SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
_ANCHOR_ROW_ID = 1
# an arbitrary constant: serialises concurrent migrations on a shared PostgreSQL
_POSTGRES_MIGRATION_LOCK = 0x6F707363746C


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
    """One schema step: applied once, in its own transaction, in ``version`` order."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _migration_1(connection: Connection) -> None:
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
    sa.Table(
        "run_hosts",
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
        sa.CheckConstraint(
            "outcome IN ('ok', 'changed', 'failed', 'unreachable', 'skipped')",
            name="run_hosts_outcome",
        ),
    )
    metadata.create_all(connection)


def _migration_2(connection: Connection) -> None:
    # the inventory history as version 2 defined it: one row per scan, one JSON snapshot per
    # device per scan (the snapshot's meaning belongs to the inventory package, not to core)
    metadata = sa.MetaData()
    sa.Table(
        "inventory_scans",
        metadata,
        sa.Column("scan_id", sa.String(64), primary_key=True),
        sa.Column("scope", sa.Text, nullable=False),
        sa.Column("operator", sa.String(128), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=False),
        sa.Column("found", sa.Integer, nullable=False),
        sa.Column("changed", sa.Integer, nullable=False),
        sa.Column("partial", sa.Integer, nullable=False),
        sa.Column("unreachable", sa.Integer, nullable=False),
        sa.Column("vanished", sa.Integer, nullable=False),
        sa.Index("inventory_scans_started_at", "started_at"),
        sa.Index("inventory_scans_scope_started_at", "scope", "started_at"),
    )
    sa.Table(
        "inventory_snapshots",
        metadata,
        sa.Column(
            "scan_id",
            sa.String(64),
            sa.ForeignKey("inventory_scans.scan_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("device", sa.String(255), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("serial", sa.String(255), nullable=True),
        sa.Column("management_address", sa.String(255), nullable=True),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("snapshot", sa.Text, nullable=False),
        sa.Column("messages", sa.Text, nullable=False),
        sa.CheckConstraint(
            "status IN ('ok', 'partial', 'unreachable', 'vanished')",
            name="inventory_snapshots_status",
        ),
        sa.Index("inventory_snapshots_device_started_at", "device", "started_at"),
        sa.Index("inventory_snapshots_serial", "serial"),
    )
    metadata.create_all(connection)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "audit anchor, runs and per-host results", _migration_1),
    Migration(2, "inventory scans and per-device snapshots", _migration_2),
)

# ----------------------------------------------------------------------------- current tables

_metadata = sa.MetaData()
_schema_version = sa.Table(
    "schema_version",
    _metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
)
_audit_anchor = sa.Table(
    "audit_anchor",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("seq", sa.Integer),
    sa.Column("hash", sa.String(64)),
    sa.Column("updated_at", UtcDateTime),
)
_runs = sa.Table(
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
)
_run_hosts = sa.Table(
    "run_hosts",
    _metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), primary_key=True),
    sa.Column("outcome", sa.String(16)),
    sa.Column("exit_status", sa.Integer),
    sa.Column("duration_seconds", sa.Float),
    sa.Column("error", sa.Text),
)

# tables other packages read and write through StateStore.transaction (core knows their columns,
# not what the inventory package stores in them)
inventory_scans = sa.Table(
    "inventory_scans",
    _metadata,
    sa.Column("scan_id", sa.String(64), primary_key=True),
    sa.Column("scope", sa.Text),
    sa.Column("operator", sa.String(128)),
    sa.Column("started_at", UtcDateTime),
    sa.Column("finished_at", UtcDateTime),
    sa.Column("found", sa.Integer),
    sa.Column("changed", sa.Integer),
    sa.Column("partial", sa.Integer),
    sa.Column("unreachable", sa.Integer),
    sa.Column("vanished", sa.Integer),
)
inventory_snapshots = sa.Table(
    "inventory_snapshots",
    _metadata,
    sa.Column("scan_id", sa.String(64), primary_key=True),
    sa.Column("device", sa.String(255), primary_key=True),
    sa.Column("status", sa.String(16)),
    sa.Column("serial", sa.String(255)),
    sa.Column("management_address", sa.String(255)),
    sa.Column("started_at", UtcDateTime),
    sa.Column("snapshot", sa.Text),
    sa.Column("messages", sa.Text),
)

# ----------------------------------------------------------------------------- records


@dataclass(frozen=True)
class AuditAnchor:
    """The sequence number and hash of the newest audit line, as last written."""

    seq: int
    hash: str
    updated_at: datetime


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


# ----------------------------------------------------------------------------- the store


def open_state(settings: Settings) -> StateStore:
    """Open (creating and migrating as needed) the state store the settings name."""
    return StateStore(settings.state.database_url)


class StateStore:
    """A migrated state database; every method is one transaction and safe across threads.

    Raise :class:`StateError` naming the database (never its password) when it cannot be
    opened, migrated, read or written, or when its schema is newer than this code.
    """

    def __init__(self, url: str, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        _check_migrations(migrations)
        try:
            parsed = make_url(url)
        except exc.ArgumentError:
            # the message would repeat the URL, password included
            raise StateError(
                "the state store URL cannot be parsed", hint="check state.url"
            ) from None
        self._is_sqlite = parsed.get_backend_name() == "sqlite"
        if self._is_sqlite and parsed.database and parsed.database != ":memory:":
            self.location = parsed.database
        else:
            self.location = parsed.render_as_string(hide_password=True)
        self._migrations = tuple(migrations)
        if self._is_sqlite:
            self._prepare_sqlite_file(parsed.database)
        with self._errors("cannot open"):
            self._engine = self._create_engine(parsed)
        self._write_engine = self._engine.execution_options(opsctl_write=True)
        self._migrate()

    # -- lifecycle

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def schema_version(self) -> int:
        """Return the newest migration applied to the database (0 for an empty one)."""
        with self._errors("cannot read the schema version"), self._engine.connect() as conn:
            return _current_version(conn)

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
    ) -> None:
        """Record the start of a run (default now, UTC); raise StateError if ``run_id`` exists."""
        started_at = datetime.now(UTC) if started_at is None else started_at
        with self._errors(f"cannot record the start of run {run_id}"), self._write() as conn:
            conn.execute(
                _runs.insert().values(
                    run_id=run_id,
                    kind=kind,
                    command=command,
                    target=target,
                    operator=operator,
                    started_at=started_at,
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
        hosts = tuple(
            HostResult(
                host=host.host,
                outcome=host.outcome,
                exit_status=host.exit_status,
                duration_seconds=host.duration_seconds,
                error=host.error,
            )
            for host in host_rows
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

    # -- audit anchor

    def get_anchor(self) -> AuditAnchor | None:
        """Return the stored anchor of the audit log, or None if none was ever written."""
        with self._errors("cannot read the audit anchor"), self._engine.connect() as conn:
            row = conn.execute(
                sa.select(_audit_anchor).where(_audit_anchor.c.id == _ANCHOR_ROW_ID)
            ).first()
        if row is None:
            return None
        return AuditAnchor(seq=row.seq, hash=row.hash, updated_at=row.updated_at)

    def set_anchor(self, seq: int, hash: str) -> None:
        """Replace the audit anchor with the newest line's ``seq`` and ``hash``."""
        values = {"id": _ANCHOR_ROW_ID, "seq": seq, "hash": hash, "updated_at": datetime.now(UTC)}
        with self._errors("cannot write the audit anchor"), self._write() as conn:
            _upsert(conn, _audit_anchor, values, ("id",))

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
            reason = str(error.orig).strip() or type(error.orig).__name__
            raise StateError(
                f"state store {self.location}: {action}: {reason}", hint=_hint_for(reason)
            ) from None
        except exc.SQLAlchemyError as error:
            raise StateError(
                f"state store {self.location}: {action}: {type(error).__name__}: {error}"
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

    def _create_engine(self, parsed: sa.URL) -> Engine:
        if not self._is_sqlite:
            return sa.create_engine(parsed, pool_pre_ping=True)
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
        known = self._migrations[-1].version if self._migrations else 0
        with self._errors("cannot read the schema version"), self._engine.connect() as conn:
            current = _current_version(conn)
        self._refuse_newer(current, known)
        for step in self._migrations:
            if step.version <= current:
                continue
            with self._errors(f"migration {step.version} ({step.description}) failed"):
                with self._write() as conn:
                    if conn.dialect.name == "postgresql":
                        conn.execute(
                            sa.select(sa.func.pg_advisory_xact_lock(_POSTGRES_MIGRATION_LOCK))
                        )
                    _schema_version.create(conn, checkfirst=True)
                    # another process may have migrated since we looked
                    current = _current_version(conn)
                    self._refuse_newer(current, known)
                    if step.version <= current:
                        continue
                    step.apply(conn)
                    conn.execute(
                        _schema_version.insert().values(
                            version=step.version,
                            description=step.description,
                            applied_at=datetime.now(UTC),
                        )
                    )
                current = step.version

    def _refuse_newer(self, current: int, known: int) -> None:
        if current > known:
            raise StateError(
                f"state store {self.location}: schema version {current} is newer than this "
                f"opsctl knows (up to {known})",
                hint="upgrade opsctl; a newer version has migrated this database",
            )


def _check_migrations(migrations: Sequence[Migration]) -> None:
    versions = [step.version for step in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must run 1, 2, 3, ... without gaps: {versions}")


def _current_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table(_schema_version.name):
        return 0
    version = conn.execute(sa.select(sa.func.max(_schema_version.c.version))).scalar()
    return int(version or 0)


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
    if "not a database" in reason or "malformed" in reason:
        return "the file is not a usable SQLite database: move it aside to start a new state store"
    if "locked" in reason or "busy" in reason:
        return "another opsctl process is holding the database; try again"
    if "unable to open" in reason or "readonly" in reason or "read-only" in reason:
        return "check that the state directory (state.dir) exists and is writable"
    return None
