"""The inventory's part of the state store: its schema (component ``inventory``) and its tables.

``inventory_scans`` holds one row per scan, ``inventory_snapshots`` one JSON snapshot per device
per scan (with its serial, management address and, since version 2, sysName as plain columns);
:mod:`inventory.history` holds the queries. Declared in the ``opsctl.state_schemas``
entry-point group, so every store is migrated for the inventory, whichever command opens it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from opsctl.core.state import Migration, Schema, UtcDateTime


def _inventory_1(connection: Connection) -> None:
    # the inventory history as version 1 defined it: one row per scan, one JSON snapshot per
    # device per scan (before components, this was the store's version 2: the same tables)
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


def _inventory_2(connection: Connection) -> None:
    # a device's sysName as a plain column beside serial and management address: the name an
    # LLDP neighbour or a syslog line gives a device is its sysName, so it is looked up by it
    connection.execute(sa.text("ALTER TABLE inventory_snapshots ADD COLUMN sys_name VARCHAR(255)"))
    connection.execute(sa.text("CREATE INDEX inventory_snapshots_sys_name ON inventory_snapshots (sys_name)"))


SCHEMA = Schema(
    "inventory",
    (
        Migration(1, "inventory scans and per-device snapshots", _inventory_1),
        Migration(2, "each snapshot's sysName as a column", _inventory_2),
    ),
)

_metadata = sa.MetaData()
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
    sa.Column("sys_name", sa.String(255)),
    sa.Column("started_at", UtcDateTime),
    sa.Column("snapshot", sa.Text),
    sa.Column("messages", sa.Text),
)
