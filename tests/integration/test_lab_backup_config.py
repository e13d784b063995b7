"""The lab's published configuration configures backups, and opsctl's own loader accepts it.

``opsctl.yaml`` (written by ``lab up``) gains a ``backup:`` section: a local repository and the
metrics directory under the lab directory, an off-site repository in the lab's SeaweedFS with
the backup identity's keys, the built-in policy, and the policy ``his`` over the hospital
database through its ``backup`` role. The section is loaded by the real settings loader, the
policy runs with the real restic and PostgreSQL, and the off-site bucket, once set up with the
admin keys, passes the s3 target's check with the backup keys.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fleetcli import Cli

from backup.repositories import repository_for
from backup.s3 import S3_TARGET, S3Credentials, ensure_bucket
from backup.settings import BUILTIN_POLICY, OrthancSource, backup_settings, policy_names
from lab.layout import LabLayout
from lab.publish import config_document, render_yaml
from opsctl.core.config import load_settings
from opsctl.core.secrets import SecretRef
from opsctl.core.settings import Settings

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

HOSPITAL_TABLES = ("patients", "encounters", "orders", "results")


def _load(config: Path, tmp_path: Path) -> Settings:
    """``config`` as opsctl loads it, without the machine's own system and user files."""
    return load_settings(config, environ={}, system_file=tmp_path / "no-system.yaml",
                         user_file=tmp_path / "no-user.yaml")


def test_the_published_backup_section_validates_and_names_the_labs_services(
    lab: RunningLab, tmp_path: Path
) -> None:
    settings = _load(lab.publication.config_path, tmp_path)
    section = backup_settings(settings)
    hospital = lab.publication.database("hospital")
    store = lab.publication.object_store
    assert hospital is not None and store is not None

    assert policy_names(settings) == (BUILTIN_POLICY, "his")
    assert section.textfile_dir.parent.parent == lab.lab_dir
    his = section.policies["his"]
    assert (his.repository, his.offsite) == ("local", "offsite")
    assert (his.objectives.rpo, his.objectives.rto) == (timedelta(hours=24), timedelta(hours=1))
    assert his.schedule.full and his.schedule.incremental
    (source,) = his.postgres
    assert (source.host, source.port, source.database, source.user) == (
        hospital.address, hospital.port, hospital.name, hospital.extra["backup_user"])
    assert str(source.password) == hospital.extra["backup_password"]
    assert source.count_tables == HOSPITAL_TABLES
    patients = hospital.extra["row_counts"]["patients"]
    assert source.sanity_queries == (f"SELECT count(*) FROM patients => == {patients}",)

    local = repository_for(settings, "local")
    assert Path(local.location).parent.parent == lab.lab_dir
    offsite = repository_for(settings, "offsite")
    assert offsite.location == f"s3:{store.endpoint}/{store.bucket}/his"
    assert str(offsite.environment["AWS_ACCESS_KEY_ID"]) == store.backup_access_key_id
    assert str(offsite.environment["AWS_SECRET_ACCESS_KEY"]) == store.backup_secret_access_key
    passwords = []
    for repository in (local, offsite):
        reference = repository.environment["RESTIC_PASSWORD"]
        assert isinstance(reference, SecretRef) and reference.scheme == "file"
        path = Path(reference.location)
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
        passwords.append(reference.resolve())
    assert len(set(passwords)) == 2 and all(len(password) >= 16 for password in passwords)


@pytest.mark.skipif("stop_command" not in OrthancSource.model_fields,
                    reason="backup's orthanc settings model (index_dir, stop/start commands) is not merged yet")
def test_the_orthanc_part_validates_once_the_model_takes_it(lab: RunningLab, tmp_path: Path) -> None:
    pacs = lab.publication.service("pacs")
    assert pacs is not None
    document = config_document(
        LabLayout(lab.lab_dir), databases=lab.publication.databases, services=lab.publication.services,
        object_stores=lab.publication.object_stores, backup_orthanc=True,
    )
    config = tmp_path / "with-orthanc.yaml"
    config.write_text(render_yaml(document, header="the lab's configuration with the PACS"))
    orthanc = backup_settings(_load(config, tmp_path)).policies["his"].orthanc
    assert orthanc is not None
    fields = orthanc.model_dump()
    assert (orthanc.url, str(orthanc.storage_dir), str(fields["index_dir"])) == (
        pacs.details["rest_url"], pacs.details["storage_dir"], pacs.details["index_dir"])
    assert (orthanc.username, str(orthanc.password)) == (pacs.details["user"], pacs.details["password"])
    assert tuple(fields["stop_command"]) == tuple(pacs.details["stop_command"])
    assert tuple(fields["start_command"]) == tuple(pacs.details["start_command"])


def test_the_labs_policy_runs_and_its_offsite_bucket_is_locked(lab: RunningLab, tmp_path: Path) -> None:
    config = str(lab.publication.config_path)
    cli = Cli.create(tmp_path, lab.publication.inventory_path)
    for repository in ("local", "offsite"):
        if repository == "offsite":
            _set_up_bucket(lab, cli, config)
        done = cli("-c", config, "backup", "init", repository, timeout=120)
        assert done.returncode == 0, done.stderr

    code, document = cli.json("-c", config, "backup", "run", "his", "--full")
    assert code == 0, document
    assert document["outcome"] == "ok" and document["kind"] == "full"
    assert "postgres:hospital" in [snapshot["source"] for snapshot in document["snapshots"]]
    assert document["check"] is not None

    settings = _load(lab.publication.config_path, tmp_path)
    assert S3_TARGET.check(repository_for(settings, "offsite")) == ()
    metrics = (backup_settings(settings).textfile_dir / "opsctl_backup_his.prom").read_text()
    assert 'opsctl_backup_last_run_success{policy="his"} 1' in metrics


def _set_up_bucket(lab: RunningLab, cli: Cli, config: str) -> None:
    """The published bucket, with object lock, made with the admin keys: by ``opsctl backup
    offsite setup`` where it exists, else by ``backup.s3.ensure_bucket`` (what it calls)."""
    store = lab.publication.object_store
    assert store is not None
    if cli("backup", "offsite", "--help").returncode == 0:
        done = cli("-c", config, "backup", "offsite", "setup", "his",
                   "--admin-access-key-id", store.admin_access_key_id,
                   "--admin-secret-access-key", store.admin_secret_access_key, "--retention-days", "7")
        assert done.returncode == 0, done.stderr
        return
    admin = S3Credentials(SecretRef.parse(store.admin_access_key_id), SecretRef.parse(store.admin_secret_access_key))
    report = ensure_bucket(store.endpoint, store.bucket, admin, retention_days=7, region=store.region)
    assert report.retention_days == 7, json.dumps(report.lines())
