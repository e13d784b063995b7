"""The ``backup:`` section of the lab's configuration, from what the lab publishes (no peers run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from backup.settings import BUILTIN_POLICY, backup_settings, policy_names
from lab.layout import LabLayout
from lab.publish import (
    PublishedDatabase,
    PublishedObjectStore,
    PublishedService,
    config_document,
    render_yaml,
)
from opsctl.core.settings import Settings

HOSPITAL = PublishedDatabase(
    name="hospital", role="hospital", purpose="hospital", address="127.3.50.1", port=15432,
    url="postgresql://hospital@127.3.50.1:15432/hospital", password="file:/lab/secrets/owner",
    extra={"backup_user": "backup", "backup_password": "file:/lab/secrets/backup",
           "tables": ["patients", "encounters", "orders", "results"], "row_counts": {"patients": 4262}},
)
STORE = PublishedObjectStore(
    name="lab-seaweedfs", kind="s3", endpoint="http://127.3.40.2:18333", region="us-east-1",
    bucket="opsctl-offsite", admin_access_key_id="file:/lab/a", admin_secret_access_key="file:/lab/b",
    backup_access_key_id="file:/lab/c", backup_secret_access_key="file:/lab/d",
)


def _settings(document: dict[str, Any]) -> Settings:
    return Settings.model_validate(YAML(typ="safe").load(render_yaml(document, header="test")))


def test_a_lab_without_clinical_services_backs_up_only_opsctl_itself(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    settings = _settings(config_document(layout))
    section = backup_settings(settings)
    assert policy_names(settings) == (BUILTIN_POLICY,)
    assert list(section.repositories) == ["local"]
    assert section.repositories["local"].options == {"path": str(layout.restic_repository)}
    assert str(section.repositories["local"].password) == f"file:{layout.restic_password}"
    assert section.textfile_dir == layout.backup_textfile_dir


def test_the_hospital_database_and_the_s3_store_give_the_policy_his_and_an_offsite_repository(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    section = backup_settings(_settings(config_document(layout, databases=[HOSPITAL], object_stores=[STORE])))
    offsite = section.repositories["offsite"]
    assert (offsite.type, str(offsite.password)) == ("s3", f"file:{layout.restic_offsite_password}")
    assert offsite.options == {"endpoint": STORE.endpoint, "bucket": "opsctl-offsite", "prefix": "his",
                               "region": "us-east-1", "access_key_id": "file:/lab/c",
                               "secret_access_key": "file:/lab/d"}
    his = section.policies["his"]
    (source,) = his.postgres
    assert (source.user, str(source.password)) == ("backup", "file:/lab/secrets/backup")
    assert source.sanity_queries == ("SELECT count(*) FROM patients => == 4262",)
    assert (his.repository, his.offsite, his.orthanc) == ("local", "offsite", None)


def test_without_an_s3_store_or_row_counts_the_policy_has_no_offsite_and_no_sanity_query(tmp_path: Path) -> None:
    unloaded = PublishedDatabase(**{**HOSPITAL.__dict__, "extra": {**HOSPITAL.extra, "row_counts": None}})
    section = backup_settings(_settings(config_document(LabLayout(tmp_path / "lab"), databases=[unloaded])))
    assert list(section.repositories) == ["local"]
    assert section.policies["his"].offsite is None
    assert section.policies["his"].postgres[0].sanity_queries == ()


def test_the_pacs_joins_the_policy_under_the_settings_names_unless_left_out(tmp_path: Path) -> None:
    pacs = PublishedService(name="lab-orthanc", kind="orthanc", purpose="pacs", details={
        "rest_url": "http://127.3.60.1:18042", "user": "opsctl", "password": "file:/lab/orthanc",
        "dicom": {"host": "127.3.60.1", "port": 14242, "aet": "OPSCTL_LAB"}, "storage_dir": "/lab/storage",
        "index_dir": "/lab/index", "index": "sqlite", "config_dir": "/lab/config",
        "stop_command": ["python", "-m", "lab.orthanc", "stop"], "start_command": ["python", "-m", "lab.orthanc", "start"]})
    layout = LabLayout(tmp_path / "lab")
    without = config_document(layout, databases=[HOSPITAL], services=[pacs], backup_orthanc=False)
    assert "orthanc" not in without["backup"]["policies"]["his"]
    document = config_document(layout, databases=[HOSPITAL], services=[pacs])
    assert document["backup"]["policies"]["his"]["orthanc"] == {
        "url": "http://127.3.60.1:18042", "username": "opsctl", "password": "file:/lab/orthanc",
        "storage_dir": "/lab/storage", "index_dir": "/lab/index", "index": "sqlite",
        "stop_command": ["python", "-m", "lab.orthanc", "stop"], "start_command": ["python", "-m", "lab.orthanc", "start"],
        "dicom_aet": "OPSCTL_LAB", "max_downtime": "5m"}
