"""PostgreSQL policies against the lab's PostgreSQL 15 and restic 0.14: dumps, the manifest, and what goes wrong.

Each test has a database of its own on the lab's server (the ``postgres_database`` fixture),
filled here with a small hospital-like schema. A dump that is cut short or killed is made with
a ``pg_dump`` wrapper around the real one (the policy's ``pg_dump`` setting), so "midway" is
where the test says, never a matter of timing.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from conftest import PostgresDatabase
from fleetcli import Cli
from sqlalchemy.engine import make_url

from backup.restic import Restic
from backup.runner import manifest_path_in
from backup.targets import Repository
from opsctl.core.secrets import SecretRef

pytestmark = pytest.mark.integration

PATIENTS = 3000
ENCOUNTERS = 7000


@dataclass
class DatabaseSite:
    root: Path
    cli: Cli
    config: Path
    database: PostgresDatabase
    host: str
    port: int
    role: str

    def write_config(self, *, pg_dump: str = "pg_dump", password_file: str = "db-pw") -> None:
        self.config.write_text(
            "backup:\n"
            f"  textfile_dir: {self.root}/textfile\n"
            f"  cache_dir: {self.root}/restic-cache\n"
            "  repositories:\n"
            f"    local: {{type: local, path: {self.root}/repo, password: file:{self.root}/restic-pw}}\n"
            "  policies:\n"
            "    his:\n"
            f"      paths: [{self.root}/documents]\n"
            "      postgres:\n"
            f"        - host: {self.host}\n"
            f"          port: {self.port}\n"
            f"          database: {self.database.name}\n"
            f"          user: {self.role}\n"
            f"          password: file:{self.root}/{password_file}\n"
            "          count_tables: [patients, encounters]\n"
            f"          pg_dump: {pg_dump}\n"
            "      repository: local\n"
            "      full_read_data_subset: 1/2\n"
        )

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cli("-c", str(self.config), "backup", *args, timeout=300)

    def json(self, *args: str) -> tuple[int, dict[str, Any]]:
        return self.cli.json("-c", str(self.config), "backup", *args)

    def restic(self, cache: str = "restic-cache") -> Restic:
        password = SecretRef("file", str(self.root / "restic-pw"))
        return Restic(Repository(str(self.root / "repo"), {"RESTIC_PASSWORD": password}),
                      cache_dir=self.root / cache)

    def metric(self, name: str) -> float:
        text = (self.root / "textfile" / "opsctl_backup_his.prom").read_text()
        return next(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


@pytest.fixture
def site(lab: Any, postgres_database: PostgresDatabase, tmp_path: Path) -> Iterator[DatabaseSite]:
    url = make_url(postgres_database.url)
    assert url.host and url.port and url.username
    with psycopg.connect(host=url.host, port=url.port, user=url.username, password=postgres_database.password,
                         dbname=postgres_database.name) as connection:
        connection.execute("CREATE TABLE patients (id serial PRIMARY KEY, name text NOT NULL, born date)")
        connection.execute("CREATE TABLE encounters (id serial PRIMARY KEY, patient int REFERENCES patients, "
                           "ward text, note text)")
        connection.execute(f"INSERT INTO patients (name, born) SELECT 'patient ' || n, "
                           f"date '1950-01-01' + n FROM generate_series(1, {PATIENTS}) n")
        connection.execute(f"INSERT INTO encounters (patient, ward, note) SELECT 1 + n % {PATIENTS}, "
                           f"'ward ' || (n % 12), md5(n::text) FROM generate_series(1, {ENCOUNTERS}) n")
    root = tmp_path / "site"
    root.mkdir()
    for name, secret in (("restic-pw", "restic secret"), ("db-pw", postgres_database.password),
                         ("wrong-db-pw", "not the password")):
        (root / name).write_text(secret + "\n")
        (root / name).chmod(0o600)
    (root / "documents").mkdir()
    (root / "documents" / "consent.txt").write_text("signed\n")
    made = DatabaseSite(root, Cli.create(root, root / "no-inventory.yaml"), root / "opsctl.yaml",
                        postgres_database, url.host, url.port, url.username)
    made.write_config()
    assert made.run("init", "local").returncode == 0
    yield made


def _wrapper(site: DatabaseSite, body: str) -> str:
    """A ``pg_dump`` in a directory of its own that runs the real one as ``body`` says."""
    directory = site.root / "bin"
    directory.mkdir(exist_ok=True)
    path = directory / "pg_dump"
    path.write_text(f"#!/bin/bash\n{body}\n")
    path.chmod(0o755)
    return str(path)


def test_a_database_is_dumped_and_its_manifest_verifies_from_the_repository_alone(site: DatabaseSite) -> None:
    code, result = site.json("run", "his", "--full")
    assert code == 0, result
    sources = [snapshot["source"] for snapshot in result["snapshots"]]
    assert sources == [f"postgres:{site.database.name}", "paths"]  # dumps first: the manifest names them

    # a controller that knows only the repository and its password (a fresh cache, no state store)
    restic = site.restic(cache="elsewhere-cache")
    manifests = restic.snapshots(tags=("manifest", "policy=his"))
    assert len(manifests) == 1
    assert set(manifests[0].tags) >= {"opsctl", "kind=full", f"run={result['run_id']}"}
    assert manifests[0].short_id == result["manifest_snapshot"] == result["snapshots"][1]["snapshot_id"]  # type: ignore[index]
    manifest = json.loads(restic.dump(manifests[0].id, manifest_path_in(manifests[0].paths, "his")))
    assert manifest["schema"] == "opsctl.backup-manifest/v1"
    assert manifest["run_id"] == result["run_id"]
    assert manifest["versions"]["restic"] == "0.14.0"
    (dump,) = manifest["dumps"]
    assert dump["row_counts"] == {"patients": PATIENTS, "encounters": ENCOUNTERS}
    assert dump["server_version"].startswith("15.")
    content = restic.dump(dump["snapshot_id"], f"/{site.database.name}.dump")
    assert (len(content), hashlib.sha256(content).hexdigest()) == (dump["bytes"], dump["sha256"])
    (site.root / "restored.dump").write_bytes(content)
    listing = subprocess.run(["pg_restore", "--list", str(site.root / "restored.dump")], capture_output=True,
                             text=True, check=True).stdout
    assert "TABLE DATA public patients" in listing and "TABLE DATA public encounters" in listing
    dump_snapshot = next(s for s in restic.snapshots(tags=(f"database={site.database.name}",)))
    assert set(dump_snapshot.tags) >= {"opsctl", "policy=his", "kind=full", f"run={result['run_id']}"}
    assert site.metric("opsctl_backup_last_run_success") == 1.0


def test_a_dump_cut_short_removes_its_snapshot_and_fails_the_run(site: DatabaseSite) -> None:
    site.write_config(pg_dump=_wrapper(site, '/usr/bin/pg_dump "$@" | head -c 2048\nkill -9 $$'))
    code, result = site.json("run", "his")
    assert code == 1, result
    assert result["outcome"] == "failed"
    assert result["error"].startswith(f"pg_dump for {site.database.name}.dump was killed by SIGKILL")
    assert "snapshot " in result["error"] and result["error"].endswith(" removed")
    assert site.restic().snapshots(tags=(f"database={site.database.name}",)) == ()
    assert result["snapshots"] == []  # the dump never counted (dumps run first; the paths never started)
    assert site.metric("opsctl_backup_last_run_success") == 0.0


def test_a_dump_that_exits_non_zero_removes_its_snapshot(site: DatabaseSite) -> None:
    site.write_config(pg_dump=_wrapper(site, '/usr/bin/pg_dump "$@" | head -c 2048\nexit 1'))
    code, result = site.json("run", "his")
    assert code == 1, result
    assert result["error"].startswith(f"pg_dump for {site.database.name}.dump exited 1 (failed)")
    assert site.restic().snapshots(tags=(f"database={site.database.name}",)) == ()


def test_a_wrong_repository_password_is_named_not_the_dump_that_lost_its_reader(site: DatabaseSite) -> None:
    site.config.write_text(site.config.read_text().replace("paths: [", "paths: []\n      #").replace(
        f"file:{site.root}/restic-pw", f"file:{site.root}/wrong-db-pw"))
    code, result = site.json("run", "his")
    assert code == 1, result
    assert result["error"] == f"restic repository {site.root}/repo: wrong password or no key found"


def test_a_wrong_database_password_fails_before_any_dump(site: DatabaseSite) -> None:
    site.write_config(password_file="wrong-db-pw")
    done = site.run("run", "his")
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(f"error: postgres {site.database.name} at {site.host}:{site.port}: cannot connect:")
    assert "password authentication failed" in errors[0]
    assert "not the password" not in done.stdout + done.stderr
    assert site.restic().snapshots(tags=(f"database={site.database.name}",)) == ()


def test_a_run_killed_midway_leaves_nothing_that_blocks_the_next(site: DatabaseSite) -> None:
    marker, fifo = site.root / "dump-started", site.root / "hold"
    subprocess.run(["mkfifo", str(fifo)], check=True)
    site.write_config(pg_dump=_wrapper(site, f'/usr/bin/pg_dump "$@" | head -c 4096\ntouch {marker}\ncat {fifo}'))
    first = site.cli.popen("-c", str(site.config), "backup", "run", "his", "--full")
    try:
        for _ in range(1200):  # until the dump is midway (bounded; nothing is asserted about time)
            if marker.exists() or first.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), first.communicate()
        for _ in range(200):  # and until restic holds its lock (it opens the repository meanwhile)
            if site.restic().list_locks():
                break
            time.sleep(0.05)
        # a second run of the same policy is refused while the first holds the lock
        second = site.run("run", "his")
        assert second.returncode == 5
        assert "lock 'backup:his' is held by" in second.stderr
        # kill -9 the run and everything it started, as systemd stops a unit's control group
        process = psutil.Process(first.pid)
        family = [process, *process.children(recursive=True)]
        assert any(p.name() == "restic" for p in family)
        for member in family:
            member.kill()
        # the run is our child: Popen reaps it (psutil would steal its status); the rest are not
        first.wait(timeout=30)
        psutil.wait_procs(family[1:], timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        out, err = first.communicate()
    assert first.returncode == -9, (out, err)
    assert site.restic().list_locks() != ()  # the killed restic's lock stayed behind

    site.write_config()
    code, result = site.json("run", "his", "--full")
    assert code == 0, result
    assert len(result["interrupted_runs"]) == 1
    assert len(result["removed_stale_locks"]) == 1
    assert result["check"]["ok"] is True
    assert site.restic().check().ok
    assert site.restic().list_locks() == ()


def test_the_built_in_policy_dumps_a_postgresql_state_store(site: DatabaseSite) -> None:
    # a controller of its own (its audit log is anchored in the store it starts with)
    site.cli.env["OPSCTL_STATE__DIR"] = str(site.root / "pg-controller")
    site.cli.env["OPSCTL_STATE__URL"] = site.database.url
    site.cli.env["OPSCTL_STATE__PASSWORD"] = f"file:{site.root}/db-pw"
    done = site.cli("state", "init")
    assert done.returncode == 0, done.stderr
    site.config.write_text(site.config.read_text().replace("backup:\n", "backup:\n  builtin_repository: local\n"))
    code, result = site.json("run", "opsctl-state", "--full")
    assert code == 0, result
    assert [s["source"] for s in result["snapshots"]] == [f"postgres:{site.database.name}", "paths"]
    restic = site.restic()
    (manifest_snapshot,) = restic.snapshots(tags=("manifest", "policy=opsctl-state"))
    manifest = json.loads(restic.dump(manifest_snapshot.id, manifest_path_in(manifest_snapshot.paths,
                                                                             "opsctl-state")))
    (dump,) = manifest["dumps"]
    content = restic.dump(dump["snapshot_id"], f"/{site.database.name}.dump")
    assert hashlib.sha256(content).hexdigest() == dump["sha256"]
    (site.root / "state.dump").write_bytes(content)
    listing = subprocess.run(["pg_restore", "--list", str(site.root / "state.dump")], capture_output=True,
                             text=True, check=True).stdout
    assert "TABLE DATA public backup_runs" in listing and "TABLE DATA public audit_anchors" in listing
