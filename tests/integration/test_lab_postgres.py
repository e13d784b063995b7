"""The lab's PostgreSQL peer against the real PostgreSQL 15: where it lives, what it listens on,
that ``down`` stops it and a new ``up`` finds its data again.

Tests that stop the server start one of their own (``TEST_SMALL_LAB_PREFIX``) in a lab
directory of their own, so the session lab stays intact.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest

import lab as lab_api
from lab.peer import wait_ready
from lab.postgres.peer import PostgresPeer, postgres_peer, remove_orphaned_runtime_dirs
from opsctl.core.owner import process_start
from opsctl.core.settings import Settings
from opsctl.core.state import StateStore

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

SMALL_LAB_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")


def test_the_session_lab_serves_postgresql_on_its_address_only(lab: RunningLab) -> None:
    statuses = {peer.name: peer for peer in lab_api.status(lab.settings)}
    postgres = statuses["lab-postgres"]
    assert postgres.answering, postgres.detail
    assert postgres.detail.startswith("PostgreSQL 15.")
    assert postgres.pid is not None

    listening = {
        (connection.laddr.ip, connection.laddr.port)
        for connection in psutil.Process(postgres.pid).net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    }
    assert listening == {(f"{lab.prefix}.50.1", 15432)}


def test_the_cluster_is_owned_by_postgres_outside_a_private_lab_directory(lab: RunningLab) -> None:
    peer = postgres_peer(lab_api.LabLayout(lab.lab_dir.absolute()), lab.prefix)
    postgres_uid = psutil.Process(peer.running_pid() or 0).uids().real

    # the lab directory sits under pytest's private temporary directory, which postgres cannot pass
    assert any(not part.stat().st_mode & 0o001 for part in lab.lab_dir.absolute().parents)
    for directory in (peer.data_dir, peer.socket_dir):
        info = directory.stat()
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (postgres_uid, 0o700)
    assert all(part.stat().st_mode & 0o001 for part in peer.runtime_dir.parents)
    assert postgres_uid != 0


@pytest.fixture
def own_postgres(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, PostgresPeer]]:
    """A PostgreSQL peer alone, in a lab directory of its own; its lab brought down and removed after."""
    settings = Settings(
        state={"dir": tmp_path_factory.mktemp("postgres-lab")}, lab={"prefix": SMALL_LAB_PREFIX}
    )
    layout = lab_api.LabLayout(lab_api.lab_dir(settings).absolute())
    peer = postgres_peer(layout, SMALL_LAB_PREFIX)
    try:
        yield settings, peer
    finally:
        lab_api.down(settings)
        runtime = peer.runtime_dir
        shutil.rmtree(layout.root, ignore_errors=True)
        assert runtime in remove_orphaned_runtime_dirs()
        assert not runtime.exists()


def start(peer: PostgresPeer) -> None:
    peer.prepare()
    peer.start()
    answer = wait_ready(peer, wait_seconds=120)
    assert answer.ok, f"{answer.detail}\n{peer.failure(answer.detail).describe()}"


def state_store(peer: PostgresPeer) -> StateStore:
    published = peer.published_databases()[0]
    password = Path(published.password.removeprefix("file:")).read_text(encoding="utf-8").strip()
    return StateStore(published.url, password=password)


def test_lab_down_stops_postgresql_and_up_finds_its_data_again(
    own_postgres: tuple[Settings, PostgresPeer],
) -> None:
    settings, peer = own_postgres
    start(peer)
    pid = peer.running_pid()
    with state_store(peer) as store:
        store.begin_run("r-1", "run", "uptime", "all", "alice")
        store.finish_run("r-1", "ok")

    assert lab_api.down(settings) == ["lab-postgres"]

    assert pid is not None
    with pytest.raises(ProcessLookupError):  # gone, or a zombie until its parent waits
        process_start(pid)
    assert peer.running_pid() is None and not peer.pid_path.exists()
    assert not (peer.data_dir / "postmaster.pid").exists()  # a clean (fast) shutdown
    start(peer)
    with state_store(peer) as store:
        run = store.last_run("run")
        assert run is not None and run.run_id == "r-1" and run.outcome == "ok"


def test_a_database_of_its_own_for_a_test_is_created_and_dropped(
    own_postgres: tuple[Settings, PostgresPeer],
) -> None:
    _, peer = own_postgres
    start(peer)

    peer.create_database("opsctl_test_mine", owner="opsctl")
    assert peer.run_sql(
        "SELECT datname FROM pg_database WHERE datname = 'opsctl_test_mine'"
    ).strip() == ("opsctl_test_mine")
    peer.drop_database("opsctl_test_mine")
    assert (
        peer.run_sql("SELECT count(*) FROM pg_database WHERE datname = 'opsctl_test_mine'").strip()
        == "0"
    )
