"""restic's output parsed by pure functions, on recordings of the real restic 0.14 (tests/fixtures/restic/record.sh)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from backup.restic import (
    BackupItemError,
    BackupStatus,
    BackupSummary,
    ResticError,
    ResticOutputError,
    ResticVersion,
    capabilities,
    parse_backup_message,
    parse_backup_output,
    parse_check_text,
    parse_forget_removed,
    parse_lock,
    parse_lock_holder,
    parse_restore_text,
    parse_snapshots,
    parse_stats,
    parse_time,
    parse_version,
    supports,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "restic"


def recorded(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_a_backup_stream_gives_its_summary_and_progress() -> None:
    summary = parse_backup_output(recorded("backup-0.14.0.stdout"), recorded("backup-0.14.0.stderr"))
    assert summary.snapshot_id == "f0542a36"
    assert (summary.files_new, summary.total_files_processed, summary.total_bytes_processed) == (2, 2, 12)
    assert summary.data_added == 1060
    assert summary.errors == ()
    first = parse_backup_message(recorded("backup-0.14.0.stdout").splitlines()[0])
    assert first == BackupStatus(total_files=1, total_bytes=6)


def test_a_missing_source_path_is_only_a_line_on_stderr_in_0_14() -> None:
    # restic 0.14 skips the path and exits 0: the runner must refuse it before restic runs
    summary = parse_backup_output(recorded("backup-missing-path-0.14.0.stdout"),
                                  recorded("backup-missing-path-0.14.0.stderr"))
    assert summary.errors == (BackupItemError("/nonexistent/path", "scan", "does not exist, skipped"),)


def test_an_unreadable_file_is_an_error_message_on_stderr() -> None:
    summary = parse_backup_output(recorded("backup-unreadable-0.14.0.stdout"),
                                  recorded("backup-unreadable-0.14.0.stderr"))
    assert summary.snapshot_id == "5284d9cf"
    assert summary.errors == (BackupItemError("/proc/1/mem", "archival", "open: Permission denied"),)


def test_a_stdin_backup_has_a_summary_too() -> None:
    summary = parse_backup_output(recorded("backup-stdin-0.14.0.stdout"))
    assert summary.snapshot_id == "934aa93b"
    assert summary.total_bytes_processed == 5


def test_a_stream_without_summary_made_no_snapshot() -> None:
    stream = recorded("backup-0.14.0.stdout").splitlines()[0]
    with pytest.raises(ResticOutputError, match="no snapshot"):
        parse_backup_output(stream)


def test_garbage_lines_are_not_messages() -> None:
    assert parse_backup_message("not json") is None
    assert parse_backup_message("{broken") is None
    assert parse_backup_message('{"message_type":"verbose_status"}') is None
    assert isinstance(parse_backup_message('{"message_type":"summary","snapshot_id":"ab"}'), BackupSummary)


def test_snapshots_are_listed_oldest_first_with_tags_and_parents() -> None:
    snapshots = parse_snapshots(recorded("snapshots-0.14.0.stdout"))
    assert [s.short_id for s in snapshots] == ["f0542a36", "6fbf227e", "5284d9cf", "934aa93b"]
    assert snapshots[1].parent == snapshots[0].id
    assert snapshots[0].tags == ()
    assert snapshots[3].tags == ("opsctl",)
    assert snapshots[3].paths == ("/db.dump",)
    assert snapshots[0].time == datetime(2026, 12, 5, 5, 39, 49, 866805, tzinfo=UTC)


def test_a_lock_names_its_holder() -> None:
    lock = parse_lock("3123428f", recorded("cat-lock-0.14.0.stdout"))
    assert (lock.hostname, lock.username, lock.exclusive) == ("vm", "root", False)
    holder = parse_lock_holder(recorded("locked-0.14.0.stderr"))
    assert holder is not None
    assert (holder.pid, holder.hostname, holder.username) == (lock.pid, "vm", "root")


def test_stats_and_forget() -> None:
    stats = parse_stats(recorded("stats-0.14.0.stdout"))
    assert (stats.total_size, stats.total_file_count, stats.snapshots_count) == (41, 12, 4)
    removed = parse_forget_removed(recorded("forget-0.14.0.stdout"))
    assert len(removed) == 1  # keep-last 1 per host and paths: the two snapshots of src lost one
    assert all(len(snapshot_id) == 64 for snapshot_id in removed)
    # with --prune, prune's text report follows the document on stdout
    assert len(parse_forget_removed(recorded("forget-prune-0.14.0.stdout"))) == 1
    with pytest.raises(ResticOutputError):
        parse_forget_removed("loading indexes...")


def test_restore_text_of_0_14() -> None:
    summary = parse_restore_text(recorded("restore-0.14.0.stdout"))
    assert summary.snapshot_id == "934aa93b"
    assert summary.target.endswith("/out")
    with pytest.raises(ResticOutputError):
        parse_restore_text("nothing here")


def test_check_text_of_a_clean_repository() -> None:
    report = parse_check_text(recorded("check-0.14.0.stdout"), exit_ok=True)
    assert report.ok
    assert report.errors == ()
    assert (report.packs_read, report.packs_total) == (2, 5)


def test_check_text_of_a_corrupted_pack_lists_each_error() -> None:
    report = parse_check_text(recorded("check-corrupted-0.14.0.stdout"), exit_ok=False)
    assert not report.ok
    assert len(report.errors) == 2
    assert report.errors[0].startswith("error for tree 025480de decrypting blob")
    assert report.errors[1].startswith("Pack ID does not match")


def test_a_check_that_exited_non_zero_is_never_ok() -> None:
    assert not parse_check_text(recorded("check-0.14.0.stdout"), exit_ok=False).ok


def test_version_and_capabilities() -> None:
    version = parse_version("restic 0.14.0 compiled with go1.19.8 on linux/amd64\n")
    assert version == ResticVersion(0, 14, 0)
    assert not supports(version, "restore_json")
    assert not supports(version, "check_json")
    assert not supports(version, "stdin_from_command")
    assert supports(version, "copy_from_repo")
    assert supports(ResticVersion(0, 17, 0), "skip_if_unchanged")
    assert "exit_code_12" not in capabilities(ResticVersion(0, 17, 0))
    assert "exit_code_12" in capabilities(ResticVersion(0, 17, 1))
    assert supports(ResticVersion(0, 18, 0), "check_json")
    with pytest.raises(KeyError):
        supports(version, "teleport")
    with pytest.raises(ResticError, match="cannot read a version"):
        parse_version("bash: restic: command not found")


def test_restic_times_keep_microseconds_and_zones() -> None:
    assert parse_time("2026-12-05T05:39:30.729902081Z") == datetime(2026, 12, 5, 5, 39, 30, 729902, tzinfo=UTC)
    assert parse_time("2026-12-05T06:39:30+01:00") == datetime(2026, 12, 5, 5, 39, 30, tzinfo=UTC)
