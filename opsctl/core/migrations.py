"""The migration machinery: a component's schema as numbered steps, and the bookkeeping of which
steps a store has applied.

Each component (``core``, ``inventory``, ...) has its own version sequence, recorded in the
``schema_migrations`` table. A store written before components (one sequence in
``schema_version``) is adopted in place. The store (:class:`opsctl.core.state.StateStore`) runs
the steps, each in a transaction of its own, through :func:`apply_step`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsctl.core.errors import StateError
from opsctl.core.sql import UtcDateTime

CORE_COMPONENT = "core"
# an arbitrary constant: serialises concurrent migrations on a shared PostgreSQL
_POSTGRES_MIGRATION_LOCK = 0x6F707363746C


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

    Each package owns one (``core`` in ``opsctl.core.schema_core``, ``inventory`` in ``inventory.state``, later ``monitoring``,
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


# Before migrations were keyed by component, one sequence served everything: version 1 was
# today's core 1 and version 2 the inventory's tables. A store written then is adopted in place.
_LEGACY_VERSIONS = {1: (CORE_COMPONENT, 1), 2: ("inventory", 1)}
# written into the legacy table once adopted, so an older opsctl refuses the store
_LEGACY_SENTINEL_VERSION = 3

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


def applied_versions(conn: Connection) -> dict[str, int]:
    """Each component's newest applied version; a store older than components reads as such."""
    if not sa.inspect(conn).has_table(_schema_migrations.name):
        legacy = legacy_version(conn) or 0
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


def legacy_version(conn: Connection) -> int | None:
    """The single version of a store written before components, or None for any other store."""
    inspector = sa.inspect(conn)
    if inspector.has_table(_schema_migrations.name) or not inspector.has_table(
        _schema_version.name
    ):
        return None
    version = conn.execute(sa.select(sa.func.max(_schema_version.c.version))).scalar()
    return int(version or 0)


def adopt_legacy_versions(conn: Connection, location: str) -> None:
    """Create ``schema_migrations``; carry a pre-component store's versions over to it.

    The old ``schema_version`` table gets a version no release before components knew, so an
    older opsctl refuses this store instead of writing into tables it no longer understands.
    """
    if sa.inspect(conn).has_table(_schema_migrations.name):
        return
    legacy = legacy_version(conn)
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


def serialise_migrations(conn: Connection) -> None:
    """Hold the migration lock for ``conn``'s transaction (PostgreSQL; SQLite's writer lock serves)."""
    # SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock of its own
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_POSTGRES_MIGRATION_LOCK)))


def refuse_newer(schema: Schema, current: int, location: str) -> None:
    """Raise StateError if the store's ``current`` version of ``schema`` is newer than this code."""
    if current > schema.version:
        raise StateError(
            f"state store {location}: the {schema.component} schema is at version "
            f"{current}, newer than this opsctl knows (up to {schema.version})",
            hint="upgrade opsctl; a newer version has migrated this database",
        )


def apply_step(conn: Connection, schema: Schema, step: Migration, location: str) -> None:
    """Apply ``step`` of ``schema`` in ``conn``'s write transaction and record it, unless it (or a
    newer one) was applied already; raise StateError if the store is newer than this code.
    """
    serialise_migrations(conn)
    # another process may have migrated since we looked
    current = applied_versions(conn).get(schema.component, 0)
    refuse_newer(schema, current, location)
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
