"""``opsctl drill run`` and ``opsctl drill report`` against the real programs: a policy of paths,
a database on the lab's PostgreSQL 15 and an Orthanc 1.10 of the test's own, backed up with
restic 0.14, then restored to scratch, verified against its manifest, PostgreSQL and Orthanc
started from it (loopback and a namespace of its own), RTO and RPO measured, recorded,
published and reported; and a corrupted pack that fails the drill loudly.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from conftest import PostgresDatabase
from fleetcli import Cli
from orthancsite import (
    OwnOrthanc,
    PacsSite,
    orthanc_policy,
    own_orthanc_fixture,
    postgres_passable_dir,
)
from sqlalchemy.engine import make_url

pytestmark = pytest.mark.integration

PATIENTS, ENCOUNTERS = 1500, 4000


@pytest.fixture
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnOrthanc]:
    yield from own_orthanc_fixture(tmp_path_factory.mktemp("drill-orthanc-lab"))


@pytest.fixture
def scratch() -> Iterator[Path]:
    """The drills' work directory: one the postgres user can pass through."""
    yield from postgres_passable_dir("opsctl-test-drill-")


@pytest.fixture
def site(lab: Any, postgres_database: PostgresDatabase, own: OwnOrthanc, scratch: Path, tmp_path: Path) -> PacsSite:
    url = make_url(postgres_database.url)
    assert url.host and url.port and url.username
    with psycopg.connect(host=url.host, port=url.port, user=url.username, password=postgres_database.password,
                         dbname=postgres_database.name) as connection:
        connection.execute("CREATE TABLE patients (id serial PRIMARY KEY, name text NOT NULL)")
        connection.execute("CREATE TABLE encounters (id serial PRIMARY KEY, patient int REFERENCES patients)")
        connection.execute(f"INSERT INTO patients (name) SELECT 'patient ' || n FROM generate_series(1, {PATIENTS}) n")
        connection.execute(f"INSERT INTO encounters (patient) SELECT 1 + n % {PATIENTS} "
                           f"FROM generate_series(1, {ENCOUNTERS}) n")
    root = tmp_path / "site"
    (root / "documents").mkdir(parents=True)
    (root / "documents" / "consent.txt").write_text("signed\n")
    for name, secret in (("pw", "drill restic secret"), ("db-pw", postgres_database.password)):
        (root / name).write_text(secret + "\n")
        (root / name).chmod(0o600)
    details = own.details()
    config = root / "opsctl.yaml"
    config.write_text(
        "backup:\n"
        f"  textfile_dir: {root}/textfile\n"
        f"  cache_dir: {root}/restic-cache\n"
        f"  drill_workdir: {scratch}\n"
        "  repositories:\n"
        f"    local: {{type: local, path: {root}/repo, password: file:{root}/pw}}\n"
        f"    remote: {{type: local, path: {root}/offsite, password: file:{root}/pw}}\n"
        "  policies:\n"
        "    his:\n"
        f"      paths: [{root}/documents]\n"
        "      postgres:\n"
        f"        - {{host: {url.host}, port: {url.port}, database: {postgres_database.name}, "
        f"user: {url.username}, password: 'file:{root}/db-pw', count_tables: [patients, encounters],\n"
        f"           sanity_queries: ['SELECT count(*) FROM patients => == {PATIENTS}',\n"
        "                            'SELECT max(id) FROM encounters']}\n"
        + orthanc_policy(details)
        + "      repository: local\n"
        "      offsite: remote\n"
        "      objectives: {rpo: 1h, rto: 30m}\n"
    )
    made = PacsSite(root, Cli.create(root, root / "no-inventory.yaml"), config, own.peer, details)
    assert made.run("backup", "init", "local").returncode == 0
    code, result = made.json("backup", "run", "his", "--full")
    assert code == 0, result
    return made


def _promtool(path: Path) -> None:
    done = subprocess.run(["promtool", "check", "metrics"], input=path.read_bytes(), capture_output=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_drill_restores_the_database_and_the_pacs_verifies_them_and_passes(site: PacsSite, scratch: Path) -> None:
    done = site.run("drill", "run", "his")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "drill " in done.stdout and "PASSED" in done.stdout and "RTO " in done.stdout and "RPO " in done.stdout
    for step in ("locate:", "restore:", "manifest:", "postgres:start:", "orthanc:start:", "orthanc:verify:"):
        assert step in done.stderr  # progress per step on stderr

    code, result = site.json("drill", "run", "his")
    assert code == 0, result
    report = result["report"]
    assert report["verdict"] == "passed" and report["reasons"] == []
    checks = {check["name"]: check for check in report["checks"]}
    assert all(check["passed"] for check in checks.values()), checks
    assert checks["rows in patients"]["seen"] == str(PATIENTS)
    assert checks["rows in encounters"]["seen"] == str(ENCOUNTERS)
    assert checks["C-ECHO"]["passed"]
    assert (checks["PACS studies"]["seen"], checks["PACS instances"]["seen"]) == ("3", "4")
    assert checks["instances re-hashed (sample of 4)"]["seen"] == "4 match"
    assert any(name.endswith(" sha256") for name in checks) and f"path {site.root}/documents" in checks
    assert report["rto"]["measured_seconds"] > 0 and report["rto"]["objective_seconds"] == 1800
    assert report["rpo"]["measured_seconds"] > 0 and report["rpo"]["objective_seconds"] == 3600

    metrics = site.root / "textfile" / "opsctl_drill_his.prom"
    _promtool(metrics)
    values = site.metrics("opsctl_drill_his.prom")
    assert values['opsctl_drill_last_run_success{policy="his"}'] == 1.0
    assert values['opsctl_drill_rto_seconds{policy="his"}'] == pytest.approx(report["rto"]["measured_seconds"])
    assert 'opsctl_drill_last_success_timestamp_seconds{policy="his"}' in values
    assert 'opsctl_drill_rpo_seconds{policy="his"}' in values

    markdown = site.run("drill", "report", "his")
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout.startswith("# Restore drill report: his") and "PASSED" in markdown.stdout
    page = site.root / "drill.html"
    html = site.run("drill", "report", "his", "--format", "html", "--output", str(page))
    assert html.returncode == 0, html.stderr
    assert page.read_text().startswith("<!DOCTYPE html>")

    # nothing of the drill is left: no scratch directory, no Orthanc or PostgreSQL of it running
    assert list(scratch.iterdir()) == []
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"]) if str(scratch) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []
    audit = site.run("audit", "log", "--json")
    assert '"drill run"' in audit.stdout


def test_a_corrupted_pack_fails_the_drill_loudly(site: PacsSite, scratch: Path) -> None:
    assert site.run("drill", "run", "his").returncode == 0
    passed_at = site.metrics("opsctl_drill_his.prom")['opsctl_drill_last_success_timestamp_seconds{policy="his"}']
    packs = sorted((site.root / "repo" / "data").glob("*/*"), key=lambda path: path.stat().st_size)
    for pack in packs[-3:]:  # the largest packs: the dump's, the PACS's and the documents' data
        data = bytearray(pack.read_bytes())
        for offset in range(0, len(data) - 64, 512):
            data[offset] ^= 0xFF
        pack.chmod(0o600)
        pack.write_bytes(bytes(data))

    code, result = site.json("drill", "run", "his")
    assert code == 1, result
    report = result["report"]
    assert report["verdict"] == "failed"
    assert any(step["outcome"] == "failed" for step in report["steps"])
    values = site.metrics("opsctl_drill_his.prom")
    assert values['opsctl_drill_last_run_success{policy="his"}'] == 0.0
    assert values['opsctl_drill_last_success_timestamp_seconds{policy="his"}'] == passed_at  # kept
    assert 'opsctl_drill_rto_seconds{policy="his"}' not in values  # never measured: nothing worked
    text = site.run("drill", "report", "his")
    assert text.returncode == 1 and "FAILED" in text.stdout
    # the restore failed while the scratch PostgreSQL was starting beside it: stopped all the same
    assert list(scratch.iterdir()) == []
    leftovers = [p.pid for p in psutil.process_iter(["cmdline"]) if str(scratch) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []


def test_a_drill_from_the_offsite_copy_verifies_without_the_controller_s_state(site: PacsSite) -> None:
    from backup.restic import Restic
    from backup.targets import Repository
    from opsctl.core.secrets import SecretRef

    offsite = Restic(Repository(str(site.root / "offsite"), {"RESTIC_PASSWORD": SecretRef("file", str(site.root / "pw"))}),
                     cache_dir=site.root / "restic-cache")
    offsite.init()
    offsite.copy(site.restic().repository, tags=("policy=his",))  # new snapshot ids, the same tags
    shutil.rmtree(site.cli.state_dir)  # the controller's state is gone; the repository is all there is
    code, result = site.json("drill", "run", "his", "--from", "offsite")
    assert code == 0, result
    report = result["report"]
    assert (report["verdict"], report["source"], report["repository"]) == ("passed", "offsite", str(site.root / "offsite"))
    assert {c["name"] for c in report["checks"]} >= {"C-ECHO", "PACS studies", "rows in patients"}


def test_a_dump_that_does_not_match_its_manifest_fails_the_drill(site: PacsSite) -> None:
    restic = site.restic()
    (dump,) = [s for s in restic.snapshots(tags=("policy=his",)) if s.tag_value("database")]
    name = dump.tag_value("database")
    restic.backup_bytes(b"not the dump the manifest describes", f"{name}.dump", tags=dump.tags)
    restic.forget([dump.id])  # the run's dump replaced by another file under the same name and tags
    code, result = site.json("drill", "run", "his")
    assert code == 1, result
    report = result["report"]
    failed = [c["name"] for c in report["checks"] if not c["passed"]]
    assert failed == [f"dump {name} size", f"dump {name} sha256"]
    assert report["verdict"] == "failed" and "2 of " in " ".join(report["reasons"])
    assert site.metrics("opsctl_drill_his.prom")['opsctl_drill_last_run_success{policy="his"}'] == 0.0
