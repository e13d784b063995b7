"""The state store's contract, on every backend: migrations by component, runs, anchors, named locks.

Every test takes ``state_backend``: a fresh, empty database of its own. Here it is a SQLite file;
``tests/integration/test_state_postgres.py`` imports these same tests and gives them a database
of their own on the lab's PostgreSQL, so both backends pass one suite (restic's backend tests,
the pattern STYLE.md names).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from opsctl.core import state as state_module
from opsctl.core.errors import ExitCode, LockHeld, StateError
from opsctl.core.owner import ProcessIdentity, process_start
from opsctl.core.state import (
    CORE_SCHEMA,
    LEGACY_AUDIT_LOG_ID,
    LOCK_HEARTBEAT_TTL_SECONDS,
    HostResult,
    Migration,
    Schema,
    StateStore,
    installed_schemas,
    locks,
    register_schema,
)

CORE_LATEST = CORE_SCHEMA.version


@dataclass(frozen=True)
class Backend:
    """One test's own empty database: how to open it here and from another process."""

    name: str  # "sqlite" or "postgresql"
    url: str
    password: str | None = None
    cleanups: list[Callable[[], None]] = field(default_factory=list, compare=False)

    def open(self, **options: Any) -> StateStore:
        store = StateStore(self.url, password=self.password, **options)
        self.cleanups.append(store.close)
        return store

    def child_environment(self) -> dict[str, str]:
        """The environment of a child process that opens this database (the password in it)."""
        return {
            **os.environ,
            "OPSCTL_TEST_STATE_URL": self.url,
            "OPSCTL_TEST_STATE_PASSWORD": self.password or "",
        }

    def table_names(self) -> set[str]:
        store = self.open(schemas=())
        with store.transaction("list tables") as conn:
            return set(sa.inspect(conn).get_table_names())


def sqlite_backend(path: Path) -> Iterator[Backend]:
    backend = Backend("sqlite", f"sqlite:///{path}")
    yield backend
    for cleanup in backend.cleanups:
        cleanup()


@pytest.fixture
def state_backend(tmp_path: Path) -> Iterator[Backend]:
    """A new SQLite database in the test's own directory."""
    yield from sqlite_backend(tmp_path / "state" / "state.db")


def notes_schema(*steps: Callable[[sa.Connection], None], component: str = "notes") -> Schema:
    """A component's schema whose step N runs ``steps[N-1]``."""
    return Schema(
        component,
        tuple(
            Migration(number, f"{component} step {number}", step)
            for number, step in enumerate(steps, start=1)
        ),
    )


def create_notes(connection: sa.Connection) -> None:
    connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")


def add_note_author(connection: sa.Connection) -> None:
    connection.exec_driver_sql("ALTER TABLE notes ADD COLUMN author VARCHAR(64)")


def create_tags(connection: sa.Connection) -> None:
    connection.exec_driver_sql("CREATE TABLE tags (name VARCHAR(64) PRIMARY KEY)")


def migration_rows(store: StateStore) -> list[tuple[str, int]]:
    with store.transaction("read the migrations") as conn:
        rows = conn.exec_driver_sql(
            "SELECT component, version FROM schema_migrations ORDER BY component, version"
        ).all()
    return [(str(component), int(version)) for component, version in rows]


# ----------------------------------------------------------------------------- migrations


def test_a_new_database_is_migrated_for_every_installed_component(state_backend: Backend) -> None:
    store = state_backend.open()

    expected = {schema.component: schema.version for schema in installed_schemas()}
    assert store.schema_versions() == expected
    assert expected["core"] == CORE_LATEST and expected["inventory"] >= 1
    assert {
        "runs",
        "run_hosts",
        "run_steps",
        "audit_anchors",
        "locks",
    } <= state_backend.table_names()
    assert {"inventory_scans", "inventory_snapshots"} <= state_backend.table_names()


def test_reopening_is_a_no_op_and_keeps_the_data(state_backend: Backend) -> None:
    state_backend.open().set_anchor(3, "c" * 64)

    again = state_backend.open()

    assert again.schema_version() == CORE_LATEST
    anchor = again.get_anchor()
    assert anchor is not None and (anchor.seq, anchor.hash) == (3, "c" * 64)
    rows = migration_rows(again)
    assert len(rows) == len(set(rows))
    assert [version for component, version in rows if component == "core"] == list(
        range(1, CORE_LATEST + 1)
    )


def test_each_component_keeps_its_own_version_sequence(state_backend: Backend) -> None:
    state_backend.open(schemas=(CORE_SCHEMA, notes_schema(create_notes)))

    store = state_backend.open(
        schemas=(
            CORE_SCHEMA,
            notes_schema(create_notes, add_note_author),
            notes_schema(create_tags, component="tags"),
        )
    )

    assert store.schema_versions() == {"core": CORE_LATEST, "notes": 2, "tags": 1}
    assert ("notes", 2) in migration_rows(store) and ("tags", 1) in migration_rows(store)
    with store.transaction("write a note", write=True) as conn:
        conn.exec_driver_sql("INSERT INTO notes (id, text, author) VALUES (1, 'hello', 'alice')")
        conn.exec_driver_sql("INSERT INTO tags (name) VALUES ('db')")


def test_a_failing_step_is_rolled_back_whole_and_the_steps_before_it_stay(
    state_backend: Backend,
) -> None:
    def half_done(connection: sa.Connection) -> None:
        connection.exec_driver_sql("CREATE TABLE half (id INTEGER)")
        connection.exec_driver_sql("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(StateError, match=r"migration notes 2 \(notes step 2\) failed") as caught:
        state_backend.open(schemas=(CORE_SCHEMA, notes_schema(create_notes, half_done)))

    assert "\n" not in str(caught.value)
    assert "half" not in state_backend.table_names()
    assert "notes" in state_backend.table_names()
    store = state_backend.open(schemas=(CORE_SCHEMA, notes_schema(create_notes)))
    assert store.schema_versions() == {"core": CORE_LATEST, "notes": 1}


def test_a_component_newer_than_the_code_is_refused_with_a_clear_message(
    state_backend: Backend,
) -> None:
    store = state_backend.open()
    with store.transaction("from the future", write=True) as conn:
        conn.exec_driver_sql(
            "INSERT INTO schema_migrations (component, version, description, applied_at) "
            "VALUES ('core', 7, 'from the future', '2030-01-01 00:00:00')"
        )

    with pytest.raises(StateError) as caught:
        state_backend.open()

    message = str(caught.value)
    assert store.location in message
    assert (
        f"the core schema is at version 7, newer than this opsctl knows (up to {CORE_LATEST})"
        in message
    )
    assert caught.value.hint is not None and "upgrade opsctl" in caught.value.hint


def test_a_component_this_code_lacks_is_left_alone(state_backend: Backend) -> None:
    state_backend.open(schemas=(CORE_SCHEMA, notes_schema(create_notes, add_note_author)))

    store = state_backend.open(schemas=(CORE_SCHEMA,))

    assert store.schema_versions() == {"core": CORE_LATEST, "notes": 2}
    assert store.schema_version("notes") == 2 and store.schema_version("backup") == 0


def test_a_schema_registered_in_process_is_migrated_by_every_store(
    state_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_module, "_registered_schemas", {})
    register_schema(notes_schema(create_notes))

    store = state_backend.open()

    assert store.schema_version("notes") == 1
    assert "notes" in state_backend.table_names()
    with pytest.raises(ValueError, match="already registered"):
        register_schema(notes_schema(create_notes, add_note_author))
    with pytest.raises(ValueError, match="core"):
        register_schema(Schema("core", ()))


def _open_in_a_child(backend: Backend, seq: int) -> None:
    StateStore(backend.url, password=backend.password).set_anchor(
        seq, f"{seq:064d}", log_id=f"log-{seq}"
    )


def test_several_processes_migrating_a_new_database_at_once_all_succeed(
    state_backend: Backend,
) -> None:
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_open_in_a_child, args=(state_backend, n)) for n in range(5)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)

    assert [process.exitcode for process in processes] == [0] * 5
    store = state_backend.open()
    assert store.schema_versions() == {s.component: s.version for s in installed_schemas()}
    rows = migration_rows(store)
    assert len(rows) == len(set(rows))
    assert all(store.get_anchor(f"log-{n}") is not None for n in range(5))


# ----------------------------------------------------------------------------- runs


def test_a_run_and_its_host_results_round_trip(state_backend: Backend) -> None:
    store = state_backend.open()
    store.begin_run("r-1", "run", "uptime", "web*", "alice")
    store.record_host("r-1", "web2", "failed", 1, 0.25, "exit status 1")
    store.record_host("r-1", "web1", "ok", 0, 0.5, None)
    store.record_host("r-1", "web3", "unreachable", None, None, "connection refused")
    store.record_host("r-1", "web4", "partial", 0, 2.0, "2 of 3 items")
    store.finish_run("r-1", "partial")

    run = store.last_run("run")

    assert run is not None
    assert (run.run_id, run.kind, run.command, run.target, run.operator, run.outcome) == (
        "r-1", "run", "uptime", "web*", "alice", "partial",
    )  # fmt: skip
    assert run.started_at.tzinfo is UTC and run.finished_at is not None
    assert run.finished_at >= run.started_at
    assert [(h.host, h.outcome, h.exit_status, h.duration_seconds, h.error) for h in run.hosts] == [
        ("web1", "ok", 0, 0.5, None),
        ("web2", "failed", 1, 0.25, "exit status 1"),
        ("web3", "unreachable", None, None, "connection refused"),
        ("web4", "partial", 0, 2.0, "2 of 3 items"),
    ]


def test_recording_a_host_again_replaces_its_result(state_backend: Backend) -> None:
    store = state_backend.open()
    store.begin_run("r-1", "run", "apt update", "all", "alice")
    store.record_host("r-1", "db1", "failed", 100, 3.0, "lock held")
    store.record_host("r-1", "db1", "changed", 0, 4.0, None)

    run = store.last_run("run")

    assert run is not None and run.finished_at is None and run.outcome is None
    assert [(h.host, h.outcome, h.error) for h in run.hosts] == [("db1", "changed", None)]


def test_last_run_is_the_newest_of_its_kind(state_backend: Backend) -> None:
    store = state_backend.open()
    now = datetime.now(UTC)
    store.begin_run("old", "run", "a", "all", "bob", started_at=now - timedelta(hours=2))
    store.begin_run("new", "run", "b", "all", "bob", started_at=now - timedelta(hours=1))
    store.begin_run("patch", "patch", "c", "all", "bob", started_at=now)

    run = store.last_run("run")

    assert run is not None and run.run_id == "new" and run.hosts == ()
    assert store.last_run("backup") is None


def test_unknown_runs_and_outcomes_are_refused(state_backend: Backend) -> None:
    store = state_backend.open()
    with pytest.raises(StateError, match="no run ghost to finish"):
        store.finish_run("ghost", "ok")
    with pytest.raises(StateError, match="cannot record host h1 of run ghost"):
        store.record_host("ghost", "h1", "ok", 0, 1.0, None)
    store.begin_run("r-1", "run", "true", "all", "alice")
    with pytest.raises(StateError, match="cannot record the start of run r-1"):
        store.begin_run("r-1", "run", "true", "all", "alice")
    with pytest.raises(ValueError, match="one of ok, changed"):
        store.record_host("r-1", "h1", "fine", 0, 1.0, None)


def test_record_host_from_many_threads_keeps_every_result(state_backend: Backend) -> None:
    store = state_backend.open()
    store.begin_run("r-1", "run", "uptime", "all", "alice")
    hosts = [f"host{number:03d}" for number in range(200)]

    def record(host: str) -> None:
        store.record_host("r-1", host, "ok", 0, 0.01, None)

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(record, hosts))
    store.finish_run("r-1", "ok")

    run = store.last_run("run")
    assert run is not None and [h.host for h in run.hosts] == hosts


def test_record_hosts_writes_a_batch_in_one_go(state_backend: Backend) -> None:
    store = state_backend.open()
    store.begin_run("r-2", "run", "true", "all", "alice")
    store.record_hosts(
        "r-2",
        [HostResult(f"h{i}", "ok", 0, 0.1, None) for i in range(3)]
        + [HostResult("h9", "unreachable", None, 1.0, "h9: connection refused")],
    )
    store.finish_run("r-2", "failed")

    last = store.last_run("run")
    assert last is not None
    assert [(h.host, h.outcome) for h in last.hosts] == [
        ("h0", "ok"), ("h1", "ok"), ("h2", "ok"), ("h9", "unreachable"),
    ]  # fmt: skip


# ----------------------------------------------------------------------------- anchors


def test_the_anchor_is_absent_then_replaced(state_backend: Backend) -> None:
    store = state_backend.open()
    assert store.get_anchor() is None
    store.set_anchor(1, "a" * 64)
    store.set_anchor(2, "b" * 64)
    anchor = store.get_anchor()
    assert anchor is not None and (anchor.seq, anchor.hash) == (2, "b" * 64)
    assert anchor.updated_at.tzinfo is UTC


def test_each_log_keeps_its_own_anchor(state_backend: Backend) -> None:
    store = state_backend.open()
    store.set_anchor(5, "a" * 64, log_id="controller-a")
    store.set_anchor(9, "b" * 64, log_id="controller-b")

    a, b = store.get_anchor("controller-a"), store.get_anchor("controller-b")

    assert a is not None and (a.seq, a.hash) == (5, "a" * 64)
    assert b is not None and (b.seq, b.hash) == (9, "b" * 64)
    assert store.get_anchor(LEGACY_AUDIT_LOG_ID) is None


# ----------------------------------------------------------------------------- named locks

# a child process that takes a lock and holds it until its stdin closes (or it is killed)
HOLDER = """
import os, sys
from opsctl.core.state import StateStore
store = StateStore(os.environ["OPSCTL_TEST_STATE_URL"],
                   password=os.environ["OPSCTL_TEST_STATE_PASSWORD"] or None)
with store.lock(sys.argv[1], purpose=sys.argv[2]):
    print("held", flush=True)
    sys.stdin.read()
"""

# a child process that tries to take a lock once and exits with opsctl's exit code
CONTENDER = """
import os, sys
from opsctl.core.errors import OpsctlError, exit_code_for
from opsctl.core.state import StateStore
store = StateStore(os.environ["OPSCTL_TEST_STATE_URL"],
                   password=os.environ["OPSCTL_TEST_STATE_PASSWORD"] or None)
try:
    with store.lock(sys.argv[1], purpose="contender"):
        print("taken", flush=True)
except OpsctlError as error:
    print(error, flush=True)
    print(error.hint, flush=True)
    sys.exit(exit_code_for(error))
"""


@pytest.fixture
def start_holder(state_backend: Backend) -> Iterator[Callable[[str, str], subprocess.Popen[str]]]:
    """Start a process that holds a lock (name, purpose) until it is stopped or killed."""
    children: list[subprocess.Popen[str]] = []

    def start(name: str, purpose: str) -> subprocess.Popen[str]:
        state_backend.open()  # migrated before the child starts: the test is about the lock
        child = subprocess.Popen(
            [sys.executable, "-c", HOLDER, name, purpose],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=state_backend.child_environment(),
        )
        children.append(child)
        assert child.stdout is not None
        line = child.stdout.readline()
        if line.strip() != "held":
            child.kill()
            raise AssertionError(
                f"the holder did not take the lock: {line}{child.communicate()[1]}"
            )
        return child

    yield start
    for child in children:
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdin, child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def contend(backend: Backend, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CONTENDER, name],
        capture_output=True,
        text=True,
        env=backend.child_environment(),
        timeout=120,
    )


def test_a_lock_is_held_for_the_block_and_released_after_it(state_backend: Backend) -> None:
    store = state_backend.open()

    with store.lock("backup:pacs-nightly", purpose="backup of pacs-nightly") as held:
        holder = store.lock_holder("backup:pacs-nightly")
        assert holder is not None and holder.owner == ProcessIdentity.current()
        assert holder.purpose == "backup of pacs-nightly" and not held.lost
    assert store.lock_holder("backup:pacs-nightly") is None

    with pytest.raises(RuntimeError, match="boom"), store.lock("backup:pacs-nightly", purpose="x"):
        raise RuntimeError("boom")
    with store.lock("backup:pacs-nightly", purpose="again"):
        pass


def test_the_same_lock_taken_again_in_this_process_is_refused(state_backend: Backend) -> None:
    store = state_backend.open()

    with store.lock("campaign:db1", purpose="patch campaign 7"):
        with pytest.raises(LockHeld) as caught, store.lock("campaign:db1", purpose="campaign 8"):
            pass
        with store.lock("campaign:db2", purpose="another lock is another matter"):
            pass

    error = caught.value
    assert error.exit_code == ExitCode.REFUSED == 5
    assert "lock 'campaign:db1' is held by" in str(error) and "(this process)" in str(error)
    assert (error.lock, error.holder_pid, error.purpose) == (
        "campaign:db1",
        os.getpid(),
        "patch campaign 7",
    )


def test_a_second_process_is_refused_with_exit_5_naming_the_holder(state_backend: Backend) -> None:
    store = state_backend.open()

    with store.lock("backup:pacs-nightly", purpose="nightly backup of pacs"):
        refused = contend(state_backend, "backup:pacs-nightly")

    me = ProcessIdentity.current()
    assert refused.returncode == ExitCode.REFUSED, refused.stderr
    message = refused.stdout.splitlines()[0]
    assert message.startswith("lock 'backup:pacs-nightly' is held by ")
    assert f"pid {me.pid} on {me.host} since " in message
    assert message.endswith(": nightly backup of pacs")
    assert "taken" not in refused.stdout.splitlines()
    taken = contend(state_backend, "backup:pacs-nightly")
    assert taken.returncode == 0 and taken.stdout.strip() == "taken", taken.stdout + taken.stderr


def test_a_holder_killed_with_sigkill_is_taken_over_at_once(
    state_backend: Backend, start_holder: Callable[[str, str], subprocess.Popen[str]]
) -> None:
    store = state_backend.open()
    holder = start_holder("patch:web", "campaign 12")
    refused = pytest.raises(LockHeld, match=rf"pid {holder.pid} on .*: campaign 12")
    with refused, store.lock("patch:web", purpose="mine"):
        pass

    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()

    # PostgreSQL ends the killed holder's session when its socket closes: allow it that moment
    with store.lock(
        "patch:web", purpose="mine", wait_seconds=10 if state_backend.name == "postgresql" else 0
    ):
        owner = store.lock_holder("patch:web")
        assert owner is not None and owner.owner.pid == os.getpid() and owner.purpose == "mine"


def test_a_holder_killed_but_not_yet_reaped_is_taken_over_too(
    state_backend: Backend, start_holder: Callable[[str, str], subprocess.Popen[str]]
) -> None:
    store = state_backend.open()
    holder = start_holder("patch:db", "campaign 13")

    os.kill(holder.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # a zombie until we wait for it: dead all the same
        try:
            process_start(holder.pid)
        except ProcessLookupError:
            break
        time.sleep(0.01)

    with store.lock(
        "patch:db", purpose="mine", wait_seconds=10 if state_backend.name == "postgresql" else 0
    ):
        pass
    holder.wait()


def test_a_live_holder_is_never_taken_however_old_its_heartbeat(
    state_backend: Backend, start_holder: Callable[[str, str], subprocess.Popen[str]]
) -> None:
    holder = start_holder("backup:ris", "backup of ris")
    a_day_later = datetime.now(UTC) + timedelta(days=1)
    store = state_backend.open(clock=lambda: a_day_later)

    refused = pytest.raises(LockHeld, match=rf"pid {holder.pid} .*: backup of ris")
    with refused, store.lock("backup:ris", purpose="mine"):
        pass

    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(60)
    with store.lock("backup:ris", purpose="mine"):
        pass


def remote_holder_row(name: str, heartbeat_at: datetime) -> dict[str, Any]:
    return {
        "name": name,
        "owner_host": "controller-b.hospital.example",
        "owner_pid": 4242,
        "owner_process_started": 1234.5,
        "owner_boot_id": "00000000-0000-0000-0000-00000000000b",
        "token": "f" * 32,
        "purpose": "backup of pacs from controller b",
        "acquired_at": heartbeat_at - timedelta(minutes=5),
        "heartbeat_at": heartbeat_at,
    }


def test_a_holder_on_another_host_is_refused_until_its_heartbeat_expires(
    state_backend: Backend,
) -> None:
    beat = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    now = [beat + timedelta(seconds=LOCK_HEARTBEAT_TTL_SECONDS - 1)]
    store = state_backend.open(clock=lambda: now[0])
    with store.transaction("a remote holder", write=True) as conn:
        conn.execute(locks.insert().values(**remote_holder_row("backup:pacs", beat)))

    if state_backend.name == "postgresql":
        # the advisory lock decides there: a row without a session holding it names nobody
        with store.lock("backup:pacs", purpose="mine"):
            pass
        return
    with pytest.raises(LockHeld) as caught, store.lock("backup:pacs", purpose="mine"):
        pass
    assert "pid 4242 on controller-b.hospital.example since 2026-12-01 02:55:00 UTC" in str(
        caught.value
    )
    assert f"heartbeat {LOCK_HEARTBEAT_TTL_SECONDS - 1:.0f} s ago" in str(caught.value)
    assert caught.value.hint is not None and "heartbeat" in caught.value.hint

    now[0] = beat + timedelta(seconds=LOCK_HEARTBEAT_TTL_SECONDS + 1)
    with store.lock("backup:pacs", purpose="mine"):
        holder = store.lock_holder("backup:pacs")
        assert holder is not None and holder.owner.pid == os.getpid()


def test_a_holder_of_this_host_name_in_another_boot_waits_for_its_heartbeat(
    state_backend: Backend,
) -> None:
    # another boot of this host, or another machine of the same name: only the heartbeat can tell
    beat = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    now = [beat + timedelta(seconds=10)]
    store = state_backend.open(clock=lambda: now[0])
    row = {**remote_holder_row("patch:all", beat), "owner_host": ProcessIdentity.current().host}
    with store.transaction("a holder from another boot", write=True) as conn:
        conn.execute(locks.insert().values(**row))

    if state_backend.name == "sqlite":
        with pytest.raises(LockHeld), store.lock("patch:all", purpose="mine"):
            pass
        now[0] = beat + timedelta(seconds=LOCK_HEARTBEAT_TTL_SECONDS + 1)
    with store.lock("patch:all", purpose="mine"):
        pass


def test_releasing_deletes_only_our_own_owner_row(state_backend: Backend) -> None:
    store = state_backend.open()
    beat = datetime.now(UTC)

    # as if our heartbeat had stalled and another controller had taken the lock over
    with store.lock("backup:lis", purpose="mine"), store.transaction("taken", write=True) as conn:
        conn.execute(locks.delete().where(locks.c.name == "backup:lis"))
        conn.execute(locks.insert().values(**remote_holder_row("backup:lis", beat)))

    holder = store.lock_holder("backup:lis")
    assert holder is not None and holder.owner.host == "controller-b.hospital.example"


def test_a_waiting_lock_is_taken_when_the_holder_lets_go(state_backend: Backend) -> None:
    store = state_backend.open()
    released = threading.Event()

    def hold_briefly() -> None:
        with store.lock("drill:pacs", purpose="first"):
            taken.set()
            time.sleep(0.5)
        released.set()

    taken = threading.Event()
    worker = threading.Thread(target=hold_briefly)
    worker.start()
    assert taken.wait(60)
    # refused at once by default, taken once the holder is done when asked to wait
    with pytest.raises(LockHeld), store.lock("drill:pacs", purpose="second"):
        pass
    with store.lock("drill:pacs", purpose="second", wait_seconds=60):
        assert released.is_set()
    worker.join()


def test_a_lock_taken_away_while_held_is_reported_lost(
    state_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(state_module, "LOCK_HEARTBEAT_INTERVAL_SECONDS", 0.05)
    store = state_backend.open()

    with store.lock("backup:ehr", purpose="mine") as held:
        if state_backend.name == "sqlite":
            with store.transaction("taken over", write=True) as conn:
                conn.execute(locks.update().values(token="0" * 32))
        else:
            terminate_lock_session(store, "backup:ehr")
        deadline = time.monotonic() + 30
        while not held.lost and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held.lost


def terminate_lock_session(store: StateStore, name: str) -> None:
    """End the PostgreSQL session holding the advisory lock ``name`` (as a server restart would)."""
    key = state_module.lock_key(name)
    with store.transaction("end the lock's session") as conn:
        pids = (
            conn.execute(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND ((classid::bigint << 32) | objid::bigint) = :key"
                ),
                {"key": key},
            )
            .scalars()
            .all()
        )
        assert pids, "no session holds the lock"
        for pid in pids:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_lock_names_are_checked(state_backend: Backend) -> None:
    store = state_backend.open()
    with pytest.raises(ValueError, match="1 to 255"), store.lock("", purpose="x"):
        pass
    with pytest.raises(ValueError, match="1 to 255"), store.lock("x" * 256, purpose="x"):
        pass
