"""The PostgreSQL hook: ``pg_dump -Fc`` streamed into ``restic backup --stdin``, with its manifest entry.

The database is read in one REPEATABLE READ transaction whose snapshot is exported
(``pg_export_snapshot()``) and handed to ``pg_dump --snapshot``: the row counts of the
policy's ``count_tables`` are taken in that same snapshot, so they match the dump exactly.
The dump passes through :mod:`backup.hashpipe` (a tee in Python: size and sha256 as it
streams, no second read of the database) on its way into restic. Every member's exit status
is checked by :meth:`backup.restic.Restic.backup_stdin`; a dump that fails or is cut short
has its snapshot forgotten and raises :class:`~backup.restic.SourceFailed`. The password goes
to pg_dump as ``PGPASSWORD`` in its environment, never on its command line.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backup.restic import ProgressCallback, Restic, SourceFailed
from opsctl.core.execute import PG_DUMP_EXIT_CODES, ExitTable, Program

if TYPE_CHECKING:
    from backup.restic import BackupSummary
    from backup.settings import PostgresSource

HASHPIPE_EXIT_CODES = ExitTable("hashpipe", {0: "ok", 1: "failed", 2: "usage"})
CONNECT_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class DumpRecord:
    """One database's dump as the manifest records it."""

    database: str
    host: str
    port: int
    filename: str
    snapshot_id: str
    bytes: int
    sha256: str
    row_counts: Mapping[str, int]
    server_version: str
    summary: BackupSummary

    def manifest_entry(self) -> dict[str, Any]:
        return {"database": self.database, "host": self.host, "port": self.port, "file": self.filename,
                "snapshot_id": self.snapshot_id, "bytes": self.bytes, "sha256": self.sha256,
                "row_counts": dict(self.row_counts), "server_version": self.server_version}


def pg_dump_program(source: PostgresSource, *, snapshot: str | None = None) -> Program:
    """``pg_dump -Fc`` of ``source`` over the network, never prompting (pure; no secret in it)."""
    argv = [source.pg_dump, "--format=custom", "--no-password", f"--host={source.host}",
            f"--port={source.port}", f"--username={source.user}", f"--dbname={source.database}"]
    if snapshot:
        argv.append(f"--snapshot={snapshot}")
    return Program(tuple(argv), PG_DUMP_EXIT_CODES)


def hashpipe_program(result_file: Path) -> Program:
    """The Python tee that counts and hashes the stream into ``result_file``."""
    return Program((sys.executable, "-m", "backup.hashpipe", str(result_file)), HASHPIPE_EXIT_CODES)


def _identifier(table: str) -> Any:
    from psycopg import sql

    return sql.Identifier(*table.split(".", 1))


def dump_database(restic: Restic, source: PostgresSource, *, tags: Sequence[str],
                  on_progress: ProgressCallback | None = None, host: str | None = None) -> DumpRecord:
    """Dump ``source`` into ``restic``'s repository as ``DB.dump``; return its manifest record.

    Raise :class:`SourceFailed` when the database cannot be reached or read, or the dump
    fails or is cut short (its snapshot forgotten), and a :class:`~backup.restic.ResticError`
    when restic fails.
    """
    import psycopg

    password = source.password.resolve() if source.password is not None else None
    where = f"postgres {source.database} at {source.host}:{source.port}"
    try:
        connection = psycopg.connect(host=source.host, port=source.port, user=source.user, password=password,
                                     dbname=source.database, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                     application_name="opsctl backup")
    except psycopg.Error as error:
        raise SourceFailed(f"{where}: cannot connect: {_one_line(error)}", removed_snapshot=None,
                           location=restic.location) from None
    with connection, tempfile.TemporaryDirectory(prefix="opsctl-dump-") as scratch:
        try:
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            connection.read_only = True
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
                row = cursor.fetchone()
                assert row is not None
                snapshot, server_version = str(row[0]), str(row[1])
                counts: dict[str, int] = {}
                for table in source.count_tables:
                    from psycopg import sql

                    cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(_identifier(table)))
                    counted = cursor.fetchone()
                    counts[table] = int(counted[0]) if counted else 0
        except psycopg.Error as error:
            raise SourceFailed(f"{where}: cannot read: {_one_line(error)}", removed_snapshot=None,
                               location=restic.location) from None
        result_file = Path(scratch) / "hash.json"
        producers = (pg_dump_program(source, snapshot=snapshot), hashpipe_program(result_file))
        secret = {"PGPASSWORD": password} if password is not None else {}
        backup = restic.backup_stdin(producers, source.dump_filename, tags=tags, host=host,
                                     on_progress=on_progress, producer_secret_env=secret)
        connection.rollback()
        try:
            digest = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            restic.forget((backup.summary.snapshot_id,))
            raise SourceFailed(f"{where}: the dump's size and digest were not recorded; snapshot "
                               f"{backup.summary.snapshot_id[:8]} removed",
                               removed_snapshot=backup.summary.snapshot_id, location=restic.location) from None
    return DumpRecord(source.database, source.host, source.port, source.dump_filename,
                      backup.summary.snapshot_id, int(digest["bytes"]), str(digest["sha256"]), counts,
                      server_version, backup.summary)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 200 else text[:197] + "..."


__all__ = ["DumpRecord", "dump_database", "hashpipe_program", "pg_dump_program"]
