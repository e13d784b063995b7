"""The lab's PostgreSQL standby rendered, not run: its address, configuration, command line, SQL
and what the lab publishes for it (a database of purpose ``standby`` and a probe of it)."""

from __future__ import annotations

from pathlib import Path

from lab.kinds import peer_kind, peer_kinds
from lab.layout import LabLayout
from lab.postgres.config import (
    basebackup_command,
    drop_slot_sql,
    pgpass_line,
    primary_conninfo,
    render_standby_conf,
    replication_role_sql,
    standby_address,
)
from lab.postgres.peer import postgres_peer
from lab.postgres.standby import standby_peer
from lab.publish import config_document, publish


def test_the_standby_has_its_own_address_port_and_starts_after_its_primary(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    peer = standby_peer(layout, "127.14")
    assert (peer.address, peer.port, peer.primary_address) == ("127.14.50.2", 15433, "127.14.50.1")
    assert standby_address("127.14") == "127.14.50.2"
    assert peer.data_dir != postgres_peer(layout, "127.14").data_dir
    assert peer.data_dir.parent == postgres_peer(layout, "127.14").runtime_dir
    kinds = [kind.kind for kind in peer_kinds()]
    assert kinds.index("postgres-standby") == kinds.index("postgres") + 1
    assert peer_kind("postgres-standby").load(layout, peer.record(), peer.peer_dir) == peer


def test_its_configuration_streams_from_the_primary_with_the_password_in_a_passfile() -> None:
    conninfo = primary_conninfo(address="127.14.50.1", port=15432, passfile=Path("/run/x/standby.pgpass"))
    conf = render_standby_conf(address="127.14.50.2", port=15433, socket_dir=Path("/run/x/standby-socket"),
                               conninfo=conninfo)
    assert "listen_addresses = '127.14.50.2'\n" in conf and "port = 15433\n" in conf
    assert "unix_socket_directories = '/run/x/standby-socket'\n" in conf
    assert ("primary_conninfo = 'host=127.14.50.1 port=15432 user=replicator "
            "passfile=/run/x/standby.pgpass application_name=lab-postgres-standby'\n") in conf
    assert "primary_slot_name = 'lab_standby'\n" in conf and "hot_standby = on\n" in conf
    assert "password" not in conninfo.replace("passfile", "")
    # libpq's password file escapes its separators
    assert pgpass_line(address="127.14.50.1", port=15432, password="a:b\\c") == (
        "127.14.50.1:15432:replication:replicator:a\\:b\\\\c\n")


def test_the_base_backup_writes_recovery_settings_into_a_slot_without_a_password_on_its_line() -> None:
    command = basebackup_command(runuser="/usr/sbin/runuser", address="127.14.50.1", port=15432,
                                 data_dir=Path("/run/x/standby"))
    assert command[:4] == ("/usr/sbin/runuser", "-u", "postgres", "--")
    assert command[4].endswith("/pg_basebackup")
    for option in ("--write-recovery-conf", "--create-slot", "--no-password"):
        assert option in command
    assert command[command.index("--slot") + 1] == "lab_standby"
    assert command[command.index("--pgdata") + 1] == "/run/x/standby"
    sql = replication_role_sql("s3cret'pw")
    assert "LOGIN REPLICATION PASSWORD 's3cret''pw'" in sql  # quoted, on psql's stdin only
    assert "GRANT pg_monitor TO \"replicator\"" in sql and "pg_reload_conf()" in sql
    assert "pg_drop_replication_slot" in drop_slot_sql() and "'lab_standby'" in drop_slot_sql()


def test_the_lab_publishes_the_standby_and_a_probe_of_each_server(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    for peer in (postgres_peer(layout, "127.14", hospital_megabytes=0), standby_peer(layout, "127.14")):
        peer.peer_dir.mkdir(parents=True)
        peer.write_record()
        peer.pid_path.write_text("4242\n")  # what the lab records while the peer is meant to run

    publication = publish(layout, [], user="opsctl-lab")

    standby = publication.database("standby")
    assert standby is not None
    assert (standby.name, standby.role, standby.address, standby.port) == ("opsctl", "opsctl", "127.14.50.2", 15433)
    assert standby.url == "postgresql+psycopg://opsctl@127.14.50.2:15433/opsctl"
    assert standby.extra["primary"] == "127.14.50.1:15432"
    assert standby.extra["replication_password"] == f"file:{layout.secrets_dir / 'postgres-replicator-password'}"
    probes = config_document(layout, databases=publication.databases)["monitoring"]["probes"]
    assert probes == {
        "his-db": {"type": "postgres", "address": "127.14.50.1", "port": 15432, "database": "opsctl",
                   "user": "opsctl", "password": f"file:{layout.secrets_dir / 'postgres-opsctl-password'}"},
        "his-db-standby": {"type": "postgres", "address": "127.14.50.2", "port": 15433, "database": "opsctl",
                           "user": "opsctl", "password": f"file:{layout.secrets_dir / 'postgres-opsctl-password'}"},
    }
