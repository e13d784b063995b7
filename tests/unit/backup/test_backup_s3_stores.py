"""How ensure_bucket and check meet stores the lab cannot show: one that refuses lifecycle
rules, and a bucket made without object lock that only creation could have given one.

botocore's Stubber answers in place of a store, with the answers S3 documents for these cases
(the lab's SeaweedFS takes lifecycle rules, and its lock-less buckets are covered in the
integration tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import backup.s3 as s3
from backup.s3 import S3Error, S3Location, ensure_bucket, gather_facts, s3_credentials

LOCATION = S3Location("http://127.0.0.1:9", "opsctl-offsite")
LOCKED = {"ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled",
          "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}}  # fmt: skip


def _client() -> Any:
    return boto3.client("s3", endpoint_url=LOCATION.endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIAEXAMPLE123", aws_secret_access_key="sekr1t")  # fmt: skip


@contextmanager
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = _client()
    stubber = Stubber(client)

    @contextmanager
    def fake_client(*_: object) -> Iterator[Any]:
        yield client

    monkeypatch.setattr(s3, "s3_client", fake_client)
    monkeypatch.setenv("S3_ID", "AKIAEXAMPLE123")
    monkeypatch.setenv("S3_SECRET", "sekr1t")
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def _looked_at(stubber: Stubber, lock: dict[str, Any], lifecycle_error: str | None) -> None:
    bucket = {"Bucket": "opsctl-offsite"}
    stubber.add_response("head_bucket", {}, bucket)
    stubber.add_response("get_bucket_versioning", {"Status": "Enabled"}, bucket)
    if lock:
        stubber.add_response("get_object_lock_configuration", lock, bucket)
    else:
        stubber.add_client_error("get_object_lock_configuration", "ObjectLockConfigurationNotFoundError",
                                 http_status_code=404, expected_params=bucket)  # fmt: skip
    if lifecycle_error:
        stubber.add_client_error("get_bucket_lifecycle_configuration", lifecycle_error,
                                 http_status_code=501, expected_params=bucket)  # fmt: skip
    else:
        stubber.add_response("get_bucket_lifecycle_configuration",
                             {"Rules": [s3.lifecycle_rule(37)]}, bucket)  # fmt: skip


CREDENTIALS = s3_credentials({"access_key_id": "env:S3_ID", "secret_access_key": "env:S3_SECRET"})


def test_a_store_refusing_lifecycle_rules_is_reported_not_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    with stubbed(monkeypatch) as stubber:
        _looked_at(stubber, LOCKED, lifecycle_error="NotImplemented")
        report = ensure_bucket(LOCATION.endpoint, "opsctl-offsite", CREDENTIALS, 30)
    assert (report.changed, report.lifecycle) == (False, "unsupported")
    assert report.lines()[-1] == "lifecycle unsupported: run the documented retention job"

    with stubbed(monkeypatch) as stubber:
        _looked_at(stubber, LOCKED, lifecycle_error="NotImplemented")
        facts = gather_facts(_client_of(stubber), LOCATION)
    assert [problem.split(":")[0] for problem in s3.bucket_problems(facts)] == ["lifecycle unsupported"]


def _client_of(stubber: Stubber) -> Any:
    return stubber.client


def test_a_bucket_without_object_lock_that_the_store_will_not_lock_is_an_error_with_a_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with stubbed(monkeypatch) as stubber:
        _looked_at(stubber, {}, lifecycle_error=None)
        stubber.add_client_error("put_object_lock_configuration", "InvalidBucketState", http_status_code=409)
        with pytest.raises(S3Error, match="has no object lock and the store refuses to add it") as raised:
            ensure_bucket(LOCATION.endpoint, "opsctl-offsite", CREDENTIALS, 30)
    assert raised.value.hint == "object lock can only be enabled when a bucket is created: use a new bucket"
    assert "AKIAEXAMPLE123" not in str(raised.value) and "sekr1t" not in str(raised.value)


def test_a_refusal_is_one_scrubbed_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with stubbed(monkeypatch) as stubber:
        stubber.add_client_error("head_bucket", "InvalidAccessKeyId", http_status_code=403,
                                 service_message="The access key AKIAEXAMPLE123 does not exist")  # fmt: skip
        with pytest.raises(S3Error) as raised:
            ensure_bucket(LOCATION.endpoint, "opsctl-offsite", CREDENTIALS, 30)
    assert str(raised.value) == (
        "setting up bucket opsctl-offsite on http://127.0.0.1:9: InvalidAccessKeyId: "
        "The access key <hidden> does not exist"
    )
