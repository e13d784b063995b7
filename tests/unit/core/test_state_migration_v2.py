"""Migration 2 (inventory scans and snapshots): a version-1 database keeps its data and gains the tables."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from opsctl.core.errors import StateError
from opsctl.core.state import MIGRATIONS, StateStore, inventory_scans, inventory_snapshots


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def table_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_migration_2_is_appended_after_version_1() -> None:
    assert [step.version for step in MIGRATIONS][:2] == [1, 2]
    assert MIGRATIONS[0].description == "audit anchor, runs and per-host results"


def test_a_version_1_database_is_migrated_and_keeps_its_runs_and_anchor(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    old = StateStore(url_of(path), migrations=MIGRATIONS[:1])
    old.begin_run("r-1", "run", "uptime", "web*", "alice")
    old.record_host("r-1", "web1", "ok", 0, 0.5, None)
    old.finish_run("r-1", "ok")
    old.set_anchor(7, "f" * 64)
    old.close()
    assert "inventory_scans" not in table_names(path)

    store = StateStore(url_of(path))

    assert store.schema_version() == 2
    assert {"inventory_scans", "inventory_snapshots", "runs", "run_hosts"} <= table_names(path)
    run = store.last_run("run")
    assert run is not None and run.run_id == "r-1" and run.outcome == "ok"
    assert [(h.host, h.outcome) for h in run.hosts] == [("web1", "ok")]
    anchor = store.get_anchor()
    assert anchor is not None and (anchor.seq, anchor.hash) == (7, "f" * 64)
    with sqlite3.connect(path) as conn:
        versions = [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == [1, 2]


def test_the_new_tables_are_usable_through_a_transaction(tmp_path: Path) -> None:
    store = StateStore(url_of(tmp_path / "state.db"))
    started = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    with store.transaction("write a scan", write=True) as conn:
        conn.execute(inventory_scans.insert().values(
            scan_id="s-1", scope="all", operator="alice", started_at=started,
            finished_at=started, found=1, changed=1, partial=0, unreachable=0, vanished=0))
        conn.execute(inventory_snapshots.insert().values(
            scan_id="s-1", device="sw1", status="ok", serial="FOC1", management_address=None,
            started_at=started, snapshot="{}", messages="[]"))

    with store.transaction("read it back") as conn:
        row = conn.execute(sa.select(inventory_snapshots)).mappings().one()

    assert (row["device"], row["status"], row["started_at"]) == ("sw1", "ok", started)


def test_a_snapshot_status_outside_the_list_is_refused_as_a_state_error(tmp_path: Path) -> None:
    store = StateStore(url_of(tmp_path / "state.db"))
    started = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    with store.transaction("write a scan", write=True) as conn:
        conn.execute(inventory_scans.insert().values(
            scan_id="s-1", scope="all", operator="alice", started_at=started,
            finished_at=started, found=0, changed=0, partial=0, unreachable=0, vanished=0))

    with pytest.raises(StateError, match="write a bad row"), \
            store.transaction("write a bad row", write=True) as conn:
        conn.execute(inventory_snapshots.insert().values(
            scan_id="s-1", device="sw1", status="fine", started_at=started,
            snapshot="{}", messages="[]"))

    with store.transaction("count") as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(inventory_snapshots)).scalar() == 0


def test_deleting_a_scan_deletes_its_snapshots(tmp_path: Path) -> None:
    store = StateStore(url_of(tmp_path / "state.db"))
    started = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    with store.transaction("write", write=True) as conn:
        conn.execute(inventory_scans.insert().values(
            scan_id="s-1", scope="all", operator="alice", started_at=started,
            finished_at=started, found=1, changed=1, partial=0, unreachable=0, vanished=0))
        conn.execute(inventory_snapshots.insert().values(
            scan_id="s-1", device="sw1", status="ok", started_at=started,
            snapshot="{}", messages="[]"))
    with store.transaction("delete", write=True) as conn:
        conn.execute(inventory_scans.delete())
    with store.transaction("count") as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(inventory_snapshots)).scalar() == 0
