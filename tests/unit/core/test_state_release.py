"""A state store written by the release before components (796e077) migrates in place, losing nothing.

``tests/fixtures/state/release-796e077.sql`` is that release's database as ``sqlite3 .dump`` wrote
it (made by ``make_release_store.py`` with the release's own code: two runs, their host results,
an audit anchor for ``release-796e077-audit.jsonl``, two inventory scans with snapshots);
``release_796e077_state.py`` is that release's state module, to show that it then refuses the
store instead of writing into tables it no longer understands.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa

from inventory.devices import Provenance
from inventory.diff import diff_since
from inventory.history import device_history, devices_at, list_scans, load_scan
from opsctl.core.errors import StateError
from opsctl.core.state import (
    LEGACY_AUDIT_LOG_ID,
    StateStore,
    installed_schemas,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "state"
T1 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
T2 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def release_store(path: Path) -> str:
    """Load the release's database into ``path``; return its URL."""
    with sqlite3.connect(path) as conn:
        conn.executescript((FIXTURES / "release-796e077.sql").read_text(encoding="utf-8"))
    return f"sqlite:///{path}"


def release_state_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "release_796e077_state", FIXTURES / "release_796e077_state.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)  # its dataclasses look their module up
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


def sqlite_rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(query))


def test_the_fixture_is_what_the_release_wrote_and_reads(tmp_path: Path) -> None:
    url = release_store(tmp_path / "state.db")

    old = release_state_module().StateStore(url)

    assert old.schema_version() == 2
    assert old.last_run("run").run_id == "run-2"
    assert old.get_anchor().seq == 3


def test_a_release_store_migrates_in_place_losing_nothing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    url = release_store(path)

    store = StateStore(url)

    assert store.schema_versions() == {s.component: s.version for s in installed_schemas()}
    # runs and their host results, the unfinished one included
    with store.transaction("read the runs") as conn:
        runs = conn.exec_driver_sql(
            "SELECT run_id, kind, command, target, operator, outcome, finished_at IS NULL "
            "FROM runs ORDER BY run_id"
        ).all()
    assert [tuple(row) for row in runs] == [
        ("run-1", "run", "uptime", "web*", "alice", "failed", 0),
        ("run-2", "run", "apt-get update", "db", "bob", None, 1),
    ]
    last = store.last_run("run")
    assert last is not None and last.run_id == "run-2" and last.started_at == T2
    assert [(h.host, h.outcome, h.exit_status, h.duration_seconds) for h in last.hosts] == [
        ("db1", "changed", 0, 3.5)
    ]
    assert sqlite_rows(path, "SELECT host, outcome, exit_status, error FROM run_hosts "
                             "WHERE run_id = 'run-1' ORDER BY host") == [
        ("web1", "ok", 0, None),
        ("web2", "failed", 1, "exit status 1"),
        ("web3", "unreachable", None, "connection refused"),
        ("web4", "skipped", None, None),
    ]  # fmt: skip
    # the audit anchor, now under the legacy log id, still matches the log's last line
    last_line = json.loads(
        (FIXTURES / "release-796e077-audit.jsonl").read_text(encoding="utf-8").splitlines()[-1]
    )
    anchor = store.get_anchor(LEGACY_AUDIT_LOG_ID)
    assert anchor is not None and (anchor.seq, anchor.hash) == (last_line["seq"], last_line["hash"])
    assert "audit_anchor" not in set(sa.inspect(sa.create_engine(url)).get_table_names())
    # the inventory history, read through the inventory's own queries
    newest, oldest = list_scans(store)
    assert (oldest.scan_id, oldest.found, oldest.changed, oldest.vanished) == ("scan-1", 3, 3, 0)
    assert (newest.scan_id, newest.operator, newest.vanished) == ("scan-2", "bob", 1)
    assert [d.name for d in devices_at(store)] == ["core-sw1", "new-srv", "pacs1"]
    assert [d.name for d in devices_at(store, T1 + timedelta(hours=1))] == [
        "core-sw1", "old-srv", "pacs1",
    ]  # fmt: skip
    assert [(h.scan_id, h.status) for h in device_history(store, "old-srv")] == [
        ("scan-1", "ok"), ("scan-2", "vanished"),
    ]  # fmt: skip
    scan = load_scan(store, "scan-1")
    assert scan is not None and [s.device.serial for s in scan.devices] == [
        "FOC1111",
        "OLD1",
        "PACS1",
    ]
    changes = diff_since(store, T1)
    assert [(c.device, c.kind, c.path) for c in changes] == [
        ("core-sw1", "changed", "interfaces/Gi1/0/1/oper_status"),
        ("core-sw1", "changed", "serial"),
        ("new-srv", "appeared", ""),
        ("old-srv", "vanished", ""),
    ]
    assert changes[1].provenance == Provenance("snmp", "1.3.6.1.2.1.47.1.1.1.1.11.1000", T2)


def test_the_migrated_store_takes_what_is_new(tmp_path: Path) -> None:
    store = StateStore(release_store(tmp_path / "state.db"))

    store.record_host("run-2", "db2", "partial", 0, 1.0, "2 of 3 packages")
    store.finish_run("run-2", "partial")
    with store.lock("patch:db", purpose="campaign"):
        pass

    last = store.last_run("run")
    assert last is not None and last.outcome == "partial"
    assert [(h.host, h.outcome) for h in last.hosts] == [("db1", "changed"), ("db2", "partial")]
    with store.transaction("delete a run", write=True) as conn:
        conn.exec_driver_sql("DELETE FROM runs WHERE run_id = 'run-1'")
    # the rebuilt run_hosts kept its foreign key: a deleted run takes its results with it
    assert sqlite_rows(
        tmp_path / "state.db", "SELECT count(*) FROM run_hosts WHERE run_id = 'run-1'"
    ) == [(0,)]


def test_the_release_then_refuses_the_migrated_store(tmp_path: Path) -> None:
    url = release_store(tmp_path / "state.db")
    StateStore(url).close()
    old = release_state_module()

    with pytest.raises(StateError) as caught:
        old.StateStore(url)

    assert "schema version 3 is newer than this opsctl knows (up to 2)" in str(caught.value)
    assert caught.value.hint is not None and "upgrade opsctl" in caught.value.hint
    assert sqlite_rows(tmp_path / "state.db", "SELECT version FROM schema_version ORDER BY 1") == [
        (1,), (2,), (3,),
    ]  # fmt: skip


def test_a_release_store_with_only_its_first_version_is_adopted_and_completed(
    tmp_path: Path,
) -> None:
    old = release_state_module()
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first = old.StateStore(url, migrations=old.MIGRATIONS[:1])
    first.begin_run("r-1", "run", "uptime", "web*", "alice")
    first.record_host("r-1", "web1", "ok", 0, 0.5, None)
    first.finish_run("r-1", "ok")
    first.set_anchor(7, "f" * 64)
    first.close()

    store = StateStore(url)

    assert store.schema_versions() == {"backup": 2, "core": 2, "inventory": 2}
    run = store.last_run("run")
    assert run is not None and [(h.host, h.outcome) for h in run.hosts] == [("web1", "ok")]
    anchor = store.get_anchor()
    assert anchor is not None and (anchor.seq, anchor.hash) == (7, "f" * 64)
    assert list_scans(store) == []


def _open(url: str) -> None:
    StateStore(url).close()


def test_several_processes_migrating_a_release_store_at_once_all_succeed(tmp_path: Path) -> None:
    url = release_store(tmp_path / "state.db")
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_open, args=(url,)) for _ in range(5)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)

    assert [process.exitcode for process in processes] == [0] * 5
    rows = sqlite_rows(tmp_path / "state.db", "SELECT component, version FROM schema_migrations")
    assert sorted(rows) == [("backup", 1), ("backup", 2), ("core", 1), ("core", 2), ("inventory", 1), ("inventory", 2)]
    assert sqlite_rows(tmp_path / "state.db", "SELECT count(*) FROM run_hosts") == [(5,)]
    assert sqlite_rows(tmp_path / "state.db", "SELECT count(*) FROM inventory_snapshots") == [(7,)]
