"""The lab's hospital database in the real PostgreSQL 15: its tables and rows as published, its
size near the one asked for, and a ``backup`` role that can read and dump it but not write."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

import lab as lab_api
from lab.peer import wait_ready
from lab.postgres.config import POSTGRES_BIN
from lab.postgres.hospital import TABLES, HospitalSize
from lab.postgres.peer import PostgresPeer, postgres_peer
from lab.publish import PublishedDatabase
from opsctl.core.secrets import SecretRef
from opsctl.core.settings import Settings

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

SMALL_LAB_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")


def _hospital(lab: RunningLab) -> PublishedDatabase:
    published = lab.publication.database("hospital")
    assert published is not None, "the lab publishes no hospital database"
    return published


def _connect(published: PublishedDatabase, user: str, password_reference: str) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=published.address, port=published.port, dbname=published.name, user=user,
        password=SecretRef.parse(password_reference).resolve(), connect_timeout=10,
    )  # fmt: skip


def test_the_tables_hold_the_rows_published_at_load(lab: RunningLab) -> None:
    published = _hospital(lab)
    extra = published.extra
    expected = HospitalSize(20).row_counts  # the lab's default size

    assert extra["row_counts"] == expected
    assert extra["tables"] == list(TABLES)
    assert published.password.startswith("file:") and extra["backup_password"].startswith("file:")
    with _connect(published, published.role, published.password) as connection:
        counts = {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
                  for table in TABLES}  # fmt: skip
        size = connection.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        orphans = connection.execute(
            "SELECT count(*) FROM results r LEFT JOIN orders o USING (order_id) WHERE o.order_id IS NULL"
        ).fetchone()[0]  # type: ignore[index]
        foreign_keys = connection.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' ORDER BY 1"
        ).fetchall()
    assert counts == expected
    assert orphans == 0
    assert foreign_keys == [("encounters", "patients"), ("orders", "encounters"), ("results", "orders")]
    assert abs(size - 20 * 1024 * 1024) < 0.1 * 20 * 1024 * 1024, f"{size} bytes for 20 MiB"


def test_the_backup_role_can_read_and_dump_but_not_write(lab: RunningLab, tmp_path: Any) -> None:
    published = _hospital(lab)
    extra = published.extra
    with _connect(published, extra["backup_user"], extra["backup_password"]) as connection:
        patients = connection.execute("SELECT count(*) FROM patients").fetchone()[0]  # type: ignore[index]
        assert patients == extra["row_counts"]["patients"]
        for statement in (
            "INSERT INTO patients VALUES (0, 'MRN0', 'X', 'Y', '2000-01-01', 'U', now())",
            "UPDATE results SET value = 0 WHERE result_id = 1",
            "DELETE FROM orders WHERE order_id = 1",
            "CREATE TABLE mine (id int)",
            "CREATE TEMP TABLE mine (id int)",
            "TRUNCATE results",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(statement)
            connection.rollback()

    dump = tmp_path / "hospital.dump"
    environment = {**os.environ, "PGPASSWORD": SecretRef.parse(extra["backup_password"]).resolve()}
    done = subprocess.run(
        (str(POSTGRES_BIN / "pg_dump"), "--format=custom", "--file", str(dump),
         "--host", published.address, "--port", str(published.port),
         "--username", extra["backup_user"], published.name),
        env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listing = subprocess.run((str(POSTGRES_BIN / "pg_restore"), "--list", str(dump)),
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    for table in TABLES:
        assert f"TABLE DATA public {table} hospital" in listing


_CHECKSUM = (
    "SELECT md5(string_agg(p::text, ',' ORDER BY patient_id)) FROM patients p;\n"
    "SELECT md5(string_agg(r::text, ',' ORDER BY result_id)) FROM results r;\n"
)


@pytest.fixture
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresPeer]:
    """A PostgreSQL peer with a 20 MB hospital database alone, in a lab directory of its own."""
    settings = Settings(
        state={"dir": tmp_path_factory.mktemp("hospital-lab")}, lab={"prefix": SMALL_LAB_PREFIX}
    )
    layout = lab_api.LabLayout(lab_api.lab_dir(settings).absolute())
    peer = postgres_peer(layout, SMALL_LAB_PREFIX, hospital_megabytes=20)
    try:
        yield peer
    finally:
        lab_api.down(settings)
        shutil.rmtree(layout.root, ignore_errors=True)
        shutil.rmtree(peer.runtime_dir, ignore_errors=True)


def test_the_same_size_gives_the_same_rows_anywhere_and_a_new_size_reloads(
    lab: RunningLab, own_postgres: PostgresPeer
) -> None:
    peer = own_postgres
    peer.prepare()
    peer.start()
    answer = wait_ready(peer, wait_seconds=120)
    assert answer.ok, peer.failure(answer.detail).describe()
    session = postgres_peer(lab_api.LabLayout(lab.lab_dir.absolute()), lab.prefix)

    # another cluster, loaded from the same seed and size: the very same rows
    assert peer.run_sql(_CHECKSUM, database="hospital") == session.run_sql(_CHECKSUM, database="hospital")
    assert peer.load_hospital(HospitalSize(20)) is False  # already loaded: nothing to do

    bigger = HospitalSize(22)
    assert peer.load_hospital(bigger) is True
    record = peer.hospital_record()
    assert record is not None and record["row_counts"] == bigger.row_counts
    assert record["megabytes"] == 22
    # a peer that wants 20 MB sees the 22 MB load as not ready, so `up` restarts and reloads it
    answer = peer.ready(timeout=5)
    assert not answer.ok and "is not loaded with" in answer.detail
