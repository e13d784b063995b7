"""The inventory's part of the state store (component ``inventory``): its tables keep their rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from inventory.state import SCHEMA, inventory_scans, inventory_snapshots
from opsctl.core.errors import StateError
from opsctl.core.state import CORE_SCHEMA, StateStore

STARTED = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}", schemas=(CORE_SCHEMA, SCHEMA))


def add_scan(conn: sa.Connection, found: int = 1) -> None:
    conn.execute(
        inventory_scans.insert().values(
            scan_id="s-1", scope="all", operator="alice", started_at=STARTED,
            finished_at=STARTED, found=found, changed=found, partial=0, unreachable=0, vanished=0,
        )
    )  # fmt: skip


def test_the_inventory_component_has_its_own_version(store: StateStore) -> None:
    assert store.schema_version("inventory") == SCHEMA.version == 2


def test_a_scan_and_its_snapshots_round_trip(store: StateStore) -> None:
    with store.transaction("write a scan", write=True) as conn:
        add_scan(conn)
        conn.execute(
            inventory_snapshots.insert().values(
                scan_id="s-1", device="sw1", status="ok", serial="FOC1", management_address=None,
                started_at=STARTED, snapshot="{}", messages="[]",
            )
        )  # fmt: skip

    with store.transaction("read it back") as conn:
        row = conn.execute(sa.select(inventory_snapshots)).mappings().one()

    assert (row["device"], row["status"], row["started_at"]) == ("sw1", "ok", STARTED)


def test_a_snapshot_status_outside_the_list_is_refused_as_a_state_error(store: StateStore) -> None:
    with store.transaction("write a scan", write=True) as conn:
        add_scan(conn, found=0)

    with (
        pytest.raises(StateError, match="write a bad row"),
        store.transaction("write a bad row", write=True) as conn,
    ):
        conn.execute(
            inventory_snapshots.insert().values(
                scan_id="s-1", device="sw1", status="fine", started_at=STARTED,
                snapshot="{}", messages="[]",
            )
        )  # fmt: skip

    with store.transaction("count") as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(inventory_snapshots)).scalar() == 0


def test_deleting_a_scan_deletes_its_snapshots(store: StateStore) -> None:
    with store.transaction("write", write=True) as conn:
        add_scan(conn)
        conn.execute(
            inventory_snapshots.insert().values(
                scan_id="s-1", device="sw1", status="ok", started_at=STARTED,
                snapshot="{}", messages="[]",
            )
        )  # fmt: skip
    with store.transaction("delete", write=True) as conn:
        conn.execute(inventory_scans.delete())
    with store.transaction("count") as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(inventory_snapshots)).scalar() == 0


def test_version_2_adds_the_sys_name_column_to_a_store_that_holds_scans(tmp_path: Path) -> None:
    from opsctl.core.state import Schema

    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = StateStore(url, schemas=(CORE_SCHEMA, Schema("inventory", SCHEMA.migrations[:1])))
    with first.transaction("write a scan", write=True) as conn:
        add_scan(conn)
        conn.execute(inventory_snapshots.insert().values(  # the columns version 1 has
            scan_id="s-1", device="sw1", status="ok", serial="FOC1", management_address=None,
            started_at=STARTED, snapshot="{}", messages="[]",
        ))
    first.close()

    store = StateStore(url, schemas=(CORE_SCHEMA, SCHEMA))
    assert store.schema_version("inventory") == 2
    with store.transaction("write another", write=True) as conn:
        conn.execute(inventory_snapshots.insert().values(
            scan_id="s-1", device="sw2", status="ok", serial=None, management_address=None, sys_name="core-sw2",
            started_at=STARTED, snapshot="{}", messages="[]",
        ))
    with store.transaction("read") as conn:
        rows = conn.execute(sa.select(inventory_snapshots.c.device, inventory_snapshots.c.sys_name)
                            .order_by(inventory_snapshots.c.device)).all()
        indexes = {index["name"] for index in sa.inspect(conn).get_indexes("inventory_snapshots")}
    assert [tuple(row) for row in rows] == [("sw1", None), ("sw2", "core-sw2")]
    assert "inventory_snapshots_sys_name" in indexes
