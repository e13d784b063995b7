"""``opsctl backup run``: one policy's full or incremental run, recorded, audited and published.

:func:`run_policy` holds the policy's named lock (a second run is refused, exit 5), checks
the sources before restic runs (a missing path fails the run: restic 0.14 would skip it and
exit 0), backs up the paths (full: ``--force``; incremental: the policy's last good paths
snapshot as ``--parent``), dumps each PostgreSQL database into its own snapshot
(:mod:`backup.postgres`), captures Orthanc's storage and index (:mod:`backup.orthanc`: stopped,
copied and started again with the SQLite index), and stores the run's manifest in the
repository (tag ``manifest``, so a drill from the off-site copy verifies without the
controller): inside the paths snapshot when the policy has paths (written to
``STATE_DIR/backup-manifest/POLICY/`` and backed up in the same restic call, so a run makes no
restic call beyond its sources'; the dumps and Orthanc run first so the manifest names them),
else as a snapshot of its own. A PACS a killed run left stopped is started first (and said).
On
a full run reads back the next part of the data (``check --read-data-subset n/m``, rotating
through the state store). Every snapshot is tagged ``opsctl``, ``policy=NAME``,
``kind=full|incremental`` and ``run=ID``. A restic lock whose holder is gone (same host, dead
pid) is removed and the step retried once; a live holder fails the run naming it.

The run is recorded in the state store (:mod:`backup.queries`) and the audit log (through the
recorder), and the policy's metrics file is written on every exit path: success, failure,
interruption and misconfiguration (:func:`run_backup`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from backup import queries
from backup.metrics import PolicyMetrics, write_policy_metrics
from backup.repositories import repository_for
from backup.restic import (
    BackupStatus,
    BackupSummary,
    CheckReport,
    KeepPolicy,
    RepositoryLocked,
    Restic,
    ResticError,
    ResticLock,
)
from backup.settings import (
    BUILTIN_POLICY,
    NAME_PATTERN,
    PolicySettings,
    PostgresSource,
    backup_settings,
    policy,
)
from opsctl.core import prefetch
from opsctl.core.errors import ExitCode, LockHeld, OpsctlError
from opsctl.core.outcome import Outcome

if TYPE_CHECKING:
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings
    from opsctl.core.state import StateStore

T = TypeVar("T")
MANIFEST_FILENAME = "opsctl-manifest.json"
MANIFEST_SCHEMA = "opsctl.backup-manifest/v1"
RUN_SCHEMA = "backup-run"  # opsctl.backup-run/v1


@dataclass(frozen=True)
class BackupProgress:
    """A progress event for people: the step (``paths``, ``postgres:DB``, ``manifest``, ``check``) and restic's status."""

    step: str
    status: BackupStatus | None = None
    message: str | None = None


ProgressHandler = Callable[[BackupProgress], None]


@dataclass(frozen=True)
class SnapshotTaken:
    """One snapshot a run made: its source, id, and what it added."""

    source: str
    snapshot_id: str
    bytes_added: int
    files: int
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "snapshot_id": self.snapshot_id, "bytes_added": self.bytes_added,
                "files": self.files, "errors": list(self.errors)}


@dataclass(frozen=True)
class BackupRunResult:
    """What one run did. ``exit_code`` follows DESIGN.md (0 ok, 1 failed, 3 partial, 5 refused)."""

    policy: str
    run_id: str
    kind: str
    repository: str | None
    outcome: Outcome
    started_at: datetime
    finished_at: datetime
    snapshots: tuple[SnapshotTaken, ...] = ()
    manifest_snapshot: str | None = None
    manifest: Mapping[str, Any] | None = None
    check: CheckReport | None = None
    error: str | None = None
    removed_stale_locks: tuple[str, ...] = ()
    pacs_restarted: tuple[str, ...] = ()
    interrupted_runs: tuple[str, ...] = ()
    metrics_file: Path | None = None
    offsite_copy: Mapping[str, Any] | None = None  # copy_after_run: the copy's result (backup.offsite)

    @property
    def exit_code(self) -> int:
        if self.offsite_copy is not None and self.offsite_copy.get("exit_code"):
            return int(ExitCode.FAILED)  # the snapshots are good here, but not off-site as asked
        return {Outcome.OK: ExitCode.OK, Outcome.PARTIAL: ExitCode.PARTIAL}.get(self.outcome, ExitCode.FAILED)

    @property
    def bytes_added(self) -> int:
        return sum(snapshot.bytes_added for snapshot in self.snapshots)

    @property
    def files(self) -> int:
        return sum(snapshot.files for snapshot in self.snapshots)

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy, "run_id": self.run_id, "kind": self.kind, "repository": self.repository,
            "outcome": str(self.outcome), "exit_code": int(self.exit_code),
            "started_at": self.started_at.isoformat(), "finished_at": self.finished_at.isoformat(),
            "duration_seconds": round(self.duration_seconds, 3), "bytes_added": self.bytes_added,
            "files": self.files, "snapshots": [s.to_dict() for s in self.snapshots],
            "manifest_snapshot": self.manifest_snapshot,
            "check": self.check.to_dict() if self.check else None, "error": self.error,
            "removed_stale_locks": list(self.removed_stale_locks),
            "pacs_restarted": list(self.pacs_restarted),
            "interrupted_runs": list(self.interrupted_runs),
            "metrics_file": str(self.metrics_file) if self.metrics_file else None,
            "offsite_copy": dict(self.offsite_copy) if self.offsite_copy is not None else None,
        }


class SourceMissing(OpsctlError, FileNotFoundError):
    """A policy's source path does not exist: the run fails before restic runs."""


def keep_policy(policy_settings: PolicySettings) -> KeepPolicy:
    """The policy's ``keep`` settings as restic's forget options (for ``Restic.forget_policy``)."""
    keep = policy_settings.keep
    return KeepPolicy(last=keep.last, daily=keep.daily, weekly=keep.weekly, monthly=keep.monthly,
                      yearly=keep.yearly)


def new_run_id(now: datetime) -> str:
    """A run id: its UTC start and a random suffix (``20261205T054400Z-3fa9c1``)."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def run_tags(policy_name: str, kind: str, run_id: str, *extra: str) -> tuple[str, ...]:
    """The tags of every snapshot of a run (pure)."""
    return ("opsctl", f"policy={policy_name}", f"kind={kind}", f"run={run_id}", *extra)


def missing_paths(paths: Sequence[Path]) -> tuple[Path, ...]:
    """The paths that do not exist (a dangling symlink counts as missing)."""
    return tuple(path for path in paths if not path.exists())


def stale_locks(locks: Sequence[ResticLock], *, hostname: str, pid_alive: Callable[[int], bool]) -> tuple[str, ...]:
    """The ids of ``locks`` whose holder is gone: held on this host by a process that no longer runs.

    A lock of another host is never stale here (its holder cannot be seen); pure given ``pid_alive``.
    """
    return tuple(lock.id for lock in locks if lock.hostname == hostname and not pid_alive(lock.pid))


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (a zombie counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[:1] != [b"Z"]
    except OSError:
        return True


class _Run:
    """One run's working state (not part of the API)."""

    def __init__(self, settings: Settings, policy_name: str, policy_settings: PolicySettings, *, full: bool,
                 store: StateStore, on_progress: ProgressHandler | None, now: Callable[[], datetime],
                 restic: Restic, repository_name: str) -> None:
        self.settings = settings
        self.name = policy_name
        self.policy = policy_settings
        self.kind = "full" if full else "incremental"
        self.store = store
        self.on_progress = on_progress
        self.now = now
        self.restic = restic
        self.repository_name = repository_name
        self.snapshots: list[SnapshotTaken] = []
        self.removed_locks: list[str] = []
        self.partial = False
        self.pacs_downtime_seconds: float | None = None
        self.started_at = now()
        self.run_id = new_run_id(self.started_at)

    def tags(self, *extra: str) -> tuple[str, ...]:
        return run_tags(self.name, self.kind, self.run_id, *extra)

    def progress(self, step: str) -> Callable[[BackupStatus], None] | None:
        handler = self.on_progress
        if handler is None:
            return None
        return lambda status: handler(BackupProgress(step, status))

    def say(self, step: str, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(BackupProgress(step, None, message))

    def retry_unlocked(self, action: Callable[[], T]) -> T:
        """Run ``action``; when a lock blocks it and every holder is gone, remove them and retry once."""
        try:
            return action()
        except RepositoryLocked:
            locks = [self.restic.cat_lock(lock_id) for lock_id in self.restic.list_locks()]
            stale = stale_locks(locks, hostname=socket.gethostname(), pid_alive=pid_alive)
            if not stale or len(stale) < len(locks):
                raise
            self.say("lock", f"removing {len(stale)} stale restic lock(s) of dead processes on this host")
            self.restic.unlock()
            self.removed_locks.extend(stale)
            return action()

    def record(self, source: str, summary: BackupSummary) -> SnapshotTaken:
        taken = SnapshotTaken(source, summary.snapshot_id, summary.data_added, summary.total_files_processed,
                              tuple(f"{e.item}: {e.message}" for e in summary.errors))
        self.snapshots.append(taken)
        return taken

    def mark_good(self, taken: SnapshotTaken) -> None:
        queries.record_snapshot(self.store, queries.SnapshotRow(
            taken.snapshot_id, self.repository_name, self.name, self.run_id, self.kind, taken.source,
            self.now(), taken.bytes_added, taken.files))


@contextlib.contextmanager
def _state_copy(settings: Settings) -> Iterator[Path | None]:
    """A consistent copy of an SQLite state store (the backup API), in a fixed staging path so
    successive runs see the same path (restic's parent matching); removed afterwards."""
    url = settings.state.database_url
    if not url.startswith("sqlite:///"):
        yield None
        return
    source = Path(url.removeprefix("sqlite:///"))
    staging = settings.state_dir / "backup-staging"
    staging.mkdir(parents=True, exist_ok=True)
    copy = staging / "state.db"
    with contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as origin, \
            contextlib.closing(sqlite3.connect(copy)) as target:
        origin.backup(target)
    try:
        yield copy
    finally:
        copy.unlink(missing_ok=True)


def _postgres_state_source(settings: Settings) -> PostgresSource | None:
    """The state store as a PostgreSQL source for the built-in policy (None for SQLite)."""
    url = settings.state.database_url
    if url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return PostgresSource(host=parsed.host or "localhost", port=parsed.port or 5432,
                          database=parsed.database or "opsctl", user=parsed.username or "opsctl",
                          password=settings.state.password)


def _paths_step(run: _Run, paths: Sequence[Path], *extra_tags: str) -> SnapshotTaken:
    parent = None
    if run.kind == "incremental":
        previous = queries.latest_good_snapshot(run.store, run.name, run.repository_name, source="paths")
        parent = previous.snapshot_id if previous is not None else None
    summary = run.retry_unlocked(lambda: run.restic.backup(
        [str(path) for path in paths], tags=run.tags(*extra_tags), parent=parent, force=run.kind == "full",
        on_progress=run.progress("paths")))
    taken = run.record("paths", summary)
    if summary.errors:
        run.partial = True  # restic's exit 3: the snapshot lacks what it could not read
    else:
        run.mark_good(taken)
    return taken


def manifest_dir(settings: Settings, policy_name: str) -> Path:
    """Where a run writes its manifest before backing it up with the paths (a stable path, so
    restic's parent snapshot matches it)."""
    return settings.state_dir / "backup-manifest" / policy_name


def manifest_path_in(paths: Sequence[str], policy_name: str) -> str:
    """Where the manifest lies inside a manifest snapshot whose paths are ``paths`` (pure):
    ``/opsctl-manifest.json`` in a snapshot of its own, else in the paths snapshot's
    ``.../backup-manifest/POLICY`` directory. Raise ValueError when it holds none."""
    if tuple(paths) == (f"/{MANIFEST_FILENAME}",):
        return f"/{MANIFEST_FILENAME}"
    suffix = f"/backup-manifest/{policy_name}"
    for path in paths:
        if path.endswith(suffix):
            return f"{path}/{MANIFEST_FILENAME}"
    raise ValueError(f"no manifest of policy {policy_name} among the snapshot's paths {list(paths)[:3]}")


def _write_manifest(run: _Run, manifest: Mapping[str, Any]) -> Path:
    directory = manifest_dir(run.settings, run.name)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / MANIFEST_FILENAME
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)
    return directory


def _orthanc_step(run: _Run) -> dict[str, Any]:
    from backup.orthanc import capture_orthanc

    source = run.policy.orthanc
    assert source is not None
    capture = run.retry_unlocked(lambda: capture_orthanc(
        run.restic, source, policy=run.name, run_id=run.run_id, state_dir=run.settings.state_dir,
        tags=run.tags(), on_progress=run.progress("orthanc"), say=lambda text: run.say("orthanc", text),
        on_downtime=lambda seconds: setattr(run, "pacs_downtime_seconds", seconds), clock=run.now))
    if capture.index_summary is not None:  # the PostgreSQL index's dump, taken before the storage
        run.mark_good(run.record("orthanc-index", capture.index_summary))
    run.mark_good(run.record("orthanc", capture.summary))
    return capture.manifest_entry(source)


def _postgres_step(run: _Run, source: PostgresSource) -> dict[str, Any]:
    from backup.postgres import dump_database

    step = f"postgres:{source.database}"
    record = run.retry_unlocked(lambda: dump_database(
        run.restic, source, tags=run.tags(f"database={source.database}"), on_progress=run.progress(step)))
    run.mark_good(run.record(step, record.summary))
    return record.manifest_entry()


def _check_step(run: _Run) -> CheckReport:
    parts = run.policy.read_subset_parts
    part = queries.take_read_part(run.store, run.name, run.repository_name, parts)
    subset = f"{part}/{parts}"
    run.say("check", f"restic check --read-data-subset {subset}")
    started = run.now()
    report = run.retry_unlocked(lambda: run.restic.check(read_data_subset=subset))
    queries.record_check(run.store, queries.CheckRow(
        run.repository_name, run.name, run.run_id, started, run.now(), subset,
        "ok" if report.ok else "failed", report.errors))
    return report


def _manifest(run: _Run, dumps: Sequence[Mapping[str, Any]], orthanc: Mapping[str, Any] | None) -> dict[str, Any]:
    return {
        "schema": MANIFEST_SCHEMA, "policy": run.name, "run_id": run.run_id, "kind": run.kind,
        "created_at": run.now().isoformat(), "controller": socket.gethostname(),
        "repository": run.repository_name,
        "versions": {"opsctl": _opsctl_version(), "restic": str(run.restic.version)},
        "snapshots": [s.to_dict() for s in run.snapshots],
        "paths": [str(path) for path in run.policy.paths],
        "dumps": list(dumps),
        "orthanc": dict(orthanc) if orthanc is not None else None,
    }


def _opsctl_version() -> str:
    """opsctl's version (``opsctl.core.version``, which the package's metadata is built from).

    Not ``importlib.metadata.version``: reading the installed METADATA costs 5-10 ms before restic starts.
    """
    from opsctl.core.version import VERSION

    return VERSION


def run_policy(settings: Settings, policy_name: str, *, full: bool, store: StateStore, recorder: Recorder,
               on_progress: ProgressHandler | None = None, now: Callable[[], datetime] | None = None,
               restic: Restic | None = None) -> BackupRunResult:
    """Run the policy ``policy_name`` once (``full`` or incremental); return what it did.

    Raise :class:`~opsctl.core.errors.LockHeld` (exit 5) when another run of the policy holds
    its lock, :class:`~opsctl.core.errors.ConfigError` / ``SecretError`` (exit 2) for an
    unknown policy or an unresolvable secret, and ``AuditError`` when the run could not be
    recorded; every other failure is the result's ``outcome`` ``failed`` with a one-line
    ``error``. The metrics file is written on every path (a refused second run excepted: the
    run holding the lock writes it). ``restic`` replaces the runner built from the settings.
    """
    clock = now or (lambda: datetime.now(UTC))
    section = backup_settings(settings)
    started = clock()
    prefetch.later("prometheus_client")  # the metrics file, written once restic is done
    try:
        chosen = policy(settings, policy_name)
        repository_name = chosen.repository
        repository = repository_for(settings, repository_name)
        _check_secrets(repository.environment.values(), chosen)
        bound = restic or Restic(repository, restic=section.restic, cache_dir=section.cache_dir)
    except BaseException as error:
        publish_failure(settings, policy_name, started=started, finished=clock(), error=error, store=store)
        raise
    recorder.check()
    with store.lock(f"backup:{policy_name}", purpose=f"backup run of {policy_name}"):
        run = _Run(settings, policy_name, chosen, full=full, store=store, on_progress=on_progress, now=clock,
                   restic=bound, repository_name=repository_name)
        result = _run_locked(run, recorder)
    if chosen.copy_after_run and result.outcome == Outcome.OK:  # the off-site hook (backup.offsite)
        from backup.offsite import copy_policy

        try:
            copied = copy_policy(settings, policy_name, store=store, recorder=recorder, now=clock).to_dict()
        except OpsctlError as failure:
            copied = {"outcome": "failed", "exit_code": int(ExitCode.FAILED), "error": failure.message}
        result = BackupRunResult(**{**result.__dict__, "offsite_copy": copied})
    return result


def _check_secrets(values: Iterable[object], chosen: PolicySettings) -> None:
    """Raise SecretError (exit 2) now for a secret the run would need and cannot read."""
    from opsctl.core.secrets import SecretRef

    references = [value for value in values if isinstance(value, SecretRef)]
    references += [source.password for source in chosen.postgres if source.password is not None]
    for reference in references:
        reference.check()


def _run_locked(run: _Run, recorder: Recorder) -> BackupRunResult:
    interrupted = queries.interrupt_stale_runs(run.store, run.name, finished_at=run.started_at)
    from backup.orthanc import restore_stopped

    restarted = tuple(restore_stopped(run.settings.state_dir))
    for sentence in restarted:
        run.say("orthanc", sentence)
    queries.begin_run(run.store, run_id=run.run_id, policy=run.name, kind=run.kind,
                      repository=run.repository_name, started_at=run.started_at)
    error: str | None = None
    check: CheckReport | None = None
    manifest: dict[str, Any] | None = None
    manifest_snapshot: str | None = None
    outcome = Outcome.FAILED
    finished = run.started_at
    stopped: BaseException | None = None
    try:
        missing = missing_paths(run.policy.paths) if not run.policy.state_store else ()
        if missing:
            raise SourceMissing(f"policy {run.name}: source path {missing[0]} does not exist"
                                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        dumps: list[dict[str, Any]] = []
        for source in run.policy.postgres:
            dumps.append(_postgres_step(run, source))
        state_source = _postgres_state_source(run.settings) if run.policy.state_store else None
        if state_source is not None:
            dumps.append(_postgres_step(run, state_source))
        orthanc = _orthanc_step(run) if run.policy.orthanc is not None else None
        with _state_copy(run.settings) if run.policy.state_store else contextlib.nullcontext() as state_copy:
            paths = [path for path in run.policy.paths if path.exists()] if run.policy.state_store \
                else list(run.policy.paths)
            if state_copy is not None:
                paths.append(state_copy)
            manifest = _manifest(run, dumps, orthanc)
            if paths:
                paths.append(_write_manifest(run, manifest))
                manifest_snapshot = _paths_step(run, paths, "manifest").snapshot_id
            else:
                document = manifest
                summary = run.retry_unlocked(lambda: run.restic.backup_bytes(
                    json.dumps(document, indent=2, sort_keys=True).encode(), MANIFEST_FILENAME,
                    tags=run.tags("manifest")))
                manifest_snapshot = summary.snapshot_id
                run.mark_good(run.record("manifest", summary))
        if run.kind == "full":
            check = _check_step(run)
            if not check.ok:
                raise ResticError(f"restic repository {run.restic.location}: check of part "
                                  f"{check.read_data_subset} found {len(check.errors)} error(s): "
                                  f"{(check.errors or ('see restic check',))[0]}")
        outcome = Outcome.PARTIAL if run.partial else Outcome.OK
        if run.partial:
            error = "; ".join(e for s in run.snapshots for e in s.errors)[:500]
    except OpsctlError as failure:
        error = failure.message
    except BaseException as failure:  # Ctrl-C, SIGTERM: recorded as failed, then passed on
        stopped = failure
        error = f"interrupted ({type(failure).__name__})"
    finally:
        finished = run.now()
        result = BackupRunResult(
            policy=run.name, run_id=run.run_id, kind=run.kind, repository=run.repository_name, outcome=outcome,
            started_at=run.started_at, finished_at=finished, snapshots=tuple(run.snapshots),
            manifest_snapshot=manifest_snapshot, manifest=manifest, check=check, error=error,
            removed_stale_locks=tuple(run.removed_locks), pacs_restarted=restarted, interrupted_runs=interrupted)
        queries.finish_run(run.store, run_id=run.run_id, finished_at=finished, outcome=str(outcome),
                           snapshot_ids=[s.snapshot_id for s in run.snapshots], bytes_added=result.bytes_added,
                           files=result.files, duration_seconds=result.duration_seconds, error=error,
                           manifest=manifest)
        metrics_file = _publish(run, result)
        result = BackupRunResult(**{**result.__dict__, "metrics_file": metrics_file})
        recorder.record("backup run", [run.name], str(outcome), {
            "run_id": run.run_id, "kind": run.kind, "repository": run.repository_name,
            "snapshots": [s.snapshot_id for s in run.snapshots], "manifest_snapshot": manifest_snapshot,
            "bytes_added": result.bytes_added, "error": error})
    if stopped is not None:
        raise stopped
    return result


def _publish(run: _Run, result: BackupRunResult) -> Path | None:
    from backup.offsite import offsite_fields

    section = backup_settings(run.settings)
    last_success = queries.last_success(run.store, run.name)
    latest = queries.latest_good_snapshot(run.store, run.name, run.repository_name)
    last_check = queries.last_check(run.store, run.repository_name)
    metrics = PolicyMetrics(
        policy=run.name, run_finished=result.finished_at, run_ok=result.outcome == Outcome.OK,
        run_duration_seconds=result.duration_seconds, added_bytes=result.bytes_added, files=result.files,
        last_success=last_success.finished_at if last_success else None, repository=run.repository_name,
        latest_snapshot=latest.taken_at if latest else None,
        rpo_seconds=run.policy.objectives.rpo.total_seconds(),
        last_check_ok=(last_check.outcome == "ok") if last_check else None,
        pacs_downtime_seconds=run.pacs_downtime_seconds,
        **offsite_fields(run.store, run.name, run.policy))
    try:
        return write_policy_metrics(section.textfile_dir, metrics)
    except OSError:
        return None  # the run's own outcome stands; status shows the metrics are stale


def publish_failure(settings: Settings | None, policy_name: str, *, started: datetime, finished: datetime,
                    error: BaseException, textfile_dir: Path | None = None,
                    store: StateStore | None = None) -> Path | None:
    """Write the failure metrics of a run that could not start (misconfiguration); return the file.

    Nothing is written for a policy name that is not a valid one (it names no file) or when
    the directory cannot be written. ``textfile_dir`` overrides the settings' (for a
    configuration that did not load at all).
    """
    import re

    if isinstance(error, LockHeld) or re.match(NAME_PATTERN, policy_name) is None:
        return None
    directory = textfile_dir
    if directory is None:
        directory = backup_settings(settings).textfile_dir if settings is not None else None
    if directory is None:
        return None
    from backup.metrics import metrics_path, published_timestamp

    # the last success the policy's file already publishes (kept when no store can be read)
    last_success = published_timestamp(metrics_path(directory, policy_name),
                                       "opsctl_backup_last_success_timestamp_seconds")
    if store is not None:
        with contextlib.suppress(OpsctlError):
            row = queries.last_success(store, policy_name)
            last_success = row.finished_at if row else None
    metrics = PolicyMetrics(policy=policy_name, run_finished=finished, run_ok=False,
                            run_duration_seconds=(finished - started).total_seconds(), last_success=last_success)
    try:
        return write_policy_metrics(directory, metrics)
    except OSError:
        return None


def textfile_dir_of(config_file: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """Where metrics go when the configuration does not load: ``OPSCTL_BACKUP__TEXTFILE_DIR``,
    else ``backup.textfile_dir`` read leniently from the files, else the default."""
    from backup.settings import DEFAULT_TEXTFILE_DIR
    from opsctl.core.paths import SYSTEM_CONFIG_FILE, user_config_file

    environ = os.environ if environ is None else environ
    if environ.get("OPSCTL_BACKUP__TEXTFILE_DIR"):
        return Path(environ["OPSCTL_BACKUP__TEXTFILE_DIR"])
    found: Path | None = None
    for path in (SYSTEM_CONFIG_FILE, user_config_file(), config_file):
        if path is None or not path.is_file():
            continue
        with contextlib.suppress(Exception):  # a file that does not parse says nothing here
            from ruamel.yaml import YAML

            data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
            value = data.get("backup", {}).get("textfile_dir") if isinstance(data, dict) else None
            if isinstance(value, str) and value:
                found = Path(value)
    return found or DEFAULT_TEXTFILE_DIR


def run_backup(policy_name: str, *, settings: Callable[[], Settings], full: bool, recorder: Recorder,
               on_progress: ProgressHandler | None = None, config_file: Path | None = None) -> BackupRunResult:
    """The CLI's entry: load the settings, open the state store, :func:`run_policy`.

    A configuration that does not load (or a policy that does not resolve) still writes the
    policy's failure metrics before its error is raised (exit 2), so alerting sees it.
    """
    from opsctl.core.state import open_state

    started = datetime.now(UTC)
    try:
        loaded = settings()
    except BaseException as error:
        publish_failure(None, policy_name, started=started, finished=datetime.now(UTC), error=error,
                        textfile_dir=textfile_dir_of(config_file))
        raise
    try:
        store = open_state(loaded)
    except BaseException as error:
        publish_failure(loaded, policy_name, started=started, finished=datetime.now(UTC), error=error)
        raise
    with store:
        return run_policy(loaded, policy_name, full=full, store=store, recorder=recorder, on_progress=on_progress)


def init_repository(settings: Settings, repository_name: str, *, recorder: Recorder) -> bool:
    """Create the repository ``repository_name`` (``restic init``) unless it exists; return whether it was created."""
    section = backup_settings(settings)
    restic = Restic(repository_for(settings, repository_name), restic=section.restic, cache_dir=section.cache_dir)
    created = restic.init(exist_ok=True)
    if created:
        recorder.record("backup init", [repository_name], "changed", {"location": restic.location})
    return created


__all__ = [
    "BUILTIN_POLICY",
    "MANIFEST_FILENAME",
    "MANIFEST_SCHEMA",
    "BackupProgress",
    "BackupRunResult",
    "SnapshotTaken",
    "SourceMissing",
    "init_repository",
    "keep_policy",
    "manifest_dir",
    "manifest_path_in",
    "missing_paths",
    "new_run_id",
    "pid_alive",
    "publish_failure",
    "run_backup",
    "run_policy",
    "run_tags",
    "stale_locks",
    "textfile_dir_of",
]
