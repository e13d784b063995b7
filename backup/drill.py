"""``opsctl drill run``: restore a policy's latest snapshot set to scratch, verify it against the
manifest recorded at backup time, start the applications from it, and measure RTO and RPO.

:func:`run_drill` finds the newest run of the policy that stored a manifest (tag ``manifest``,
in the local or the off-site repository, read from the repository alone, so a drill after the
controller was lost still verifies), restores every snapshot of that run into a scratch
directory, and checks:

- the manifest: every dump's size and sha256, every backed-up path present;
- PostgreSQL: each dump restored into a throwaway cluster on loopback
  (:func:`backup.scratch.scratch_postgres`), its row counts against the manifest's, the
  policy's sanity queries (``SQL`` or ``SQL => OP VALUE``);
- Orthanc: a throwaway Orthanc on the restored storage and index in a network namespace of its
  own (:func:`opsctl.core.netns.start_in_namespace`), reached through forwarders on 127.0.0.1
  only (an index kept in PostgreSQL is restored into the scratch cluster and read through
  Orthanc's PostgreSQL index plugin); it must answer C-ECHO, report the manifest's instance and study counts, and a sample
  of instances downloaded over REST must hash as their restored storage files do (and as the
  MD5 Orthanc recorded when it stored them).

RTO is the time from the drill's start until every service answered and its checks passed;
RPO is the drill's start minus the time of the oldest snapshot of the set. The drill is
recorded (:func:`backup.queries.record_drill`) with its steps, its report document is kept in
the state directory (``drills/POLICY/DRILL_ID.json``) for ``opsctl drill report``, its metrics
are written (:func:`backup.metrics.write_drill_metrics`) and it is audited. Every scratch
service is stopped and the scratch directory removed on every way out.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backup import queries
from backup.metrics import DrillMetrics, write_drill_metrics
from backup.orthanc import OrthancError, parse_statistics, rest_get
from backup.report import (
    DrillCheck,
    DrillEnvironment,
    DrillReport,
    DrillStep,
    Objective,
    Source,
    decide_verdict,
    report_document,
    report_from_document,
)
from backup.repositories import repository_for
from backup.restic import Restic, Snapshot
from backup.runner import manifest_path_in, new_run_id
from backup.settings import PolicySettings, backup_settings, policy
from opsctl.core.errors import ConfigError, ExitCode, OpsctlError

if TYPE_CHECKING:
    from backup.scratch import ScratchCluster
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings
    from opsctl.core.state import StateStore

SCHEMA = "drill-run"  # opsctl.drill-run/v1
DRILL_AET = "OPSCTL_DRILL"
ORTHANC_HTTP_PORT = 8042
ORTHANC_DICOM_PORT = 4242
HASH_SAMPLE = 5
#: pg_restore's parallel jobs for a dump restored from its file (a stream takes one): the
#: restore is most of a database drill's RTO, and its COPYs and index builds spread over cores
RESTORE_JOBS = max(1, min(4, os.cpu_count() or 1))
#: how long the drill's Orthanc gets after SIGTERM before SIGKILL
THROWAWAY_STOP_SECONDS = 0.2
#: where Debian's orthanc-postgresql puts the index plugin; the first that exists is loaded
POSTGRESQL_INDEX_PLUGINS = ("/usr/share/orthanc/plugins/libOrthancPostgreSQLIndex.so",
                            "/usr/lib/orthanc/libOrthancPostgreSQLIndex.so")
_CHUNK = 1 << 20


class DrillError(OpsctlError, RuntimeError):
    """A drill could not find or restore what it should verify; the message names the step."""


StepHandler = Callable[[DrillStep], None]


@dataclass(frozen=True)
class DrillResult:
    """What one drill did: its report (verdict, steps, checks, RTO, RPO) and where it was kept.

    ``exit_code``: 0 when the drill passed, 1 when it failed.
    """

    drill_id: str
    report: DrillReport
    report_file: Path | None = None
    metrics_file: Path | None = None

    @property
    def exit_code(self) -> int:
        return int(ExitCode.OK if self.report.verdict == "passed" else ExitCode.FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {"drill_id": self.drill_id, "exit_code": self.exit_code, "report": report_document(self.report),
                "report_file": str(self.report_file) if self.report_file else None,
                "metrics_file": str(self.metrics_file) if self.metrics_file else None}


# -- pure parts -------------------------------------------------------------------------------------


def snapshot_set(snapshots: Sequence[Snapshot]) -> tuple[str, tuple[Snapshot, ...]]:
    """The newest run among ``snapshots`` that stored a manifest: (its run id, its snapshots).

    Raise DrillError when no snapshot carries a manifest. Pure.
    """
    manifests = [s for s in snapshots if "manifest" in s.tags and s.tag_value("run")]
    if not manifests:
        raise DrillError("no snapshot with a manifest (tag manifest): nothing a drill can verify")
    newest = max(manifests, key=lambda s: s.time)
    run_id = newest.tag_value("run") or ""
    return run_id, tuple(s for s in snapshots if s.tag_value("run") == run_id)


def parse_sanity_query(text: str) -> tuple[str, str, str]:
    """A policy's sanity query ``SQL`` or ``SQL => OP VALUE`` as (name, sql, expectation); a bare
    query must return a value. Pure."""
    sql, arrow, expect = text.partition("=>")
    sql = sql.strip()
    return " ".join(sql.split())[:60], sql, expect.strip() if arrow else "!= ''"


def sha256_file(path: Path) -> tuple[int, str]:
    """The size and sha256 of the file ``path``."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def orthanc_storage_file(storage: Path, uuid: str) -> Path:
    """Where Orthanc's file storage keeps attachment ``uuid``: ``STORAGE/ab/cd/abcd...``."""
    return storage / uuid[0:2] / uuid[2:4] / uuid


def render_orthanc_config(*, storage_dir: Path, index_dir: Path, aet: str,
                          postgresql: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The throwaway Orthanc's configuration (pure; its user and password go in a 0600 file of
    their own, ``RegisteredUsers``, which Orthanc refuses to find in two files):
    its own namespace's ports, the restored storage and index, authentication on, nothing sent
    anywhere (no modalities, no peers, no jobs saved). ``postgresql`` (``plugin``, ``host`` — the
    scratch cluster's socket directory, reachable from the namespace where no TCP is — ``port``,
    ``database``, ``user``) loads the PostgreSQL index plugin on the restored index; the storage
    stays the restored directory (``EnableStorage`` off)."""
    document: dict[str, Any] = {
        "Name": "opsctl-drill", "StorageDirectory": str(storage_dir), "IndexDirectory": str(index_dir),
        "StorageCompression": False, "Plugins": [], "HttpServerEnabled": True, "HttpPort": ORTHANC_HTTP_PORT,
        "RemoteAccessAllowed": False, "AuthenticationEnabled": True, "SslEnabled": False,
        "DicomServerEnabled": True, "DicomAet": aet, "DicomPort": ORTHANC_DICOM_PORT,
        "DicomCheckCalledAet": False, "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowStore": False,
        "DicomModalities": {}, "OrthancPeers": {}, "SaveJobs": False, "LuaScripts": [],
    }
    if postgresql is not None:
        document["Plugins"] = [str(postgresql["plugin"])]
        document["PostgreSQL"] = {
            "EnableIndex": True, "EnableStorage": False, "Host": str(postgresql["host"]),
            "Port": int(postgresql["port"]), "Database": str(postgresql["database"]),
            "Username": str(postgresql["user"]), "Password": "", "EnableSsl": False,
        }
    return document


# -- the drill ------------------------------------------------------------------------------------


class _Drill:
    """One drill's working state (not part of the API)."""

    def __init__(self, name: str, chosen: PolicySettings, source: Source, restic: Restic, workdir: Path,
                 on_step: StepHandler | None, clock: Callable[[], datetime]) -> None:
        self.name = name
        self.policy = chosen
        self.source = source
        self.restic = restic
        self.workdir = workdir
        self.on_step = on_step
        self.clock = clock
        self.started = clock()
        self.began = time.monotonic()
        self.steps: list[DrillStep] = []
        self.checks: list[DrillCheck] = []
        self.databases: list[str] = []
        self.snapshot_id = "none"
        self.snapshot_time = self.started
        self.run_id: str | None = None
        self.services_ready_seconds: float | None = None
        self.other_versions: list[tuple[str, str]] = []
        self.postgresql_version = "not used"
        self.early_cluster: _EarlyCluster | None = None
        self.cluster: ScratchCluster | None = None

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        """Time a step; its detail is what the block appends; an OpsctlError fails it (and the drill
        goes on to clean up), anything else propagates after the step is recorded."""
        started, began = self.clock(), time.monotonic()
        detail: list[str] = []
        outcome = "ok"
        try:
            yield detail
        except OpsctlError as error:
            outcome = "failed"
            detail.append(error.message)
            raise
        except BaseException as error:
            outcome = "failed"
            detail.append(f"interrupted ({type(error).__name__})")
            raise
        finally:
            recorded = DrillStep(name, started, round(time.monotonic() - began, 3), outcome, "; ".join(detail))
            self.steps.append(recorded)
            if self.on_step is not None:
                self.on_step(recorded)

    def check(self, name: str, expected: object, seen: object, passed: bool | None = None) -> bool:
        ok = (str(expected) == str(seen)) if passed is None else passed
        self.checks.append(DrillCheck(name, str(expected), str(seen), ok))
        return ok


class _EarlyCluster:
    """The scratch PostgreSQL, started in a thread while restic restores (its initdb and start
    overlap the restore instead of adding to the RTO). :meth:`get` waits for it and raises what
    starting it raised; :meth:`close` (registered on the drill's exit stack before anything else
    can fail) waits for a start still running and stops the cluster: on every way out."""

    def __init__(self, workdir: Path) -> None:
        import threading

        from backup.scratch import scratch_postgres

        self._manager = scratch_postgres(workdir, bind="127.0.0.1")
        self._cluster: ScratchCluster | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="drill-scratch-postgres", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        try:
            self._cluster = self._manager.__enter__()
        except BaseException as error:  # handed to the drill's thread by get()
            self._error = error

    def get(self) -> ScratchCluster:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._cluster is not None
        return self._cluster

    def close(self) -> None:
        self._thread.join()
        if self._cluster is not None:
            self._cluster = None
            self._manager.__exit__(None, None, None)


def _locate_and_restore(drill: _Drill, stack: contextlib.ExitStack) -> tuple[dict[str, Any], dict[str, Path],
                                                                             tuple[Snapshot, ...]]:
    """Find the newest snapshot set, restore each snapshot under scratch; return (manifest,
    restored root per snapshot id, the set). When the set holds a database dump, the scratch
    PostgreSQL starts meanwhile (``drill.early_cluster``, closed by ``stack``)."""
    with drill.step("locate") as detail:
        listed = drill.restic.snapshots(tags=("opsctl", f"policy={drill.name}"))
        run_id, members = snapshot_set(listed)
        holder = next(s for s in members if "manifest" in s.tags)
        drill.run_id, drill.snapshot_id = run_id, holder.short_id
        drill.snapshot_time = min(s.time for s in members)
        detail.append(f"run {run_id}: {len(members)} snapshot(s) in {drill.restic.location}")
    if any(s.tag_value("database") is not None for s in members):  # a dump, or the PACS's index
        drill.early_cluster = _EarlyCluster(drill.workdir)
        stack.callback(drill.early_cluster.close)
    roots: dict[str, Path] = {}
    with drill.step("restore") as detail:
        # one restic process per snapshot, side by side: each spends its first half second
        # deriving the repository's key, which the others need not wait for
        from concurrent.futures import ThreadPoolExecutor

        for snapshot in members:
            roots[snapshot.id] = drill.workdir / "restored" / snapshot.short_id
        with ThreadPoolExecutor(max_workers=min(len(members), 4) or 1,
                                thread_name_prefix="drill-restore") as pool:
            futures = [pool.submit(drill.restic.restore, snapshot.id, roots[snapshot.id]) for snapshot in members]
        for future in futures:
            future.result()  # the first failure, in the set's order, after every restore ended
        detail.append(f"{len(members)} snapshot(s) restored to scratch")
    with drill.step("manifest") as detail:
        try:
            path = manifest_path_in(holder.paths, drill.name)
        except ValueError as error:
            raise DrillError(f"snapshot {holder.short_id}: {error}") from None
        manifest_file = roots[holder.id] / path.lstrip("/")
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise DrillError(f"the manifest {path} of snapshot {holder.short_id} cannot be read: {error}") from None
        drill.check("manifest belongs to the run", run_id, manifest.get("run_id"))
        _verify_manifest(drill, manifest, members, roots)
        detail.append(f"{sum(c.passed for c in drill.checks)} of {len(drill.checks)} checks passed")
    return manifest, roots, members


def _dump_file(drill: _Drill, entry: Mapping[str, Any], members: Sequence[Snapshot],
               roots: Mapping[str, Path]) -> Path | None:
    snapshot = next((s for s in members if s.tag_value("database") == entry.get("database")
                     and "orthanc-index" not in s.tags), None)
    if snapshot is None:
        return None
    return roots[snapshot.id] / str(entry.get("file", "")).lstrip("/")


def _verify_manifest(drill: _Drill, manifest: Mapping[str, Any], members: Sequence[Snapshot],
                     roots: Mapping[str, Path]) -> None:
    for entry in manifest.get("dumps") or ():
        path = _dump_file(drill, entry, members, roots)
        name = f"dump {entry.get('database')}"
        if path is None or not path.is_file():
            drill.check(f"{name} restored", "present", "missing", False)
            continue
        size, digest = sha256_file(path)
        drill.check(f"{name} size", entry.get("bytes"), size)
        drill.check(f"{name} sha256", str(entry.get("sha256"))[:16], digest[:16],
                    passed=digest == entry.get("sha256"))
    holder = next(s for s in members if "manifest" in s.tags)
    for backed_up in manifest.get("paths") or ():
        restored = roots[holder.id] / str(backed_up).lstrip("/")
        drill.check(f"path {backed_up}", "restored", "restored" if restored.exists() else "missing")


def _scratch_cluster(drill: _Drill, stack: contextlib.ExitStack) -> ScratchCluster:
    """The drill's one throwaway PostgreSQL (for the dumps and the PACS's index), started once:
    during the restore when the set held a dump (``drill.early_cluster``), else now."""
    from backup.scratch import scratch_postgres

    if drill.cluster is not None:
        return drill.cluster
    with drill.step("postgres:start") as detail:
        if drill.early_cluster is not None:
            cluster = drill.early_cluster.get()
        else:
            cluster = stack.enter_context(scratch_postgres(drill.workdir, bind="127.0.0.1"))
        drill.postgresql_version = cluster.server_version
        detail.append(cluster.describe())
    drill.cluster = cluster
    return cluster


def _postgres_steps(drill: _Drill, manifest: Mapping[str, Any], members: Sequence[Snapshot],
                    roots: Mapping[str, Path], stack: contextlib.ExitStack) -> None:
    from backup.scratch import (
        Expectation,
        SanityQuery,
        count_rows,
        restore_dump,
        run_sanity_queries,
    )

    entries = [e for e in manifest.get("dumps") or () if _dump_file(drill, e, members, roots) is not None]
    if not entries:
        return
    cluster = _scratch_cluster(drill, stack)
    sources = {source.database: source for source in drill.policy.postgres}
    for entry in entries:
        database = str(entry["database"])
        dump = _dump_file(drill, entry, members, roots)
        assert dump is not None
        with drill.step(f"postgres:{database}") as detail:
            timing = restore_dump(cluster, dump, database, jobs=RESTORE_JOBS)
            drill.databases.append(database)
            detail.append(f"pg_restore {timing.duration_seconds:.1f} s")
            expected = {str(k): int(v) for k, v in (entry.get("row_counts") or {}).items()}
            counted = count_rows(cluster, database, list(expected))
            for table, rows in expected.items():
                drill.check(f"rows in {table}", f"== {rows} (manifest)", counted.get(table),
                            passed=counted.get(table) == rows)
            source = sources.get(database)
            queries_ = []
            for text in source.sanity_queries if source else ():
                name, sql, expect = parse_sanity_query(text)
                queries_.append(SanityQuery(name, sql, Expectation.parse(expect)))
            for result in run_sanity_queries(cluster, database, queries_):
                drill.checks.append(result.check())


def _last_line(path: Path) -> str:
    try:
        lines = [line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    except OSError:
        return "nothing (no log)"
    errors = [line for line in lines if line.startswith("E")]
    return (errors or lines or ["nothing"])[-1][-300:]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def c_echo(host: str, port: int, *, called_aet: str, timeout: float = 10.0) -> None:
    """One C-ECHO from ``OPSCTL_DRILL``; raise DrillError saying why it failed."""
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    entity = AE(ae_title=DRILL_AET)
    for attribute in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(entity, attribute, timeout)
    entity.add_requested_context(Verification)
    association = entity.associate(host, port, ae_title=called_aet)
    if not association.is_established:
        raise DrillError(f"no DICOM association with {called_aet} at {host}:{port}")
    try:
        status = association.send_c_echo()
    finally:
        association.release()
    if getattr(status, "Status", None) != 0x0000:
        raise DrillError(f"C-ECHO to {called_aet} at {host}:{port} answered {getattr(status, 'Status', None)!r}")


def _orthanc_step(drill: _Drill, manifest: Mapping[str, Any], roots: Mapping[str, Path],
                  members: Sequence[Snapshot], stack: contextlib.ExitStack) -> None:
    entry = manifest.get("orthanc")
    if not entry:
        return
    snapshot = next((s for s in members if "orthanc" in s.tags), None)
    if snapshot is None:
        drill.check("orthanc snapshot", "present", "missing", False)
        return
    root = roots[snapshot.id]
    storage = root / str(entry["storage_dir"]).lstrip("/")
    postgresql: dict[str, Any] | None = None
    if entry.get("index") == "postgresql":
        postgresql = _restore_pacs_index(drill, entry, members, roots, stack)
        index = drill.workdir / "orthanc-sqlite-unused"  # Orthanc keeps no SQLite index with the plugin
    else:
        index = root / str(entry.get("index_dir") or entry["storage_dir"]).lstrip("/")
    url, dicom_port, password = _start_orthanc(drill, storage, index, postgresql, stack)
    _verify_orthanc(drill, entry, storage, url, dicom_port, password)


def postgresql_index_plugin(candidates: Sequence[str] = POSTGRESQL_INDEX_PLUGINS) -> Path:
    """The PostgreSQL index plugin's library (Debian's ``orthanc-postgresql``); raise DrillError
    naming the package when none of ``candidates`` exists."""
    for candidate in candidates:
        if Path(candidate).is_file():
            return Path(candidate)
    raise DrillError(f"the drill's Orthanc: the PostgreSQL index plugin is not installed (none of "
                     f"{', '.join(candidates)}; apt-get install orthanc-postgresql)")


def _restore_pacs_index(drill: _Drill, entry: Mapping[str, Any], members: Sequence[Snapshot],
                        roots: Mapping[str, Path], stack: contextlib.ExitStack) -> dict[str, Any]:
    """A PACS whose index is in PostgreSQL: its dump verified against the manifest and restored
    into the scratch cluster; return the throwaway Orthanc's ``PostgreSQL`` settings for it."""
    from backup.scratch import restore_dump

    plugin = postgresql_index_plugin()  # before any restore: a drill that cannot start the PACS says so first
    dump = entry.get("index_dump") or {}
    snapshot = next((s for s in members if "orthanc-index" in s.tags), None)
    path = roots[snapshot.id] / str(dump.get("file", "")).lstrip("/") if snapshot is not None else None
    cluster = _scratch_cluster(drill, stack)
    with drill.step("orthanc:index") as detail:
        if path is None or not path.is_file():
            drill.check("PACS index dump restored", "present", "missing", False)
            raise DrillError("the PACS's index dump is not in the snapshot set")
        size, digest = sha256_file(path)
        if not drill.check("PACS index dump sha256", str(dump.get("sha256"))[:16], digest[:16],
                           passed=(size, digest) == (dump.get("bytes"), dump.get("sha256"))):
            raise DrillError(f"the PACS's index dump {dump.get('file')} does not match the manifest")
        database = str(dump.get("database") or "orthanc")
        timing = restore_dump(cluster, path, database, jobs=RESTORE_JOBS)
        drill.databases.append(database)
        detail.append(f"index dump verified and restored into database {database} "
                      f"(pg_restore {timing.duration_seconds:.1f} s)")
    return {"plugin": str(plugin), "host": str(cluster.socket_dir), "port": cluster.port, "database": database,
            "user": cluster.superuser}


def _start_orthanc(drill: _Drill, storage: Path, index: Path, postgresql: Mapping[str, Any] | None,
                   stack: contextlib.ExitStack) -> tuple[str, int, str]:
    """The throwaway Orthanc on the restored storage (and SQLite index, or PostgreSQL index in
    the scratch cluster, reached over its socket from the namespace), in a network namespace of
    its own, forwarded to 127.0.0.1; return (REST URL, DICOM port, REST password)."""
    from opsctl.core.netns import start_forwarder, start_in_namespace

    program = shutil.which("Orthanc")
    if program is None:
        raise DrillError("the drill's Orthanc: program Orthanc not found (apt-get install orthanc)")
    with drill.step("orthanc:start") as detail:
        config_dir = drill.workdir / "orthanc-config"
        config_dir.mkdir(mode=0o700)
        password = secrets.token_hex(16)
        document = render_orthanc_config(storage_dir=storage, index_dir=index, aet=DRILL_AET, postgresql=postgresql)
        (config_dir / "orthanc.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
        descriptor = os.open(config_dir / "credentials.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"RegisteredUsers": {"drill": password}}, handle)
        process = start_in_namespace((program, str(config_dir)), env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                                     cwd=drill.workdir, log_path=drill.workdir / "orthanc.log",
                                     marker=str(config_dir))
        # a throwaway on a copy: no graceful shutdown to wait for (Orthanc takes about 3 s over it)
        stack.callback(process.stop, THROWAWAY_STOP_SECONDS)
        ports: list[int] = []
        for inside in (ORTHANC_HTTP_PORT, ORTHANC_DICOM_PORT):
            listen = _free_port()
            try:
                handle_ = start_forwarder("127.0.0.1", listen, process.pid, inside,
                                          log_path=drill.workdir / "forwarder.log")
            except OpsctlError as error:
                raise DrillError(f"{error.message}; Orthanc said: {_last_line(drill.workdir / 'orthanc.log')}") from None
            stack.callback(handle_.stop)
            ports.append(listen)
        http_port, dicom_port = ports
        url = f"http://127.0.0.1:{http_port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                system = rest_get(url, "/system", user="drill", password=password, timeout=3)
                break
            except OrthancError as error:
                if time.monotonic() > deadline or not process.running():
                    raise DrillError(f"the drill's Orthanc never answered: {error.message} "
                                     f"(Orthanc said: {_last_line(drill.workdir / 'orthanc.log')})") from None
                time.sleep(0.2)
        drill.other_versions.append(("Orthanc", str(system.get("Version", "?"))))
        index_words = "its SQLite index"
        if postgresql is not None:
            if not system.get("DatabaseBackendPlugin"):
                raise DrillError("the drill's Orthanc started without its PostgreSQL index plugin "
                                 f"(Orthanc said: {_last_line(drill.workdir / 'orthanc.log')})")
            with contextlib.suppress(OrthancError):
                plugin = rest_get(url, "/plugins/postgresql-index", user="drill", password=password, timeout=3)
                drill.other_versions.append(("Orthanc PostgreSQL index plugin", str(plugin.get("Version", "?"))))
            index_words = f"its index in the scratch PostgreSQL (database {postgresql['database']})"
        detail.append(f"Orthanc {system.get('Version', '?')} on the restored storage and {index_words}, in its "
                      f"own network namespace, REST and DICOM forwarded to 127.0.0.1 only")
    return url, dicom_port, password


def _verify_orthanc(drill: _Drill, entry: Mapping[str, Any], storage: Path, url: str, dicom_port: int,
                    password: str) -> None:
    """C-ECHO, the manifest's counts, and a sample of instances re-hashed against their restored files."""
    with drill.step("orthanc:verify") as detail:
        c_echo("127.0.0.1", dicom_port, called_aet=DRILL_AET)
        drill.check("C-ECHO", "success", "success")
        counts = parse_statistics(rest_get(url, "/statistics", user="drill", password=password))
        expected = entry.get("counts") or {}
        after = entry.get("counts_after") or expected  # a hot PACS (PostgreSQL index): the dump's bounds
        for kind in ("instances", "studies"):
            low, high = sorted((expected.get(kind, -1), after.get(kind, -1)))
            seen = getattr(counts, kind)
            wanted = f"== {low} (manifest)" if low == high else f"{low}..{high} (manifest, before and after the dump)"
            drill.check(f"PACS {kind}", wanted, seen, passed=low <= seen <= high)
        instances = rest_get(url, "/instances", user="drill", password=password)
        sample = sorted(instances)[:HASH_SAMPLE]
        matched = 0
        for instance in sample:
            body = rest_get(url, f"/instances/{instance}/file", user="drill", password=password, raw=True)
            info = rest_get(url, f"/instances/{instance}/attachments/dicom/info", user="drill", password=password)
            stored = orthanc_storage_file(storage, str(info.get("Uuid", "")))
            restored = sha256_file(stored)[1] if stored.is_file() else "missing"
            md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
            same = hashlib.sha256(body).hexdigest() == restored and md5 == info.get("UncompressedMD5", md5)
            matched += same
        drill.check(f"instances re-hashed (sample of {len(sample)})", f"{len(sample)} match", f"{matched} match",
                    passed=matched == len(sample) and bool(sample))
        detail.append(f"C-ECHO answered; {counts.studies} studies, {counts.instances} instances; "
                      f"{matched}/{len(sample)} sampled instances hash as restored")


def _environment(drill: _Drill) -> DrillEnvironment:
    from backup.runner import _opsctl_version

    try:
        operator = getpass.getuser()
    except (KeyError, OSError):
        operator = str(os.getuid())
    return DrillEnvironment(operator=operator, host=socket.gethostname(), opsctl_version=_opsctl_version(),
                            restic_version=str(drill.restic.version), postgresql_version=drill.postgresql_version,
                            other=tuple(drill.other_versions))


def report_path(settings: Settings, policy_name: str, drill_id: str) -> Path:
    """Where a drill's report document is kept: ``STATE_DIR/drills/POLICY/DRILL_ID.json``."""
    return settings.state_dir / "drills" / policy_name / f"{drill_id}.json"


def run_drill(settings: Settings, policy_name: str, *, source: Source = "local", store: StateStore,
              recorder: Recorder, workdir: Path | None = None, now: Callable[[], datetime] | None = None,
              on_step: StepHandler | None = None, restic: Restic | None = None) -> DrillResult:
    """Run one restore drill of ``policy_name`` from the ``source`` repository; return its result.

    Raise ConfigError (exit 2) for an unknown policy or an off-site drill of a policy without
    ``offsite``; every other failure (a snapshot that does not restore, a corrupted pack, a
    manifest mismatch, a service that never answers) is a failed drill (verdict FAILED, exit
    1, ``opsctl_drill_last_run_success`` 0), recorded, audited and published like a passed one.
    ``workdir``: where the scratch directory is made (default ``backup.drill_workdir``, else
    ``STATE_DIR/drill-scratch``; the postgres user must be able to pass through it).
    """
    clock = now or (lambda: datetime.now(UTC))
    section = backup_settings(settings)
    chosen = policy(settings, policy_name)
    repository_name = chosen.repository if source == "local" else chosen.offsite
    if repository_name is None:
        raise ConfigError(f"policy {policy_name} has no offsite repository to drill from",
                          key_path=f"backup.policies.{policy_name}.offsite")
    bound = restic or Restic(repository_for(settings, repository_name), restic=section.restic,
                             cache_dir=section.cache_dir)
    recorder.check()
    base = workdir or section.drill_workdir or settings.state_dir / "drill-scratch"
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"drill-{policy_name}-", dir=base))
    os.chmod(scratch, 0o711)  # the scratch PostgreSQL's user passes through, reads nothing
    drill = _Drill(policy_name, chosen, source, bound, scratch, on_step, clock)
    drill_id = new_run_id(drill.started)
    queries.record_drill(store, queries.DrillRow(drill_id, policy_name, source, drill.started, None, "running",
                                                 None, None, ()))
    stopped: BaseException | None = None
    try:
        with contextlib.ExitStack() as stack:
            try:
                manifest, roots, members = _locate_and_restore(drill, stack)
                _postgres_steps(drill, manifest, members, roots, stack)
                _orthanc_step(drill, manifest, roots, members, stack)
                if all(step.passed for step in drill.steps) and all(c.passed for c in drill.checks):
                    drill.services_ready_seconds = time.monotonic() - drill.began
            except OpsctlError:
                pass  # the failed step is recorded; the verdict says so
            with drill.step("cleanup") as detail:
                stack.close()
                detail.append("scratch services stopped")
    except BaseException as error:  # Ctrl-C, SIGTERM: recorded as a failed drill, then passed on
        stopped = error
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    finished = clock()
    rto = Objective(drill.services_ready_seconds, chosen.objectives.rto.total_seconds())
    rpo_seconds = (drill.started - drill.snapshot_time).total_seconds() if drill.run_id else None
    rpo = Objective(rpo_seconds, chosen.objectives.rpo.total_seconds())
    verdict, reasons = decide_verdict(drill.steps, drill.checks, rto, rpo)
    report = DrillReport(
        policy=policy_name, source=source, repository=bound.location, snapshot_id=drill.snapshot_id,
        snapshot_time=drill.snapshot_time, started=drill.started, finished=finished, steps=tuple(drill.steps),
        checks=tuple(drill.checks), rto=rto, rpo=rpo, verdict=verdict, environment=_environment(drill),
        reasons=reasons, run_id=drill.run_id, databases=tuple(drill.databases))
    document = report_document(report)
    kept = report_path(settings, policy_name, drill_id)
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(document, indent=2), encoding="utf-8")
    queries.record_drill(store, queries.DrillRow(
        drill_id, policy_name, source, drill.started, finished, "ok" if verdict == "passed" else "failed",
        rto.measured_seconds, rpo.measured_seconds, tuple(document["steps"])))
    metrics_file = _publish(settings, policy_name, report)
    recorder.record("drill run", [policy_name], "ok" if verdict == "passed" else "failed", {
        "drill_id": drill_id, "source": source, "repository": repository_name, "snapshot": drill.snapshot_id,
        "verdict": verdict, "rto_seconds": rto.measured_seconds, "rpo_seconds": rpo.measured_seconds,
        "reasons": list(reasons)})
    if stopped is not None:
        raise stopped
    return DrillResult(drill_id, report, kept, metrics_file)


def _publish(settings: Settings, policy_name: str, report: DrillReport) -> Path | None:
    from backup.metrics import drill_metrics_path, published_timestamp

    directory = backup_settings(settings).textfile_dir
    # a failed drill keeps publishing the last passed one
    last_success = report.finished if report.verdict == "passed" else published_timestamp(
        drill_metrics_path(directory, policy_name), "opsctl_drill_last_success_timestamp_seconds")
    metrics = DrillMetrics(policy=policy_name, run_finished=report.finished, run_ok=report.verdict == "passed",
                           last_success=last_success, rto_seconds=report.rto.measured_seconds,
                           rpo_seconds=report.rpo.measured_seconds)
    try:
        return write_drill_metrics(directory, metrics)
    except OSError:
        return None


def drill_policy(settings: Settings, policy_name: str, *, source: Source, recorder: Recorder,
                 on_step: StepHandler | None = None) -> DrillResult:
    """The CLI's entry: open the state store, :func:`run_drill`."""
    from opsctl.core.state import open_state

    with open_state(settings) as store:
        return run_drill(settings, policy_name, source=source, store=store, recorder=recorder, on_step=on_step)


def drill_report(settings: Settings, policy_name: str | None) -> DrillReport:
    """The CLI's entry: open the state store, :func:`last_report`."""
    from opsctl.core.state import open_state

    with open_state(settings) as store:
        return last_report(settings, policy_name, store=store)


def last_report(settings: Settings, policy_name: str | None, *, store: StateStore) -> DrillReport:
    """The report of the last drill of ``policy_name`` (of any policy when None), from state.

    Raise DrillError when there is none (or its document is gone).
    """
    from backup.settings import policy_names

    names = (policy_name,) if policy_name else policy_names(settings)
    rows = [row for row in (queries.last_drill(store, name) for name in names) if row is not None]
    rows = [row for row in rows if row.finished_at is not None]
    if not rows:
        raise DrillError(f"no drill of {policy_name or 'any policy'} recorded yet",
                         hint="run opsctl drill run POLICY")
    row = max(rows, key=lambda r: r.started_at)
    path = report_path(settings, row.policy, row.drill_id)
    try:
        return report_from_document(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError) as error:
        raise DrillError(f"the report of drill {row.drill_id} of {row.policy} cannot be read at {path}: "
                         f"{error}") from None


__all__ = [
    "DrillError",
    "DrillResult",
    "c_echo",
    "drill_policy",
    "drill_report",
    "last_report",
    "orthanc_storage_file",
    "parse_sanity_query",
    "render_orthanc_config",
    "report_path",
    "run_drill",
    "sha256_file",
    "snapshot_set",
]
