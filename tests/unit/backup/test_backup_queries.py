"""The backup tables and their queries on a real SQLite store: runs, good snapshots, the read rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup import queries
from backup.restic import ResticLock
from backup.runner import stale_locks
from opsctl.core.state import StateStore

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def test_the_schema_is_migrated_as_component_backup(store: StateStore) -> None:
    assert store.schema_versions()["backup"] == 2  # 2: off-site copies


def test_a_run_is_begun_then_finished(store: StateStore) -> None:
    queries.begin_run(store, run_id="r1", policy="his", kind="full", repository="local", started_at=T0)
    assert queries.last_run(store, "his").outcome == "running"  # type: ignore[union-attr]
    queries.finish_run(store, run_id="r1", finished_at=T0 + timedelta(seconds=5), outcome="ok",
                       snapshot_ids=["a", "b"], bytes_added=10, files=2, duration_seconds=5.0, error=None,
                       manifest={"run_id": "r1"})
    row = queries.last_success(store, "his")
    assert row is not None
    assert (row.snapshot_ids, row.manifest, row.duration_seconds) == (("a", "b"), {"run_id": "r1"}, 5.0)


def test_a_run_killed_outright_is_marked_interrupted_by_the_next(store: StateStore) -> None:
    queries.begin_run(store, run_id="killed", policy="his", kind="full", repository="local", started_at=T0)
    assert queries.interrupt_stale_runs(store, "his", finished_at=T0 + timedelta(hours=1)) == ("killed",)
    assert queries.last_run(store, "his").outcome == "interrupted"  # type: ignore[union-attr]
    assert queries.last_success(store, "his") is None
    assert queries.interrupt_stale_runs(store, "his", finished_at=T0) == ()


def test_the_newest_good_snapshot_per_source(store: StateStore) -> None:
    for minute, source in enumerate(["paths", "postgres:his", "manifest", "paths"]):
        queries.record_snapshot(store, queries.SnapshotRow(f"s{minute}", "local", "his", "r", "full", source,
                                                           T0 + timedelta(minutes=minute), 1, 1))
    assert queries.latest_good_snapshot(store, "his", "local").snapshot_id == "s3"  # type: ignore[union-attr]
    assert queries.latest_good_snapshot(store, "his", "local", source="postgres:his").snapshot_id == "s1"  # type: ignore[union-attr]
    assert queries.latest_good_snapshot(store, "his", "offsite") is None


def test_the_read_rotation_covers_every_part_over_a_cycle(store: StateStore) -> None:
    parts = [queries.take_read_part(store, "his", "local", 4) for _ in range(9)]
    assert parts == [1, 2, 3, 4, 1, 2, 3, 4, 1]
    assert queries.take_read_part(store, "his", "local", 3) == 1  # a new number of parts restarts
    assert queries.take_read_part(store, "pacs", "local", 4) == 1  # per policy


def test_checks_and_drills_are_recorded(store: StateStore) -> None:
    queries.record_check(store, queries.CheckRow("local", "his", "r", T0, T0, "1/4", "failed", ("Pack ID does not match",)))
    check = queries.last_check(store, "local")
    assert check is not None and check.errors == ("Pack ID does not match",)
    queries.record_drill(store, queries.DrillRow("d1", "his", "local", T0, None, "running", None, None, ()))
    queries.record_drill(store, queries.DrillRow("d1", "his", "local", T0, T0, "ok", 30.0, 60.0,
                                                 ({"step": "restore", "seconds": 3},)))
    drill = queries.last_drill(store, "his")
    assert drill is not None and (drill.outcome, drill.rto_seconds, drill.steps[0]["step"]) == ("ok", 30.0, "restore")


def test_a_restic_lock_is_stale_only_when_its_holder_is_gone_on_this_host() -> None:
    locks = [ResticLock("a", T0, False, "ctl", "root", 100), ResticLock("b", T0, True, "ctl", "root", 200),
             ResticLock("c", T0, False, "other", "root", 100)]
    assert stale_locks(locks, hostname="ctl", pid_alive=lambda pid: pid == 200) == ("a",)
