"""The lab's PostgreSQL standby: a streaming replica of the lab's PostgreSQL on ``{prefix}.50.2:15433``.

Made once with ``pg_basebackup -R`` from the primary (after the primary has started and loaded
the hospital database: ``up`` starts the kinds in order), as the ``replicator`` role whose
password is a 0600 secret of the lab, through the replication slot ``lab_standby`` so the
primary keeps the WAL the standby has not received while it is down. The copy is kept across
``lab down``/``up`` and made again only when the primary is another cluster (its system
identifier changed) or the copy is incomplete. Its data and socket directories sit beside the
primary's in the lab's runtime directory (:func:`lab.postgres.peer.runtime_dir`).

``pg_basebackup -R`` writes ``standby.signal`` and a ``primary_conninfo`` holding the password
into ``postgresql.auto.conf``; the lab empties that file and gives the standby its own
``postgresql.conf`` whose ``primary_conninfo`` reads the password from a 0600 passfile.

Ready means the server is in recovery (``pg_is_in_recovery()``) and its WAL receiver is
``streaming`` (``pg_stat_wal_receiver``), asked as the replication role over TCP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.files import ensure_dir, ensure_secret, write_atomic
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.peer import Answer, Peer, PeerRecord, peer_from_record, wait_ready
from lab.postgres.config import (
    LAB_DATABASES,
    POSTGRES_BIN,
    POSTGRES_NAME,
    POSTGRES_PORT,
    REPLICATION_ROLE,
    REPLICATION_SLOT,
    STANDBY_NAME,
    STANDBY_PORT,
    LabDatabase,
    basebackup_command,
    drop_slot_sql,
    pgpass_line,
    postgres_address,
    primary_conninfo,
    render_standby_conf,
    replication_role_sql,
    standby_address,
)
from lab.postgres.peer import PostgresPeer, postgres_account
from lab.publish import PublishedDatabase
from lab.tools import find_program

KIND = "postgres-standby"
PRIMARY_RECORD = "primary-system-identifier"
STANDBY_PURPOSE = "standby"  # publication: the databases the standby serves, read-only
# how long start() waits for the primary, and for pg_basebackup's copy
_PRIMARY_WAIT_SECONDS = 60.0
_BASEBACKUP_TIMEOUT_SECONDS = 600.0
READY_QUERY = (
    "SELECT pg_is_in_recovery(), (SELECT status FROM pg_stat_wal_receiver), "
    "current_setting('server_version')"
)


@dataclass(frozen=True)
class StandbyPeer(PostgresPeer):
    """The lab's streaming standby of ``primary_address``:15432 (the databases it serves are the primary's)."""

    primary_address: str = ""
    hospital_megabytes: int | None = field(default=None, compare=False)
    kind: str = KIND

    @property
    def primary(self) -> PostgresPeer:
        """The lab's primary, rebuilt as a reader of its last load (it is started by its own kind)."""
        return PostgresPeer(
            name=POSTGRES_NAME,
            address=self.primary_address,
            port=POSTGRES_PORT,
            peer_dir=self.layout.peer_dir(POSTGRES_NAME),
            layout=self.layout,
            hospital_megabytes=None,
        )

    @property
    def hospital_record_path(self) -> Path:
        return self.primary.hospital_record_path

    @property
    def data_dir(self) -> Path:
        return self.runtime_dir / "standby"

    @property
    def socket_dir(self) -> Path:
        return self.runtime_dir / "standby-socket"

    @property
    def passfile(self) -> Path:
        """The libpq password file (0600, the postgres user's) the standby connects with."""
        return self.runtime_dir / "standby.pgpass"

    @property
    def replication_password_path(self) -> Path:
        """The 0600 secret holding the replication role's password."""
        return self.layout.secrets_dir / f"postgres-{REPLICATION_ROLE}-password"

    def password_path(self, database: LabDatabase) -> Path:
        return self.primary.password_path(database)

    def prepare(self) -> None:
        account = postgres_account()
        ensure_dir(self.peer_dir, 0o755)
        ensure_dir(self.runtime_dir, 0o755)
        ensure_secret(self.replication_password_path, hex_only=True)
        ensure_dir(self.socket_dir, 0o700)
        os.chown(self.socket_dir, account.pw_uid, account.pw_gid)
        self.write_record()

    def start(self) -> int:
        """Wait for the primary, make the replication role, (re)make the copy if it is not of this
        primary, write the standby's configuration and start it; raise ``LabError`` naming what failed."""
        primary = self.primary
        answer = wait_ready(primary, wait_seconds=_PRIMARY_WAIT_SECONDS)
        if not answer.ok:
            raise LabError(f"{self.name}: its primary {primary.name} does not answer: {answer.detail}")
        password = self.replication_password_path.read_text(encoding="utf-8").strip()
        primary.run_sql(replication_role_sql(password))
        account = postgres_account()
        write_atomic(self.passfile, pgpass_line(address=primary.address, port=primary.port, password=password),
                     mode=0o600)
        os.chown(self.passfile, account.pw_uid, account.pw_gid)
        system_identifier = primary.run_sql("SELECT system_identifier FROM pg_control_system()").strip()
        if self._copied_from() != system_identifier or not (self.data_dir / "PG_VERSION").exists():
            self._base_backup(primary, system_identifier)
        conninfo = primary_conninfo(address=primary.address, port=primary.port, passfile=self.passfile)
        for name, text in (
            ("postgresql.conf", render_standby_conf(address=self.address, port=self.port,
                                                    socket_dir=self.socket_dir, conninfo=conninfo)),
            # -R wrote primary_conninfo with the password here; the lab's own is in postgresql.conf
            ("postgresql.auto.conf", "# emptied by `opsctl lab up`: see postgresql.conf\n"),
        ):
            path = self.data_dir / name
            write_atomic(path, text, mode=0o600)
            os.chown(path, account.pw_uid, account.pw_gid)
        return super(PostgresPeer, self).start()

    def _copied_from(self) -> str | None:
        try:
            return (self.runtime_dir / PRIMARY_RECORD).read_text(encoding="utf-8").strip()
        except OSError:
            return None

    def _base_backup(self, primary: PostgresPeer, system_identifier: str) -> None:
        """Copy the primary's cluster into an emptied data directory with ``pg_basebackup -R``."""
        (self.runtime_dir / PRIMARY_RECORD).unlink(missing_ok=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        account = postgres_account()
        ensure_dir(self.data_dir, 0o700)
        os.chown(self.data_dir, account.pw_uid, account.pw_gid)
        primary.run_sql(drop_slot_sql())
        began = time.monotonic()
        command = basebackup_command(runuser=find_program("runuser", package="util-linux"),
                                     address=primary.address, port=primary.port, data_dir=self.data_dir)
        try:
            done = subprocess.run(command, capture_output=True, text=True, cwd=self.runtime_dir,
                                  env={**self.environment(), "PGPASSFILE": str(self.passfile)},
                                  timeout=_BASEBACKUP_TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise LabError(f"{self.name}: pg_basebackup did not finish within "
                           f"{_BASEBACKUP_TIMEOUT_SECONDS:g} s") from None
        seconds = time.monotonic() - began
        self._log(f"pg_basebackup from {primary.address}:{primary.port} took {seconds:.1f} s "
                  f"(exit {done.returncode})\n{done.stdout}{done.stderr}".rstrip())
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise LabError(f"{self.name}: pg_basebackup failed: {last}", hint=f"see {self.log_path}")
        write_atomic(self.runtime_dir / PRIMARY_RECORD, f"{system_identifier}\n")

    def ready(self, timeout: float) -> Answer:
        """In recovery, its WAL receiver streaming: asked as the replication role over TCP."""
        import psycopg

        try:
            password = self.replication_password_path.read_text(encoding="utf-8").strip()
            with psycopg.connect(host=self.address, port=self.port, dbname="postgres", user=REPLICATION_ROLE,
                                 password=password, connect_timeout=max(1, round(timeout)),
                                 application_name="opsctl-lab") as connection:
                row = connection.execute(READY_QUERY).fetchone()
        except (OSError, psycopg.Error) as error:
            return Answer(False, " ".join(str(error).split()) or type(error).__name__)
        if row is None or row[0] is not True:
            return Answer(False, "not in recovery: it is no standby")
        if row[1] != "streaming":
            return Answer(False, f"its WAL receiver is {row[1] or 'not running'}, not streaming from "
                                 f"{self.primary_address}:{POSTGRES_PORT}")
        return Answer(True, f"PostgreSQL {row[2]} standby: streaming from {self.primary_address}:{POSTGRES_PORT}")

    def published_databases(self) -> list[PublishedDatabase]:
        """The primary's databases as the standby serves them (read-only), purpose ``standby``, each
        naming its primary and the replication role (password by reference)."""
        published = []
        for database in self.primary.published_databases():
            extra = {"of": database.purpose, "primary": f"{self.primary_address}:{POSTGRES_PORT}",
                     "replication_user": REPLICATION_ROLE, "replication_slot": REPLICATION_SLOT,
                     "replication_password": f"file:{self.replication_password_path}"}
            published.append(PublishedDatabase(
                name=database.name, role=database.role, purpose=STANDBY_PURPOSE, address=self.address,
                port=self.port, url=database.url.replace(f"@{database.address}:{database.port}/",
                                                         f"@{self.address}:{self.port}/"),
                password=database.password, extra=extra))
        return published


def standby_peer(layout: LabLayout, prefix: str) -> StandbyPeer:
    """The lab's standby for the lab in ``layout`` under address ``prefix``."""
    return StandbyPeer(
        name=STANDBY_NAME,
        address=standby_address(prefix),
        port=STANDBY_PORT,
        peer_dir=layout.peer_dir(STANDBY_NAME),
        layout=layout,
        databases=LAB_DATABASES,
        primary_address=postgres_address(prefix),
    )


@dataclass(frozen=True)
class StandbyKind:
    """The registry entry for the standby: ``lab-postgres-standby`` at ``{prefix}.50.2:15433``,
    started after the primary (its kind is registered after ``postgres``)."""

    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        if not (POSTGRES_BIN / "pg_basebackup").exists():
            raise LabError(f"{POSTGRES_BIN} has no pg_basebackup", hint="install the Debian package postgresql")

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [standby_peer(lab.layout, lab.prefix)]

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        prefix = ".".join(record.address.split(".")[:2])
        return peer_from_record(StandbyPeer, layout, record, peer_dir, primary_address=postgres_address(prefix))


STANDBY = StandbyKind()
