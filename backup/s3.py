"""The ``s3`` backup target: restic's ``s3:`` repositories, and their bucket set up and checked with boto3.

A bucket that keeps backups safe from a stolen backup host's keys has versioning on, object
lock with a default retention (no version can be deleted within that period, by anyone in
COMPLIANCE mode, by anyone without the bypass right in GOVERNANCE mode), and a lifecycle
rule that removes noncurrent versions once their retention is over: on a versioned bucket
restic's deletes (``forget --prune``) only add delete markers, so without that rule the
bucket never shrinks. :func:`ensure_bucket` makes a bucket so with an administrator's keys;
:meth:`S3Target.check` says, one sentence each, what a bucket lacks; :func:`bucket_usage`
gives the bucket's real size, every version and delete marker counted.

Keys are secret references (:class:`~opsctl.core.secrets.SecretRef`) resolved only for the
call that needs them; every message leaving this module is scrubbed of the resolved values
(botocore's messages can carry the access key id). Every client has short timeouts and few
retries, so a stopped store fails within seconds with one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from backup.targets import Repository
from opsctl.core.errors import ConfigError, ExitCode, OpsctlError, SecretError, UsageError
from opsctl.core.secrets import SecretRef

if TYPE_CHECKING:
    from botocore.config import Config

TARGET_NAME = "s3"
DEFAULT_REGION = "us-east-1"
RETENTION_MODES = ("GOVERNANCE", "COMPLIANCE")
LIFECYCLE_RULE_ID = "opsctl-noncurrent-versions"
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 5.0
MAX_ATTEMPTS = 2  # the first try and one retry
ACCESS_KEY_ENV = "AWS_ACCESS_KEY_ID"
SECRET_KEY_ENV = "AWS_SECRET_ACCESS_KEY"
REGION_ENV = "AWS_DEFAULT_REGION"
HIDDEN = "<hidden>"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9._\-/]+$")
_REGION = re.compile(r"^[a-z0-9-]{1,32}$")
_OPTIONS = ("endpoint", "bucket", "prefix", "region", "access_key_id", "secret_access_key")


class S3Error(OpsctlError, RuntimeError):
    """The S3 store refused or failed an operation (the message never holds a key)."""


class S3Unreachable(S3Error):
    """The S3 store did not answer (refused, timed out, cut off)."""

    exit_code = ExitCode.UNREACHABLE


# ---------------------------------------------------------------------------- where and who


@dataclass(frozen=True)
class S3Credentials:
    """An identity's keys as references; :meth:`resolve` reads them for one call."""

    access_key_id: SecretRef
    secret_access_key: SecretRef

    def resolve(self) -> tuple[str, str]:
        """Return (access key id, secret access key); raise ``SecretError`` naming the reference."""
        return self.access_key_id.resolve(), self.secret_access_key.resolve()


@dataclass(frozen=True)
class S3Location:
    """A bucket (and a prefix in it) on an S3 endpoint, as restic's ``s3:`` location names it."""

    endpoint: str
    bucket: str
    prefix: str = ""
    region: str = DEFAULT_REGION

    @property
    def repository_location(self) -> str:
        """restic's ``-r``: ``s3:ENDPOINT/BUCKET[/PREFIX]`` (path style: restic's own choice for IPs)."""
        return f"s3:{self.endpoint}/{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")

    @property
    def where(self) -> str:
        """The bucket (and prefix) for messages: ``BUCKET[/PREFIX] on ENDPOINT``."""
        return f"{self.bucket}{'/' + self.prefix if self.prefix else ''} on {self.endpoint}"


def endpoint_problem(endpoint: str) -> str | None:
    """Why ``endpoint`` is not an ``http(s)://host[:port]`` URL without a path, or ``None``."""
    parsed = urllib.parse.urlsplit(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "is not an http:// or https:// URL"
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        return "must name the endpoint only (no path: the bucket is its own option)"
    if parsed.username or parsed.password:
        return "must not hold credentials (give access_key_id and secret_access_key as references)"
    try:
        parsed.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        return "has an invalid port"
    return None


def s3_location(options: Mapping[str, str]) -> S3Location:
    """The location ``options`` describe; raise ``ConfigError`` naming a missing or invalid option."""
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ConfigError(f"s3 target: unknown option {unknown[0]} (known: {', '.join(_OPTIONS)})")
    for required in ("endpoint", "bucket"):
        if not str(options.get(required) or "").strip():
            raise ConfigError(f"s3 target: missing option {required}")
    endpoint = str(options["endpoint"]).strip().rstrip("/")
    problem = endpoint_problem(endpoint)
    if problem:
        raise ConfigError(f"s3 target: option endpoint {problem}")
    bucket = str(options["bucket"]).strip()
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise ConfigError(
            f"s3 target: option bucket {bucket!r} is not an S3 bucket name "
            "(3-63 lowercase letters, digits, dots, hyphens)"
        )
    prefix = str(options.get("prefix") or "").strip().strip("/")
    if prefix and (not _PREFIX.match(prefix) or "//" in prefix or ".." in prefix.split("/")):
        raise ConfigError(f"s3 target: option prefix {prefix!r} is not a plain key prefix")
    region = str(options.get("region") or DEFAULT_REGION).strip()
    if not _REGION.match(region):
        raise ConfigError(f"s3 target: option region {region!r} is not a region name")
    return S3Location(endpoint=endpoint, bucket=bucket, prefix=prefix, region=region)


def s3_credentials(options: Mapping[str, str]) -> S3Credentials:
    """The keys ``options`` reference; raise ``ConfigError`` naming a missing or literal key.

    A literal key is refused without being repeated in the message.
    """
    references = []
    for option in ("access_key_id", "secret_access_key"):
        text = str(options.get(option) or "").strip()
        if not text:
            raise ConfigError(f"s3 target: missing option {option}")
        try:
            references.append(SecretRef.parse(text))
        except SecretError as error:
            raise ConfigError(f"s3 target: option {option}: {error.message}", hint=error.hint) from None
    return S3Credentials(references[0], references[1])


def parse_repository(repository: Repository) -> tuple[S3Location, S3Credentials]:
    """The location and keys of an ``s3:`` repository; raise ``ConfigError`` if it is not one."""
    location = repository.location
    if not location.startswith("s3:"):
        raise ConfigError(f"not an s3: repository: {location}")
    parsed = urllib.parse.urlsplit(location[3:])
    bucket, _, prefix = parsed.path.lstrip("/").partition("/")
    region = repository.environment.get(REGION_ENV, DEFAULT_REGION)
    options = {
        "endpoint": f"{parsed.scheme}://{parsed.netloc}",
        "bucket": bucket,
        "prefix": prefix,
        "region": str(region),
    }
    keys = {}
    for option, variable in (("access_key_id", ACCESS_KEY_ENV), ("secret_access_key", SECRET_KEY_ENV)):
        value = repository.environment.get(variable)
        if not isinstance(value, SecretRef):
            raise ConfigError(f"s3 repository {location}: {variable} is not a secret reference")
        keys[option] = value
    return s3_location(options), S3Credentials(keys["access_key_id"], keys["secret_access_key"])


# ---------------------------------------------------------------------------- messages


def days(count: int) -> str:
    """``1 day``, ``30 days``."""
    return f"{count} day" if count == 1 else f"{count} days"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` on one line with every (non-empty) secret replaced by ``<hidden>``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return " ".join(text.split())


def _is_unreachable(error: BaseException) -> bool:
    from botocore.exceptions import ConnectionClosedError, ConnectionError, ReadTimeoutError

    return isinstance(error, ConnectionError | ReadTimeoutError | ConnectionClosedError)


def error_code(error: BaseException) -> str:
    """The S3 error code of a botocore ``ClientError`` (``NoSuchBucket``, ``AccessDenied``), else ''."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str((response.get("Error") or {}).get("Code") or "")


def describe_error(error: BaseException, secrets: Iterable[str]) -> str:
    """One scrubbed line for a boto3 error: the S3 code and message, or why nothing answered."""
    if _is_unreachable(error):
        reason = "timed out" if "timeout" in type(error).__name__.lower() else "no connection"
        return scrub(f"{reason}: {error}", secrets)
    code = error_code(error)
    if code:
        message = str((getattr(error, "response", {}).get("Error") or {}).get("Message") or "")
        return scrub(f"{code}: {message}" if message else code, secrets)
    return scrub(f"{type(error).__name__}: {error}", secrets)


def _store_error(error: BaseException, doing: str, location: S3Location, secrets: Sequence[str]) -> S3Error:
    detail = describe_error(error, secrets)
    if _is_unreachable(error):
        return S3Unreachable(f"S3 store {location.endpoint} unreachable while {doing}: {detail}")
    return S3Error(f"{doing} {location.where}: {detail}")


# ---------------------------------------------------------------------------- clients


def client_config() -> Config:
    """Bounded timeouts and retries for every client, and path-style addressing (never DNS)."""
    from botocore.config import Config

    return Config(
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        retries={"max_attempts": MAX_ATTEMPTS, "mode": "standard"},
        s3={"addressing_style": "path"},
        tcp_keepalive=False,
    )


@contextlib.contextmanager
def s3_client(location: S3Location, access_key_id: str, secret_access_key: str) -> Iterator[Any]:
    """A boto3 S3 client for ``location`` with these keys (and no ambient AWS profile), closed after."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        region_name=location.region,
    )
    client = session.client("s3", endpoint_url=location.endpoint, config=client_config())
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()


# ---------------------------------------------------------------------------- what a bucket is


@dataclass(frozen=True)
class BucketFacts:
    """What one look at a bucket found, for :func:`bucket_problems` to judge.

    ``None`` means "could not tell" (the keys may not read it, listed in ``unreadable``).
    ``retention_evidence`` names an object whose retention stood in for the bucket's lock
    configuration when the keys (a backup identity's) may not read that configuration.
    """

    location: S3Location
    exists: bool
    versioning: str | None = None  # "Enabled", "Suspended", "" (never enabled)
    object_lock: bool | None = None
    default_retention: str | None = None  # "GOVERNANCE 30 days"; "" when none
    retention_evidence: str | None = None
    lifecycle_rules: tuple[Mapping[str, Any], ...] | None = None  # () when none is set
    lifecycle_supported: bool = True
    unreadable: tuple[str, ...] = ()


def _noncurrent_days(rule: Mapping[str, Any]) -> int | None:
    expiration = rule.get("NoncurrentVersionExpiration") or {}
    days = expiration.get("NoncurrentDays")
    return int(days) if rule.get("Status") == "Enabled" and days is not None else None


def bucket_problems(facts: BucketFacts) -> tuple[str, ...]:
    """What ``facts`` show to be wrong, one sentence each (empty when the bucket is as wanted).

    Each sentence starts with what is wrong: ``bucket missing``, ``versioning off``, ``no
    object lock``, ``no default retention``, ``no lifecycle rule``, ``lifecycle unsupported``,
    ``lifecycle rule ... expires current objects``, ``... unverified``.
    """
    where = facts.location.where
    if not facts.exists:
        return (f"bucket missing: {facts.location.bucket} does not exist on {facts.location.endpoint}",)
    problems: list[str] = []
    if facts.versioning is not None and facts.versioning != "Enabled":
        state = facts.versioning.lower() or "never enabled"
        problems.append(
            f"versioning off: bucket {facts.location.bucket} has versioning {state}, "
            "so a deleted or overwritten backup file is gone for good"
        )
    if facts.object_lock is False:
        problems.append(
            f"no object lock: bucket {facts.location.bucket} was created without object lock, "
            "so the backup keys can destroy history (object lock can only be enabled at creation)"
        )
    elif facts.object_lock and facts.default_retention == "":
        evidence = f" ({facts.retention_evidence} carries no retention)" if facts.retention_evidence else ""
        problems.append(
            f"no default retention: bucket {facts.location.bucket} has object lock but new "
            f"versions are not locked{evidence}"
        )
    elif facts.object_lock is None and "object lock configuration" in facts.unreadable:
        problems.append(
            f"object lock unverified: these keys may not read the lock configuration of {where} "
            "and it holds no object to look at yet"
        )
    if not facts.lifecycle_supported:
        problems.append(
            f"lifecycle unsupported: the store refuses lifecycle rules for {facts.location.bucket}, "
            "so old versions stay until the documented retention job removes them"
        )
    elif facts.lifecycle_rules is not None:
        if not any(_noncurrent_days(rule) is not None for rule in facts.lifecycle_rules):
            problems.append(
                f"no lifecycle rule: noncurrent versions in {facts.location.bucket} never expire, "
                "so restic's prune frees nothing and the bucket only grows"
            )
        for rule in facts.lifecycle_rules:
            expiration = rule.get("Expiration") or {}
            if rule.get("Status") == "Enabled" and ("Days" in expiration or "Date" in expiration):
                after = f"after {days(int(expiration['Days']))}" if "Days" in expiration else f"on {expiration['Date']}"
                problems.append(
                    f"lifecycle rule {rule.get('ID') or '(unnamed)'} expires current objects {after}: "
                    "the repository's files would vanish (object lock keeps only their history)"
                )
    for what in facts.unreadable:
        if what != "object lock configuration":
            problems.append(f"{what} unverified: these keys may not read it for {where}")
    return tuple(problems)


def _read_or_none(call: Any, unreadable: list[str], what: str, *, missing: Sequence[str]) -> Any:
    """``call()``'s answer; ``{}`` when the store says the thing is not set (``missing`` codes);
    None (and ``what`` noted) when access is denied. Other errors propagate."""
    from botocore.exceptions import ClientError

    try:
        return call()
    except ClientError as error:
        code = error_code(error)
        if code in missing:
            return {}
        if code in ("AccessDenied", "403", "Forbidden"):
            unreadable.append(what)
            return None
        raise


def gather_facts(client: Any, location: S3Location) -> BucketFacts:
    """Look at ``location``'s bucket through ``client``; botocore errors other than "not set"
    and "access denied" propagate (the caller turns them into sentences)."""
    from botocore.exceptions import ClientError

    bucket = location.bucket
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchBucket", "NotFound"):
            return BucketFacts(location=location, exists=False)
        raise
    unreadable: list[str] = []
    versioning = _read_or_none(
        lambda: client.get_bucket_versioning(Bucket=bucket), unreadable, "versioning", missing=()
    )
    lock = _read_or_none(
        lambda: client.get_object_lock_configuration(Bucket=bucket),
        unreadable,
        "object lock configuration",
        missing=("ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound"),
    )
    object_lock: bool | None = None
    default_retention: str | None = None
    evidence: str | None = None
    if lock is not None:
        configuration = lock.get("ObjectLockConfiguration") or {}
        object_lock = configuration.get("ObjectLockEnabled") == "Enabled"
        retention = (configuration.get("Rule") or {}).get("DefaultRetention") or {}
        default_retention = _retention_text(retention)
    else:
        object_lock, default_retention, evidence = _lock_from_an_object(client, location)
        if object_lock is not None:
            unreadable.remove("object lock configuration")
    lifecycle_supported = True
    try:
        lifecycle = _read_or_none(
            lambda: client.get_bucket_lifecycle_configuration(Bucket=bucket),
            unreadable,
            "lifecycle",
            missing=("NoSuchLifecycleConfiguration",),
        )
    except ClientError as error:
        if error_code(error) not in ("NotImplemented", "MethodNotAllowed"):
            raise
        lifecycle, lifecycle_supported = None, False
    return BucketFacts(
        location=location,
        exists=True,
        versioning=None if versioning is None else str(versioning.get("Status") or ""),
        object_lock=object_lock,
        default_retention=default_retention,
        retention_evidence=evidence,
        lifecycle_rules=None if lifecycle is None else tuple(lifecycle.get("Rules") or ()),
        lifecycle_supported=lifecycle_supported,
        unreadable=tuple(unreadable),
    )


def _retention_text(retention: Mapping[str, Any]) -> str:
    """``"GOVERNANCE 30 days"`` for an S3 DefaultRetention, '' for none."""
    if not retention.get("Mode"):
        return ""
    if "Days" in retention:
        return f"{retention['Mode']} {days(int(retention['Days']))}"
    return f"{retention['Mode']} {retention.get('Years', '?')} years"


def _lock_from_an_object(client: Any, location: S3Location) -> tuple[bool | None, str | None, str | None]:
    """(object lock, retention, evidence) judged from one object under the prefix: a locked
    object proves both; an unlocked one shows no default retention; no object tells nothing."""
    listed = client.list_objects_v2(
        Bucket=location.bucket, Prefix=f"{location.prefix}/" if location.prefix else "", MaxKeys=1
    )
    contents = listed.get("Contents") or []
    if not contents:
        return None, None, None
    key = str(contents[0]["Key"])
    head = client.head_object(Bucket=location.bucket, Key=key)
    mode = head.get("ObjectLockMode")
    if mode:
        return True, f"{mode} until {head.get('ObjectLockRetainUntilDate')}", f"object {key}"
    return True, "", f"object {key}"


# ---------------------------------------------------------------------------- the target


class S3Target:
    """The ``s3`` backup target (see the module docstring); registered in ``BACKUP_TARGETS``."""

    name = TARGET_NAME

    def repository(self, options: Mapping[str, str]) -> Repository:
        """``s3:ENDPOINT/BUCKET[/PREFIX]`` with the keys (references) and region in restic's
        environment; raise ``ConfigError`` naming a missing or invalid option. Pure."""
        location = s3_location(options)
        credentials = s3_credentials(options)
        return Repository(
            location=location.repository_location,
            environment={
                ACCESS_KEY_ENV: credentials.access_key_id,
                SECRET_KEY_ENV: credentials.secret_access_key,
                REGION_ENV: location.region,
            },
        )

    def check(self, repository: Repository) -> tuple[str, ...]:
        """What is wrong with ``repository``'s bucket, one sentence each; empty when all is well.

        Never raises for the store's sake: an unreachable store, unreadable keys or a refusal
        are sentences too, scrubbed of the keys.
        """
        try:
            location, credentials = parse_repository(repository)
        except ConfigError as error:
            return (f"not an s3 repository: {error.message}",)
        try:
            access_key_id, secret_access_key = credentials.resolve()
        except SecretError as error:
            return (f"credentials unreadable: {error.message}",)
        secrets = (access_key_id, secret_access_key)
        try:
            with s3_client(location, access_key_id, secret_access_key) as client:
                facts = gather_facts(client, location)
        except Exception as error:  # botocore raises many types; each becomes one sentence
            if _is_unreachable(error):
                return (f"unreachable: S3 store {location.endpoint} did not answer ({describe_error(error, secrets)})",)
            return (f"cannot check {location.where}: {describe_error(error, secrets)}",)
        return tuple(scrub(problem, secrets) for problem in bucket_problems(facts))


S3_TARGET = S3Target()


# ---------------------------------------------------------------------------- setting a bucket up


def lifecycle_rule(noncurrent_days: int) -> dict[str, Any]:
    """opsctl's lifecycle rule: noncurrent versions expire ``noncurrent_days`` after they stop
    being current, and delete markers with nothing behind them go too."""
    return {
        "ID": LIFECYCLE_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
        "Expiration": {"ExpiredObjectDeleteMarker": True},
    }


def _rule_is(existing: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    return bool(
        existing.get("Status") == wanted["Status"]
        and (existing.get("Filter") or {}).get("Prefix", "") == wanted["Filter"]["Prefix"]
        and (existing.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")
        == wanted["NoncurrentVersionExpiration"]["NoncurrentDays"]
        and bool((existing.get("Expiration") or {}).get("ExpiredObjectDeleteMarker"))
        == wanted["Expiration"]["ExpiredObjectDeleteMarker"]
    )


def merged_lifecycle(
    existing: Sequence[Mapping[str, Any]], wanted: Mapping[str, Any]
) -> list[dict[str, Any]] | None:
    """The rules to put so that ``wanted`` is among them (others kept), or None if it already is."""
    ours = [rule for rule in existing if rule.get("ID") == wanted["ID"]]
    if len(ours) == 1 and _rule_is(ours[0], wanted):
        return None
    others = [_putable(rule) for rule in existing if rule.get("ID") != wanted["ID"]]
    return [*others, dict(wanted)]


def _putable(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule as read, without the fields some stores add on reading and refuse on writing."""
    allowed = ("ID", "Status", "Filter", "Prefix", "Expiration", "Transitions",
               "NoncurrentVersionTransitions", "NoncurrentVersionExpiration",
               "AbortIncompleteMultipartUpload")  # fmt: skip
    return {key: value for key, value in rule.items() if key in allowed}


@dataclass(frozen=True)
class BucketReport:
    """What :func:`ensure_bucket` found and did. ``changes`` is empty when nothing changed."""

    endpoint: str
    bucket: str
    created: bool
    changes: tuple[str, ...]
    retention_mode: str
    retention_days: int
    noncurrent_days: int
    lifecycle: str  # "set" or "unsupported"

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    def lines(self) -> tuple[str, ...]:
        """The report for people: each change, or that nothing changed, and the lifecycle's state."""
        head = (
            f"bucket {self.bucket} on {self.endpoint}: "
            + ("; ".join(self.changes) if self.changes else "already as wanted, nothing changed")
        )
        lines = [
            head,
            f"versioning on; object lock on, default retention {self.retention_mode} "
            f"{days(self.retention_days)}",
        ]
        if self.lifecycle == "unsupported":
            lines.append("lifecycle unsupported: run the documented retention job")
        else:
            lines.append(f"noncurrent versions expire after {days(self.noncurrent_days)}")
        return tuple(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "bucket": self.bucket,
            "created": self.created,
            "changed": self.changed,
            "changes": list(self.changes),
            "retention": {"mode": self.retention_mode, "days": self.retention_days},
            "noncurrent_days": self.noncurrent_days,
            "lifecycle": self.lifecycle,
        }


def ensure_bucket(
    endpoint: str,
    bucket: str,
    credentials: S3Credentials,
    retention_days: int,
    mode: str = "GOVERNANCE",
    noncurrent_expire_days: int = 7,
    *,
    region: str = DEFAULT_REGION,
) -> BucketReport:
    """Make ``bucket`` exist with versioning, object lock, a default retention of ``mode`` for
    ``retention_days`` and a lifecycle rule expiring noncurrent versions after
    ``retention_days + noncurrent_expire_days`` days (where the store takes lifecycle rules).

    ``credentials`` are an administrator's (a backup identity may not create buckets).
    Idempotent: a second call changes nothing and its report says so. Raise ``UsageError``
    for a bad argument, ``ConfigError`` for a bad endpoint or bucket, ``SecretError`` for an
    unreadable key, ``S3Unreachable`` if the store does not answer, ``S3Error`` if it refuses
    (an existing bucket without object lock, which only creation can give).
    """
    if mode not in RETENTION_MODES:
        raise UsageError(f"retention mode {mode!r} is not one of {', '.join(RETENTION_MODES)}")
    if retention_days < 1:
        raise UsageError(f"retention of {retention_days} days: at least 1 day is needed")
    if noncurrent_expire_days < 0:
        raise UsageError("noncurrent_expire_days cannot be negative")
    location = s3_location({"endpoint": endpoint, "bucket": bucket, "region": region})
    access_key_id, secret_access_key = credentials.resolve()
    secrets = (access_key_id, secret_access_key)
    noncurrent_days = retention_days + noncurrent_expire_days
    with s3_client(location, access_key_id, secret_access_key) as client:
        try:
            return _ensure(client, location, retention_days, mode, noncurrent_days)
        except S3Error as error:
            raise type(error)(scrub(error.message, secrets), hint=error.hint) from None
        except Exception as error:  # botocore's many types: one scrubbed line each
            raise _store_error(error, "setting up bucket", location, secrets) from None


def _ensure(client: Any, location: S3Location, retention_days: int, mode: str, noncurrent_days: int) -> BucketReport:
    from botocore.exceptions import ClientError

    bucket = location.bucket
    changes: list[str] = []
    facts = gather_facts(client, location)
    created = not facts.exists
    if created:
        arguments: dict[str, Any] = {"Bucket": bucket, "ObjectLockEnabledForBucket": True}
        if location.region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": location.region}
        client.create_bucket(**arguments)
        changes.append("created with object lock")
        facts = gather_facts(client, location)
    if facts.versioning != "Enabled":
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        changes.append("versioning enabled")
    wanted_retention = f"{mode} {days(retention_days)}"
    if not facts.object_lock or facts.default_retention != wanted_retention:
        try:
            client.put_object_lock_configuration(
                Bucket=bucket,
                ObjectLockConfiguration={
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": mode, "Days": retention_days}},
                },
            )
        except ClientError as error:
            if facts.object_lock:
                raise
            raise S3Error(
                f"bucket {bucket} on {location.endpoint} has no object lock and the store "
                f"refuses to add it ({error_code(error) or 'refused'})",
                hint="object lock can only be enabled when a bucket is created: use a new bucket",
            ) from None
        changes.append(
            f"default retention set to {wanted_retention}"
            + (f" (was {facts.default_retention})" if facts.default_retention else "")
        )
    lifecycle = "set"
    wanted_rule = lifecycle_rule(noncurrent_days)
    rules = merged_lifecycle(facts.lifecycle_rules or (), wanted_rule) if facts.lifecycle_supported else None
    if not facts.lifecycle_supported:
        lifecycle = "unsupported"
    elif rules is not None:
        try:
            client.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration={"Rules": rules}
            )
            changes.append(f"lifecycle rule {LIFECYCLE_RULE_ID}: noncurrent versions expire after {days(noncurrent_days)}")
        except ClientError as error:
            if error_code(error) not in ("NotImplemented", "MethodNotAllowed", "MalformedXML", "InvalidRequest"):
                raise
            lifecycle = "unsupported"
    return BucketReport(
        endpoint=location.endpoint,
        bucket=bucket,
        created=created,
        changes=tuple(changes),
        retention_mode=mode,
        retention_days=retention_days,
        noncurrent_days=noncurrent_days,
        lifecycle=lifecycle,
    )


# ---------------------------------------------------------------------------- the real size


@dataclass(frozen=True)
class BucketUsage:
    """A bucket's (or prefix's) real size: current objects, older versions and delete markers."""

    bucket: str
    prefix: str
    current_objects: int
    current_bytes: int
    noncurrent_versions: int
    noncurrent_bytes: int
    delete_markers: int

    @property
    def total_bytes(self) -> int:
        """What the store keeps (and bills): every version, current or not."""
        return self.current_bytes + self.noncurrent_bytes

    def summary(self) -> str:
        where = f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket
        return (
            f"{where}: {self.total_bytes} bytes stored, {self.current_bytes} in "
            f"{self.current_objects} current objects, {self.noncurrent_bytes} in "
            f"{self.noncurrent_versions} older versions, {self.delete_markers} delete markers"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "current_objects": self.current_objects,
            "current_bytes": self.current_bytes,
            "noncurrent_versions": self.noncurrent_versions,
            "noncurrent_bytes": self.noncurrent_bytes,
            "delete_markers": self.delete_markers,
            "total_bytes": self.total_bytes,
        }


def usage_from_pages(bucket: str, prefix: str, pages: Iterable[Mapping[str, Any]]) -> BucketUsage:
    """Add up ``ListObjectVersions`` pages (pure): latest versions are current, the rest are not."""
    current_objects = current_bytes = noncurrent_versions = noncurrent_bytes = delete_markers = 0
    for page in pages:
        for version in page.get("Versions") or ():
            size = int(version.get("Size") or 0)
            if version.get("IsLatest"):
                current_objects += 1
                current_bytes += size
            else:
                noncurrent_versions += 1
                noncurrent_bytes += size
        delete_markers += len(page.get("DeleteMarkers") or ())
    return BucketUsage(
        bucket=bucket,
        prefix=prefix,
        current_objects=current_objects,
        current_bytes=current_bytes,
        noncurrent_versions=noncurrent_versions,
        noncurrent_bytes=noncurrent_bytes,
        delete_markers=delete_markers,
    )


def bucket_usage(repository: Repository) -> BucketUsage:
    """The real size of ``repository``'s place (its prefix, or the whole bucket), every version
    and delete marker counted, with the repository's own keys.

    Raise ``ConfigError`` if it is not an ``s3:`` repository, ``SecretError`` for an unreadable
    key, ``S3Unreachable`` if the store does not answer, ``S3Error`` if it refuses.
    """
    location, credentials = parse_repository(repository)
    access_key_id, secret_access_key = credentials.resolve()
    secrets = (access_key_id, secret_access_key)
    prefix = f"{location.prefix}/" if location.prefix else ""
    try:
        with s3_client(location, access_key_id, secret_access_key) as client:
            paginator = client.get_paginator("list_object_versions")
            pages = paginator.paginate(Bucket=location.bucket, Prefix=prefix)
            return usage_from_pages(location.bucket, location.prefix, pages)
    except Exception as error:  # botocore's many types: one scrubbed line each
        raise _store_error(error, "listing the versions in", location, secrets) from None


__all__ = [
    "DEFAULT_REGION",
    "LIFECYCLE_RULE_ID",
    "S3_TARGET",
    "TARGET_NAME",
    "BucketFacts",
    "BucketReport",
    "BucketUsage",
    "S3Credentials",
    "S3Error",
    "S3Location",
    "S3Target",
    "S3Unreachable",
    "bucket_problems",
    "bucket_usage",
    "ensure_bucket",
    "lifecycle_rule",
    "merged_lifecycle",
    "parse_repository",
    "s3_credentials",
    "s3_location",
    "scrub",
    "usage_from_pages",
]
