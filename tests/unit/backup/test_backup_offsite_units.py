"""Off-site copies' pure parts and queries: which copied snapshots count as good, the copy records, status words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup import queries
from backup.offsite import offsite_rows, snapshot_source
from backup.restic import Snapshot
from backup.status import offsite_state
from opsctl.core.state import StateStore

T0 = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def _snapshot(snapshot_id: str, *tags: str, paths: tuple[str, ...] = ("/x",)) -> Snapshot:
    return Snapshot(snapshot_id, snapshot_id[:8], T0, paths, "controller", ("opsctl", "policy=his", *tags))


def test_a_snapshot_s_source_comes_from_its_tags_and_paths() -> None:
    manifest_alone = ("/opsctl-manifest.json",)
    assert snapshot_source(_snapshot("a" * 64, "run=r1", "manifest", paths=manifest_alone)) == "manifest"
    assert snapshot_source(_snapshot("b" * 64, "run=r1", "database=hospital")) == "postgres:hospital"
    assert snapshot_source(_snapshot("c" * 64, "run=r1")) == "paths"
    assert snapshot_source(_snapshot("d" * 64, "run=r1", "orthanc")) == "orthanc"
    # a policy with paths keeps its manifest in the paths snapshot, tagged manifest: still paths
    with_manifest = ("/srv/his", "/var/lib/opsctl/backup-manifest/his")
    assert snapshot_source(_snapshot("e" * 64, "run=r1", "manifest", paths=with_manifest)) == "paths"


def test_only_copies_of_snapshots_recorded_good_locally_are_recorded_good_off_site() -> None:
    good = (queries.SnapshotRow("l1", "local", "his", "r1", "full", "paths", T0, 10, 2),
            queries.SnapshotRow("l2", "local", "his", "r1", "full", "manifest", T0, 1, 1))
    offsite = (_snapshot("o1", "run=r1"), _snapshot("o2", "run=r1", "manifest", paths=("/opsctl-manifest.json",)),
               _snapshot("o3", "run=r2"),  # a partial run's paths snapshot, never good here
               _snapshot("o4", "run=r1", "database=hospital"))  # a dump whose snapshot was not recorded good
    rows = offsite_rows("his", "offsite", offsite, good)
    assert [(row.snapshot_id, row.repository, row.source, row.run_id) for row in rows] == [
        ("o1", "offsite", "paths", "r1"), ("o2", "offsite", "manifest", "r1")]


def test_a_copy_is_begun_finished_and_a_killed_one_found_interrupted(store: StateStore) -> None:
    queries.begin_copy(store, copy_id="c1", policy="his", source_repository="local", target_repository="offsite",
                       started_at=T0)
    assert queries.last_copy(store, "his", outcomes=("ok",)) is None
    assert queries.interrupt_stale_copies(store, "his", finished_at=T0 + timedelta(minutes=1)) == ("c1",)
    queries.begin_copy(store, copy_id="c2", policy="his", source_repository="local", target_repository="offsite",
                       started_at=T0 + timedelta(minutes=2))
    queries.finish_copy(store, copy_id="c2", finished_at=T0 + timedelta(minutes=3), outcome="ok",
                        snapshot_ids=["o1"], error=None)
    last = queries.last_copy(store, "his")
    assert last is not None and (last.copy_id, last.outcome, last.snapshot_ids) == ("c2", "ok", ("o1",))
    first = queries.last_copy(store, "his", outcomes=("interrupted",))
    assert first is not None and first.error is not None and "killed" in first.error


def test_forgotten_snapshots_leave_the_good_ones(store: StateStore) -> None:
    for snapshot_id in ("aaaaaaaa", "bbbbbbbb"):  # recorded as restic's backup summary says: short ids
        queries.record_snapshot(store, queries.SnapshotRow(snapshot_id, "local", "his", "r1", "full", "paths",
                                                           T0, 1, 1))
    queries.forget_snapshots(store, "local", ["aaaaaaaa" + "1" * 56])  # forget --json names full ids
    assert [row.snapshot_id for row in queries.good_snapshots(store, "his", "local")] == ["bbbbbbbb"]


@pytest.mark.parametrize(("age", "outcome", "word"), [
    (None, None, "never copied"), (60.0, "ok", "ok"), (90000.0, "ok", "stale"), (60.0, "failed", "copy failed"),
])
def test_the_off_site_word(age: float | None, outcome: str | None, word: str) -> None:
    copy = queries.CopyRow("c", "his", "local", "offsite", T0, T0, outcome, (), None) if outcome else None
    assert offsite_state(age, 86400.0, copy) == word


def test_packs_an_interrupted_copy_left_unindexed_are_a_hint_not_a_check_error() -> None:
    from backup.restic import parse_check_text

    # restic 0.14's check after a copy cut midway (the lab's SeaweedFS): exit 0
    text = ("using temporary cache in /tmp/restic-check-cache-1\ncreate exclusive lock for repository\n"
            "load indexes\ncheck all packs\n"
            "pack 58a21750aaad46f8178b4e2a327d506809deec64fa5d35e7245dfe3f045a7763: not referenced in any index\n"
            "1 additional files were found in the repo, which likely contain duplicate data.\n"
            "This is non-critical, you can run `restic prune` to correct this.\n"
            "check snapshots, trees and blobs\nread all data\nno errors were found\n")
    report = parse_check_text(text, exit_ok=True)
    assert report.ok and report.errors == ()
