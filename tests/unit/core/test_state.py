"""The state store: migrations, run records, the audit anchor, concurrency and failures."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from opsctl.core.errors import StateError
from opsctl.core.settings import Settings, StateSettings
from opsctl.core.state import MIGRATIONS, Migration, StateStore, open_state

LATEST = MIGRATIONS[-1].version


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "state.db"


@pytest.fixture
def store(db_path: Path) -> StateStore:
    return StateStore(url_of(db_path))


def table_names(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


# ----------------------------------------------------------------------------- migrations


def test_a_new_database_is_created_and_migrated(db_path: Path) -> None:
    store = StateStore(url_of(db_path))

    assert store.schema_version() == LATEST
    assert {"schema_version", "audit_anchor", "runs", "run_hosts"} <= table_names(db_path)
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_open_state_uses_the_state_directory(tmp_path: Path) -> None:
    settings = Settings(state=StateSettings(dir=tmp_path / "var"))
    store = open_state(settings)
    store.set_anchor(1, "a" * 64)
    assert (tmp_path / "var" / "state.db").is_file()


def test_reopening_is_a_no_op_and_keeps_the_data(db_path: Path) -> None:
    StateStore(url_of(db_path)).set_anchor(3, "c" * 64)

    again = StateStore(url_of(db_path))

    assert again.schema_version() == LATEST
    anchor = again.get_anchor()
    assert anchor is not None and (anchor.seq, anchor.hash) == (3, "c" * 64)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == LATEST


def test_a_pending_migration_is_applied_on_open(db_path: Path) -> None:
    StateStore(url_of(db_path)).set_anchor(1, "a" * 64)

    def add_notes(connection: sa.Connection) -> None:
        connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")

    store = StateStore(url_of(db_path), migrations=(*MIGRATIONS, Migration(LATEST + 1, "notes", add_notes)))

    assert store.schema_version() == LATEST + 1
    assert "notes" in table_names(db_path)
    assert store.get_anchor() is not None


def test_a_failing_migration_is_rolled_back_whole(db_path: Path) -> None:
    StateStore(url_of(db_path))

    def half_done(connection: sa.Connection) -> None:
        connection.exec_driver_sql("CREATE TABLE half (id INTEGER)")
        connection.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(StateError, match=rf"migration {LATEST + 1} \(breaks\) failed"):
        StateStore(url_of(db_path), migrations=(*MIGRATIONS, Migration(LATEST + 1, "breaks", half_done)))

    assert StateStore(url_of(db_path)).schema_version() == LATEST
    assert "half" not in table_names(db_path)


def test_a_database_newer_than_the_code_is_refused(db_path: Path) -> None:
    StateStore(url_of(db_path))
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO schema_version (version, description, applied_at) "
            "VALUES (7, 'from the future', '2030-01-01 00:00:00')"
        )

    with pytest.raises(StateError) as caught:
        StateStore(url_of(db_path))

    assert str(db_path) in str(caught.value)
    assert f"schema version 7 is newer than this opsctl knows (up to {LATEST})" in str(caught.value)
    assert caught.value.hint is not None and "upgrade opsctl" in caught.value.hint


def _open_and_anchor(url: str, seq: int) -> None:
    StateStore(url).set_anchor(seq, f"{seq:064d}")


def test_several_processes_opening_a_new_database_at_once_all_succeed(db_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_open_and_anchor, args=(url_of(db_path), seq)) for seq in range(6)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)

    assert [process.exitcode for process in processes] == [0] * 6
    assert StateStore(url_of(db_path)).schema_version() == LATEST


# ----------------------------------------------------------------------------- failures


def test_a_file_that_is_not_a_database_gives_a_state_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not an SQLite database, just some text " * 100)

    with pytest.raises(StateError) as caught:
        StateStore(url_of(path))

    assert str(path) in str(caught.value)
    assert "file is not a database" in str(caught.value)
    assert caught.value.hint is not None and "move it aside" in caught.value.hint


def test_an_unwritable_state_directory_gives_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StateError, match=f"state store {blocker}/state.db: cannot create"):
        StateStore(url_of(blocker / "state.db"))


def test_a_url_password_never_appears_in_an_error() -> None:
    with pytest.raises(StateError) as caught:
        StateStore("postgresql://opsctl:s3cr3t-pw@127.0.0.1:1/opsctl")
    assert "s3cr3t-pw" not in str(caught.value)
    assert "opsctl:***@127.0.0.1:1/opsctl" in str(caught.value)


# ----------------------------------------------------------------------------- runs


def test_a_run_and_its_host_results_round_trip(store: StateStore) -> None:
    store.begin_run("r-1", "run", "uptime", "web*", "alice")
    store.record_host("r-1", "web2", "failed", 1, 0.25, "exit status 1")
    store.record_host("r-1", "web1", "ok", 0, 0.5, None)
    store.record_host("r-1", "web3", "unreachable", None, None, "connection refused")
    store.finish_run("r-1", "partial")

    run = store.last_run("run")

    assert run is not None
    assert (run.run_id, run.kind, run.command, run.target, run.operator, run.outcome) == (
        "r-1",
        "run",
        "uptime",
        "web*",
        "alice",
        "partial",
    )
    assert run.started_at.tzinfo is UTC and run.finished_at is not None
    assert run.finished_at >= run.started_at
    assert [(h.host, h.outcome, h.exit_status, h.duration_seconds, h.error) for h in run.hosts] == [
        ("web1", "ok", 0, 0.5, None),
        ("web2", "failed", 1, 0.25, "exit status 1"),
        ("web3", "unreachable", None, None, "connection refused"),
    ]


def test_recording_a_host_again_replaces_its_result(store: StateStore) -> None:
    store.begin_run("r-1", "run", "apt update", "all", "alice")
    store.record_host("r-1", "db1", "failed", 100, 3.0, "lock held")
    store.record_host("r-1", "db1", "changed", 0, 4.0, None)

    run = store.last_run("run")

    assert run is not None and run.finished_at is None and run.outcome is None
    assert [(h.host, h.outcome, h.error) for h in run.hosts] == [("db1", "changed", None)]


def test_last_run_is_the_newest_of_its_kind(store: StateStore) -> None:
    now = datetime.now(UTC)
    store.begin_run("old", "run", "a", "all", "bob", started_at=now - timedelta(hours=2))
    store.begin_run("new", "run", "b", "all", "bob", started_at=now - timedelta(hours=1))
    store.begin_run("patch", "patch", "c", "all", "bob", started_at=now)

    run = store.last_run("run")

    assert run is not None and run.run_id == "new" and run.hosts == ()
    assert store.last_run("backup") is None


def test_unknown_runs_and_outcomes_are_refused(store: StateStore) -> None:
    with pytest.raises(StateError, match="no run ghost to finish"):
        store.finish_run("ghost", "ok")
    with pytest.raises(StateError, match="cannot record host h1 of run ghost"):
        store.record_host("ghost", "h1", "ok", 0, 1.0, None)
    store.begin_run("r-1", "run", "true", "all", "alice")
    with pytest.raises(StateError, match="cannot record the start of run r-1"):
        store.begin_run("r-1", "run", "true", "all", "alice")
    with pytest.raises(ValueError, match="one of ok, changed"):
        store.record_host("r-1", "h1", "fine", 0, 1.0, None)


def test_record_host_from_many_threads_keeps_every_result(store: StateStore) -> None:
    store.begin_run("r-1", "run", "uptime", "all", "alice")
    hosts = [f"host{number:03d}" for number in range(200)]

    def record(host: str) -> None:
        store.record_host("r-1", host, "ok", 0, 0.01, None)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(record, hosts))
    store.finish_run("r-1", "ok")

    run = store.last_run("run")
    assert run is not None and [h.host for h in run.hosts] == hosts


# ----------------------------------------------------------------------------- anchor


def test_the_anchor_is_absent_then_replaced(store: StateStore) -> None:
    assert store.get_anchor() is None
    store.set_anchor(1, "a" * 64)
    store.set_anchor(2, "b" * 64)
    anchor = store.get_anchor()
    assert anchor is not None and (anchor.seq, anchor.hash) == (2, "b" * 64)
    assert anchor.updated_at.tzinfo is UTC


def test_record_hosts_writes_a_batch_in_one_go(store: StateStore) -> None:
    from opsctl.core.state import HostResult

    store.begin_run("r-2", "run", "true", "all", "alice")
    store.record_hosts("r-2", [HostResult(f"h{i}", "ok", 0, 0.1, None) for i in range(3)]
                       + [HostResult("h9", "unreachable", None, 1.0, "h9: connection refused")])
    store.finish_run("r-2", "failed")
    last = store.last_run("run")
    assert last is not None
    assert [(h.host, h.outcome) for h in last.hosts] == [
        ("h0", "ok"), ("h1", "ok"), ("h2", "ok"), ("h9", "unreachable")]
