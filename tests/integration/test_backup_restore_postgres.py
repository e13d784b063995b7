"""``opsctl backup restore --database`` into the lab's PostgreSQL 15 from restic 0.14.

The policy's role is one of the test's own with CREATEDB (the lab's roles have none), on
the lab's server. A dump goes into a NEW database by default; an existing name is refused
without --replace (the existing database untouched) and replaced whole with it; a restore
that fails (a snapshot restic cannot find) leaves neither the database nor its staging copy.
"""

from __future__ import annotations

import secrets
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fleetcli import Cli

import lab as lab_api

pytestmark = pytest.mark.integration

PATIENTS = 1200


@dataclass
class RestoreSite:
    root: Path
    cli: Cli
    config: Path
    host: str
    port: int
    role: str
    password: str
    source: str
    made: list[str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cli("-c", str(self.config), "backup", *args, timeout=300)

    def json(self, *args: str) -> tuple[int, dict[str, Any]]:
        return self.cli.json("-c", str(self.config), "backup", *args)

    def connect(self, database: str) -> psycopg.Connection[Any]:
        return psycopg.connect(host=self.host, port=self.port, user=self.role, password=self.password,
                               dbname=database, autocommit=True)

    def count(self, database: str) -> int:
        with self.connect(database) as connection:
            row = connection.execute("SELECT count(*) FROM patients").fetchone()
        assert row is not None
        return int(row[0])

    def exists(self, database: str) -> bool:
        with self.connect(self.source) as connection:
            return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() \
                is not None


@pytest.fixture
def site(lab: Any, tmp_path: Path) -> Iterator[RestoreSite]:
    from lab.postgres.peer import postgres_peer

    published = lab.publication.state_store
    assert published is not None
    peer = postgres_peer(lab_api.LabLayout(lab.lab_dir.absolute()), lab.prefix)
    suffix = uuid.uuid4().hex[:10]
    role, password, source = f"opsctl_restore_{suffix}", secrets.token_hex(16), f"opsctl_test_{suffix}"
    peer.run_sql(f"CREATE ROLE \"{role}\" LOGIN CREATEDB PASSWORD '{password}';\n")
    peer.create_database(source, owner=role)
    root = tmp_path / "site"
    root.mkdir()
    for name, secret in (("restic-pw", "restic secret of the restore test"), ("db-pw", password)):
        (root / name).write_text(secret + "\n")
        (root / name).chmod(0o600)
    config = root / "opsctl.yaml"
    config.write_text(
        "backup:\n"
        f"  textfile_dir: {root}/textfile\n"
        f"  cache_dir: {root}/restic-cache\n"
        "  repositories:\n"
        f"    local: {{type: local, path: {root}/repo, password: file:{root}/restic-pw}}\n"
        "  policies:\n"
        "    his:\n"
        "      postgres:\n"
        f"        - {{host: {published.address}, port: {published.port}, database: {source}, user: {role}, "
        f"password: 'file:{root}/db-pw'}}\n"
        "      repository: local\n"
    )
    made = RestoreSite(root, Cli.create(root, root / "no-inventory.yaml"), config, published.address,
                       published.port, role, password, source, [source])
    with made.connect(source) as connection:
        connection.execute("CREATE TABLE patients (id serial PRIMARY KEY, name text NOT NULL)")
        connection.execute(f"INSERT INTO patients (name) SELECT 'patient ' || n FROM generate_series(1, {PATIENTS}) n")
    assert made.run("init", "local").returncode == 0
    try:
        yield made
    finally:
        for database in made.made:
            for name in (database, database + "__restoring"):
                peer.drop_database(name)
        peer.run_sql(f"DROP ROLE IF EXISTS \"{role}\";\n")


def test_a_dump_is_restored_into_a_new_database_and_an_existing_one_only_with_replace(site: RestoreSite) -> None:
    code, run = site.json("run", "his")
    assert code == 0, run
    restored = f"{site.source}_r"
    site.made.append(restored)
    code, result = site.json("restore", "his", "--database", restored)
    assert code == 0, result
    assert result["kind"] == "database" and result["replaced"] is False
    assert result["server"] == f"{site.host}:{site.port}"
    assert site.count(restored) == PATIENTS

    done = site.run("restore", "his", "--database", site.source)
    assert done.returncode == 5, done.stderr
    assert f"database {site.source} exists on {site.host}:{site.port} (give --replace" in done.stderr
    with site.connect(restored) as connection:
        connection.execute("DELETE FROM patients WHERE id > 10")
    done = site.run("restore", "his", "--database", restored)
    assert done.returncode == 5 and site.count(restored) == 10  # untouched
    code, result = site.json("restore", "his", "--database", restored, "--replace")
    assert code == 0 and result["replaced"] is True
    assert site.count(restored) == PATIENTS
    assert not site.exists(restored + "__restoring")


def test_a_failed_restore_leaves_no_database_behind(site: RestoreSite) -> None:
    assert site.json("run", "his")[0] == 0
    restored = f"{site.source}_x"
    site.made.append(restored)
    done = site.run("restore", "his", "--database", restored, "--snapshot", "deadbeef")
    assert done.returncode == 1, done.stderr
    assert f"into database {restored} on {site.host}:{site.port} failed: restic exited" in done.stderr
    assert done.stdout == ""
    assert not site.exists(restored) and not site.exists(restored + "__restoring")
    assert site.password not in done.stderr + done.stdout
