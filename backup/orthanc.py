"""The Orthanc hook: Orthanc's storage and index captured consistently, as Orthanc's own
documentation asks, with the PACS's downtime bounded, measured and always ended.

With the default SQLite index (``index: sqlite``) :func:`capture_orthanc` reads Orthanc's
counts (REST ``/statistics``), writes a *stopped marker* in the state directory ("PACS stopped
by run X at T, start it with ..."), runs the policy's ``stop_command``, backs up the storage
and index directories in one snapshot (tag ``orthanc``), and runs ``start_command`` on every
way out (``finally``: a failure, Ctrl-C, SIGTERM turned into an exception by the CLI). A
SIGKILL cannot be caught: for that :func:`capture_orthanc` forks a watchdog
(``python -m backup.orthanc_watchdog --watch MARKER``, a session of its own) that polls the
run's process and, if it dies while the marker is still there, runs the start command and
removes the marker. The next ``backup run`` of any policy and ``backup status`` call
:func:`restore_stopped` too, which does the same for a marker whose run is gone (the
watchdog killed with the run, a reboot). Why a forked watchdog rather than only the next
run: the next run may be hours away, and a PACS down for hours is an outage; the marker pass
remains as the second line.

The downtime (stop command to the start command's return) is reported, put in the manifest and
published as ``opsctl_backup_pacs_downtime_seconds{policy}``. restic gets the time left of
``max_downtime`` as its timeout; a downtime past ``max_downtime`` restarts Orthanc and fails
the run with :class:`OrthancDowntimeExceeded`.

With the PostgreSQL index plugin (``index: postgresql``) nothing stops: the storage is backed
up and the index database dumped (:mod:`backup.postgres`); the pair is then only
crash-consistent unless Orthanc is read-only meanwhile.

For tests only: ``ORTHANC_HOOK_TEST_PAUSE_FIFO`` names a FIFO; once Orthanc is stopped the
hook writes ``stopped`` into it and then waits reading it, so a test can SIGKILL the run at a
known point, without a sleep.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backup.settings import OrthancSource
from opsctl.core.errors import OpsctlError

if TYPE_CHECKING:
    from backup.restic import BackupSummary, ProgressCallback, Restic

MARKER_PREFIX = "orthanc-stopped-"
PAUSE_FIFO_VARIABLE = "ORTHANC_HOOK_TEST_PAUSE_FIFO"
_COMMAND_ENVIRONMENT_DROP = ("RESTIC_PASSWORD", "RESTIC_REPOSITORY", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD")


class OrthancError(OpsctlError, RuntimeError):
    """Orthanc could not be reached, stopped or started; the message names the command or URL."""


class OrthancDowntimeExceeded(OrthancError):
    """The PACS was down longer than the policy's ``max_downtime`` (it was started again)."""


@dataclass(frozen=True)
class OrthancCounts:
    """Orthanc's counts as ``/statistics`` gives them."""

    patients: int
    studies: int
    series: int
    instances: int

    def to_dict(self) -> dict[str, int]:
        return {"patients": self.patients, "studies": self.studies, "series": self.series,
                "instances": self.instances}


def parse_statistics(document: Mapping[str, Any]) -> OrthancCounts:
    """Orthanc's ``/statistics`` answer as counts (pure); raise OrthancError when one is missing."""
    try:
        return OrthancCounts(int(document["CountPatients"]), int(document["CountStudies"]),
                             int(document["CountSeries"]), int(document["CountInstances"]))
    except (KeyError, TypeError, ValueError) as error:
        raise OrthancError(f"Orthanc /statistics lacks a count: {error}") from None


def rest_get(url: str, path: str, *, user: str | None, password: str | None, timeout: float = 10.0,
             raw: bool = False) -> Any:
    """GET ``url + path`` (basic authentication in a header, never in the URL); JSON, or bytes
    with ``raw``. Raise OrthancError naming the URL and the reason (never the password)."""
    import urllib.error  # here, not at the top: a backup run imports this module for restore_stopped alone
    import urllib.request  # before restic starts, and urllib.request brings http.client and ssl (9 ms)

    request = urllib.request.Request(url.rstrip("/") + path)
    if user is not None:
        token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        raise OrthancError(f"Orthanc {url}{path}: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise OrthancError(f"Orthanc {url}{path}: {reason}") from None
    if raw:
        return body
    try:
        return json.loads(body)
    except ValueError:
        raise OrthancError(f"Orthanc {url}{path}: the answer is not JSON") from None


def orthanc_counts(source: OrthancSource, *, timeout: float = 10.0) -> OrthancCounts:
    """The counts of the Orthanc ``source`` names (REST ``/statistics``)."""
    password = source.password.resolve() if source.password is not None else None
    return parse_statistics(rest_get(source.url, "/statistics", user=source.username, password=password,
                                     timeout=timeout))


# -- the stopped marker ----------------------------------------------------------------------------


def marker_path(state_dir: Path, policy: str) -> Path:
    """The policy's stopped marker: ``STATE_DIR/orthanc-stopped-POLICY.json``."""
    return state_dir / f"{MARKER_PREFIX}{policy}.json"


def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (``/proc/PID/stat`` field 22), to tell it from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
    except OSError:
        return None
    if fields[:1] == [b"Z"]:
        return None
    return fields[19].decode() if len(fields) > 19 else None


def owner_alive(marker: Mapping[str, Any]) -> bool:
    """Whether the run that wrote ``marker`` still runs (same pid, same start time)."""
    pid = int(marker.get("pid", 0))
    started = _process_start(pid) if pid > 0 else None
    return started is not None and started == marker.get("pid_start")


def write_marker(path: Path, *, policy: str, run_id: str, start_command: Sequence[str], stopped_at: datetime,
                 pid: int | None = None) -> None:
    """Write the stopped marker atomically (0600): who stopped the PACS, when, and how to start it."""
    pid = os.getpid() if pid is None else pid
    document = {
        "message": f"PACS stopped by backup run {run_id} of policy {policy} at {stopped_at.isoformat()}; "
                   f"start it with: {' '.join(start_command)}",
        "policy": policy, "run_id": run_id, "stopped_at": stopped_at.isoformat(),
        "start_command": list(start_command), "pid": pid, "pid_start": _process_start(pid),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def read_marker(path: Path) -> dict[str, Any] | None:
    """The marker's document, or None when it is gone or unreadable."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _command_environment() -> dict[str, str]:
    return {name: value for name, value in os.environ.items() if name not in _COMMAND_ENVIRONMENT_DROP}


def run_command(argv: Sequence[str], *, what: str, timeout: float) -> str:
    """Run a stop or start command (no shell, secrets of restic not inherited); return its output.

    Raise OrthancError naming the command and its last line when it fails or runs too long.
    """
    if not argv:
        raise OrthancError(f"no {what} configured")
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              env=_command_environment(), stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired:
        raise OrthancError(f"Orthanc {what} {argv[0]} ran past {timeout:g} s") from None
    except OSError as error:
        raise OrthancError(f"Orthanc {what} {argv[0]}: {error.strerror}") from None
    if done.returncode != 0:
        last = next((line for line in reversed((done.stderr + done.stdout).splitlines()) if line.strip()), "")
        raise OrthancError(f"Orthanc {what} {' '.join(argv)[:120]} exited {done.returncode}"
                           + (f": {last.strip()[:200]}" if last else ""))
    return (done.stdout + done.stderr).strip()


def stopped_pacs(state_dir: Path) -> dict[str, str]:
    """Per policy, what a marker in ``state_dir`` says of a PACS a run stopped and never started
    again (its run is gone), read-only: ``backup status`` reports it, the next ``backup run``
    (or the watchdog) starts it."""
    stopped: dict[str, str] = {}
    for path in sorted(state_dir.glob(f"{MARKER_PREFIX}*.json")) if state_dir.is_dir() else []:
        marker = read_marker(path)
        if marker is None or owner_alive(marker):
            continue
        stopped[str(marker.get("policy"))] = (
            f"the PACS was stopped by backup run {marker.get('run_id')} at {marker.get('stopped_at')} and never "
            f"started again (that run was killed): the next `opsctl backup run` starts it"
        )
    return stopped


def restore_stopped(state_dir: Path, *, timeout: float = 300.0, only_orphans: bool = True) -> list[str]:
    """Start every PACS a marker in ``state_dir`` says a run stopped and never started again
    (its run is gone); remove those markers; return one sentence per marker handled.

    A marker whose run still runs is left alone (``only_orphans``). A start command that fails
    keeps its marker and says so.
    """
    said: list[str] = []
    if not state_dir.is_dir():
        return said
    for path in sorted(state_dir.glob(f"{MARKER_PREFIX}*.json")):
        marker = read_marker(path)
        if marker is None:
            continue
        if only_orphans and owner_alive(marker):
            continue
        command = [str(word) for word in marker.get("start_command", [])]
        try:
            run_command(command, what="start command", timeout=timeout)
        except OrthancError as error:
            said.append(f"{marker.get('message', path.name)}; starting it again failed: {error.message}")
            continue
        path.unlink(missing_ok=True)
        said.append(f"restarted the PACS that backup run {marker.get('run_id')} of policy "
                    f"{marker.get('policy')} stopped at {marker.get('stopped_at')} and never started "
                    f"again (that run was killed)")
    return said


def start_watchdog(marker: Path, *, poll_seconds: float = 0.5) -> subprocess.Popen[bytes]:
    """Fork the watchdog for ``marker`` (a session of its own, so it outlives a SIGKILLed run)."""
    package_root = str(Path(__file__).resolve().parents[1])
    environment = _command_environment()
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, environment.get("PYTHONPATH", "")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "backup.orthanc_watchdog", "--watch", str(marker), "--parent", str(os.getpid()),
         "--poll", str(poll_seconds)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, env=environment)


# -- the capture ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrthancCapture:
    """What the hook did: the snapshot of storage and index, Orthanc's counts before the stop (or
    before and after the index dump, with the PostgreSQL index, where nothing stops),
    the measured downtime (None when nothing stopped) and the index dump's manifest entry.

    ``on_downtime`` hears the downtime on every way out that started Orthanc again."""

    summary: BackupSummary
    counts: OrthancCounts
    index: str
    downtime_seconds: float | None
    stopped_at: datetime | None = None
    index_dump: Mapping[str, Any] | None = None
    messages: tuple[str, ...] = field(default=())
    counts_after: OrthancCounts | None = None  # PostgreSQL index: the counts once the index was dumped
    index_summary: BackupSummary | None = None  # PostgreSQL index: the dump's snapshot

    def manifest_entry(self, source: OrthancSource) -> dict[str, Any]:
        """The manifest's ``orthanc`` entry (what a drill compares the restored PACS with)."""
        return {
            "url": source.url, "index": self.index, "storage_dir": str(source.storage_dir),
            "index_dir": str(source.index_path) if self.index == "sqlite" else None,
            "snapshot_id": self.summary.snapshot_id, "counts": self.counts.to_dict(),
            "downtime_seconds": None if self.downtime_seconds is None else round(self.downtime_seconds, 3),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "index_dump": dict(self.index_dump) if self.index_dump else None,
            "counts_after": self.counts_after.to_dict() if self.counts_after else None,
        }


def _pause_for_test() -> None:
    """Block at the hook's middle when the test-only FIFO variable is set (see the module doc)."""
    fifo = os.environ.get(PAUSE_FIFO_VARIABLE)
    if not fifo:
        return
    with open(fifo, "w", encoding="utf-8") as writer:
        writer.write("stopped\n")
    with open(fifo, encoding="utf-8") as reader:
        reader.read()


def capture_orthanc(restic: Restic, source: OrthancSource, *, policy: str, run_id: str, state_dir: Path,
                    tags: Sequence[str], on_progress: ProgressCallback | None = None,
                    say: Callable[[str], None] | None = None,
                    on_downtime: Callable[[float], None] | None = None,
                    clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> OrthancCapture:
    """Capture Orthanc's storage and index (see the module doc); return what was done.

    Raise OrthancError when Orthanc cannot be counted, stopped or started (a PACS left stopped
    raises only after its start was tried), OrthancDowntimeExceeded past ``max_downtime``, and
    restic's errors (after Orthanc was started again).
    """
    from backup.restic import Restic as _Restic

    tell = say or (lambda _text: None)
    counts = orthanc_counts(source)
    storage = str(source.storage_dir)
    if source.index == "postgresql":
        from backup.postgres import dump_database

        assert source.index_database is not None
        # the index first, then the storage: every file the dumped index names was written before
        # the dump began, so it is in the storage snapshot (files stored meanwhile are orphans a
        # restored Orthanc ignores). The counts before and after the dump bound what it holds.
        record = dump_database(restic, source.index_database,
                               tags=(*tags, "orthanc-index", f"database={source.index_database.database}"))
        after = orthanc_counts(source)
        storage_summary = restic.backup([storage], tags=(*tags, "orthanc"), on_progress=on_progress)
        return OrthancCapture(storage_summary, counts, "postgresql", None, index_dump=record.manifest_entry(),
                              counts_after=after, index_summary=record.summary)
    limit = source.max_downtime.total_seconds()
    marker = marker_path(state_dir, policy)
    stopped_at = clock()
    write_marker(marker, policy=policy, run_id=run_id, start_command=source.start_command, stopped_at=stopped_at)
    watchdog = start_watchdog(marker)
    began = time.monotonic()
    failure: BaseException | None = None
    summary: BackupSummary | None = None
    try:
        tell(f"stopping Orthanc (at most {limit:g} s down)")
        run_command(source.stop_command, what="stop command", timeout=source.command_timeout.total_seconds())
        _pause_for_test()
        remaining = max(1.0, limit - (time.monotonic() - began))
        bounded = _Restic(restic.repository, restic=restic.restic, host=restic.host, timeout=remaining,
                          cache_dir=restic.cache_dir, version=restic.version)
        paths = list(dict.fromkeys((storage, str(source.index_path))))
        summary = bounded.backup(paths, tags=(*tags, "orthanc"), on_progress=on_progress)
    except BaseException as error:
        failure = error
    finally:
        try:
            output = run_command(source.start_command, what="start command",
                                 timeout=source.command_timeout.total_seconds())
            marker.unlink(missing_ok=True)
            tell(f"Orthanc started again after {time.monotonic() - began:.1f} s down"
                 + (f": {output.splitlines()[-1]}" if output else ""))
        except OrthancError as start_failure:
            if failure is None:
                failure = start_failure
            else:
                tell(f"Orthanc could not be started again: {start_failure.message} (the marker {marker} stays)")
        finally:
            with contextlib.suppress(ProcessLookupError):
                watchdog.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                watchdog.wait(timeout=5)
    downtime = time.monotonic() - began
    if on_downtime is not None:
        on_downtime(downtime)
    if failure is not None:
        if downtime > limit and not isinstance(failure, KeyboardInterrupt | SystemExit | OrthancError):
            raise OrthancDowntimeExceeded(
                f"policy {policy}: the PACS was down {downtime:.1f} s, over max_downtime {limit:g} s "
                f"(backup stopped, Orthanc started again): {getattr(failure, 'message', failure)}") from None
        raise failure
    assert summary is not None
    if downtime > limit:
        raise OrthancDowntimeExceeded(f"policy {policy}: the PACS was down {downtime:.1f} s, over max_downtime "
                                      f"{limit:g} s (Orthanc was started again)")
    return OrthancCapture(summary, counts, "sqlite", downtime, stopped_at=stopped_at)


__all__ = [
    "MARKER_PREFIX",
    "PAUSE_FIFO_VARIABLE",
    "OrthancCapture",
    "OrthancCounts",
    "OrthancDowntimeExceeded",
    "OrthancError",
    "capture_orthanc",
    "marker_path",
    "orthanc_counts",
    "owner_alive",
    "parse_statistics",
    "read_marker",
    "rest_get",
    "restore_stopped",
    "run_command",
    "start_watchdog",
    "write_marker",
]
