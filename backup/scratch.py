"""The drill's throwaway PostgreSQL: a cluster of its own, on loopback only, gone when the drill ends.

:func:`scratch_postgres` makes a new cluster in a directory of its own under the drill's work
directory (``initdb`` as the ``postgres`` user, which it must be: initdb refuses root), starts
it with ``pg_ctl`` listening on one loopback address or on a unix socket only, waits for a real
``SELECT 1`` and yields a :class:`ScratchCluster`; on every way out (an exception, Ctrl-C) it
stops the server and removes the directory. A cluster left behind by a drill that was killed
(SIGKILL cannot be caught) is stopped and removed by the next one in the same work directory
(:func:`remove_stale_clusters`). Restored patient data never listens beyond loopback: any
other address is refused before anything starts.

Access: the superuser over the unix socket (``trust``; the socket's directory is 0700 and the
postgres user's, so only root and postgres reach it) for opsctl's own work, and over TCP with a
random SCRAM password that lives only in this process, for clients of the restored service.
fsync is off: the cluster is scratch and its speed is part of the measured RTO.

:func:`restore_dump` runs ``pg_restore`` (through :func:`opsctl.core.execute.execute` and its
PostgreSQL exit table) from a dump file or a program's output (``restic dump ...``);
:func:`run_sanity_queries` and :func:`count_rows` check what was restored.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

from backup.report import DrillCheck
from opsctl.core.errors import OpsctlError, SafetyRefusal
from opsctl.core.execute import (
    PG_RESTORE_EXIT_CODES,
    ExecResult,
    Pipeline,
    Program,
    command_text,
    execute,
)
from opsctl.core.owner import ProcessIdentity

POSTGRES_ROOT = Path("/usr/lib/postgresql")
POSTGRES_USER = "postgres"
SUPERUSER = "postgres"
CLUSTER_PREFIX = "scratch-postgres-"
OWNER_FILE = "owner.json"
_REQUIRED_PROGRAMS = ("initdb", "pg_ctl", "postgres", "pg_restore")
_SOCKET_PATH_MAX = 107  # sun_path less its NUL
_SOCKET_NAME = "/.s.PGSQL.65535"
#: where a cluster's socket directory goes when the cluster's own path is too long for a socket
SHORT_SOCKET_BASE = Path("/tmp")
_SHORT_SOCKET_PREFIX = "opsctl-scratch-socket-"
_ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC"}
_PROGRAM_TIMEOUT_SECONDS = 300.0
_STOP_TIMEOUT_SECONDS = 30


class ScratchError(OpsctlError, RuntimeError):
    """The throwaway PostgreSQL could not be made, started, reached or restored into."""


class ScratchRefused(SafetyRefusal):
    """Refused before anything started: restored patient data would listen beyond loopback."""


class RestoreFailed(ScratchError):
    """``pg_restore`` (or the program feeding it) failed; ``result`` holds what ran."""

    def __init__(self, message: str, *, result: ExecResult) -> None:
        super().__init__(message)
        self.result = result


# -- binaries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresBinaries:
    """One installed PostgreSQL's programs (``/usr/lib/postgresql/15/bin``) and its major version."""

    bin_dir: Path
    major_version: int

    def program(self, name: str) -> str:
        return str(self.bin_dir / name)


def find_postgres_binaries(root: Path = POSTGRES_ROOT) -> PostgresBinaries:
    """The newest PostgreSQL under ``root`` with every program a drill needs (Debian installs each
    major version in ``root/N/bin``); raise :class:`ScratchError` when there is none."""
    found = []
    for directory in root.iterdir() if root.is_dir() else ():
        bin_dir = directory / "bin"
        if directory.name.isdigit() and all(os.access(bin_dir / p, os.X_OK) for p in _REQUIRED_PROGRAMS):
            found.append(PostgresBinaries(bin_dir, int(directory.name)))
    if not found:
        raise ScratchError(f"no PostgreSQL server programs under {root} ({', '.join(_REQUIRED_PROGRAMS)})",
                           hint="install the Debian package postgresql")
    return max(found, key=lambda binaries: binaries.major_version)


# -- the cluster ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScratchCluster:
    """A running throwaway cluster.

    ``host``: its TCP address (loopback), None when it listens on its unix socket only.
    ``conninfo(database)`` reaches it as the superuser over the socket (no password); a client
    of the restored service uses ``host``/``port`` and ``password`` (never shown in a repr).
    """

    host: str | None
    port: int
    socket_dir: Path
    data_dir: Path
    directory: Path
    binaries: PostgresBinaries
    server_version: str
    superuser: str = SUPERUSER
    password: str = field(default="", repr=False)
    postmaster_pid: int | None = None

    def conninfo(self, database: str = "postgres") -> str:
        """A libpq connection string to ``database`` as the superuser over the unix socket."""
        return _conninfo(host=str(self.socket_dir), port=str(self.port), user=self.superuser, dbname=database)

    @property
    def dsn(self) -> str:
        """The superuser's connection string (socket, database ``postgres``)."""
        return self.conninfo()

    def describe(self) -> str:
        """``PostgreSQL 15.14 on 127.0.0.1:41733`` (or on its socket) for messages."""
        where = f"{self.host}:{self.port}" if self.host else f"unix socket {self.socket_dir}"
        return f"scratch PostgreSQL {self.server_version} on {where}"


def _conninfo(**parameters: str) -> str:
    def quote(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    return " ".join(f"{key}={quote(value)}" for key, value in parameters.items())


def check_loopback(bind: str | None) -> None:
    """Raise :class:`ScratchRefused` unless ``bind`` is a loopback address (None: socket only)."""
    if bind is None:
        return
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:
        raise ScratchRefused(f"scratch PostgreSQL: bind address {bind!r} is not an IP address; "
                             "restored patient data listens on a loopback address or a unix socket only") from None
    if not address.is_loopback:
        raise ScratchRefused(f"scratch PostgreSQL: refusing to listen on {bind}: restored patient data never "
                             "listens beyond loopback", hint="bind 127.0.0.1 (or another 127.x address), or None")


def _postgres_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        raise ScratchError(f"there is no {POSTGRES_USER} system user to run the scratch PostgreSQL",
                           hint="install the Debian package postgresql") from None


def _blocking_ancestor(path: Path, account: pwd.struct_passwd) -> Path | None:
    """The first directory above ``path`` the postgres user cannot pass through, if any."""
    groups = {account.pw_gid, *(g for g in os.getgrouplist(account.pw_name, account.pw_gid))}
    for directory in reversed(path.parents):
        info = directory.stat()
        if info.st_uid == account.pw_uid:
            allowed = info.st_mode & stat.S_IXUSR
        elif info.st_gid in groups:
            allowed = info.st_mode & stat.S_IXGRP
        else:
            allowed = info.st_mode & stat.S_IXOTH
        if not allowed:
            return directory
    return None


def _free_port(address: str) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def render_postgresql_conf(*, bind: str | None, port: int, socket_dir: Path) -> str:
    """The settings appended to the scratch cluster's ``postgresql.conf`` (later lines win)."""
    return (
        "\n# opsctl drill: a throwaway cluster on loopback only\n"
        f"listen_addresses = '{bind or ''}'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        "unix_socket_permissions = 0700\n"
        "fsync = off\n"
        "synchronous_commit = off\n"
        "full_page_writes = off\n"
        # a restore's bulk load, as PostgreSQL's "Populating a Database" advises: index builds in
        # memory, no WAL beyond crash recovery (the cluster is thrown away), no checkpoints forced
        # by WAL volume, no autovacuum competing with the load
        "wal_level = minimal\n"
        "max_wal_senders = 0\n"
        "max_wal_size = '4GB'\n"
        "checkpoint_timeout = '30min'\n"
        "maintenance_work_mem = '256MB'\n"
        "autovacuum = off\n"
        "max_connections = 20\n"
        "logging_collector = off\n"
        "timezone = 'UTC'\n"
        "datestyle = 'iso, ymd'\n"
        "lc_messages = 'C.UTF-8'\n"
    )


def render_pg_hba(bind: str | None) -> str:
    """``pg_hba.conf``: anyone who reaches the 0700 socket directory (root, postgres) trusted;
    TCP from the bind address only, with the superuser's SCRAM password."""
    lines = ["# opsctl drill: a throwaway cluster", "local all all trust"]
    if bind is not None:
        prefix = 128 if ":" in bind else 32
        lines.append(f"host all all {bind}/{prefix} scram-sha-256")
    return "\n".join(lines) + "\n"


def _as_postgres(*argv: str) -> tuple[str, ...]:
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return (runuser, "-u", POSTGRES_USER, "--", *argv)


def _chown(path: Path, account: pwd.struct_passwd) -> None:
    os.chown(path, account.pw_uid, account.pw_gid)


def _log_tail(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


def _run(argv: tuple[str, ...], *, cwd: Path, what: str, log: Path | None = None,
         timeout: float = _PROGRAM_TIMEOUT_SECONDS) -> ExecResult:
    result = execute(Program(argv), timeout=timeout, env=_ENVIRONMENT, cwd=str(cwd))
    if not result.ok:
        output = " ".join((result.stderr_text or result.stdout_text).split())[-400:]
        tail = _log_tail(log) if log is not None else ""
        raise ScratchError(f"scratch PostgreSQL: {what} failed ({result.status_name}): "
                           + (output or tail or "no output"))
    return result


def _write_owner(directory: Path) -> None:
    me = ProcessIdentity.current()
    record = {"host": me.host, "pid": me.pid, "started": me.started, "boot_id": me.boot_id}
    (directory / OWNER_FILE).write_text(json.dumps(record) + "\n", encoding="utf-8")


def _owner_alive(directory: Path) -> bool:
    try:
        record = json.loads((directory / OWNER_FILE).read_text(encoding="utf-8"))
        owner = ProcessIdentity(str(record["host"]), int(record["pid"]), float(record["started"]),
                                str(record["boot_id"]))
    except (OSError, ValueError, KeyError, TypeError):
        # no owner yet: a cluster being made this very moment; leave it unless it is old
        try:
            return time.time() - directory.stat().st_mtime < 3600
        except OSError:
            return False
    return owner.alive() is not False


def _postmaster_pid(data_dir: Path) -> int | None:
    try:
        first = (data_dir / "postmaster.pid").read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    return int(first) if first.isdigit() else None


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        status = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rpartition(")")[2].split()
    except OSError:
        return False
    return bool(status) and status[0] != "Z" and str(data_dir).encode() in command


def _socket_dir(directory: Path) -> Path:
    """The cluster's 0700 socket directory: ``directory/socket``, or, when that path is too long
    for a unix socket (a long state directory), a directory of its own under
    :data:`SHORT_SOCKET_BASE` that ``directory/socket`` links to, so that stopping the cluster
    (or removing a killed drill's) removes it too."""
    socket_dir = directory / "socket"
    if len(str(socket_dir)) + len(_SOCKET_NAME) <= _SOCKET_PATH_MAX:
        socket_dir.mkdir(mode=0o700)
        return socket_dir
    short = Path(tempfile.mkdtemp(prefix=_SHORT_SOCKET_PREFIX, dir=SHORT_SOCKET_BASE))
    socket_dir.symlink_to(short)
    if len(str(short)) + len(_SOCKET_NAME) > _SOCKET_PATH_MAX:
        raise ScratchError(f"scratch PostgreSQL: {SHORT_SOCKET_BASE} is too long a path for a unix socket "
                           f"({_SOCKET_PATH_MAX} bytes at most)")
    return short


def _remove_short_socket_dir(directory: Path) -> None:
    """Remove the socket directory ``directory/socket`` links to (see :func:`_socket_dir`); only
    one of ours under :data:`SHORT_SOCKET_BASE`, whatever the link says."""
    link = directory / "socket"
    if not link.is_symlink():
        return
    target = Path(os.readlink(link))
    if target.parent == SHORT_SOCKET_BASE and target.name.startswith(_SHORT_SOCKET_PREFIX):
        shutil.rmtree(target, ignore_errors=True)


def _stop(directory: Path, data_dir: Path, binaries: PostgresBinaries) -> None:
    """Stop the server of ``data_dir`` (pg_ctl immediate, then SIGKILL), then remove ``directory``
    (and its socket directory when that lies elsewhere)."""
    try:
        pid = _postmaster_pid(data_dir)
        if pid is not None and _is_postmaster_of(pid, data_dir):
            result = execute(Program(_as_postgres(binaries.program("pg_ctl"), "--pgdata", str(data_dir),
                                                  "--mode", "immediate", "--wait",
                                                  "--timeout", str(_STOP_TIMEOUT_SECONDS), "stop")),
                             timeout=_STOP_TIMEOUT_SECONDS + 10, env=_ENVIRONMENT, cwd="/")
            if not result.ok or _is_postmaster_of(pid, data_dir):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 10
                while _is_postmaster_of(pid, data_dir) and time.monotonic() < deadline:
                    time.sleep(0.05)
    finally:
        _remove_short_socket_dir(directory)
        shutil.rmtree(directory, ignore_errors=True)


def remove_stale_clusters(workdir: Path, binaries: PostgresBinaries | None = None) -> list[Path]:
    """Stop and remove the scratch clusters under ``workdir`` whose drill is gone (killed, say);
    return their directories. A cluster whose drill still runs is left alone."""
    removed: list[Path] = []
    if not workdir.is_dir():
        return removed
    for directory in sorted(workdir.glob(f"{CLUSTER_PREFIX}*")):
        if not directory.is_dir() or _owner_alive(directory):
            continue
        _stop(directory, directory / "data", binaries or find_postgres_binaries())
        removed.append(directory)
    return removed


@contextlib.contextmanager
def scratch_postgres(
    workdir: Path,
    *,
    bind: str | None = "127.0.0.1",
    port: int = 0,
    binaries: PostgresBinaries | None = None,
    ready_timeout: float = 60.0,
) -> Iterator[ScratchCluster]:
    """A throwaway PostgreSQL cluster in a new directory under ``workdir``, running while the
    ``with`` block runs; stopped and removed on every way out of it.

    ``bind``: the loopback address it listens on, or None for its unix socket only (any other
    address raises :class:`ScratchRefused` before anything starts); ``port`` 0 picks a free
    one. ``workdir`` must be reachable by the postgres user (not under a 0700 directory of
    root's). Clusters of killed drills in ``workdir`` are removed first. Raise
    :class:`ScratchError` naming the step (initdb, start, readiness) and PostgreSQL's own words.
    """
    check_loopback(bind)
    account = _postgres_account()
    binaries = binaries or find_postgres_binaries()
    workdir = workdir.absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    blocking = _blocking_ancestor(workdir / "x", account)
    if blocking is not None:
        raise ScratchError(f"scratch PostgreSQL: the {POSTGRES_USER} user cannot reach {workdir}: "
                           f"{blocking} is closed to it",
                           hint=f"use a work directory {POSTGRES_USER} can pass through (e.g. under /var/lib/opsctl)")
    remove_stale_clusters(workdir, binaries)
    directory = Path(tempfile.mkdtemp(prefix=CLUSTER_PREFIX, dir=workdir))
    data_dir = directory / "data"
    try:
        _write_owner(directory)
        _chown(directory, account)
        os.chmod(directory, 0o700)
        socket_dir = _socket_dir(directory)
        _chown(socket_dir, account)
        log = directory / "server.log"
        log.touch(mode=0o600)
        _chown(log, account)
        password = secrets.token_hex(24)
        password_file = directory / "superuser-password"
        descriptor = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(password + "\n")
        _chown(password_file, account)
        try:
            _run(_as_postgres(binaries.program("initdb"), "--pgdata", str(data_dir), "--username", SUPERUSER,
                              "--encoding", "UTF8", "--locale", "C.UTF-8", "--auth-local", "trust",
                              "--auth-host", "scram-sha-256", "--pwfile", str(password_file),
                              "--no-sync", "--no-instructions"),
                 cwd=directory, what="initdb")
        finally:
            password_file.unlink(missing_ok=True)
        cluster = _start(directory, data_dir, socket_dir, log, binaries, account, bind=bind, port=port,
                         password=password, ready_timeout=ready_timeout)
        yield cluster
    finally:
        _stop(directory, data_dir, binaries)


def _start(directory: Path, data_dir: Path, socket_dir: Path, log: Path, binaries: PostgresBinaries,
           account: pwd.struct_passwd, *, bind: str | None, port: int, password: str,
           ready_timeout: float) -> ScratchCluster:
    """Configure and start the server, retrying another free port if a picked one was taken."""
    attempts = 3 if (port == 0 and bind is not None) else 1
    for attempt in range(attempts):
        chosen = port or (_free_port(bind) if bind is not None else 5432)
        with open(data_dir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write(render_postgresql_conf(bind=bind, port=chosen, socket_dir=socket_dir))
        hba = data_dir / "pg_hba.conf"
        hba.write_text(render_pg_hba(bind), encoding="utf-8")
        _chown(hba, account)
        try:
            _run(_as_postgres(binaries.program("pg_ctl"), "--pgdata", str(data_dir), "--log", str(log),
                              "--wait", "--timeout", str(max(1, round(ready_timeout))), "start"),
                 cwd=directory, what="pg_ctl start", log=log, timeout=ready_timeout + 30)
        except ScratchError:
            if attempt + 1 < attempts and "already in use" in _log_tail(log, 20):
                continue
            raise
        return _wait_ready(data_dir, socket_dir, binaries, bind=bind, port=chosen, password=password,
                           directory=directory, log=log, ready_timeout=ready_timeout)
    raise AssertionError("unreachable")


def _wait_ready(data_dir: Path, socket_dir: Path, binaries: PostgresBinaries, *, bind: str | None, port: int,
                password: str, directory: Path, log: Path, ready_timeout: float) -> ScratchCluster:
    """Wait for ``SELECT 1`` over the socket and, when it listens on TCP, as a client would."""
    import psycopg

    deadline = time.monotonic() + ready_timeout
    last_error = ""
    while True:
        try:
            with psycopg.connect(host=str(socket_dir), port=port, user=SUPERUSER, dbname="postgres",
                                 connect_timeout=5) as connection:
                row = connection.execute("SELECT 1, current_setting('server_version')").fetchone()
            if bind is not None:
                with psycopg.connect(host=bind, port=port, user=SUPERUSER, dbname="postgres", password=password,
                                     connect_timeout=5) as connection:
                    tcp_row = connection.execute("SELECT 1").fetchone()
                if tcp_row is None or tcp_row[0] != 1:
                    raise ScratchError(f"scratch PostgreSQL on {bind}:{port}: SELECT 1 gave {tcp_row!r}")
            if row is None or row[0] != 1:
                raise ScratchError(f"scratch PostgreSQL: SELECT 1 gave {row!r}")
            return ScratchCluster(host=bind, port=port, socket_dir=socket_dir, data_dir=data_dir,
                                  directory=directory, binaries=binaries, server_version=str(row[1]),
                                  password=password, postmaster_pid=_postmaster_pid(data_dir))
        except psycopg.Error as error:
            last_error = " ".join(str(error).split())
        if time.monotonic() >= deadline:
            raise ScratchError(f"scratch PostgreSQL did not answer SELECT 1 within {ready_timeout:g} s: "
                               f"{last_error} {_log_tail(log)}".strip())
        time.sleep(0.1)


# -- restoring and checking ----------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreTiming:
    """One restore into the scratch cluster: what, when (UTC), how long, and from where."""

    database: str
    started: datetime
    duration_seconds: float
    source: str  # the dump's path, or the command whose output was restored
    dump_bytes: int | None = None  # the dump file's size; None for a stream


def pg_restore_argv(cluster: ScratchCluster, database: str, *, dump_path: Path | None, jobs: int = 1) -> tuple[str, ...]:
    """``pg_restore`` into ``database`` of ``cluster`` over its socket; from ``dump_path`` or stdin.

    Ownership and grants are not restored (the scratch cluster has none of the source's roles);
    the first error stops it, so a damaged dump fails instead of restoring half.
    """
    argv = [cluster.binaries.program("pg_restore"), "--host", str(cluster.socket_dir), "--port", str(cluster.port),
            "--username", cluster.superuser, "--dbname", database, "--no-owner", "--no-privileges",
            "--exit-on-error"]
    if dump_path is not None:
        if jobs > 1:
            argv += ["--jobs", str(jobs)]
        argv.append(str(dump_path))
    return tuple(argv)


def create_database(cluster: ScratchCluster, database: str) -> None:
    """Create the empty database ``database`` in ``cluster``; raise :class:`ScratchError` if it cannot."""
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(cluster.conninfo(), autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    except psycopg.Error as error:
        raise ScratchError(f"{cluster.describe()}: cannot create database {database}: "
                           f"{' '.join(str(error).split())}") from None


def restore_dump(
    cluster: ScratchCluster,
    dump: Path | Program,
    database: str,
    *,
    secret_env: Mapping[str, str] | None = None,
    jobs: int = 1,
    timeout: float = 6 * 3600.0,
    cancel: threading.Event | None = None,
) -> RestoreTiming:
    """Restore a custom-format dump into a new database ``database`` of ``cluster``; return its timing.

    ``dump``: the dump file, or a :class:`Program` writing the dump on its stdout (``restic dump
    ...``), piped into ``pg_restore`` with both statuses checked; ``secret_env`` goes into the
    children's environment (restic's password). Raise :class:`RestoreFailed` naming the program
    that failed and its last words (a timeout or cancel included), :class:`ScratchError` if
    the database cannot be created.
    """
    create_database(cluster, database)
    started = datetime.now(UTC)
    if isinstance(dump, Path):
        size = dump.stat().st_size if dump.is_file() else None
        command: Program | Pipeline = Program(pg_restore_argv(cluster, database, dump_path=dump, jobs=jobs),
                                              PG_RESTORE_EXIT_CODES)
        source = str(dump)
    else:
        size = None
        command = Pipeline((dump, Program(pg_restore_argv(cluster, database, dump_path=None),
                                          PG_RESTORE_EXIT_CODES)))
        source = command_text(dump)
    result = execute(command, timeout=timeout, secret_env=secret_env, env=_ENVIRONMENT, cancel=cancel,
                     keep_output=64 * 1024)
    if not result.ok:
        program = os.path.basename(result.argv[0]) if result.argv else "pg_restore"
        if result.timed_out:
            why = f"ran past {timeout:g} s and was stopped"
        elif result.cancelled:
            why = "was cancelled"
        else:
            # the members share one stderr: the last lines say what each had to say
            lines = [line.strip() for line in result.stderr_text.splitlines() if line.strip()][-3:]
            why = f"exited {result.exit_status} ({result.status_name})" + (f": {' | '.join(lines)}" if lines else "")
        raise RestoreFailed(f"restore of {source} into database {database} on {cluster.describe()}: "
                            f"{program} {why}", result=result)
    return RestoreTiming(database=database, started=started, duration_seconds=result.duration_seconds,
                         source=source, dump_bytes=size)


Comparison = Literal["==", "!=", ">=", ">", "<=", "<"]
_COMPARISONS: tuple[Comparison, ...] = ("==", "!=", ">=", "<=", ">", "<")
_EXPECTATION = re.compile(r"^\s*(==|!=|>=|<=|>|<)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Expectation:
    """What a sanity query's value must be: ``>= 1000``, ``== 120000``, ``!= 0``, ``== 'ok'``."""

    comparison: Comparison
    value: int | float | str

    @classmethod
    def parse(cls, text: str) -> Expectation:
        """Read ``OP VALUE`` (a number, or a quoted or bare string for == and !=); raise ``ValueError``."""
        match = _EXPECTATION.match(text)
        if match is None:
            raise ValueError(f"expected 'OP VALUE' with OP one of {' '.join(_COMPARISONS)}, got {text!r}")
        comparison, raw = match.group(1), match.group(2)
        value: int | float | str
        try:
            value = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                if comparison not in ("==", "!="):
                    raise ValueError(f"{text!r}: {comparison} compares numbers") from None
                value = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"" else raw
        return cls(comparison, value)  # type: ignore[arg-type]

    def __str__(self) -> str:
        return f"{self.comparison} {self.value!r}" if isinstance(self.value, str) else f"{self.comparison} {self.value}"

    def holds(self, seen: object) -> bool:
        """Whether ``seen`` (a query's value) satisfies this expectation; None never does."""
        if seen is None:
            return False
        if isinstance(self.value, str):
            equal = str(seen) == self.value
            return equal if self.comparison == "==" else not equal
        try:
            number = Decimal(str(seen))
            target = Decimal(str(self.value))
        except ArithmeticError:
            return False
        return {"==": number == target, "!=": number != target, ">=": number >= target,
                ">": number > target, "<=": number <= target, "<": number < target}[self.comparison]


@dataclass(frozen=True)
class SanityQuery:
    """A policy's check of restored data: a read-only query whose first value must meet ``expect``."""

    name: str
    sql: str
    expect: Expectation


@dataclass(frozen=True)
class QueryResult:
    """A sanity query as it ran: the value seen (text), whether it passed, how long it took, and
    the database's error when it failed to run at all."""

    name: str
    sql: str
    expected: str
    seen: str
    passed: bool
    duration_seconds: float
    error: str | None = None

    def check(self) -> DrillCheck:
        """This result as a :class:`backup.report.DrillCheck` for the drill report."""
        return DrillCheck(self.name, self.expected, self.seen, self.passed)


def run_sanity_queries(
    cluster: ScratchCluster, database: str, queries: Sequence[SanityQuery], *, statement_timeout_seconds: float = 60.0,
) -> list[QueryResult]:
    """Run each query read-only in ``database``; return one result each, in order.

    A query that fails (bad SQL, timeout) is a failed result carrying the error, never an
    exception; so is every query when the database cannot be reached.
    """
    import psycopg

    results: list[QueryResult] = []
    options = f"-c statement_timeout={round(statement_timeout_seconds * 1000)} -c default_transaction_read_only=on"
    try:
        connection = psycopg.connect(cluster.conninfo(database), options=options, autocommit=True)
    except psycopg.Error as error:
        reason = " ".join(str(error).split())
        return [QueryResult(q.name, q.sql, str(q.expect), f"error: {reason}", False, 0.0, reason) for q in queries]
    with connection:
        for query in queries:
            began = time.monotonic()
            try:
                row = connection.execute(query.sql.encode()).fetchone()
            except psycopg.Error as error:
                reason = " ".join(str(error).split())
                results.append(QueryResult(query.name, query.sql, str(query.expect), f"error: {reason}", False,
                                           time.monotonic() - began, reason))
                continue
            value = None if row is None or not row else row[0]
            results.append(QueryResult(query.name, query.sql, str(query.expect),
                                       "no row" if row is None else str(value), query.expect.holds(value),
                                       time.monotonic() - began))
    return results


def count_rows(cluster: ScratchCluster, database: str, tables: Sequence[str]) -> dict[str, int]:
    """Exact row counts of ``tables`` (``name`` or ``schema.name``) in ``database``.

    Raise :class:`ScratchError` naming the table for one that does not exist.
    """
    import psycopg
    from psycopg import sql

    counts: dict[str, int] = {}
    try:
        with psycopg.connect(cluster.conninfo(database), autocommit=True) as connection:
            for table in tables:
                schema, dot, name = table.partition(".")
                identifier = sql.Identifier(schema, name) if dot else sql.Identifier(schema)
                try:
                    row = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(identifier)).fetchone()
                except psycopg.Error as error:
                    raise ScratchError(f"{cluster.describe()}: cannot count rows of {table} in {database}: "
                                       f"{' '.join(str(error).split())}") from None
                counts[table] = int(row[0]) if row is not None else 0
    except psycopg.OperationalError as error:
        raise ScratchError(f"{cluster.describe()}: cannot reach database {database}: "
                           f"{' '.join(str(error).split())}") from None
    return counts


__all__ = [
    "Expectation",
    "PostgresBinaries",
    "QueryResult",
    "RestoreFailed",
    "RestoreTiming",
    "SanityQuery",
    "ScratchCluster",
    "ScratchError",
    "ScratchRefused",
    "check_loopback",
    "count_rows",
    "create_database",
    "find_postgres_binaries",
    "pg_restore_argv",
    "remove_stale_clusters",
    "restore_dump",
    "run_sanity_queries",
    "scratch_postgres",
]
