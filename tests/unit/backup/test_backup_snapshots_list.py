"""What ``opsctl backup snapshots`` makes of restic's list: newest first, each run's step and kind from its
tags, and "recorded good" matched on the short ids a run records, or unknown when the state store is not read."""

from __future__ import annotations

from datetime import UTC, datetime

from backup.restic import Snapshot
from backup.snapshots import entries, is_recorded

FULL = "a1b2c3d4" + "0" * 56
INCREMENTAL = "e5f6a7b8" + "1" * 56


def _snapshot(snapshot_id: str, hour: int, *tags: str) -> Snapshot:
    return Snapshot(id=snapshot_id, short_id=snapshot_id[:8], time=datetime(2026, 12, 6, hour, tzinfo=UTC),
                    paths=("/srv/data", "/var/lib/opsctl/backup-manifest/files"), hostname="ctl1",
                    tags=("opsctl", "policy=files", *tags))


def test_a_run_s_short_id_marks_restic_s_full_id_good_and_the_newest_comes_first() -> None:
    listed = [_snapshot(FULL, 1, "kind=full", "run=r1"), _snapshot(INCREMENTAL, 2, "kind=incremental", "run=r2")]
    found = entries(listed, recorded=[FULL[:8]])
    assert [(e.short_id, e.kind, e.run_id, e.source, e.recorded_good) for e in found] == [
        ("e5f6a7b8", "incremental", "r2", "paths", False),
        ("a1b2c3d4", "full", "r1", "paths", True),
    ]


def test_without_the_state_store_nothing_is_called_good_or_bad() -> None:
    found = entries([_snapshot(FULL, 1, "kind=full", "run=r1", "database=his")], recorded=None)
    assert [(e.source, e.recorded_good) for e in found] == [("postgres:his", None)]


def test_an_empty_recorded_id_matches_nothing() -> None:
    assert not is_recorded(FULL, [""])
    assert is_recorded(FULL, [FULL]) and is_recorded(FULL[:8], [FULL])
