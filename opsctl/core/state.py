"""The state store: SQLite in the state directory by default, any SQLAlchemy URL by configuration.

Each package owns its part of the store: a :class:`Schema` (its component name and migrations,
each component with its own version sequence), declared in the ``opsctl.state_schemas``
entry-point group and applied when a store is opened, each step in its own transaction; a
component newer than this code is refused. The store keeps the engine, runs the migrations
(:mod:`opsctl.core.migrations`; the core's own in :mod:`opsctl.core.schema_core`), records the
runs and their per-host results and steps and the audit anchors, and holds the named locks
(:meth:`StateStore.lock`, machinery in :mod:`opsctl.core.locks`). One engine serves every
thread, each call is one short transaction, so worker threads may share a store.

PostgreSQL (``postgresql+psycopg://user@host:port/db``, the password given by reference and
joined here, never written in the URL) serves several controllers sharing one installation:
its migrations are serialised by an advisory lock and its named locks are advisory locks.
"""

from __future__ import annotations

import contextlib
import os
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

from opsctl.core.errors import StateError, StateStoreMissing
from opsctl.core.locks import (
    LOCK_HEARTBEAT_INTERVAL_SECONDS,
    LOCK_HEARTBEAT_TTL_SECONDS,
    HeldLock,
    LockHolder,
    NamedLocks,
    holder_is_gone,
    lock_key,
    open_lock_session,
)
from opsctl.core.migrations import (
    CORE_COMPONENT,
    Migration,
    Schema,
    adopt_legacy_versions,
    applied_versions,
    apply_step,
    legacy_version,
    refuse_newer,
    serialise_migrations,
)
from opsctl.core.owner import ProcessIdentity
from opsctl.core.schema_core import (
    CORE_SCHEMA,
    HOST_OUTCOMES,
    LEGACY_AUDIT_LOG_ID,
    audit_anchors,
    locks,
    owner_columns,
    owner_of,
    run_hosts,
    run_steps,
    runs,
)
from opsctl.core.sql import UtcDateTime, upsert, upsert_many

if TYPE_CHECKING:
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings

__all__ = [
    "CORE_COMPONENT",
    "CORE_SCHEMA",
    "HOST_OUTCOMES",
    "LEGACY_AUDIT_LOG_ID",
    "LOCK_HEARTBEAT_INTERVAL_SECONDS",
    "LOCK_HEARTBEAT_TTL_SECONDS",
    "POSTGRES_CONNECT_TIMEOUT_SECONDS",
    "SCHEMA_ENTRY_POINT_GROUP",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "AuditAnchor",
    "HeldLock",
    "HostResult",
    "LockHolder",
    "Migration",
    "RunRecord",
    "Schema",
    "StateStore",
    "StepRecord",
    "UnfinishedRun",
    "UtcDateTime",
    "audit_anchors",
    "holder_is_gone",
    "installed_schemas",
    "lock_key",
    "locks",
    "open_state",
    "register_schema",
    "run_hosts",
    "run_steps",
    "runs",
    "url_with_password",
]

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
# a PostgreSQL server that does not answer a connection within this is reported, not waited for
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
SCHEMA_ENTRY_POINT_GROUP = "opsctl.state_schemas"
# the hash before a log's first line (opsctl.core.audit.GENESIS_HASH): the empty chain's anchor
_GENESIS_HASH = "0" * 64

# ----------------------------------------------------------------------------- installed schemas

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
    component it is named after (``core`` is opsctl.core's own and cannot be claimed).
    """
    from opsctl.core.plugins import entry_points_in

    found: dict[str, Schema] = {}
    for point in entry_points_in(SCHEMA_ENTRY_POINT_GROUP):
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


def _utc_now() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------- the store


def open_state(settings: Settings, *, create: bool = False) -> StateStore:
    """Open (migrating as needed) the state store the settings name.

    The default store (SQLite in the state directory) is created on first use, its directory
    too. A store ``state.url`` names explicitly is created only with ``create`` (``opsctl state
    init``); otherwise a missing one raises :class:`StateStoreMissing` (exit 2), so a typo in
    the URL never starts a second store. A PostgreSQL password comes by reference
    (``state.password``), resolved now and joined to ``state.url`` by :class:`StateStore`.
    """
    reference = settings.state.password
    password = None if reference is None else reference.resolve()
    default_location = settings.state.url is None
    return StateStore(
        settings.state.database_url,
        password=password,
        create=create or default_location,
        create_directory=default_location,
    )


@dataclass(frozen=True)
class StateInit:
    """What ``opsctl state init`` did: the store's location, whether it was new, its versions."""

    location: str
    created: bool
    versions: Mapping[str, int]

    @property
    def exit_code(self) -> int:
        """Always 0: a store that already existed is left as it was, migrated."""
        return 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {"location": self.location, "created": self.created, "versions": dict(self.versions)}


def init_state(settings: Settings, *, recorder: Recorder) -> StateInit:
    """Create (and migrate) the state store the settings name, recorded; an existing one is migrated.

    Raise StateStoreMissing when an SQLite URL's directory does not exist, StateError when the
    store cannot be created.
    """
    try:
        with open_state(settings) as existing:
            return StateInit(existing.location, False, existing.schema_versions())
    except StateStoreMissing:
        pass  # created below; a missing SQLite directory is refused there again
    with open_state(settings, create=True) as store:
        result = StateInit(store.location, True, store.schema_versions())
    recorder.record("state init", [result.location], "changed", {"versions": dict(result.versions)})
    return result


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
        create: bool = True,
        create_directory: bool = True,
    ) -> None:
        """Open the store at ``url`` and migrate ``schemas`` (default: every installed component's).

        Without ``create``, a store that does not exist yet (no SQLite file; a server database
        holding no opsctl tables) raises :class:`StateStoreMissing`; without
        ``create_directory``, an SQLite file's directory must exist already.

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
            self._prepare_sqlite_file(
                parsed.database, create=create, create_directory=create_directory
            )
        with self._errors("cannot open"):
            self._engine = self._create_engine(parsed)
        self._write_engine = self._engine.execution_options(opsctl_write=True)
        self._locks = NamedLocks(
            self._engine,
            self._write_engine,
            errors=self._errors,
            open_session=self._lock_session if self._is_postgresql else None,
            clock=self._clock,
        )
        try:
            if not create and not self._is_sqlite:
                self._refuse_empty()
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
            return applied_versions(conn).get(component, 0)

    def schema_versions(self) -> dict[str, int]:
        """Return each component's newest applied migration, components the code lacks included."""
        with self._errors("cannot read the schema versions"), self._engine.connect() as conn:
            return applied_versions(conn)

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
                runs.insert().values(
                    run_id=run_id,
                    kind=kind,
                    command=command,
                    target=target,
                    operator=operator,
                    started_at=started_at,
                    **owner_columns(owner),
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
                upsert(conn, run_hosts, values, ("run_id", "host"))

    def finish_run(self, run_id: str, outcome: str) -> None:
        """Record a run's end (now, in UTC) and outcome; raise StateError for an unknown run."""
        with self._errors(f"cannot record the end of run {run_id}"), self._write() as conn:
            result = conn.execute(
                runs.update()
                .where(runs.c.run_id == run_id)
                .values(finished_at=datetime.now(UTC), outcome=outcome)
            )
            if result.rowcount == 0:
                raise StateError(f"state store {self.location}: no run {run_id} to finish")

    def last_run(self, kind: str) -> RunRecord | None:
        """Return the newest run of ``kind`` (by start time) with its host results, or None."""
        with self._errors(f"cannot read the last {kind} run"), self._engine.begin() as conn:
            row = conn.execute(
                sa.select(runs)
                .where(runs.c.kind == kind)
                .order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
                .limit(1)
            ).first()
            if row is None:
                return None
            host_rows = conn.execute(
                sa.select(run_hosts)
                .where(run_hosts.c.run_id == row.run_id)
                .order_by(run_hosts.c.host)
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
            upsert(conn, audit_anchors, values, ("log_id",))

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
                sa.select(runs)
                .where(runs.c.finished_at.is_(None))
                .order_by(runs.c.started_at, runs.c.run_id)
            ).all()
        found = []
        for row in rows:
            owner = owner_of(row)
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
                runs.update()
                .where(runs.c.run_id == run_id, runs.c.finished_at.is_(None))
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
            upsert_many(conn, run_steps, step_rows, ("run_id", "host", "step"))
            upsert_many(conn, run_hosts, host_rows, ("run_id", "host"))

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
                sa.select(runs).where(runs.c.run_id == run_id).with_for_update()
            ).first()
            if row is None:
                raise UsageError(f"there is no run {run_id} to resume in {self.location}")
            holder = owner_of(row)
            if row.finished_at is None and holder is not None and holder.alive():
                raise SafetyRefusal(
                    f"run {run_id} is still running ({holder.describe()})",
                    hint="wait for it to end, or stop it first",
                )
            host_rows = conn.execute(
                sa.select(run_hosts).where(run_hosts.c.run_id == run_id).order_by(run_hosts.c.host)
            ).all()
            reopened: dict[str, Any] = {"finished_at": None, "outcome": None}
            if owner is not None:
                reopened |= owner_columns(owner)
            conn.execute(runs.update().where(runs.c.run_id == run_id).values(**reopened))
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

    def lock(
        self, name: str, *, purpose: str, wait_seconds: float = 0.0
    ) -> contextlib.AbstractContextManager[HeldLock]:
        """Hold the named lock ``name`` for the block, exclusive across processes and controllers.

        Refused at once (or after ``wait_seconds`` of retrying) with :class:`LockHeld` (exit 5)
        naming the holder: host, pid, since when and ``purpose``. A second ``lock`` of the same
        name in this process is refused too: two blocks would each think they were alone.
        SQLite: an owner row; a holder on this host is alive while its process is (a dead one
        is taken over at once), one elsewhere while its heartbeat, refreshed by a daemon thread
        every LOCK_HEARTBEAT_INTERVAL_SECONDS, is younger than LOCK_HEARTBEAT_TTL_SECONDS.
        PostgreSQL: ``pg_try_advisory_lock`` on a connection of its own held for the block (a
        pooled one, recycled, would drop the lock silently), the owner row only naming the
        holder. The lock is released when the block ends, however it ends; the row removed is
        only ever our own.
        """
        return self._locks.hold(
            name,
            purpose=purpose,
            wait_seconds=wait_seconds,
            heartbeat_interval_seconds=LOCK_HEARTBEAT_INTERVAL_SECONDS,
        )

    def lock_holder(self, name: str) -> LockHolder | None:
        """The owner row of the named lock ``name`` (it may be stale), or None."""
        return self._locks.holder(name)

    def _lock_session(self) -> Connection:
        """A new PostgreSQL connection outside the pool, in autocommit, for one lock's life."""
        with self._lock_engine_guard:
            if self._lock_engine is None:
                with self._errors("cannot open"):
                    self._lock_engine = self._create_engine(self._url, poolclass=sa.NullPool)
        with self._errors("cannot open a connection for a lock"):
            return open_lock_session(self._lock_engine)

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

    def _prepare_sqlite_file(
        self, database: str | None, *, create: bool, create_directory: bool
    ) -> None:
        """Create the file (0600) if missing and ``create``, its directory (0700) if ``create_directory``."""
        if not database or database == ":memory:" or database.startswith("file:"):
            return
        path = Path(database)
        if not create_directory and not path.parent.is_dir():
            raise StateStoreMissing(
                f"state store {self.location}: its directory {path.parent} does not exist",
                hint="check state.url; opsctl creates a state store only where state.dir is, "
                "or with `opsctl state init` in an existing directory",
            )
        if not create and not path.exists():
            raise StateStoreMissing(
                f"state store {self.location} does not exist",
                hint="check state.url for a typo; `opsctl state init` creates the store it names",
            )
        try:
            if create_directory:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            os.close(fd)
        except OSError as error:
            raise StateError(
                f"state store {self.location}: cannot create: {error.strerror or error}",
                hint="check that the state directory (state.dir) is writable",
            ) from None

    def _refuse_empty(self) -> None:
        """Raise StateStoreMissing when the server database holds no opsctl tables yet."""
        with self._errors("cannot read the schema versions"), self._engine.connect() as conn:
            empty = not applied_versions(conn) and legacy_version(conn) is None
        if empty:
            raise StateStoreMissing(
                f"state store {self.location}: the database holds no opsctl state store",
                hint="check state.url; `opsctl state init` creates the store in it",
            )

    def anchored_logs(self) -> list[str]:
        """The identities of the audit logs this store keeps an anchor for, sorted."""
        with self._errors("cannot read the audit anchors"), self._engine.connect() as conn:
            rows = conn.execute(sa.select(audit_anchors.c.log_id)).scalars().all()
        return sorted(str(row) for row in rows)

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
            applied = applied_versions(conn)
            legacy = legacy_version(conn)
        for schema in self._schemas:
            refuse_newer(schema, applied.get(schema.component, 0), self.location)
        if legacy is not None or not applied:
            with self._errors("cannot adopt the schema versions"), self._write() as conn:
                serialise_migrations(conn)
                adopt_legacy_versions(conn, self.location)
        for schema in self._schemas:
            for step in schema.migrations:
                self._apply(schema, step)

    def _apply(self, schema: Schema, step: Migration) -> None:
        """Apply one step in its own transaction unless it (or a newer one) was applied already."""
        label = f"migration {schema.component} {step.version} ({step.description}) failed"
        with self._errors(label), self._write() as conn:
            apply_step(conn, schema, step, self.location)


def _run_record(row: sa.Row[Any], host_rows: Sequence[sa.Row[Any]]) -> RunRecord:
    hosts = tuple(
        HostResult(h.host, h.outcome, h.exit_status, h.duration_seconds, h.error) for h in host_rows
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


def _hint_for(reason: str) -> str | None:
    if "password authentication failed" in reason or "no password supplied" in reason:
        return "check the state store's user in state.url and its password (state.password)"
    if (
        "connection failed" in reason
        or "could not connect" in reason
        or "timeout expired" in reason
    ):
        return "check that the database server is running and that state.url names it"
    if "not a database" in reason or "malformed" in reason:
        return "the file is not a usable SQLite database: move it aside to start a new state store"
    if "locked" in reason or "busy" in reason:
        return "another opsctl process is holding the database; try again"
    if "unable to open" in reason or "readonly" in reason or "read-only" in reason:
        return "check that the state directory (state.dir) exists and is writable"
    return None
