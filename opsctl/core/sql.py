"""What the state store's modules need to behave alike on every database: a UTC datetime
column, and an insert-or-update (native on SQLite and PostgreSQL, update-then-insert elsewhere).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator


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


def upsert(
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


def upsert_many(
    conn: Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> None:
    """Insert or update ``rows`` (same columns each) with one statement run for all of them."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        for row in rows:
            upsert(conn, table, row, keys)
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
