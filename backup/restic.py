"""The restic runner: restic called directly, its JSON stream and text output parsed by pure functions.

restic is probed once (:func:`probe_version`: once per process, and on this machine once per
installed binary, remembered in the user's cache directory) and :data:`CAPABILITIES` says what
each version offers, so a newer restic works the day a site installs it while Debian 12's
0.14 keeps working. Exit codes are read by :func:`opsctl.core.execute.restic_exit_codes` (the
one table; an unknown code is a failure). A failure becomes one of the :class:`ResticError`
subclasses with a one-line message naming the repository (wrong password, missing, locked
naming the holder, unreachable), never a secret: the password and the S3 keys go in the
child's environment (``secret_env`` of :func:`~opsctl.core.execute.execute`), never on the
command line.

A :class:`Restic` is bound to one :class:`~backup.targets.Repository` and, optionally, an
:class:`~opsctl.core.ssh.SshConnection` host (restic then runs there; secrets go over the
channel's stdin as ``execute`` does it). Parsers (``parse_*``) are pure and tested on
recordings of real restic output in ``tests/fixtures/restic/``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.core.errors import OpsctlError
from opsctl.core.execute import (
    ExecResult,
    MemberResult,
    Pipeline,
    Program,
    Stream,
    execute,
    restic_exit_codes,
)
from opsctl.core.secrets import SecretRef

if TYPE_CHECKING:
    from backup.targets import Repository
    from opsctl.core.ssh import SshConnection

# -- versions and what they offer ----------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ResticVersion:
    """A restic release, ordered (``ResticVersion(0, 14, 0) < ResticVersion(0, 17, 1)``)."""

    major: int
    minor: int
    patch: int

    @property
    def triple(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch}"


@dataclass(frozen=True)
class Capability:
    """Something restic offers from ``since`` on, and where its changelog says so."""

    name: str
    since: tuple[int, int, int]
    what: str
    source: str


#: What each restic version offers, from restic's CHANGELOG.md and its "Scripting" page
#: (075_scripting.rst); before ``since`` the runner does without (parses text, checks itself).
CAPABILITIES: tuple[Capability, ...] = (
    Capability("backup_json", (0, 9, 5), "backup --json: status, summary and error messages",
               "0.9.5, issue #2096 / PR #1944"),
    Capability("snapshots_json", (0, 8, 0), "snapshots/forget/stats --json documents", "0.8.0, issue #726"),
    Capability("copy_from_repo", (0, 14, 0), "copy --from-repo (before: --repo2)", "0.14.0, Chg #3742"),
    Capability("compression", (0, 14, 0), "repository format 2 with compression", "0.14.0, Enh #21"),
    Capability("restore_json", (0, 16, 0), "restore --json progress and summary; before, restore "
               "ignores --json and prints text (parse_restore_text)", "0.16.0, PR #4314 (issue #3413)"),
    Capability("exit_codes_10_11", (0, 17, 0), "exit 10 no repository, 11 lock failed (before: 1)",
               "0.17.0, Chg #956"),
    Capability("skip_if_unchanged", (0, 17, 0), "backup --skip-if-unchanged", "0.17.0, Enh #662"),
    Capability("stdin_from_command", (0, 17, 0), "backup --stdin-from-command (restic runs the "
               "producer and fails on its exit status)", "0.17.0, Enh #4251"),
    Capability("version_json", (0, 17, 0), "version --json", "0.17.0, Enh #4547"),
    Capability("exit_code_12", (0, 17, 1), "exit 12 wrong password (before: 1)", "0.17.1, Enh #4959"),
    Capability("restore_json_errors", (0, 17, 1), "restore --json prints its errors as JSON",
               "0.17.1, Enh #4944"),
    Capability("check_json", (0, 18, 0), "check --json; before, check ignores --json and prints "
               "text (parse_check_text)", "0.18.0, Enh #1378"),
    Capability("json_exit_errors", (0, 18, 0), "fatal errors as JSON with --json", "0.18.0, Enh #4948"),
)
_CAPABILITY_NAMES = frozenset(capability.name for capability in CAPABILITIES)


def capabilities(version: ResticVersion) -> frozenset[str]:
    """The names of the :data:`CAPABILITIES` that ``version`` offers."""
    return frozenset(c.name for c in CAPABILITIES if version.triple >= c.since)


def supports(version: ResticVersion, name: str) -> bool:
    """Whether ``version`` offers the capability ``name``; raise KeyError for an unknown name."""
    if name not in _CAPABILITY_NAMES:
        raise KeyError(f"no restic capability named {name!r}")
    return name in capabilities(version)


_VERSION = re.compile(r"^restic (\d+)\.(\d+)\.(\d+)")


def parse_version(output: str) -> ResticVersion:
    """The version in ``restic version``'s output (``restic 0.14.0 compiled with ...``).

    Raise :class:`ResticError` when the output names none.
    """
    match = _VERSION.match(output.strip())
    if match is None:
        first = output.strip().splitlines()[:1] or [""]
        raise ResticError(f"restic version: cannot read a version from {first[0][:80]!r}")
    return ResticVersion(int(match[1]), int(match[2]), int(match[3]))


_probed: dict[tuple[str, str | None], ResticVersion] = {}
_probe_guard = threading.Lock()


def version_cache_file() -> Path:
    """Where local probes are remembered: ``$XDG_CACHE_HOME/opsctl/restic-versions.json``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "opsctl" / "restic-versions.json"


def _binary_identity(restic: str) -> tuple[str, str] | None:
    """The installed binary: its real path and (device, inode, size, mtime), which a new restic
    installed over the old one changes. None when the program is not found."""
    import shutil

    found = shutil.which(restic)
    if found is None:
        return None
    path = os.path.realpath(found)
    try:
        status = os.stat(path)
    except OSError:
        return None
    return path, f"{status.st_dev}:{status.st_ino}:{status.st_size}:{status.st_mtime_ns}"


def _read_cache(cache: Path) -> dict[str, Any]:
    try:
        known = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or not one we wrote: probe
        return {}
    return known if isinstance(known, dict) else {}


def _remembered(binary: tuple[str, str], cache: Path) -> ResticVersion | None:
    entry = _read_cache(cache).get(binary[0])
    if not isinstance(entry, dict) or entry.get("binary") != binary[1]:
        return None
    triple = entry.get("version")
    if not (isinstance(triple, list) and len(triple) == 3 and all(type(n) is int for n in triple)):
        return None
    return ResticVersion(*triple)


def _remember(binary: tuple[str, str], version: ResticVersion, cache: Path) -> None:
    """Add the probe to the cache file, atomically; a cache that cannot be written is skipped."""
    import tempfile

    known = _read_cache(cache)
    known[binary[0]] = {"binary": binary[1], "version": list(version.triple)}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=".restic-versions.", dir=cache.parent)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(known, stream)
        os.replace(temporary, cache)
    except OSError:
        return


def probe_version(restic: str = "restic", *, host: SshConnection | None = None,
                  cache: Path | None = None) -> ResticVersion:
    """restic's version: ``restic version`` run once per process (and per host), cached.

    On this machine the answer is also remembered per installed binary (its path, inode, size
    and modification time) in ``cache`` (:func:`version_cache_file` by default), so a backup
    run adds no restic call of its own; installing another restic changes the binary and
    probes again. Raise :class:`ResticError` when restic is not installed or says no version.
    """
    key = (restic, host.target.name if host is not None else None)
    with _probe_guard:
        if key in _probed:
            return _probed[key]
        binary = _binary_identity(restic) if host is None else None
        cache_file = cache or version_cache_file()
        version = _remembered(binary, cache_file) if binary is not None else None
        if version is None:
            result = execute(Program((restic, "version"), restic_exit_codes((0, 0, 0))), host=host, timeout=60)
            if not result.ok:
                raise ResticError(f"{restic} version exited {result.exit_status}: {_last_line(result.stderr_text)}")
            version = parse_version(result.stdout_text)
            if binary is not None:
                _remember(binary, version, cache_file)
        _probed[key] = version
        return version


# -- errors ---------------------------------------------------------------------------------------


class ResticError(OpsctlError, RuntimeError):
    """restic failed; the message is one line naming the repository and what went wrong."""

    def __init__(self, message: str, *, hint: str | None = None, location: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.location = location


class RepositoryWrongPassword(ResticError, PermissionError):
    """The repository answered but the password opens none of its keys."""


class RepositoryMissing(ResticError, FileNotFoundError):
    """No repository at the location (``restic init`` was never run there)."""


class RepositoryLocked(ResticError):
    """Another restic process holds a lock restic needed; ``holder`` names it (pid, host, user)."""

    def __init__(self, message: str, *, holder: LockHolderText | None, location: str | None = None) -> None:
        super().__init__(message, location=location,
                         hint="a holder that is gone is removed by the next run (or `restic unlock`)")
        self.holder = holder


class RepositoryUnreachable(ResticError, ConnectionError):
    """The repository's place did not answer (refused, timed out, no such host)."""


class ResticOutputError(ResticError):
    """restic exited as if it succeeded but its output lacks what it always prints (a summary)."""


class SourceFailed(ResticError):
    """The program feeding ``restic backup --stdin`` failed or was cut short.

    Its snapshot, if restic made one, has been forgotten (``removed_snapshot``), so it is
    never counted as good.
    """

    def __init__(self, message: str, *, removed_snapshot: str | None, location: str | None = None) -> None:
        super().__init__(message, location=location)
        self.removed_snapshot = removed_snapshot


@dataclass(frozen=True)
class LockHolderText:
    """Who holds a restic lock, as restic's "already locked" message names it."""

    pid: int
    hostname: str
    username: str


_LOCKED = re.compile(r"locked (?:exclusively )?by PID (\d+) on (\S+) by (\S+)")
_UNREACHABLE = re.compile(
    r"connection refused|no such host|i/o timeout|network is unreachable|no route to host|"
    r"connection reset|dial tcp|context deadline exceeded|TLS handshake timeout|EOF while", re.I)


def parse_lock_holder(text: str) -> LockHolderText | None:
    """The holder in restic's "repository is already locked by PID N on HOST by USER" message."""
    match = _LOCKED.search(text)
    return LockHolderText(int(match[1]), match[2], match[3]) if match else None


def classify_failure(result: ExecResult, location: str, action: str) -> ResticError:
    """The :class:`ResticError` for a failed restic ``result`` (pure: its status name and stderr).

    Newer restic says it by exit code (10, 11, 12), 0.14 only in words; both are read.
    """
    text = result.stderr_text + "\n" + result.stdout_text
    where = f"restic repository {location}"
    if result.timed_out:
        return ResticError(f"{where}: restic {action} ran past {result.timeout_seconds or 0:g} s and was stopped",
                           location=location)
    if result.cancelled:
        return ResticError(f"{where}: restic {action} was cancelled", location=location)
    if result.status_name == "wrong_password" or "wrong password or no key found" in text:
        return RepositoryWrongPassword(f"{where}: wrong password or no key found", location=location,
                                       hint="check the repository's password reference")
    if result.status_name == "no_repository" or "Is there a repository at the following location?" in text \
            or "repository does not exist" in text:
        if _UNREACHABLE.search(text):
            return RepositoryUnreachable(f"{where}: unreachable: {_reason(text)}", location=location)
        return RepositoryMissing(f"{where}: no repository there", location=location,
                                 hint="create it with restic init (or check the path)")
    if result.status_name == "lock_failed" or "repository is already locked" in text:
        holder = parse_lock_holder(text)
        held_by = f" by PID {holder.pid} on {holder.hostname} ({holder.username})" if holder else ""
        return RepositoryLocked(f"{where}: locked{held_by}", holder=holder, location=location)
    if _UNREACHABLE.search(text):
        return RepositoryUnreachable(f"{where}: unreachable: {_reason(text)}", location=location)
    return ResticError(f"{where}: restic {action} exited {result.exit_status} ({result.status_name}): "
                       f"{_reason(text)}", location=location)


def _reason(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("{")]
    fatal = [line for line in lines if line.startswith("Fatal:")]
    line = (fatal or lines or [""])[-1 if not fatal else 0]
    line = line.removeprefix("Fatal: ")
    return line if len(line) <= 160 else line[:157] + "..."


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


# -- backup's JSON stream -------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupStatus:
    """One ``status`` message of ``restic backup --json``: progress so far."""

    percent_done: float = 0.0
    total_files: int = 0
    files_done: int = 0
    total_bytes: int = 0
    bytes_done: int = 0
    seconds_elapsed: int = 0
    seconds_remaining: int | None = None
    error_count: int = 0
    current_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackupItemError:
    """An ``error`` message (a source item restic could not read), or a path it skipped."""

    item: str
    during: str
    message: str


@dataclass(frozen=True)
class BackupSummary:
    """The ``summary`` message of ``restic backup --json``, and the errors reported before it."""

    snapshot_id: str
    files_new: int = 0
    files_changed: int = 0
    files_unmodified: int = 0
    dirs_new: int = 0
    dirs_changed: int = 0
    dirs_unmodified: int = 0
    data_blobs: int = 0
    tree_blobs: int = 0
    data_added: int = 0
    total_files_processed: int = 0
    total_bytes_processed: int = 0
    total_duration: float = 0.0
    errors: tuple[BackupItemError, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id, "files_new": self.files_new,
            "files_changed": self.files_changed, "files_unmodified": self.files_unmodified,
            "data_added": self.data_added, "total_files_processed": self.total_files_processed,
            "total_bytes_processed": self.total_bytes_processed, "total_duration": self.total_duration,
            "errors": [error.__dict__ for error in self.errors],
        }


BackupMessage = BackupStatus | BackupSummary | BackupItemError
ProgressCallback = Callable[[BackupStatus], None]

_SKIPPED = re.compile(r"^(?P<path>.+) does not exist, skipping$")


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data.get(key)
    return int(value) if isinstance(value, int | float) else 0


def parse_backup_message(line: str) -> BackupMessage | None:
    """One line of ``restic backup --json`` (either stream) as a message; None for anything else.

    restic 0.14 writes a missing source path as text on stderr ("X does not exist, skipping"),
    returned here as a :class:`BackupItemError` during ``scan``.
    """
    line = line.strip()
    skipped = _SKIPPED.match(line)
    if skipped:
        return BackupItemError(skipped["path"], "scan", "does not exist, skipped")
    if not line.startswith("{"):
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind = data.get("message_type")
    if kind == "status":
        remaining = data.get("seconds_remaining")
        return BackupStatus(
            percent_done=float(data.get("percent_done") or 0.0), total_files=_int(data, "total_files"),
            files_done=_int(data, "files_done"), total_bytes=_int(data, "total_bytes"),
            bytes_done=_int(data, "bytes_done"), seconds_elapsed=_int(data, "seconds_elapsed"),
            seconds_remaining=int(remaining) if isinstance(remaining, int | float) else None,
            error_count=_int(data, "error_count"),
            current_files=tuple(str(f) for f in data.get("current_files") or ()),
        )
    if kind == "summary":
        return BackupSummary(
            snapshot_id=str(data.get("snapshot_id") or ""),
            files_new=_int(data, "files_new"), files_changed=_int(data, "files_changed"),
            files_unmodified=_int(data, "files_unmodified"), dirs_new=_int(data, "dirs_new"),
            dirs_changed=_int(data, "dirs_changed"), dirs_unmodified=_int(data, "dirs_unmodified"),
            data_blobs=_int(data, "data_blobs"), tree_blobs=_int(data, "tree_blobs"),
            data_added=_int(data, "data_added"), total_files_processed=_int(data, "total_files_processed"),
            total_bytes_processed=_int(data, "total_bytes_processed"),
            total_duration=float(data.get("total_duration") or 0.0),
        )
    if kind == "error":
        error = data.get("error")
        if isinstance(error, dict):
            # 0.14 serialises Go's error struct ({"Op","Path","Err"}); 0.17.1 adds {"message"}
            message = str(error.get("message") or _errno_text(error))
        else:
            message = str(error)
        return BackupItemError(str(data.get("item") or ""), str(data.get("during") or ""), message)
    return None


def _errno_text(error: Mapping[str, Any]) -> str:
    number = error.get("Err")
    reason = os.strerror(number) if isinstance(number, int) else str(number)
    op = error.get("Op")
    return f"{op}: {reason}" if op else reason


def parse_backup_output(stdout: str, stderr: str = "") -> BackupSummary:
    """The summary of a finished ``restic backup --json``, with every error message of both streams.

    Raise :class:`ResticOutputError` when there is no summary (restic stopped before the end).
    """
    summary: BackupSummary | None = None
    errors: list[BackupItemError] = []
    for line in [*stdout.splitlines(), *stderr.splitlines()]:
        message = parse_backup_message(line)
        if isinstance(message, BackupSummary):
            summary = message
        elif isinstance(message, BackupItemError):
            errors.append(message)
    if summary is None or not summary.snapshot_id:
        raise ResticOutputError("restic backup printed no summary: no snapshot was made")
    return replace(summary, errors=tuple(errors))


# -- snapshots, locks, stats ----------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """One snapshot as ``restic snapshots --json`` lists it."""

    id: str
    short_id: str
    time: datetime
    paths: tuple[str, ...]
    hostname: str
    tags: tuple[str, ...] = ()
    parent: str | None = None

    def tag_value(self, key: str) -> str | None:
        """The value of the ``key=value`` tag, or None."""
        prefix = f"{key}="
        return next((tag[len(prefix):] for tag in self.tags if tag.startswith(prefix)), None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "short_id": self.short_id, "time": self.time.isoformat(),
                "paths": list(self.paths), "hostname": self.hostname, "tags": list(self.tags),
                "parent": self.parent}


def parse_time(text: str) -> datetime:
    """restic's RFC 3339 time (nanoseconds, ``Z`` or an offset) as an aware datetime."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text.strip())
    if match is None:
        raise ResticOutputError(f"restic printed a time opsctl cannot read: {text[:40]!r}")
    fraction = (match[2] or "0")[:6].ljust(6, "0")
    zone = "+00:00" if match[3] == "Z" else match[3]
    return datetime.fromisoformat(f"{match[1]}.{fraction}{zone}")


def parse_snapshots(text: str) -> tuple[Snapshot, ...]:
    """``restic snapshots --json``'s document as snapshots, oldest first."""
    try:
        data = json.loads(text or "[]")
    except ValueError as error:
        raise ResticOutputError(f"restic snapshots printed no JSON: {error}") from None
    snapshots = [
        Snapshot(id=str(item["id"]), short_id=str(item.get("short_id") or item["id"][:8]),
                 time=parse_time(str(item["time"])), paths=tuple(item.get("paths") or ()),
                 hostname=str(item.get("hostname") or ""), tags=tuple(item.get("tags") or ()),
                 parent=item.get("parent"))
        for item in data or ()
    ]
    return tuple(sorted(snapshots, key=lambda snapshot: snapshot.time))


@dataclass(frozen=True)
class Node:
    """One file, directory or link of a snapshot, as ``restic ls --json`` lists it."""

    path: str
    type: str  # file, dir, symlink, dev, chardev, fifo, socket
    size: int | None  # a file's bytes; None for the others
    mtime: datetime | None
    permissions: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "type": self.type, "size": self.size,
                "mtime": self.mtime.isoformat() if self.mtime else None, "permissions": self.permissions}


def parse_ls(text: str) -> tuple[str | None, tuple[Node, ...]]:
    """``restic ls --json``'s stream: the snapshot's id (its first line) and its nodes, in restic's order.

    Raise :class:`ResticOutputError` for a line that is not JSON or a node without a path.
    """
    snapshot_id: str | None = None
    nodes: list[Node] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            raise ResticOutputError(f"restic ls printed a line that is not JSON (line {number}): "
                                    f"{line[:60]!r}") from None
        if not isinstance(item, dict):
            raise ResticOutputError(f"restic ls printed a line that is not an object (line {number})")
        if item.get("struct_type") == "snapshot":
            snapshot_id = str(item.get("id") or "") or None
            continue
        path = item.get("path")
        if not isinstance(path, str) or not path:
            raise ResticOutputError(f"restic ls printed a node without a path (line {number})")
        kind = str(item.get("type") or "unknown")
        size = item.get("size") if kind == "file" else None
        mtime = parse_time(str(item["mtime"])) if item.get("mtime") else None
        nodes.append(Node(path, kind, int(size) if isinstance(size, int) else (0 if kind == "file" else None),
                          mtime, item.get("permissions") if isinstance(item.get("permissions"), str) else None))
    return snapshot_id, tuple(nodes)


@dataclass(frozen=True)
class ResticLock:
    """One lock file of the repository (``restic cat lock ID``)."""

    id: str
    time: datetime
    exclusive: bool
    hostname: str
    username: str
    pid: int


def parse_lock(lock_id: str, text: str) -> ResticLock:
    """``restic cat lock ID``'s JSON as a :class:`ResticLock`."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ResticOutputError(f"restic cat lock {lock_id[:8]} printed no JSON: {error}") from None
    return ResticLock(id=lock_id, time=parse_time(str(data["time"])), exclusive=bool(data.get("exclusive")),
                      hostname=str(data.get("hostname") or ""), username=str(data.get("username") or ""),
                      pid=int(data.get("pid") or 0))


@dataclass(frozen=True)
class RepositoryStats:
    """``restic stats --json``: size in bytes (of the mode asked), files and snapshots."""

    total_size: int
    total_file_count: int
    snapshots_count: int


def parse_stats(text: str) -> RepositoryStats:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ResticOutputError(f"restic stats printed no JSON: {error}") from None
    return RepositoryStats(_int(data, "total_size"), _int(data, "total_file_count"), _int(data, "snapshots_count"))


# -- restore and check: text before the versions that print JSON ---------------------------------


@dataclass(frozen=True)
class RestoreSummary:
    """What ``restic restore`` reports: the snapshot, the target, and counts when restic says them."""

    snapshot_id: str
    target: str
    files_restored: int | None = None
    bytes_restored: int | None = None


_RESTORING = re.compile(r"^restoring <Snapshot (?P<id>[0-9a-f]+) of \[.*\] at .*> to (?P<target>.+)$")


def parse_restore_text(text: str) -> RestoreSummary:
    """restic < 0.16's ``restore`` output (text, ``--json`` ignored): its "restoring ... to" line.

    Raise :class:`ResticOutputError` when the line is not there.
    """
    for line in text.splitlines():
        match = _RESTORING.match(line.strip())
        if match:
            return RestoreSummary(match["id"], match["target"].strip())
    raise ResticOutputError("restic restore did not say what it restored")


def parse_restore_json(text: str, snapshot_id: str, target: str) -> RestoreSummary:
    """restic >= 0.16's ``restore --json`` stream: its ``summary`` message (counts)."""
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("message_type") == "summary":
                return RestoreSummary(snapshot_id, target, _int(data, "files_restored") or _int(data, "total_files"),
                                      _int(data, "bytes_restored") or _int(data, "total_bytes"))
    return RestoreSummary(snapshot_id, target)


@dataclass(frozen=True)
class CheckReport:
    """What ``restic check`` found: the errors it printed (empty when none) and what it read."""

    ok: bool
    errors: tuple[str, ...]
    read_data_subset: str | None = None
    packs_read: int | None = None
    packs_total: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__, errors=list(self.errors))


_READ_GROUP = re.compile(r"^read group #(\d+) of (\d+) data packs \(out of total (\d+) packs in (\d+) groups\)")
_READ_ALL = re.compile(r"^read all data")
_PACKS_DONE = re.compile(r"(\d+) / (\d+) packs")
_CHECK_NOISE = re.compile(
    r"^(using temporary cache in|create exclusive lock|load indexes|check all packs|check snapshots|"
    r"read all data|read group #|\[\d+:\d+\]|no errors were found|Fatal: repository contains errors|"
    r"created new cache in|\d+ additional files were found|"
    # restic's hint (not an error, exit 0) about packs an interrupted upload left unindexed
    r"pack [0-9a-f]+: not referenced in any index|This is non-critical, you can run `restic prune`)")


def parse_check_text(text: str, *, exit_ok: bool) -> CheckReport:
    """restic < 0.18's ``check`` output (text, ``--json`` ignored) as a report.

    Every line that is not restic's progress or step heading is an error it found (an
    indented line continues the one before). ``exit_ok`` is whether restic exited 0; a check
    that exits non-zero is never ok, whatever its text says.
    """
    errors: list[str] = []
    packs_read: int | None = None
    packs_total: int | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        group = _READ_GROUP.match(line)
        if group:
            packs_read, packs_total = int(group[2]), int(group[3])
            continue
        if _READ_ALL.match(line):
            continue
        if _CHECK_NOISE.match(line.strip()):
            continue
        if raw.startswith((" ", "\t")) and errors:
            errors[-1] = f"{errors[-1]} {line.strip()}"
        else:
            errors.append(line.strip().removesuffix(":") if line.strip().endswith(":") else line.strip())
    if "Fatal: repository contains errors" in text and not errors:
        errors.append("repository contains errors")
    ok = exit_ok and not errors and "no errors were found" in text
    return CheckReport(ok=ok, errors=tuple(errors), packs_read=packs_read, packs_total=packs_total)


# -- the runner -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeepPolicy:
    """How many snapshots ``forget`` keeps per period (restic's --keep-* options); 0 = that rule off."""

    last: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0
    yearly: int = 0

    def options(self) -> tuple[str, ...]:
        words: list[str] = []
        for name in ("last", "daily", "weekly", "monthly", "yearly"):
            count = getattr(self, name)
            if count:
                words += [f"--keep-{name}", str(count)]
        if not words:
            raise ValueError("a keep policy that keeps nothing would forget every snapshot")
        return tuple(words)


@dataclass(frozen=True)
class StdinBackup:
    """A ``restic backup --stdin`` fed by producers: its summary and every member's result."""

    summary: BackupSummary
    result: ExecResult


@dataclass
class _Progress:
    callback: ProgressCallback | None
    errors: list[BackupItemError] = field(default_factory=list)

    def line(self, _stream: Stream, text: str) -> None:
        message = parse_backup_message(text)
        if isinstance(message, BackupStatus) and self.callback is not None:
            self.callback(message)


def _stdin_filename_ok(filename: str) -> str:
    if not filename or "/" in filename or filename in (".", ".."):
        raise ValueError(f"a --stdin-filename is one file name, not {filename!r}")
    return filename


class Restic:
    """restic bound to one repository (and optionally a host to run on).

    Every method runs restic once (``snapshots`` and ``forget`` included) and raises a
    :class:`ResticError` subclass when it fails. Secrets of the repository's environment are
    resolved at each call and handed to restic only through its environment.
    """

    def __init__(self, repository: Repository, *, restic: str = "restic", host: SshConnection | None = None,
                 timeout: float = 24 * 3600.0, cache_dir: Path | None = None,
                 version: ResticVersion | None = None) -> None:
        self.repository = repository
        self.restic = restic
        self.host = host
        self.timeout = timeout
        self.cache_dir = cache_dir
        self._version = version

    @property
    def location(self) -> str:
        return self.repository.location

    @property
    def version(self) -> ResticVersion:
        """restic's version (probed once per process and host, and per installed binary here)."""
        if self._version is None:
            self._version = probe_version(self.restic, host=self.host)
        return self._version

    def supports(self, capability: str) -> bool:
        return supports(self.version, capability)

    # -- plumbing

    def process_environment(self) -> tuple[dict[str, str], dict[str, str]]:
        """(env, secret_env) for a restic child, as ``execute`` takes them: this process's
        environment without restic's own variables plus the repository's plain ones, and the
        repository's secrets resolved now: for a local pipeline that holds a restic member."""
        plain, secret = self._environment()
        return {**_inherited(), **plain}, secret

    def _environment(self) -> tuple[dict[str, str], dict[str, str]]:
        """(plain, secret) environment for restic: references resolved now, never logged."""
        plain: dict[str, str] = {"RESTIC_REPOSITORY": self.repository.location}
        secret: dict[str, str] = {}
        for name, value in self.repository.environment.items():
            if isinstance(value, SecretRef):
                secret[name] = value.resolve()
            else:
                plain[name] = value
        if self.cache_dir is not None:
            plain["RESTIC_CACHE_DIR"] = str(self.cache_dir)
        return plain, secret

    def program(self, *args: str) -> Program:
        """The restic Program for ``args`` (the repository comes from the environment)."""
        return Program((self.restic, *args), restic_exit_codes(self.version.triple))

    def run(self, *args: str, action: str | None = None, command: Program | Pipeline | None = None,
            on_line: Callable[[Stream, str], None] | None = None, stdin: bytes | None = None,
            accept: Iterable[str] = (), timeout: float | None = None) -> ExecResult:
        """Run restic ``args`` (or ``command``, a pipeline ending in restic); raise its classified error.

        ``accept``: status names taken as success besides ``ok`` (``partial`` for a backup that
        could not read some files). Without ``command`` only restic's status decides.
        """
        plain, secret = self._environment()
        what = command if command is not None else self.program(*args)
        if self.host is None:
            result = execute(what, env={**_inherited(), **plain}, secret_env=secret, stdin=stdin,
                             on_line=on_line, timeout=timeout or self.timeout)
        else:
            result = execute(what, host=self.host, secret_env={**plain, **secret}, stdin=stdin,
                             on_line=on_line, timeout=timeout or self.timeout)
        restic_result = result.members[-1] if result.members else None
        status = restic_result.status_name if restic_result else result.status_name
        if result.timed_out or result.cancelled or (status != "ok" and status not in set(accept)):
            name = action or (args[0] if args else "backup")
            raise classify_failure(_restic_view(result), self.location, name)
        return result

    # -- repository

    def init(self, *, exist_ok: bool = True) -> bool:
        """Create the repository; return False when one is there already and ``exist_ok``."""
        if exist_ok:
            try:
                self.cat_config()
                return False
            except RepositoryMissing:
                pass
        self.run("init", action="init")
        return True

    def cat_config(self) -> dict[str, Any]:
        """The repository's config document (id, version, chunker polynomial)."""
        result = self.run("cat", "config", action="cat config")
        try:
            data = json.loads(result.stdout_text)
        except ValueError as error:
            raise ResticOutputError(f"restic cat config printed no JSON: {error}") from None
        return dict(data)

    def unlock(self) -> None:
        """``restic unlock``: remove the locks restic itself deems stale (never another's live lock)."""
        self.run("unlock", action="unlock")

    def list_locks(self) -> tuple[str, ...]:
        """The ids of the repository's lock files (read without taking a lock)."""
        result = self.run("list", "locks", "--no-lock", action="list locks")
        return tuple(line.strip() for line in result.stdout_text.splitlines() if line.strip())

    def cat_lock(self, lock_id: str) -> ResticLock:
        """One lock file's holder; raise :class:`ResticError` when it vanished meanwhile."""
        result = self.run("cat", "lock", lock_id, "--no-lock", action="cat lock")
        return parse_lock(lock_id, result.stdout_text)

    def stats(self, *, mode: str = "raw-data") -> RepositoryStats:
        """``restic stats --json --mode MODE`` (raw-data: the bytes the repository stores)."""
        result = self.run("stats", "--json", "--mode", mode, "--no-lock", action="stats")
        return parse_stats(result.stdout_text)

    def snapshots(self, *, tags: Sequence[str] = (), paths: Sequence[str] = ()) -> tuple[Snapshot, ...]:
        """The snapshots carrying every tag of ``tags`` (and one of ``paths``), oldest first."""
        args = ["snapshots", "--json", "--no-lock"]
        if tags:
            args += ["--tag", ",".join(tags)]
        for path in paths:
            args += ["--path", path]
        return parse_snapshots(self.run(*args, action="snapshots").stdout_text)

    # -- backup

    def _backup_args(self, *, tags: Sequence[str], parent: str | None, force: bool,
                     host: str | None) -> list[str]:
        args = ["backup", "--json"]
        for tag in tags:
            args += ["--tag", tag]
        if parent:
            args += ["--parent", parent]
        if force:
            args.append("--force")
        if host:
            args += ["--host", host]
        return args

    def backup(self, paths: Sequence[str], *, tags: Sequence[str] = (), parent: str | None = None,
               force: bool = False, host: str | None = None,
               on_progress: ProgressCallback | None = None) -> BackupSummary:
        """Back up ``paths``; return the summary (its ``errors``: items restic could not read).

        restic's ``partial`` (exit 3: a snapshot was made without some files) is returned, not
        raised, with those errors; the caller decides. A path that does not exist is NOT
        refused here (restic 0.14 skips it and exits 0): check sources before calling.
        """
        if not paths:
            raise ValueError("restic backup needs at least one path")
        progress = _Progress(on_progress)
        args = [*self._backup_args(tags=tags, parent=parent, force=force, host=host), "--", *paths]
        result = self.run(*args, action="backup", on_line=progress.line, accept=("partial",))
        return parse_backup_output(result.stdout_text, result.stderr_text)

    def backup_stdin(self, producers: Sequence[Program], filename: str, *, tags: Sequence[str] = (),
                     host: str | None = None, on_progress: ProgressCallback | None = None,
                     producer_secret_env: Mapping[str, str] | None = None) -> StdinBackup:
        """Back up what ``producers`` (a pipeline: ``pg_dump``, then filters) write, as ``filename``.

        Runs ``producers | restic backup --stdin`` through :func:`execute`, so every member's
        status is checked. When a producer failed or was cut short, the snapshot restic made of
        the short stream is forgotten at once and :class:`SourceFailed` is raised naming the
        producer: such a snapshot is never kept as good. ``producer_secret_env`` (a database
        password) joins restic's secret environment, as the pipeline shares one environment.
        """
        if not producers:
            raise ValueError("backup_stdin needs a producer")
        args = [*self._backup_args(tags=tags, parent=None, force=False, host=host),
                "--stdin", "--stdin-filename", _stdin_filename_ok(filename)]
        pipeline = Pipeline((*producers, self.program(*args)))
        progress = _Progress(on_progress)
        plain, secret = self._environment()
        secret = {**secret, **(producer_secret_env or {})}
        if self.host is None:
            result = execute(pipeline, env={**_inherited(), **plain}, secret_env=secret,
                             on_line=progress.line, timeout=self.timeout)
        else:
            result = execute(pipeline, host=self.host, secret_env={**plain, **secret},
                             on_line=progress.line, timeout=self.timeout)
        restic_member = result.members[-1]
        summary: BackupSummary | None = None
        if restic_member.ok:
            try:
                summary = parse_backup_output(result.stdout_text, result.stderr_text)
            except ResticOutputError:
                summary = None
        if not restic_member.ok and result.failed_member is restic_member:
            # restic failed first (a wrong password...): the producers only lost their reader
            raise classify_failure(_restic_view(result), self.location, "backup --stdin")
        failed_producer = next((m for m in result.members[:-1] if not m.ok), None)
        if failed_producer is not None or result.timed_out or result.cancelled:
            removed = None
            if summary is not None:
                self.forget((summary.snapshot_id,))
                removed = summary.snapshot_id
            name = os.path.basename(failed_producer.argv[0]) if failed_producer else "the producer"
            status = _member_status(failed_producer) if failed_producer else result.status_name
            said = _producer_reason(result.stderr_text, name)
            text = f"{name} for {filename} {status}{': ' + said if said else ''}"
            text += f"; snapshot {removed[:8]} removed" if removed else "; no snapshot kept"
            raise SourceFailed(text, removed_snapshot=removed, location=self.location)
        if not restic_member.ok:
            raise classify_failure(_restic_view(result), self.location, "backup --stdin")
        if summary is None:
            raise ResticOutputError(f"restic repository {self.location}: backup --stdin printed no summary")
        return StdinBackup(summary, result)

    def backup_bytes(self, data: bytes, filename: str, *, tags: Sequence[str] = (),
                     host: str | None = None) -> BackupSummary:
        """Back up ``data`` (a small document: a manifest) as ``filename`` through restic's stdin."""
        args = [*self._backup_args(tags=tags, parent=None, force=False, host=host),
                "--stdin", "--stdin-filename", _stdin_filename_ok(filename)]
        result = self.run(*args, action="backup --stdin", stdin=data)
        return parse_backup_output(result.stdout_text, result.stderr_text)

    def dump(self, snapshot: str, path: str) -> bytes:
        """The content of the file ``path`` in ``snapshot`` (``restic dump``)."""
        return self.run("dump", "--no-lock", snapshot, path, action="dump").stdout

    # -- retention

    def forget(self, snapshot_ids: Sequence[str], *, prune: bool = False) -> None:
        """Forget the snapshots ``snapshot_ids`` (and prune their data with ``prune``)."""
        if not snapshot_ids:
            return
        self.run("forget", *(["--prune"] if prune else []), *snapshot_ids, action="forget")

    def forget_policy(self, keep: KeepPolicy, *, tags: Sequence[str], prune: bool = True,
                      group_by: str = "host,paths") -> tuple[str, ...]:
        """Apply ``keep`` to the snapshots carrying ``tags`` (grouped by host and paths, so each
        database dump and the path set keep their own history); return the removed ids."""
        args = ["forget", "--json", *keep.options(), "--group-by", group_by]
        if tags:
            args += ["--tag", ",".join(tags)]
        if prune:
            args.append("--prune")
        result = self.run(*args, action="forget")
        return parse_forget_removed(result.stdout_text)

    # -- verification and copies

    def check(self, *, read_data_subset: str | None = None) -> CheckReport:
        """``restic check`` (reading ``read_data_subset``, "n/m" or "p%", of the data when given).

        restic < 0.18 ignores ``--json`` for check: its text is parsed (parse_check_text),
        which serves every version. A check that finds errors returns a report that is not
        ok; a check that cannot run (locked, wrong password) raises.
        """
        args = ["check"]
        if read_data_subset:
            args.append(f"--read-data-subset={read_data_subset}")
        result = self.run(*args, action="check", accept=("failed",))
        text = result.stdout_text + "\n" + result.stderr_text
        restic_status = result.members[-1].status_name if result.members else result.status_name
        if restic_status != "ok" and "repository contains errors" not in text:
            raise classify_failure(result, self.location, "check")
        report = parse_check_text(text, exit_ok=restic_status == "ok")
        return CheckReport(report.ok, report.errors, read_data_subset, report.packs_read, report.packs_total)

    def ls(self, snapshot: str, paths: Sequence[str] = (), *, recursive: bool = False) -> tuple[str | None, tuple[Node, ...]]:
        """The nodes of ``snapshot`` (each of ``paths`` and what it holds directly; all below it with
        ``recursive``; the whole snapshot without ``paths``) and the snapshot's full id."""
        args = ["ls", "--json", "--no-lock", *(["--recursive"] if recursive else []), snapshot, *paths]
        return parse_ls(self.run(*args, action="ls").stdout_text)

    def restore(self, snapshot: str, target: Path | str, *, include: Sequence[str] = ()) -> RestoreSummary:
        """Restore ``snapshot`` (an id or ``latest``) into ``target``, only ``include`` when given."""
        args = ["restore", snapshot, "--target", str(target)]
        for pattern in include:
            args += ["--include", pattern]
        if self.supports("restore_json"):
            args.append("--json")
        result = self.run(*args, action="restore")
        if self.supports("restore_json"):
            return parse_restore_json(result.stdout_text, snapshot, str(target))
        return parse_restore_text(result.stdout_text)

    def copy(self, source: Repository, *, snapshot_ids: Sequence[str] = (), tags: Sequence[str] = ()) -> None:
        """Copy snapshots from ``source`` into this repository (``restic copy --from-repo``).

        ``source``'s ``RESTIC_PASSWORD`` is handed over as ``RESTIC_FROM_PASSWORD``; restic
        < 0.14 (``--repo2``) is refused.
        """
        if not self.supports("copy_from_repo"):
            raise ResticError(f"restic {self.version} has no copy --from-repo (0.14 or newer needed)")
        args = ["copy", "--from-repo", source.location]
        if tags:
            args += ["--tag", ",".join(tags)]
        args += list(snapshot_ids)
        source_env = {("RESTIC_FROM_PASSWORD" if name == "RESTIC_PASSWORD" else name): value
                      for name, value in source.environment.items()
                      if name == "RESTIC_PASSWORD" or name not in self.repository.environment}
        from backup.targets import Repository as _Repository

        merged = Restic(_Repository(self.location, {**self.repository.environment, **source_env}),
                        restic=self.restic, host=self.host, timeout=self.timeout, cache_dir=self.cache_dir,
                        version=self._version)
        merged.run(*args, action="copy")


def parse_forget_removed(text: str) -> tuple[str, ...]:
    """The ids of the snapshots ``restic forget --json`` removed (its groups' ``remove`` lists)."""
    try:  # with --prune, prune's text report follows the JSON document on stdout
        groups, _end = json.JSONDecoder().raw_decode(text.lstrip() or "[]")
    except ValueError:
        raise ResticOutputError("restic forget printed no JSON") from None
    removed: list[str] = []
    for group in groups or ():
        for item in group.get("remove") or ():
            removed.append(str(item.get("id")))
    return tuple(removed)


#: restic reads these from its environment; inherited from the operator's shell they would
#: override or clash with the repository's own (restic refuses a password given twice)
_RESTIC_OWN_VARIABLES = ("RESTIC_REPOSITORY", "RESTIC_REPOSITORY_FILE", "RESTIC_PASSWORD", "RESTIC_PASSWORD_FILE",
                         "RESTIC_PASSWORD_COMMAND", "RESTIC_FROM_REPOSITORY", "RESTIC_FROM_PASSWORD",
                         "RESTIC_FROM_PASSWORD_FILE", "RESTIC_FROM_PASSWORD_COMMAND", "RESTIC_CACHE_DIR")


def _inherited() -> dict[str, str]:
    """This process's environment without restic's own variables (the repository sets those)."""
    return {name: value for name, value in os.environ.items() if name not in _RESTIC_OWN_VARIABLES}


def _restic_view(result: ExecResult) -> ExecResult:
    """A pipeline's result seen as restic's own (its status), for :func:`classify_failure`."""
    if not result.members:
        return result
    last = result.members[-1]
    return replace(result, argv=last.argv, exit_status=last.exit_status, status_name=last.status_name,
                   members=())


def _member_status(member: MemberResult) -> str:
    """How a pipeline member ended, for a message: ``exited 1 (failed)``, ``was killed by SIGKILL``."""
    status = member.exit_status
    if status is None:
        return member.status_name.replace("_", " ")
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited {status} ({member.status_name})"


def _producer_reason(stderr: str, name: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith(f"{name}:")]
    line = lines[-1] if lines else ""
    return line if len(line) <= 160 else line[:157] + "..."


__all__ = [
    "CAPABILITIES",
    "BackupItemError",
    "BackupStatus",
    "BackupSummary",
    "Capability",
    "CheckReport",
    "KeepPolicy",
    "LockHolderText",
    "RepositoryLocked",
    "RepositoryMissing",
    "RepositoryStats",
    "RepositoryUnreachable",
    "RepositoryWrongPassword",
    "Restic",
    "ResticError",
    "ResticLock",
    "ResticOutputError",
    "ResticVersion",
    "RestoreSummary",
    "Snapshot",
    "SourceFailed",
    "StdinBackup",
    "capabilities",
    "classify_failure",
    "parse_backup_message",
    "parse_backup_output",
    "parse_check_text",
    "parse_forget_removed",
    "parse_lock",
    "parse_lock_holder",
    "parse_restore_text",
    "parse_snapshots",
    "parse_stats",
    "parse_version",
    "probe_version",
    "supports",
    "version_cache_file",
]
