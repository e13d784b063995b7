"""``opsctl backup restore``: a policy's files into a directory, or a dump into a database. Audited.

Nothing is overwritten by default. Files go into a target directory that is new or empty
(``replace`` restores over what is there). A database goes into a NEW database of the
policy's PostgreSQL server (host, port, user and password of the policy's postgres source):
``restic dump`` streams the dump into ``pg_restore`` with both statuses checked, into a
staging database ``NAME__restoring``; only a whole restore is renamed to ``NAME`` (with
``replace``, the old ``NAME`` is dropped first, so a failed restore never costs the old
one). The snapshot is the one given, else the newest the state store recorded good in that
repository, else (a controller rebuilt without its state) the newest restic lists with the
policy's tags. A failure (a full disk, a wrong password, a dump that pg_restore refuses)
raises :class:`RestoreFailed` naming the target; a partial restore into a target opsctl
created or found empty is removed, so nothing is left looking restored.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backup import queries
from backup.maintenance import Where, chosen_repository, restic_for
from backup.offsite import opened_store, snapshot_source
from backup.restic import Restic, ResticError
from backup.settings import PolicySettings, PostgresSource
from opsctl.core.errors import ConfigError, OpsctlError, SafetyRefusal
from opsctl.core.execute import PG_RESTORE_EXIT_CODES, Pipeline, Program, execute

if TYPE_CHECKING:
    from opsctl.core.execute import Stream
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings
    from opsctl.core.state import StateStore

STAGING_SUFFIX = "__restoring"


class RestoreRefused(SafetyRefusal, FileExistsError):
    """The restore would overwrite something (a non-empty directory, an existing database) without ``replace``."""


class RestoreFailed(OpsctlError, RuntimeError):
    """A restore began and failed; the message names the target and why. Nothing counts as restored."""


@dataclass(frozen=True)
class RestoreResult:
    """What a restore put where: ``kind`` ``files`` (``target`` a directory) or ``database`` (its name)."""

    policy: str
    kind: str
    repository: str
    snapshot_id: str
    target: str
    started_at: datetime
    finished_at: datetime
    replaced: bool
    files_restored: int | None = None
    bytes_restored: int | None = None
    server: str | None = None
    include: tuple[str, ...] = ()  # the paths a files restore was limited to (none: the whole snapshot)

    @property
    def exit_code(self) -> int:
        return 0

    @property
    def duration_seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy, "kind": self.kind, "repository": self.repository,
            "snapshot_id": self.snapshot_id, "target": self.target, "server": self.server,
            "started_at": self.started_at.isoformat(), "finished_at": self.finished_at.isoformat(),
            "duration_seconds": round(self.duration_seconds, 3), "replaced": self.replaced,
            "files_restored": self.files_restored, "bytes_restored": self.bytes_restored,
            "include": list(self.include),
        }


def pick_snapshot(store: StateStore | None, restic: Restic, policy_name: str, repository_name: str,
                  source: str) -> str:
    """The newest snapshot of ``source`` (``paths``, ``postgres:DB``) of the policy: recorded good in
    the state store, else listed by restic with the policy's tags. Raise RestoreFailed when none."""
    if store is not None:
        row = queries.latest_good_snapshot(store, policy_name, repository_name, source=source)
        if row is not None:
            return row.snapshot_id
    listed = [s for s in restic.snapshots(tags=("opsctl", f"policy={policy_name}")) if snapshot_source(s) == source]
    if not listed:
        raise RestoreFailed(f"policy {policy_name}: no {source} snapshot in repository {repository_name}",
                            hint=f"opsctl backup snapshots {policy_name} lists what the repository holds; "
                                 f"--snapshot ID restores one of them")
    return listed[-1].id


def newest_good(settings: Settings, store: StateStore | None, restic: Restic, policy_name: str,
                repository_name: str, source: str) -> str:
    """:func:`pick_snapshot` with the settings' state store opened for it when ``store`` is None."""
    with opened_store(settings, store) as opened:
        return pick_snapshot(opened, restic, policy_name, repository_name, source)


def _tree_size(root: Path) -> tuple[int, int]:
    """The regular files at or below ``root`` (symbolic links not followed) and their bytes."""
    if not root.is_dir() or root.is_symlink():
        return (1, root.stat().st_size) if root.is_file() and not root.is_symlink() else (0, 0)
    files = size = 0
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if path.is_file() and not path.is_symlink():
                files += 1
                size += path.stat().st_size
    return files, size


def restore_files(settings: Settings, policy_name: str, target: Path, *, store: StateStore | None,
                  recorder: Recorder, snapshot: str | None = None, replace: bool = False,
                  where: Where = "local", include: Sequence[str] = ()) -> RestoreResult:
    """Restore the policy's paths snapshot into ``target``; return what was restored.

    ``include`` restores only those paths (restic's ``--include`` patterns, as the snapshot
    holds them: ``/etc/orthanc/orthanc.json``, a directory with all it holds); one that
    matches nothing is a failure, never an empty "restored".

    Raise RestoreRefused (exit 5) when ``target`` is a non-empty directory (or not a
    directory) and ``replace`` is not given; RestoreFailed naming ``target`` when restic fails
    (a full disk says so) or the includes matched no file, after removing what it wrote into
    a target that was new or empty.
    """
    patterns = tuple(include)
    for pattern in patterns:
        if not pattern.strip() or "\x00" in pattern:
            raise ConfigError(f"--include {pattern!r}: give a path as the snapshot holds it")
    chosen, repository_name = chosen_repository(settings, policy_name, where)
    target = target.absolute()
    existed = target.exists()
    if existed and not target.is_dir():
        raise RestoreRefused(f"restore target {target} exists and is not a directory")
    was_empty = not existed or not any(target.iterdir())
    if not was_empty and not replace:
        raise RestoreRefused(f"restore target {target} is not empty (give --replace to restore over it)")
    restic = restic_for(settings, repository_name)
    recorder.check()
    snapshot_id = snapshot or newest_good(settings, store, restic, policy_name, repository_name, "paths")
    started = datetime.now(UTC)
    said: list[str] = []

    def collect(_stream: Stream, line: str) -> None:
        if "no space left on device" in line.lower() and not said:
            said.append(line.strip())

    target.mkdir(parents=True, exist_ok=True)
    try:
        restic.run("restore", snapshot_id, "--target", str(target), *(f"--include={p}" for p in patterns),
                   action="restore", on_line=collect)
    except ResticError as error:
        if was_empty:
            _empty(target, remove=not existed)
        why = f"no space left on device ({error.message})" if said else error.message
        recorder.record("backup restore", [policy_name], "failed", {
            "kind": "files", "repository": repository_name, "snapshot": snapshot_id, "target": str(target),
            "error": why})
        raise RestoreFailed(f"restore of {policy_name} snapshot {snapshot_id[:8]} into {target} failed: {why}",
                            hint="nothing was restored; free space or choose another target" if said else None) \
            from None
    counted = [_tree_size(path) for path in (_included(target, patterns) if patterns else [target])]
    files, size = sum(files for files, _ in counted), sum(size for _, size in counted)
    if patterns and files == 0:
        if was_empty:
            _empty(target, remove=not existed)
        why = f"no file of the snapshot matches --include {', '.join(patterns)}"
        recorder.record("backup restore", [policy_name], "failed", {
            "kind": "files", "repository": repository_name, "snapshot": snapshot_id, "target": str(target),
            "include": list(patterns), "error": why})
        raise RestoreFailed(f"restore of {policy_name} snapshot {snapshot_id[:8]} into {target} failed: {why}",
                            hint=f"opsctl backup ls {policy_name} --snapshot {snapshot_id[:8]} lists what it "
                                 f"holds under the policy's paths: " + ", ".join(str(path) for path in chosen.paths))
    result = RestoreResult(policy_name, "files", repository_name, snapshot_id, str(target), started,
                           datetime.now(UTC), replaced=not was_empty, files_restored=files, bytes_restored=size,
                           include=patterns)
    recorder.record("backup restore", [policy_name], "changed", result.to_dict())
    return result


def _included(target: Path, patterns: Sequence[str]) -> list[Path]:
    """What a restore with ``patterns`` (restic's ``--include``) put into ``target``: each path, or what a
    pattern with wildcards matches, where restic writes it (``target`` + the snapshot's absolute path).
    Counting these, not the whole target, keeps a ``--replace`` over older files from looking restored."""
    found: list[Path] = []
    for pattern in patterns:
        relative = pattern.strip().lstrip("/").rstrip("/")
        if any(mark in relative for mark in "*?["):
            found.extend(path for path in target.glob(relative) if path not in found)
        elif (target / relative).exists() and target / relative not in found:
            found.append(target / relative)
    return found


def _empty(target: Path, *, remove: bool) -> None:
    """Remove what a failed restore wrote into ``target`` (and ``target`` itself when it was new)."""
    if remove:
        shutil.rmtree(target, ignore_errors=True)
        return
    for child in target.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def postgres_source(chosen: PolicySettings, policy_name: str, dump: str | None) -> PostgresSource:
    """The policy's postgres source named ``dump`` (the only one when None); raise ConfigError otherwise."""
    sources = {source.database: source for source in chosen.postgres}
    if dump is not None:
        if dump not in sources:
            raise ConfigError(f"backup policy {policy_name} dumps no database {dump!r} "
                              f"(it dumps: {', '.join(sources) or 'none'})", key_path=f"backup.policies.{policy_name}")
        return sources[dump]
    if len(sources) != 1:
        raise ConfigError(f"backup policy {policy_name} dumps {len(sources)} databases: name one with --dump "
                          f"({', '.join(sources) or 'none'})", key_path=f"backup.policies.{policy_name}.postgres")
    return next(iter(sources.values()))


def pg_restore_argv(source: PostgresSource, database: str) -> tuple[str, ...]:
    """``pg_restore`` from stdin into ``database`` on the source's server, never prompting (pure)."""
    program = str(Path(source.pg_dump).with_name("pg_restore")) if "/" in source.pg_dump else "pg_restore"
    return (program, "--no-password", f"--host={source.host}", f"--port={source.port}",
            f"--username={source.user}", f"--dbname={database}", "--no-owner", "--no-privileges", "--exit-on-error")


def _connect(source: PostgresSource, password: str | None) -> Any:
    import psycopg

    last: Exception | None = None
    for maintenance_db in ("postgres", source.database):
        try:
            return psycopg.connect(host=source.host, port=source.port, user=source.user, password=password,
                                   dbname=maintenance_db, autocommit=True, connect_timeout=10)
        except psycopg.Error as error:
            last = error
    raise RestoreFailed(f"PostgreSQL {source.host}:{source.port} as {source.user}: cannot connect: "
                        f"{str(last).strip().splitlines()[0] if last else 'no answer'}")


def restore_database(settings: Settings, policy_name: str, database: str, *, store: StateStore | None,
                     recorder: Recorder, snapshot: str | None = None, replace: bool = False, dump: str | None = None,
                     where: Where = "local") -> RestoreResult:
    """Restore the policy's dump of ``dump`` into the database ``database`` of the source's server.

    Raise RestoreRefused (exit 5) when ``database`` exists and ``replace`` is not given,
    RestoreFailed naming the database when restic dump or pg_restore fails (the staging
    database is dropped, an existing ``database`` is kept as it was).
    """
    from psycopg import sql

    chosen, repository_name = chosen_repository(settings, policy_name, where)
    source = postgres_source(chosen, policy_name, dump)
    if not database or len(database) > 63 - len(STAGING_SUFFIX) or "\x00" in database:
        raise ConfigError(f"database name {database!r}: 1 to {63 - len(STAGING_SUFFIX)} characters")
    password = source.password.resolve() if source.password is not None else None
    restic = restic_for(settings, repository_name)
    server = f"{source.host}:{source.port}"
    staging = database + STAGING_SUFFIX
    with _connect(source, password) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists and not replace:
            raise RestoreRefused(f"database {database} exists on {server} (give --replace to replace it)")
        recorder.check()
        snapshot_id = snapshot or newest_good(settings, store, restic, policy_name, repository_name,
                                        f"postgres:{source.database}")
        started = datetime.now(UTC)
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(staging)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(staging)))
        env, secret = restic.process_environment()
        dump_program = restic.program("dump", "--no-lock", snapshot_id, f"/{source.dump_filename}")
        pipeline = Pipeline((dump_program, Program(pg_restore_argv(source, staging), PG_RESTORE_EXIT_CODES)))
        secret_env: Mapping[str, str] = {**secret, **({"PGPASSWORD": password} if password is not None else {})}
        result = execute(pipeline, env=env, secret_env=secret_env, keep_output=64 * 1024,
                         timeout=restic.timeout)
        if not result.ok:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(staging)))
            failed = result.failed_member
            program = os.path.basename(failed.argv[0]) if failed is not None else "the pipeline"
            lines = [line.strip() for line in result.stderr_text.splitlines() if line.strip()][-2:]
            why = f"{program} exited {failed.exit_status if failed else result.exit_status}" + \
                (f": {' | '.join(lines)}" if lines else "")
            recorder.record("backup restore", [policy_name], "failed", {
                "kind": "database", "repository": repository_name, "snapshot": snapshot_id, "database": database,
                "server": server, "error": why[:500]})
            raise RestoreFailed(f"restore of {policy_name} snapshot {snapshot_id[:8]} into database {database} "
                                f"on {server} failed: {why[:300]}")
        if exists:
            connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(database)))
        connection.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(staging),
                                                                           sql.Identifier(database)))
    result_row = RestoreResult(policy_name, "database", repository_name, snapshot_id, database, started,
                               datetime.now(UTC), replaced=bool(exists), server=server)
    recorder.record("backup restore", [policy_name], "changed", result_row.to_dict())
    return result_row


__all__ = [
    "RestoreFailed",
    "RestoreRefused",
    "RestoreResult",
    "pg_restore_argv",
    "pick_snapshot",
    "postgres_source",
    "restore_database",
    "restore_files",
]
