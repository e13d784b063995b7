"""The lab's hospital database in the real PostgreSQL 15: its tables and rows as published, its
size near the one asked for, and a ``backup`` role that can read and dump it but not write."""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from lab.postgres.config import POSTGRES_BIN
from lab.postgres.hospital import TABLES, HospitalSize
from lab.publish import PublishedDatabase
from opsctl.core.secrets import SecretRef

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration


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
