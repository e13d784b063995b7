"""Every scan, stored: the scan itself and one JSON snapshot of each device it saw, tried or lost.

Storage (the inventory component of the state store, :mod:`inventory.state`): ``inventory_scans`` holds one row per scan (scope, operator,
times and the counts found / changed / partial / unreachable / vanished);
``inventory_snapshots`` holds one row per device per scan: its status (``ok``, ``partial``,
``unreachable``, or ``vanished`` for a device the previous scan of the same scope saw and this
one did not), the whole device as :meth:`Device.to_dict` JSON (provenance included), and the
serial, management address and sysName as plain columns for queries. Snapshots rather than one row per
value keep a scan of a 10,000-interface switch at one row, and the device comes back whole.

The latest known state of a device is its newest ``ok`` or ``partial`` snapshot, unless a newer
``vanished`` row says it is gone; an ``unreachable`` device keeps its last known state. A
``partial`` snapshot is stored completed from the last known state (:func:`merge_partial`), each
value taken over keeping its old provenance, so a half-answered scan never erases components.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from inventory.devices import Device, DeviceScan, ScanResult, flatten, merge_partial
from inventory.state import inventory_scans, inventory_snapshots
from opsctl.core.state import StateStore

_KNOWN_STATUSES = ("ok", "partial", "vanished")


@dataclass(frozen=True)
class ScanSummary:
    """A recorded scan: its id, scope, operator, times and closing counts."""

    scan_id: str
    scope: str
    operator: str
    started_at: datetime
    finished_at: datetime
    found: int
    changed: int
    partial: int
    unreachable: int
    vanished: int


@dataclass(frozen=True)
class DeviceSnapshot:
    """One device as one scan recorded it (status ``ok``, ``partial``, ``unreachable`` or ``vanished``)."""

    scan_id: str
    started_at: datetime
    status: str
    device: Device
    messages: tuple[str, ...]


def record_scan(store: StateStore, scan: ScanResult) -> str:
    """Store ``scan`` with its counts and a snapshot of every device, marking as vanished what the previous scan of the same scope saw and this one lacks; return the scan id.

    Raise :class:`~opsctl.core.errors.StateError` if the store cannot be written (a reused
    scan id included).
    """
    scan_id = scan.scan_id or uuid.uuid4().hex
    with store.transaction(f"cannot record inventory scan {scan_id}", write=True) as conn:
        names = [scanned.device.name for scanned in scan.devices]
        known = _latest_rows(conn, scan.started_at, names, include_equal=False)
        changed = sum(
            1 for scanned in scan.devices if _has_changed(scanned, known.get(scanned.device.name))
        )
        vanished_rows = _vanished_since_previous(conn, scan, set(names))
        counts = {
            "found": sum(1 for s in scan.devices if s.status in ("ok", "partial")),
            "changed": changed,
            "partial": sum(1 for s in scan.devices if s.status == "partial"),
            "unreachable": sum(1 for s in scan.devices if s.status == "unreachable"),
            "vanished": len(vanished_rows),
        }
        conn.execute(
            inventory_scans.insert().values(
                scan_id=scan_id,
                scope=scan.scope,
                operator=scan.operator,
                started_at=scan.started_at,
                finished_at=scan.finished_at,
                **counts,
            )
        )
        rows = [
            _snapshot_row(
                scan_id, scan.started_at, _completed(scanned, known.get(scanned.device.name))
            )
            for scanned in scan.devices
        ]
        rows += [
            {
                **row,
                "scan_id": scan_id,
                "started_at": scan.started_at,
                "status": "vanished",
                "messages": json.dumps(
                    [f"{row['device']} was not found by this scan of {scan.scope}"]
                ),
            }
            for row in vanished_rows
        ]
        if rows:
            conn.execute(inventory_snapshots.insert(), rows)
    return scan_id


def devices_at(store: StateStore, when: datetime | None = None) -> list[Device]:
    """Return the latest known state of every device as of ``when`` (default: now), sorted by name; vanished devices are left out."""
    with store.transaction("cannot read the inventory history") as conn:
        rows = _latest_rows(conn, when, None, include_equal=True)
    return [_device_of(row) for _name, row in sorted(rows.items()) if row["status"] != "vanished"]


def device_history(store: StateStore, name: str) -> list[DeviceSnapshot]:
    """Return every recorded snapshot of the device called ``name``, oldest first (empty if never seen)."""
    with store.transaction(f"cannot read the history of {name}") as conn:
        rows = (
            conn.execute(
                sa.select(inventory_snapshots)
                .where(inventory_snapshots.c.device == name)
                .order_by(inventory_snapshots.c.started_at, inventory_snapshots.c.scan_id)
            )
            .mappings()
            .all()
        )
    return [
        DeviceSnapshot(
            scan_id=row["scan_id"],
            started_at=row["started_at"],
            status=row["status"],
            device=_device_of(dict(row)),
            messages=tuple(json.loads(row["messages"])),
        )
        for row in rows
    ]


def list_scans(store: StateStore, *, limit: int | None = None) -> list[ScanSummary]:
    """Return recorded scans, newest first (at most ``limit`` of them)."""
    query = sa.select(inventory_scans).order_by(
        inventory_scans.c.started_at.desc(), inventory_scans.c.scan_id.desc()
    )
    if limit is not None:
        query = query.limit(limit)
    with store.transaction("cannot list inventory scans") as conn:
        rows = conn.execute(query).mappings().all()
    return [ScanSummary(**dict(row)) for row in rows]


def load_scan(store: StateStore, scan_id: str) -> ScanResult | None:
    """Return a recorded scan as a ScanResult, devices sorted by name (vanished rows left out), or None if unknown."""
    with store.transaction(f"cannot read inventory scan {scan_id}") as conn:
        scan = (
            conn.execute(sa.select(inventory_scans).where(inventory_scans.c.scan_id == scan_id))
            .mappings()
            .first()
        )
        if scan is None:
            return None
        rows = (
            conn.execute(
                sa.select(inventory_snapshots)
                .where(inventory_snapshots.c.scan_id == scan_id)
                .where(inventory_snapshots.c.status != "vanished")
                .order_by(inventory_snapshots.c.device)
            )
            .mappings()
            .all()
        )
    return ScanResult(
        scope=scan["scope"],
        operator=scan["operator"],
        started_at=scan["started_at"],
        finished_at=scan["finished_at"],
        devices=tuple(
            DeviceScan(_device_of(dict(row)), row["status"], tuple(json.loads(row["messages"])))
            for row in rows
        ),
        scan_id=scan_id,
    )


# ----------------------------------------------------------------------------- internals


def _snapshot_row(scan_id: str, started_at: datetime, scanned: DeviceScan) -> dict[str, Any]:
    device = scanned.device
    return {
        "scan_id": scan_id,
        "device": device.name,
        "status": scanned.status,
        "serial": device.serial,
        "management_address": device.management_address,
        # a column of 255 characters: a longer sysName stays whole in the snapshot
        "sys_name": None if device.sys_name is None else device.sys_name[:255],
        "started_at": started_at,
        "snapshot": json.dumps(device.to_dict(), sort_keys=True),
        "messages": json.dumps(list(scanned.messages)),
    }


def _completed(scanned: DeviceScan, previous: Mapping[str, Any] | None) -> DeviceScan:
    """A partial device with what it lacks taken from its last known state, so that state stays whole."""
    if scanned.status != "partial" or previous is None or previous["status"] == "vanished":
        return scanned
    return replace(scanned, device=merge_partial(_device_of(previous), scanned.device))


def _device_of(row: Mapping[str, Any]) -> Device:
    return Device.from_dict(json.loads(row["snapshot"]))


def _latest_rows(
    conn: Connection, when: datetime | None, names: Sequence[str] | None, *, include_equal: bool
) -> dict[str, Mapping[str, Any]]:
    """The newest known (ok, partial or vanished) row of each device up to ``when``, by device name."""
    table = inventory_snapshots
    newest = sa.select(table.c.device, sa.func.max(table.c.started_at).label("newest")).where(
        table.c.status.in_(_KNOWN_STATUSES)
    )
    if when is not None:
        newest = newest.where(
            table.c.started_at <= when if include_equal else table.c.started_at < when
        )
    if names is not None:
        if not names:
            return {}
        newest = newest.where(table.c.device.in_(names))
    subquery = newest.group_by(table.c.device).subquery()
    rows = (
        conn.execute(
            sa.select(table)
            .join(
                subquery,
                sa.and_(
                    table.c.device == subquery.c.device, table.c.started_at == subquery.c.newest
                ),
            )
            .where(table.c.status.in_(_KNOWN_STATUSES))
            .order_by(table.c.device, table.c.scan_id)
        )
        .mappings()
        .all()
    )
    # two scans starting at the same instant: the later scan id wins, deterministically
    return {row["device"]: dict(row) for row in rows}


def _has_changed(scanned: DeviceScan, previous: Mapping[str, Any] | None) -> bool:
    if scanned.status == "unreachable":
        return False
    if previous is None or previous["status"] == "vanished":
        return True
    old = flatten(_device_of(previous))
    new = flatten(scanned.device)
    if scanned.status == "partial":
        # a partial scan says nothing about the values it could not read
        return any(old.get(path) != value for path, value in new.items())
    return old != new


def _vanished_since_previous(
    conn: Connection, scan: ScanResult, names: set[str]
) -> list[dict[str, Any]]:
    """Rows of the previous scan of the same scope for devices this scan lacks (and not already vanished)."""
    previous = conn.execute(
        sa.select(inventory_scans.c.scan_id)
        .where(inventory_scans.c.scope == scan.scope)
        .where(inventory_scans.c.started_at < scan.started_at)
        .order_by(inventory_scans.c.started_at.desc(), inventory_scans.c.scan_id.desc())
        .limit(1)
    ).scalar()
    if previous is None:
        return []
    rows = (
        conn.execute(
            sa.select(inventory_snapshots)
            .where(inventory_snapshots.c.scan_id == previous)
            .where(inventory_snapshots.c.status != "vanished")
            .order_by(inventory_snapshots.c.device)
        )
        .mappings()
        .all()
    )
    return [dict(row) for row in rows if row["device"] not in names]
