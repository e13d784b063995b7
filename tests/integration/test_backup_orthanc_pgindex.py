"""A PACS whose index is in PostgreSQL (Debian's orthanc-postgresql plugin), backed up hot and
drilled: the run never stops Orthanc, dumps its index and backs up its storage; the drill
restores both, starts a throwaway Orthanc with the same plugin on the restored index in the
scratch PostgreSQL, and checks C-ECHO, the manifest's counts and a sample of instances re-hashed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetcli import Cli
from orthancsite import PgIndexPacs, pg_index_pacs, postgres_passable_dir

from backup.restic import Restic
from backup.runner import manifest_path_in
from backup.targets import Repository
from opsctl.core.secrets import SecretRef

pytestmark = pytest.mark.integration


@pytest.fixture
def workdir() -> Iterator[Path]:
    """The drills' work directory: one the postgres user can pass through."""
    yield from postgres_passable_dir("opsctl-test-pgindex-")


@pytest.fixture
def pacs(workdir: Path) -> Iterator[PgIndexPacs]:
    yield from pg_index_pacs(workdir / "pacs")


def test_a_pacs_with_its_index_in_postgresql_is_backed_up_hot_and_its_drill_starts_it_with_the_plugin(
        pacs: PgIndexPacs, workdir: Path, tmp_path: Path) -> None:
    root = tmp_path / "site"
    root.mkdir()
    (root / "pw").write_text("pgindex restic secret\n")
    (root / "pw").chmod(0o600)
    config = root / "opsctl.yaml"
    config.write_text(
        "backup:\n"
        f"  textfile_dir: {root}/textfile\n"
        f"  cache_dir: {root}/restic-cache\n"
        f"  drill_workdir: {workdir}/drills\n"
        "  repositories:\n"
        f"    local: {{type: local, path: {root}/repo, password: file:{root}/pw}}\n"
        "  policies:\n"
        "    pacs:\n"
        + pacs.policy()
        + "      repository: local\n")
    cli = Cli.create(root, root / "no-inventory.yaml")
    done = cli("-c", str(config), "backup", "init", "local")
    assert done.returncode == 0, done.stderr
    before = pacs.statistics()

    code, result = cli.json("-c", str(config), "backup", "run", "pacs")
    assert code == 0, result
    sources = [snapshot["source"] for snapshot in result["snapshots"]]
    assert sources.index("orthanc-index") < sources.index("orthanc")  # the index dumped before the storage
    restic = Restic(Repository(str(root / "repo"), {"RESTIC_PASSWORD": SecretRef("file", str(root / "pw"))}),
                    cache_dir=root / "restic-cache")
    (holder,) = restic.snapshots(tags=("manifest", "policy=pacs"))
    orthanc = json.loads(restic.dump(holder.id, manifest_path_in(holder.paths, "pacs")))["orthanc"]
    assert orthanc["index"] == "postgresql" and orthanc["downtime_seconds"] is None  # nothing stopped
    assert orthanc["index_dump"]["database"] == "orthanc_index" and orthanc["index_dump"]["bytes"] > 0
    assert orthanc["counts"]["instances"] == orthanc["counts_after"]["instances"] == 4
    assert pacs.statistics()["CountInstances"] == before["CountInstances"] == 4  # still up, nothing lost

    code, drilled = cli.json("-c", str(config), "drill", "run", "pacs")
    assert code == 0, drilled
    report = drilled["report"]
    assert report["verdict"] == "passed", report["reasons"]
    checks = {check["name"]: check for check in report["checks"]}
    assert all(check["passed"] for check in checks.values()), checks
    assert checks["PACS index dump sha256"]["passed"] and checks["C-ECHO"]["passed"]
    assert (checks["PACS studies"]["seen"], checks["PACS instances"]["seen"]) == ("3", "4")
    assert checks["instances re-hashed (sample of 4)"]["seen"] == "4 match"
    steps = {step["name"]: step for step in report["steps"]}
    assert "restored into database orthanc_index" in steps["orthanc:index"]["detail"]
    assert "its index in the scratch PostgreSQL" in steps["orthanc:start"]["detail"]
    versions = dict(report["environment"]["other"])
    assert versions["Orthanc PostgreSQL index plugin"].startswith("4.")  # Debian 12's orthanc-postgresql 4.0
    assert not list((workdir / "drills").glob("drill-*"))  # the scratch directory is gone

