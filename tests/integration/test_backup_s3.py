"""The s3 backup target against the lab's SeaweedFS, which enforces signatures and object lock.

With the backup identity's own keys (what a backup host holds) restic writes a repository;
those keys cannot delete a locked version, create or delete buckets, or change the lock; a
plain delete only adds a delete marker, and the bucket's real size counts it all. ``check``
names what a bucket made without versioning or object lock lacks, and a stopped store (a
store of the test's own) is one "unreachable" sentence.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import lab as lab_api
from backup.s3 import (
    LIFECYCLE_RULE_ID,
    S3_TARGET,
    S3Credentials,
    S3Unreachable,
    bucket_usage,
    ensure_bucket,
)
from backup.targets import BACKUP_TARGETS, Repository
from lab.peer import wait_ready
from opsctl.core.secrets import SecretRef
from opsctl.core.settings import Settings

if TYPE_CHECKING:
    from lab.publish import PublishedObjectStore
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

SMALL_LAB_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")
RESTIC_PASSWORD = "correct horse battery staple of the s3 test"


@dataclass(frozen=True)
class Store:
    """The session lab's S3 store: its publication, the admin's keys and a bucket of this test's own."""

    published: PublishedObjectStore
    admin: S3Credentials
    backup: S3Credentials
    bucket: str

    @property
    def endpoint(self) -> str:
        return self.published.endpoint

    def client(self, who: str) -> Any:
        credentials = self.admin if who == "admin" else self.backup
        access_key_id, secret_access_key = credentials.resolve()
        return boto3.client(
            "s3", endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )  # fmt: skip

    def repository(self, who: str, *, bucket: str | None = None, prefix: str = "") -> Repository:
        credentials = self.admin if who == "admin" else self.backup
        return S3_TARGET.repository({
            "endpoint": self.endpoint, "bucket": bucket or self.bucket, "prefix": prefix,
            "access_key_id": str(credentials.access_key_id),
            "secret_access_key": str(credentials.secret_access_key),
        })  # fmt: skip


def _credentials(access: str, secret: str) -> S3Credentials:
    return S3Credentials(SecretRef.parse(access), SecretRef.parse(secret))


@pytest.fixture
def store(lab: RunningLab) -> Store:
    published = lab.publication.object_store
    assert published is not None, "the lab publishes no S3 store"
    return Store(
        published=published,
        admin=_credentials(published.admin_access_key_id, published.admin_secret_access_key),
        backup=_credentials(published.backup_access_key_id, published.backup_secret_access_key),
        bucket=f"opsctl-test-{uuid.uuid4().hex[:12]}",
    )


def restic(repository: Repository, *arguments: str, home: Path) -> subprocess.CompletedProcess[str]:
    """restic with the repository's environment resolved (keys and password never on its command line)."""
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                   "RESTIC_CACHE_DIR": str(home / "cache"), "RESTIC_PASSWORD": RESTIC_PASSWORD}  # fmt: skip
    for name, value in repository.environment.items():
        environment[name] = value.resolve() if isinstance(value, SecretRef) else value
    return subprocess.run(["restic", "-r", repository.location, *arguments], env=environment,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip


def test_the_s3_target_is_registered() -> None:
    assert BACKUP_TARGETS.get("s3") is S3_TARGET


def test_a_bucket_is_made_with_versioning_object_lock_and_lifecycle_and_a_second_call_changes_nothing(
    store: Store,
) -> None:
    report = ensure_bucket(store.endpoint, store.bucket, store.admin, 2, "GOVERNANCE", 5)
    assert report.created and report.lifecycle == "set"
    assert report.changes[0] == "created with object lock"

    admin = store.client("admin")
    assert admin.get_bucket_versioning(Bucket=store.bucket)["Status"] == "Enabled"
    lock = admin.get_object_lock_configuration(Bucket=store.bucket)["ObjectLockConfiguration"]
    assert lock == {"ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}}  # fmt: skip
    [rule] = admin.get_bucket_lifecycle_configuration(Bucket=store.bucket)["Rules"]
    assert (rule["ID"], rule["NoncurrentVersionExpiration"]) == (LIFECYCLE_RULE_ID, {"NoncurrentDays": 7})
    assert S3_TARGET.check(store.repository("admin")) == ()

    again = ensure_bucket(store.endpoint, store.bucket, store.admin, 2, "GOVERNANCE", 5)
    assert not again.changed and not again.created
    assert again.lines()[0].endswith("already as wanted, nothing changed")

    longer = ensure_bucket(store.endpoint, store.bucket, store.admin, 3, "GOVERNANCE", 5)
    assert longer.changes == (
        "default retention set to GOVERNANCE 3 days (was GOVERNANCE 2 days)",
        f"lifecycle rule {LIFECYCLE_RULE_ID}: noncurrent versions expire after 8 days",
    )


def test_with_the_backup_keys_restic_writes_and_history_survives_their_deletes(
    store: Store, tmp_path: Path
) -> None:
    ensure_bucket(store.endpoint, store.bucket, store.admin, 1, "GOVERNANCE", 1)
    repository = store.repository("backup", prefix="his")
    source = tmp_path / "source"
    source.mkdir()
    (source / "encounters.csv").write_text("id,patient\n1,42\n" * 200, encoding="utf-8")

    init = restic(repository, "init", home=tmp_path)
    assert init.returncode == 0, init.stderr
    backup = restic(repository, "backup", "--json", str(source), home=tmp_path)
    assert backup.returncode == 0, backup.stderr
    assert '"message_type":"summary"' in backup.stdout
    # the bucket's lock is seen through an object: the backup keys may not read its configuration
    assert S3_TARGET.check(repository) == ()

    backup_client = store.client("backup")
    config_versions = backup_client.list_object_versions(Bucket=store.bucket, Prefix="his/config")["Versions"]
    [config] = config_versions
    with pytest.raises(ClientError) as refused:
        backup_client.delete_object(Bucket=store.bucket, Key="his/config", VersionId=config["VersionId"])
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as bypass:
        backup_client.delete_object(Bucket=store.bucket, Key="his/config", VersionId=config["VersionId"],
                                    BypassGovernanceRetention=True)  # fmt: skip
    assert bypass.value.response["Error"]["Code"] == "AccessDenied"

    before = bucket_usage(repository)
    marker = backup_client.delete_object(Bucket=store.bucket, Key="his/config")
    assert marker["DeleteMarker"] is True
    after = backup_client.list_object_versions(Bucket=store.bucket, Prefix="his/config")
    assert [v["VersionId"] for v in after["Versions"]] == [config["VersionId"]]
    assert len(after["DeleteMarkers"]) == 1
    kept = backup_client.get_object(Bucket=store.bucket, Key="his/config", VersionId=config["VersionId"])
    assert kept["Body"].read()  # the history is still readable

    usage = bucket_usage(repository)
    assert usage.delete_markers == before.delete_markers + 1
    assert usage.noncurrent_versions == before.noncurrent_versions + 1
    assert usage.current_objects == before.current_objects - 1
    assert usage.total_bytes == before.total_bytes > usage.current_bytes


def test_the_backup_keys_cannot_create_or_delete_buckets_or_change_the_lock(store: Store) -> None:
    ensure_bucket(store.endpoint, store.bucket, store.admin, 1, "GOVERNANCE", 1)
    backup_client = store.client("backup")
    attempts = {
        "create a bucket": lambda: backup_client.create_bucket(Bucket=f"{store.bucket}-x"),
        "delete the bucket": lambda: backup_client.delete_bucket(Bucket=store.bucket),
        "shorten the retention": lambda: backup_client.put_object_lock_configuration(
            Bucket=store.bucket,
            ObjectLockConfiguration={"ObjectLockEnabled": "Enabled",
                                     "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}}),
        "drop the retention": lambda: backup_client.put_object_lock_configuration(
            Bucket=store.bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}),
        "suspend versioning": lambda: backup_client.put_bucket_versioning(
            Bucket=store.bucket, VersioningConfiguration={"Status": "Suspended"}),
    }  # fmt: skip
    codes = {}
    for what, attempt in attempts.items():
        with pytest.raises(ClientError) as refused:
            attempt()
        codes[what] = refused.value.response["Error"]["Code"]
    assert codes == {
        "create a bucket": "AccessDenied",
        "delete the bucket": "AccessDenied",
        "shorten the retention": "AccessDenied",
        "drop the retention": "AccessDenied",
        "suspend versioning": "InvalidBucketState",  # object lock keeps versioning on
    }
    assert S3_TARGET.check(store.repository("admin")) == ()


def test_check_finds_what_a_plain_bucket_lacks_and_a_missing_one(store: Store) -> None:
    store.client("admin").create_bucket(Bucket=store.bucket)
    problems = S3_TARGET.check(store.repository("admin"))
    assert [problem.split(":")[0] for problem in problems] == [
        "versioning off", "no object lock", "no lifecycle rule",
    ]  # fmt: skip
    missing = S3_TARGET.check(store.repository("backup", bucket=f"{store.bucket}-never-made"))
    assert missing == (f"bucket missing: {store.bucket}-never-made does not exist on {store.endpoint}",)


def test_a_lifecycle_rule_the_backup_keys_put_is_seen_by_check(store: Store) -> None:
    # SeaweedFS lets the Write action replace a bucket's lifecycle: check must notice
    ensure_bucket(store.endpoint, store.bucket, store.admin, 1, "GOVERNANCE", 1)
    store.client("backup").put_bucket_lifecycle_configuration(
        Bucket=store.bucket,
        LifecycleConfiguration={"Rules": [{"ID": "stolen", "Status": "Enabled", "Filter": {"Prefix": ""},
                                           "Expiration": {"Days": 1}}]},
    )  # fmt: skip
    problems = S3_TARGET.check(store.repository("backup"))
    starts = [problem.split(":")[0] for problem in problems]
    assert "no lifecycle rule" in starts
    assert "lifecycle rule stolen expires current objects after 1 day" in starts
    assert ensure_bucket(store.endpoint, store.bucket, store.admin, 1, "GOVERNANCE", 1).changed



def test_a_stopped_store_is_one_unreachable_sentence_quickly(own_seaweedfs: tuple[Settings, Any]) -> None:
    settings, peer = own_seaweedfs
    peer.prepare()
    peer.start()
    answer = wait_ready(peer, wait_seconds=120)
    assert answer.ok, answer.detail
    admin_access, admin_secret = peer.key_paths("admin")
    backup_access, backup_secret = peer.key_paths("backup")
    admin = _credentials(f"file:{admin_access}", f"file:{admin_secret}")
    ensure_bucket(peer.endpoint, "opsctl-offsite", admin, 1)
    repository = S3_TARGET.repository({
        "endpoint": peer.endpoint, "bucket": "opsctl-offsite",
        "access_key_id": f"file:{backup_access}", "secret_access_key": f"file:{backup_secret}",
    })  # fmt: skip
    assert [p.split(":")[0] for p in S3_TARGET.check(repository)] == ["object lock unverified"]

    assert lab_api.down(settings) == ["lab-seaweedfs"]

    began = time.monotonic()
    problems = S3_TARGET.check(repository)
    elapsed = time.monotonic() - began
    assert len(problems) == 1
    assert problems[0].startswith(f"unreachable: S3 store {peer.endpoint} did not answer")
    assert elapsed < 20, f"check took {elapsed:.1f} s: timeouts or retries are not bounded"
    with pytest.raises(S3Unreachable, match=f"S3 store {peer.endpoint} unreachable"):
        bucket_usage(repository)
    with pytest.raises(S3Unreachable):
        ensure_bucket(peer.endpoint, "opsctl-offsite", admin, 1)
    secrets = [path.read_text(encoding="utf-8").strip()
               for path in (admin_access, admin_secret, backup_access, backup_secret)]  # fmt: skip
    assert not [secret for secret in secrets if secret in problems[0]]
