"""Named locks in the state store: exclusive across processes and controllers sharing it.

SQLite: an owner row in ``locks``; a holder on this host is alive while its process is (a dead
one is taken over at once), one elsewhere while its heartbeat, refreshed by a daemon thread, is
younger than LOCK_HEARTBEAT_TTL_SECONDS. PostgreSQL: ``pg_try_advisory_lock`` on a session of
its own held for the lock's life, the owner row only naming the holder. The store
(:meth:`opsctl.core.state.StateStore.lock`) hands its engines to :class:`NamedLocks`.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine

from opsctl.core.errors import LockHeld, StateError
from opsctl.core.owner import ProcessIdentity
from opsctl.core.schema_core import locks, owner_columns, owner_of
from opsctl.core.sql import upsert

# a lock holder on another host is alive while its heartbeat is younger than the TTL (SQLite;
# PostgreSQL's advisory lock ends with the holder's session). The TTL leaves room for a
# heartbeat thread starved on a loaded machine and for clocks a little apart.
LOCK_HEARTBEAT_TTL_SECONDS = 60.0
LOCK_HEARTBEAT_INTERVAL_SECONDS = 10.0


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
        return f"{self.owner.describe()} since {since} (heartbeat {age:.0f} s ago): {self.purpose}"


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


class NamedLocks:
    """The named locks of one state store, reached through its engines.

    ``errors(action)`` turns a database error into the store's StateError naming ``action``;
    ``open_session`` (PostgreSQL only, None on SQLite) opens a session outside the pool for one
    lock's life (:func:`open_lock_session`); ``clock`` is what holders' ages are read against.
    """

    def __init__(
        self,
        engine: Engine,
        write_engine: Engine,
        *,
        errors: Callable[[str], contextlib.AbstractContextManager[None]],
        open_session: Callable[[], Connection] | None,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._write_engine = write_engine
        self._errors = errors
        self._open_session = open_session
        self._clock = clock

    @contextlib.contextmanager
    def hold(
        self,
        name: str,
        *,
        purpose: str,
        wait_seconds: float = 0.0,
        heartbeat_interval_seconds: float = LOCK_HEARTBEAT_INTERVAL_SECONDS,
    ) -> Iterator[HeldLock]:
        """Hold the named lock ``name`` for the block (see :meth:`StateStore.lock`).

        Raise LockHeld naming the holder when it is still held after ``wait_seconds``, ValueError
        for a name that is empty or longer than 255 characters, StateError if the store fails.
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
            args=(held, session, stop, heartbeat_interval_seconds),
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

    def holder(self, name: str) -> LockHolder | None:
        """The owner row of the named lock ``name`` (it may be stale), or None."""
        with self._errors(f"cannot read lock {name}"), self._engine.connect() as conn:
            row = conn.execute(sa.select(locks).where(locks.c.name == name)).first()
        return None if row is None else holder_of(row)

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[Connection]:
        with self._errors(action), self._write_engine.begin() as conn:
            yield conn

    def _acquire(self, held: HeldLock) -> Connection | None:
        """Take the lock for ``held`` or raise LockHeld; return PostgreSQL's session connection."""
        if self._open_session is None:
            with self._write(f"cannot take lock {held.name}") as conn:
                row = conn.execute(sa.select(locks).where(locks.c.name == held.name)).first()
                now = self._clock()
                if row is not None:
                    holder = holder_of(row)
                    if not holder_is_gone(holder, now, ttl_seconds=LOCK_HEARTBEAT_TTL_SECONDS):
                        raise self._lock_held(held.name, holder, now)
                    conn.execute(locks.delete().where(locks.c.name == held.name))
                conn.execute(locks.insert().values(**owner_row(held, now)))
            return None
        session = self._open_session()
        try:
            with self._errors(f"cannot take lock {held.name}"):
                taken = session.execute(
                    sa.select(sa.func.pg_try_advisory_lock(lock_key(held.name)))
                ).scalar()
            if not taken:
                raise self._lock_held(held.name, self.holder(held.name), self._clock())
            now = self._clock()
            with self._write(f"cannot take lock {held.name}") as conn:
                # a row left by a holder whose session ended is stale: the advisory lock decides
                upsert(conn, locks, owner_row(held, now), ("name",))
        except BaseException:
            session.close()
            raise
        return session

    def _release(self, held: HeldLock, session: Connection | None) -> None:
        """Delete our own owner row (never another's) and end PostgreSQL's session."""
        try:
            with self._write(f"cannot release lock {held.name}") as conn:
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

    def _heartbeat(
        self,
        held: HeldLock,
        session: Connection | None,
        stop: threading.Event,
        interval_seconds: float,
    ) -> None:
        """Refresh the owner row's heartbeat until ``stop``; mark ``held`` lost if it was taken."""
        while not stop.wait(interval_seconds):
            try:
                if session is not None:
                    with self._errors(f"cannot keep lock {held.name}"):
                        session.execute(sa.select(1))
                with self._write(f"cannot keep lock {held.name}") as conn:
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
        elif self._open_session is not None:
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


def open_lock_session(engine: Engine) -> Connection:
    """A new connection of ``engine`` (PostgreSQL, outside any pool) in autocommit, for one lock.

    Its TCP keepalives are short, so a controller that vanishes frees its locks within a minute.
    """
    session = engine.connect()
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


def owner_row(held: HeldLock, now: datetime) -> dict[str, Any]:
    return {
        "name": held.name,
        **owner_columns(held.owner),
        "token": held.token,
        "purpose": held.purpose,
        "acquired_at": now,
        "heartbeat_at": now,
    }


def holder_of(row: sa.Row[Any]) -> LockHolder:
    owner = owner_of(row)
    assert owner is not None  # the lock table's owner columns are NOT NULL
    return LockHolder(
        name=row.name,
        owner=owner,
        purpose=row.purpose,
        acquired_at=row.acquired_at,
        heartbeat_at=row.heartbeat_at,
    )
