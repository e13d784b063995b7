"""The PostgreSQL peer: Debian's PostgreSQL 15, a cluster of the lab's own, on ``{prefix}.50.1:15432``.

The server runs as the ``postgres`` system user (initdb and the server refuse root), so its
cluster cannot live in the lab directory, which may sit under a private (0700) directory the
postgres user cannot pass: the data directory and the socket directory live in a runtime
directory of this lab under ``/run/opsctl-lab`` (world-traversable, named after the lab
directory, removed once that lab directory is gone), owned by postgres and 0700. The log is
the peer's log in the lab directory: the lab opens it and hands it to the server.

Each database in ``databases`` has its own login role, its password a 0600 secret of the lab
(published as a ``file:`` reference, given to the server on psql's standard input). The
superuser is reachable only over the socket as the postgres user (``runuser``). Ready means a
real ``SELECT 1`` in every database as its own role over TCP, never an open port.

With ``hospital_megabytes`` the server also holds the hospital database
(:mod:`lab.postgres.hospital`), loaded by ``start`` when its size or seed changed, and a
``backup`` role that may read it; ``hospital.json`` in the peer's directory records the load
(size, seed, row counts) for the publication.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pwd
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.files import ensure_dir, ensure_secret, write_atomic
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.peer import Answer, Peer, PeerRecord, ProcessPeer, peer_from_record
from lab.postgres.config import (
    LAB_DATABASES,
    POSTGRES_BIN,
    POSTGRES_NAME,
    POSTGRES_PORT,
    POSTGRES_USER,
    LabDatabase,
    create_database_sql,
    database_url,
    drop_database_sql,
    initdb_command,
    postgres_address,
    provisioning_sql,
    psql_command,
    render_pg_hba,
    render_postgresql_conf,
    server_command,
)
from lab.postgres.hospital import (
    BACKUP_ROLE,
    HOSPITAL_DATABASE,
    HOSPITAL_PURPOSE,
    TABLES,
    HospitalSize,
    backup_role_sql,
    counts_sql,
    load_sql,
    parse_counts,
)
from lab.process import is_ours, read_pid
from lab.publish import PublishedDatabase
from lab.tools import find_program

KIND = "postgres"
RUNTIME_ROOT = Path("/run/opsctl-lab")
OWNER_FILE = "lab-dir"
_SERVER_ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "TZ": "UTC"}
# how long start() waits for the new server before creating its roles and databases
_PROVISION_WAIT_SECONDS = 60.0
_PSQL_TIMEOUT_SECONDS = 60.0
# loading the hospital database: a gigabyte takes minutes on a small machine
_LOAD_TIMEOUT_SECONDS = 3600.0
HOSPITAL_RECORD = "hospital.json"


def runtime_dir(layout: LabLayout) -> Path:
    """This lab's runtime directory for the cluster and its socket (one per lab directory)."""
    digest = hashlib.sha256(str(layout.root).encode()).hexdigest()[:12]
    return RUNTIME_ROOT / f"postgres-{digest}"


def postgres_account() -> pwd.struct_passwd:
    """The ``postgres`` system user; raise ``LabError`` if PostgreSQL is not installed."""
    if not (POSTGRES_BIN / "postgres").exists():
        raise LabError(
            f"PostgreSQL 15 is not installed ({POSTGRES_BIN} has no postgres)",
            hint="install the Debian package postgresql (./bootstrap does)",
        )
    try:
        return pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        raise LabError(
            f"there is no {POSTGRES_USER} system user", hint="install the Debian package postgresql"
        ) from None


def stop_postmaster(pid: int, marker: str, *, timeout: float) -> bool:
    """Stop the postmaster ``pid`` if it is ours: fast shutdown (SIGINT), then immediate, then kill.

    SIGTERM would be a smart shutdown, waiting for every client to leave. Return True if it
    was running; raise ``OSError`` if it survives SIGKILL.
    """
    if not is_ours(pid, marker):
        _reap(pid)
        return False
    for sig in (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            _reap(pid)
            if not is_ours(pid, marker, settle_seconds=0):
                return True
            time.sleep(0.05)
    raise OSError(f"postmaster {pid} survived SIGKILL")


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _postmaster_pid(data_dir: Path) -> int | None:
    """The pid in ``postmaster.pid`` (the server's own lock file), if any."""
    return read_pid_line(data_dir / "postmaster.pid")


def read_pid_line(path: Path) -> int | None:
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0].strip()
    except (OSError, IndexError):
        return None
    return int(first) if first.isdigit() else None


def remove_orphaned_runtime_dirs(root: Path = RUNTIME_ROOT) -> list[Path]:
    """Stop and remove the clusters of labs whose lab directory is gone; return their directories."""
    removed = []
    for directory in sorted(root.glob("postgres-*")) if root.is_dir() else []:
        try:
            owner = Path((directory / OWNER_FILE).read_text(encoding="utf-8").strip())
        except OSError:
            continue
        if not owner.is_absolute() or owner.exists():
            continue
        for data_dir in (directory / "data", directory / "standby"):  # the primary's, the standby's
            pid = _postmaster_pid(data_dir)
            if pid is not None:
                stop_postmaster(pid, str(data_dir), timeout=10.0)
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
    return removed


@dataclass(frozen=True)
class PostgresPeer(ProcessPeer):
    """The lab's PostgreSQL server and the databases it serves."""

    name: str
    address: str
    port: int
    peer_dir: Path
    layout: LabLayout
    databases: tuple[LabDatabase, ...] = LAB_DATABASES
    # the hospital database's size: 0 none; None as the last load recorded (status, down).
    # A wish, not the peer's identity: a peer rebuilt from its record equals the one started.
    hospital_megabytes: int | None = field(default=0, compare=False)
    kind: str = KIND

    @property
    def hospital_record_path(self) -> Path:
        """``hospital.json``: what the last load of the hospital database put in it."""
        return self.peer_dir / HOSPITAL_RECORD

    @property
    def hospital_size(self) -> HospitalSize | None:
        """The hospital database this peer serves, if any (read from the last load if not given)."""
        if self.hospital_megabytes is None:
            record = self.hospital_record()
            return None if record is None else HospitalSize(int(record["megabytes"]), int(record["seed"]))
        return HospitalSize(self.hospital_megabytes) if self.hospital_megabytes > 0 else None

    @property
    def served_databases(self) -> tuple[LabDatabase, ...]:
        """``databases`` and, when it serves one, the hospital database."""
        return self.databases + ((HOSPITAL_DATABASE,) if self.hospital_size else ())

    @property
    def backup_password_path(self) -> Path:
        """The 0600 file holding the password of the hospital database's ``backup`` role."""
        return self.layout.secrets_dir / f"postgres-{BACKUP_ROLE}-password"

    def hospital_record(self) -> dict[str, Any] | None:
        """The content of ``hospital.json`` (None if the hospital database was never loaded)."""
        try:
            return dict(json.loads(self.hospital_record_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None

    @property
    def runtime_dir(self) -> Path:
        return runtime_dir(self.layout)

    @property
    def data_dir(self) -> Path:
        return self.runtime_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.runtime_dir / "socket"

    @property
    def marker(self) -> str:
        return str(self.data_dir)

    def password_path(self, database: LabDatabase) -> Path:
        """The 0600 file holding the password of ``database``'s role."""
        return self.layout.secrets_dir / f"postgres-{database.role}-password"

    def database(self, purpose: str) -> LabDatabase:
        """The database served for ``purpose``; raise ``LabError`` if there is none."""
        for database in self.databases:
            if database.purpose == purpose:
                return database
        raise LabError(f"the lab's PostgreSQL serves no {purpose} database")

    def command(self) -> tuple[str, ...]:
        return server_command(
            setpriv=find_program("setpriv", package="util-linux"), data_dir=self.data_dir
        )

    def environment(self) -> dict[str, str]:
        return dict(_SERVER_ENVIRONMENT)

    def prepare(self) -> None:
        account = postgres_account()
        ensure_dir(self.peer_dir, 0o755)
        ensure_dir(RUNTIME_ROOT, 0o755)
        ensure_dir(self.runtime_dir, 0o755)
        write_atomic(self.runtime_dir / OWNER_FILE, f"{self.layout.root}\n")
        for database in self.served_databases:
            ensure_secret(self.password_path(database), hex_only=True)
        if self.hospital_size is not None:
            ensure_secret(self.backup_password_path, hex_only=True)
        self._stop_orphaned_postmaster()
        for directory in (self.data_dir, self.socket_dir):
            ensure_dir(directory, 0o700)
            os.chown(directory, account.pw_uid, account.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        for name, text in (
            (
                "postgresql.conf",
                render_postgresql_conf(
                    address=self.address, port=self.port, socket_dir=self.socket_dir
                ),
            ),
            ("pg_hba.conf", render_pg_hba()),
        ):
            path = self.data_dir / name
            write_atomic(path, text, mode=0o600)
            os.chown(path, account.pw_uid, account.pw_gid)
        self.write_record()

    def _initdb(self) -> None:
        """Make a new cluster in the (emptied) data directory; raise ``LabError`` if initdb fails."""
        for leftover in self.data_dir.iterdir():  # a half-made cluster from a failed initdb
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        command = initdb_command(
            runuser=find_program("runuser", package="util-linux"), data_dir=self.data_dir
        )
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.runtime_dir,
            env=self.environment(),
            timeout=300,
            check=False,
        )
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"--- opsctl lab: initdb {self.data_dir}\n{done.stdout}{done.stderr}")
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise LabError(f"{self.name}: initdb failed: {last}", hint=f"see {self.log_path}")

    def _stop_orphaned_postmaster(self) -> None:
        """Stop a server of this cluster the lab no longer records (its pid file was lost)."""
        pid = _postmaster_pid(self.data_dir)
        if pid is not None and pid != read_pid(self.pid_path) and is_ours(pid, self.marker):
            stop_postmaster(pid, self.marker, timeout=10.0)

    def start(self) -> int:
        """Start the server, make its roles and databases exist, and load the hospital database
        if its size or seed changed (each failure logged; the readiness check then names it)."""
        pid = super().start()
        deadline = time.monotonic() + _PROVISION_WAIT_SECONDS
        passwords = [
            (database, self.password_path(database).read_text(encoding="utf-8").strip())
            for database in self.served_databases
        ]
        while True:
            try:
                self.run_sql(provisioning_sql(passwords))
                break
            except LabError as error:
                if self.running_pid() is None or time.monotonic() >= deadline:
                    self._log(f"cannot create the databases: {error}")
                    return pid
                time.sleep(0.2)
        size = self.hospital_size
        if size is not None:
            try:
                self.load_hospital(size)
            except LabError as error:
                self._log(f"cannot load the hospital database: {error}")
        return pid

    def _log(self, text: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"--- opsctl lab: {text}\n")

    def _hospital_comment(self) -> str:
        return self.run_sql(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
            f"WHERE datname = '{HOSPITAL_DATABASE.name}'"
        ).strip()

    def load_hospital(self, size: HospitalSize, *, force: bool = False) -> bool:
        """Make the hospital database hold ``size``'s rows and its ``backup`` role read them.

        Reload it only when its comment names another size or seed (or ``force``); record
        the load in ``hospital.json``. Return True if it was loaded now; raise ``LabError``.
        """
        password = self.backup_password_path.read_text(encoding="utf-8").strip()
        self.run_sql(backup_role_sql(password))
        if not force and self._hospital_comment() == size.signature and self.hospital_record():
            return False
        began = time.monotonic()
        self.run_sql(load_sql(size), database=HOSPITAL_DATABASE.name, timeout=_LOAD_TIMEOUT_SECONDS)
        counts = parse_counts(self.run_sql(counts_sql(), database=HOSPITAL_DATABASE.name))
        size_sql = f"SELECT pg_database_size('{HOSPITAL_DATABASE.name}')"
        size_bytes = int(self.run_sql(size_sql).strip())
        record = {
            "megabytes": size.megabytes,
            "seed": size.seed,
            "size_bytes": size_bytes,
            "row_counts": counts,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "load_seconds": round(time.monotonic() - began, 1),
        }
        write_atomic(self.hospital_record_path, json.dumps(record, indent=2) + "\n")
        self._log(f"loaded the hospital database: {counts} ({size_bytes} bytes)")
        return True

    def stop(self, timeout: float = 10.0) -> bool:
        pid = read_pid(self.pid_path)
        stopped = pid is not None and stop_postmaster(pid, self.marker, timeout=max(timeout, 10.0))
        self.pid_path.unlink(missing_ok=True)
        return stopped

    def ready(self, timeout: float) -> Answer:
        """``SELECT 1`` in every database as its own role, over TCP with its password."""
        import psycopg

        version = ""
        size = self.hospital_size
        for database in self.served_databases:
            try:
                password = self.password_path(database).read_text(encoding="utf-8").strip()
                with psycopg.connect(
                    host=self.address,
                    port=self.port,
                    dbname=database.name,
                    user=database.role,
                    password=password,
                    connect_timeout=max(1, round(timeout)),
                    application_name="opsctl-lab",
                ) as connection:
                    row = connection.execute(
                        "SELECT 1, current_setting('server_version'), "
                        "coalesce(shobj_description(oid, 'pg_database'), '') "
                        "FROM pg_database WHERE datname = current_database()"
                    ).fetchone()
            except (OSError, psycopg.Error) as error:
                reason = " ".join(str(error).split()) or type(error).__name__
                return Answer(False, f"{database.name} as {database.role}: {reason}")
            if row is None or row[0] != 1:
                return Answer(False, f"{database.name}: SELECT 1 gave {row!r}")
            if database == HOSPITAL_DATABASE and size is not None and row[2] != size.signature:
                return Answer(
                    False, f"{database.name} is not loaded with {size.signature!r} (see {self.log_path})"
                )
            version = str(row[1])
        names = ", ".join(database.name for database in self.served_databases)
        return Answer(True, f"PostgreSQL {version}: SELECT 1 answered in {names}")

    def run_sql(
        self, sql: str, *, database: str = "postgres", timeout: float = _PSQL_TIMEOUT_SECONDS
    ) -> str:
        """Run ``sql`` (psql input) as the superuser over the socket; return psql's output.

        Raise ``LabError`` with psql's message if it fails. For the lab's own administration and
        for tests (a database of their own); secrets in ``sql`` travel on psql's stdin only.
        """
        command = psql_command(
            runuser=find_program("runuser", package="util-linux"),
            socket_dir=self.socket_dir,
            port=self.port,
            database=database,
        )
        try:
            done = subprocess.run(
                command,
                input=sql,
                capture_output=True,
                text=True,
                cwd=self.runtime_dir,
                env=self.environment(),
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise LabError(f"{self.name}: psql did not finish within {timeout:g} s") from None
        if done.returncode != 0:
            reason = " ".join(done.stderr.split()) or f"psql exited with {done.returncode}"
            raise LabError(f"{self.name}: {reason}")
        return done.stdout

    def create_database(self, name: str, *, owner: str) -> None:
        """Create database ``name`` owned by the role ``owner``."""
        self.run_sql(create_database_sql(name, owner))

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` (its open sessions ended) if it exists."""
        self.run_sql(drop_database_sql(name))

    def published_databases(self) -> list[PublishedDatabase]:
        """Every database as the lab publishes it: URL without password, password by reference.

        The hospital database also names its ``backup`` role (password by reference) and what
        its last load put in it (size, seed, row counts).
        """
        published = []
        for database in self.served_databases:
            extra: dict[str, Any] = {}
            if database.purpose == HOSPITAL_PURPOSE:
                record = self.hospital_record() or {}
                reader = LabDatabase(database.name, BACKUP_ROLE, database.purpose)
                extra = {
                    "backup_user": BACKUP_ROLE,
                    "backup_password": f"file:{self.backup_password_path}",
                    "backup_url": database_url(reader, self.address, self.port),
                    "tables": list(TABLES),
                }
                for key in ("megabytes", "seed", "size_bytes", "row_counts", "loaded_at"):
                    if key in record:
                        extra[key] = record[key]
            published.append(
                PublishedDatabase(
                    name=database.name,
                    role=database.role,
                    purpose=database.purpose,
                    address=self.address,
                    port=self.port,
                    url=database_url(database, self.address, self.port),
                    password=f"file:{self.password_path(database)}",
                    extra=extra,
                )
            )
        return published


def postgres_peer(
    layout: LabLayout, prefix: str, *, hospital_megabytes: int | None = 0
) -> PostgresPeer:
    """The lab's PostgreSQL peer for the lab in ``layout`` under address ``prefix``.

    ``hospital_megabytes`` > 0 adds the hospital database of that size (``None``: as the last
    load recorded, for a peer that only reads or stops it).
    """
    return PostgresPeer(
        name=POSTGRES_NAME,
        address=postgres_address(prefix),
        port=POSTGRES_PORT,
        peer_dir=layout.peer_dir(POSTGRES_NAME),
        layout=layout,
        hospital_megabytes=hospital_megabytes,
    )


@dataclass(frozen=True)
class PostgresKind:
    """The registry entry for PostgreSQL: ``lab-postgres`` at ``{prefix}.50.1:15432``."""

    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        postgres_account()
        remove_orphaned_runtime_dirs()

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [
            postgres_peer(lab.layout, lab.prefix, hospital_megabytes=lab.hospital_db_megabytes)
        ]

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        return peer_from_record(PostgresPeer, layout, record, peer_dir, hospital_megabytes=None)


POSTGRES = PostgresKind()
