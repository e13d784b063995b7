"""What ``opsctl backup snapshots`` makes of restic's list: newest first, each run's step and kind from its
tags, and "recorded good" matched on the short ids a run records, or unknown when the state store is not read;
and what ``backup ls`` makes of ``restic ls --json``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from backup.restic import ResticOutputError, Snapshot, parse_ls
from backup.restore import RestoreFailed, pick_snapshot
from backup.snapshots import entries, holds, is_recorded

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


def test_a_restore_that_finds_no_snapshot_of_its_kind_points_to_the_list() -> None:
    class OnlyOrthanc:  # a policy whose repository holds the PACS's snapshot, and no paths snapshot
        def snapshots(self, *, tags: tuple[str, ...] = ()) -> tuple[Snapshot, ...]:
            return (_snapshot(FULL, 1, "kind=full", "run=r1", "orthanc"),)

    with pytest.raises(RestoreFailed) as raised:
        pick_snapshot(None, OnlyOrthanc(), "pacs", "local", "paths")  # type: ignore[arg-type]
    assert raised.value.message == "policy pacs: no paths snapshot in repository local"
    assert raised.value.hint == ("opsctl backup snapshots pacs lists what the repository holds; "
                                 "--snapshot ID restores one of them")


# restic 0.14's `ls --json` of a paths snapshot, trimmed: its snapshot line, a directory, a file, a link
LS = "\n".join([
    '{"time":"2026-12-06T14:17:16.364244866Z","paths":["/srv/docs"],"hostname":"ctl1","id":"' + FULL
    + '","short_id":"a1b2c3d4","struct_type":"snapshot"}',
    '{"name":"docs","type":"dir","path":"/srv/docs","mode":2147484141,"permissions":"drwxr-xr-x",'
    '"mtime":"2026-12-06T14:17:11.002352223Z","struct_type":"node"}',
    '{"name":"rota.txt","type":"file","path":"/srv/docs/rota.txt","size":12,"mode":420,'
    '"permissions":"-rw-r--r--","mtime":"2026-12-06T14:17:15.822352478Z","struct_type":"node"}',
    '{"name":"current","type":"symlink","path":"/srv/docs/current","linktarget":"rota.txt",'
    '"mtime":"2026-12-06T14:17:15Z","struct_type":"node"}',
])


def test_ls_gives_the_snapshot_s_id_and_each_node_with_its_size_and_time() -> None:
    snapshot_id, nodes = parse_ls(LS)
    assert snapshot_id == FULL
    assert [(n.path, n.type, n.size) for n in nodes] == [
        ("/srv/docs", "dir", None), ("/srv/docs/rota.txt", "file", 12), ("/srv/docs/current", "symlink", None)]
    assert nodes[1].mtime == datetime(2026, 12, 6, 14, 17, 15, 822352, tzinfo=UTC)
    assert holds(nodes, "/srv/docs/rota.txt") and holds(nodes, "/srv/docs/") and holds(nodes, "/srv")
    assert not holds(nodes, "/srv/doc") and not holds(nodes, "/srv/docs/rota")


def test_ls_output_that_is_not_restic_s_is_an_error_naming_the_line() -> None:
    with pytest.raises(ResticOutputError, match=r"not JSON \(line 2\)"):
        parse_ls(LS.splitlines()[0] + "\nFatal: something\n")
    with pytest.raises(ResticOutputError, match="without a path"):
        parse_ls('{"name":"x","type":"file","struct_type":"node"}')
