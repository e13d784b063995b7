"""The s3 target's pure parts: options to a restic repository, problem sentences, lifecycle rules, scrubbing, usage."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from backup.s3 import (
    LIFECYCLE_RULE_ID,
    S3_TARGET,
    BucketFacts,
    BucketReport,
    S3Location,
    bucket_problems,
    describe_error,
    ensure_bucket,
    lifecycle_rule,
    merged_lifecycle,
    parse_repository,
    s3_credentials,
    scrub,
    usage_from_pages,
)
from backup.targets import BACKUP_TARGETS, Repository
from opsctl.core.errors import ConfigError, UsageError
from opsctl.core.secrets import SecretRef

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "backup"
KEYS = {"access_key_id": "file:/etc/opsctl/s3-id", "secret_access_key": "env:S3_SECRET"}
LOCATION = S3Location("http://127.0.40.2:18333", "opsctl-offsite", "his")


def test_the_target_is_registered_by_reference_as_s3() -> None:
    assert BACKUP_TARGETS.get("s3") is S3_TARGET


@pytest.mark.parametrize(
    ("options", "location"),
    [
        ({"endpoint": "http://127.0.40.2:18333", "bucket": "opsctl-offsite"},
         "s3:http://127.0.40.2:18333/opsctl-offsite"),
        ({"endpoint": "http://127.0.40.2:18333/", "bucket": "opsctl-offsite", "prefix": "/his/db/"},
         "s3:http://127.0.40.2:18333/opsctl-offsite/his/db"),
        ({"endpoint": "https://s3.example.org", "bucket": "b.c-d", "region": "eu-west-3"},
         "s3:https://s3.example.org/b.c-d"),
    ],
)  # fmt: skip
def test_options_become_restics_s3_location_with_keys_by_reference(
    options: dict[str, str], location: str
) -> None:
    repository = S3_TARGET.repository({**options, **KEYS})
    assert repository.location == location
    assert repository.environment == {
        "AWS_ACCESS_KEY_ID": SecretRef("file", "/etc/opsctl/s3-id"),
        "AWS_SECRET_ACCESS_KEY": SecretRef("env", "S3_SECRET"),
        "AWS_DEFAULT_REGION": options.get("region", "us-east-1"),
    }
    assert "bucket-lookup" not in repository.location


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"bucket": "opsctl-offsite"}, "missing option endpoint"),
        ({"endpoint": "http://h:1"}, "missing option bucket"),
        ({"endpoint": "ftp://h", "bucket": "opsctl-offsite"}, "endpoint is not an http"),
        ({"endpoint": "http://h:1/opsctl-offsite", "bucket": "opsctl-offsite"}, "endpoint must name the endpoint only"),
        ({"endpoint": "http://key:secret@h:1", "bucket": "opsctl-offsite"}, "endpoint must not hold credentials"),
        ({"endpoint": "http://h:1", "bucket": "Upper_Case"}, "bucket 'Upper_Case' is not an S3 bucket name"),
        ({"endpoint": "http://h:1", "bucket": "opsctl-offsite", "prefix": "a/../b"}, "prefix"),
        ({"endpoint": "http://h:1", "bucket": "opsctl-offsite", "region": "Mars 1"}, "region"),
        ({"endpoint": "http://h:1", "bucket": "opsctl-offsite", "bucket_lookup": "dns"}, "unknown option bucket_lookup"),
    ],
)  # fmt: skip
def test_a_bad_option_is_a_config_error_naming_it(options: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        S3_TARGET.repository({**options, **KEYS})


def test_a_literal_key_is_refused_without_being_repeated() -> None:
    with pytest.raises(ConfigError, match="secret_access_key: expected a secret reference") as raised:
        s3_credentials({"access_key_id": "env:ID", "secret_access_key": "wJalrXUtnFEMI/K7MDENG"})
    assert "wJalrXUtnFEMI" not in str(raised.value)


def test_a_repository_round_trips_to_its_location_and_keys() -> None:
    repository = S3_TARGET.repository(
        {"endpoint": "http://127.0.40.2:18333", "bucket": "opsctl-offsite", "prefix": "his", **KEYS}
    )
    location, credentials = parse_repository(repository)
    assert location == LOCATION
    assert credentials.access_key_id == SecretRef("file", "/etc/opsctl/s3-id")
    with pytest.raises(ConfigError, match="AWS_SECRET_ACCESS_KEY is not a secret reference"):
        parse_repository(Repository(repository.location, {"AWS_ACCESS_KEY_ID": SecretRef("env", "X"),
                                                          "AWS_SECRET_ACCESS_KEY": "literal"}))


# --- what a bucket lacks, one sentence each ----------------------------------------------

GOOD = BucketFacts(
    location=LOCATION,
    exists=True,
    versioning="Enabled",
    object_lock=True,
    default_retention="GOVERNANCE 30 days",
    lifecycle_rules=(lifecycle_rule(37),),
)


def _starts(problems: tuple[str, ...]) -> list[str]:
    return [problem.split(":")[0] for problem in problems]


def test_a_bucket_as_wanted_has_no_problem() -> None:
    assert bucket_problems(GOOD) == ()


def test_a_missing_bucket_is_one_sentence() -> None:
    problems = bucket_problems(BucketFacts(location=LOCATION, exists=False))
    assert problems == ("bucket missing: opsctl-offsite does not exist on http://127.0.40.2:18333",)


def test_a_plain_bucket_lacks_versioning_object_lock_and_lifecycle() -> None:
    plain = BucketFacts(location=LOCATION, exists=True, versioning="", object_lock=False,
                        default_retention="", lifecycle_rules=())  # fmt: skip
    assert _starts(bucket_problems(plain)) == ["versioning off", "no object lock", "no lifecycle rule"]


@pytest.mark.parametrize(
    ("change", "first_words"),
    [
        ({"versioning": "Suspended"}, "versioning off"),
        ({"default_retention": ""}, "no default retention"),
        ({"lifecycle_rules": ()}, "no lifecycle rule"),
        ({"lifecycle_rules": ({"ID": "x", "Status": "Disabled",
                               "NoncurrentVersionExpiration": {"NoncurrentDays": 3}},)}, "no lifecycle rule"),
        ({"lifecycle_supported": False, "lifecycle_rules": None}, "lifecycle unsupported"),
    ],
)  # fmt: skip
def test_each_lack_is_named_first(change: dict[str, object], first_words: str) -> None:
    facts = BucketFacts(**{**GOOD.__dict__, **change})  # type: ignore[arg-type]
    assert _starts(bucket_problems(facts)) == [first_words]


def test_a_rule_expiring_current_objects_is_a_problem_even_beside_ours() -> None:
    hostile = {"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}
    facts = BucketFacts(**{**GOOD.__dict__, "lifecycle_rules": (lifecycle_rule(37), hostile)})  # type: ignore[arg-type]
    assert bucket_problems(facts) == (
        "lifecycle rule x expires current objects after 1 day: the repository's files would "
        "vanish (object lock keeps only their history)",
    )


def test_keys_that_may_not_read_the_lock_of_an_empty_bucket_leave_it_unverified() -> None:
    facts = BucketFacts(**{**GOOD.__dict__, "object_lock": None, "default_retention": None,  # type: ignore[arg-type]
                           "unreadable": ("object lock configuration",)})
    assert _starts(bucket_problems(facts)) == ["object lock unverified"]


def test_an_object_without_retention_shows_the_default_retention_is_missing() -> None:
    facts = BucketFacts(**{**GOOD.__dict__, "default_retention": "",  # type: ignore[arg-type]
                           "retention_evidence": "object his/config"})
    assert bucket_problems(facts) == (
        "no default retention: bucket opsctl-offsite has object lock but new versions are not "
        "locked (object his/config carries no retention)",
    )


# --- lifecycle rules, idempotently ----------------------------------------------------------


def test_our_rule_expires_noncurrent_versions_and_lone_delete_markers() -> None:
    rule = lifecycle_rule(37)
    assert rule["ID"] == LIFECYCLE_RULE_ID
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 37}
    assert rule["Expiration"] == {"ExpiredObjectDeleteMarker": True}


def test_our_rule_already_there_changes_nothing_even_with_fields_the_store_adds() -> None:
    as_read = {**lifecycle_rule(37), "Filter": {"Prefix": ""}, "TransitionDefault": "x"}
    assert merged_lifecycle([as_read], lifecycle_rule(37)) is None


def test_other_rules_are_kept_and_ours_replaced() -> None:
    other = {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
             "Expiration": {"Days": 90}, "TransitionDefaultMinimumObjectSize": "x"}  # fmt: skip
    merged = merged_lifecycle([other, lifecycle_rule(10)], lifecycle_rule(37))
    assert merged == [
        {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 90}},
        lifecycle_rule(37),
    ]
    assert merged_lifecycle([], lifecycle_rule(37)) == [lifecycle_rule(37)]


def test_a_report_says_what_changed_or_that_nothing_did() -> None:
    first = BucketReport("http://e:1", "b-1", True, ("created with object lock",), "GOVERNANCE", 30, 37, "set")
    again = BucketReport("http://e:1", "b-1", False, (), "GOVERNANCE", 30, 37, "set")
    bare = BucketReport("http://e:1", "b-1", False, (), "COMPLIANCE", 30, 37, "unsupported")
    assert first.changed and not again.changed
    assert first.lines()[0] == "bucket b-1 on http://e:1: created with object lock"
    assert again.lines()[0] == "bucket b-1 on http://e:1: already as wanted, nothing changed"
    assert bare.lines()[-1] == "lifecycle unsupported: run the documented retention job"
    assert again.to_dict()["changed"] is False


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"retention_days": 30, "mode": "LEGAL"}, "retention mode 'LEGAL'"),
        ({"retention_days": 0}, "at least 1 day"),
        ({"retention_days": 30, "noncurrent_expire_days": -1}, "cannot be negative"),
    ],
)
def test_ensure_bucket_refuses_bad_arguments_before_any_call(arguments: dict[str, object], message: str) -> None:
    credentials = s3_credentials({"access_key_id": "env:NOT_SET_X", "secret_access_key": "env:NOT_SET_Y"})
    with pytest.raises(UsageError, match=message):
        ensure_bucket("http://127.0.0.1:9", "opsctl-offsite", credentials, **arguments)  # type: ignore[arg-type]


# --- scrubbing ------------------------------------------------------------------------------


def test_scrub_hides_every_key_and_keeps_one_line() -> None:
    text = "InvalidAccessKeyId: key AKIAEXAMPLE123 unknown\nsigned with secret/+abc=AKIAEXAMPLE123"
    assert scrub(text, ["AKIAEXAMPLE123", "secret/+abc=", ""]) == (
        "InvalidAccessKeyId: key <hidden> unknown signed with <hidden><hidden>"
    )


def test_a_botocore_error_is_described_without_the_access_key() -> None:
    from botocore.exceptions import ClientError, EndpointConnectionError

    refused = ClientError(
        {"Error": {"Code": "InvalidAccessKeyId", "Message": "The access key AKIAEXAMPLE123 is unknown"}},
        "ListBuckets",
    )
    assert describe_error(refused, ["AKIAEXAMPLE123"]) == "InvalidAccessKeyId: The access key <hidden> is unknown"
    down = EndpointConnectionError(endpoint_url="http://127.0.0.1:9/b")
    assert describe_error(down, []).startswith("no connection: Could not connect")


def test_check_of_a_store_that_refuses_connections_is_one_quick_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("S3_ID", "AKIAEXAMPLE123")
    monkeypatch.setenv("S3_SECRET", "sekr1t-value-xyz")
    repository = S3_TARGET.repository({"endpoint": "http://127.0.0.1:9", "bucket": "opsctl-offsite",
                                       "access_key_id": "env:S3_ID", "secret_access_key": "env:S3_SECRET"})
    began = time.monotonic()
    problems = S3_TARGET.check(repository)
    assert time.monotonic() - began < 15  # bounded retries, not botocore's default patience
    assert len(problems) == 1 and problems[0].startswith("unreachable: S3 store http://127.0.0.1:9")
    assert "AKIAEXAMPLE123" not in problems[0] and "sekr1t" not in problems[0]


def test_check_with_unreadable_keys_is_a_sentence_naming_the_reference() -> None:
    repository = S3_TARGET.repository({"endpoint": "http://127.0.0.1:9", "bucket": "opsctl-offsite",
                                       "access_key_id": "env:OPSCTL_TEST_UNSET_ID",
                                       "secret_access_key": "env:OPSCTL_TEST_UNSET_SECRET"})  # fmt: skip
    assert S3_TARGET.check(repository) == (
        "credentials unreadable: secret env:OPSCTL_TEST_UNSET_ID: environment variable "
        "OPSCTL_TEST_UNSET_ID is not set",
    )


# --- the real size ----------------------------------------------------------------------------


def test_usage_counts_every_version_and_delete_marker_of_a_recorded_listing() -> None:
    recorded = json.loads((FIXTURES / "seaweedfs-list-object-versions.json").read_text(encoding="utf-8"))
    usage = usage_from_pages(recorded["bucket"], recorded["prefix"], recorded["pages"])
    versions = recorded["pages"][0]["Versions"]
    latest = [v for v in versions if v["IsLatest"]]
    assert (usage.current_objects, usage.noncurrent_versions, usage.delete_markers) == (6, 2, 2)
    assert usage.current_bytes == sum(v["Size"] for v in latest)
    assert usage.total_bytes == sum(v["Size"] for v in versions) > usage.current_bytes
    assert usage.summary().startswith(f"opsctl-offsite/his: {usage.total_bytes} bytes stored")


def test_usage_adds_up_across_pages() -> None:
    pages = [
        {"Versions": [{"Size": 10, "IsLatest": True}, {"Size": 5, "IsLatest": False}]},
        {"Versions": [{"Size": 7, "IsLatest": False}], "DeleteMarkers": [{"Key": "k"}]},
        {},
    ]
    usage = usage_from_pages("b-1", "", pages)
    assert usage.to_dict() == {
        "bucket": "b-1", "prefix": "", "current_objects": 1, "current_bytes": 10,
        "noncurrent_versions": 2, "noncurrent_bytes": 12, "delete_markers": 1, "total_bytes": 22,
    }  # fmt: skip
