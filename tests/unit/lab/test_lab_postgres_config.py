"""The lab's PostgreSQL rendered, not run: its address, configs, SQL, command lines and publication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.kinds import peer_kind
from lab.layout import LabLayout
from lab.postgres.config import (
    LAB_DATABASES,
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
from lab.postgres.peer import postgres_peer, runtime_dir
from lab.publish import publish, read_publication


def test_the_server_listens_on_one_lab_address_with_its_own_socket_directory() -> None:
    assert postgres_address("127.14") == "127.14.50.1"
    with pytest.raises(ValueError, match=r"not 127\.N"):
        postgres_address("10.0")

    conf = render_postgresql_conf(
        address="127.14.50.1", port=15432, socket_dir=Path("/run/x/socket")
    )

    assert "listen_addresses = '127.14.50.1'\n" in conf
    assert "port = 15432\n" in conf
    assert "unix_socket_directories = '/run/x/socket'\n" in conf


def test_only_the_superuser_over_its_socket_goes_without_a_password() -> None:
    rules = [line.split() for line in render_pg_hba().splitlines() if not line.startswith("#")]

    assert rules == [
        ["local", "all", "postgres", "peer"],
        ["host", "all", "all", "127.0.0.0/8", "scram-sha-256"],
        ["host", "replication", "replicator", "127.0.0.0/8", "scram-sha-256"],
    ]


def test_the_state_store_database_is_served_and_its_url_has_no_password() -> None:
    state = [database for database in LAB_DATABASES if database.purpose == "state"]

    assert state == [LabDatabase("opsctl", "opsctl", "state")]
    assert (
        database_url(state[0], "127.14.50.1", 15432)
        == "postgresql+psycopg://opsctl@127.14.50.1:15432/opsctl"
    )
    with pytest.raises(ValueError, match="plain lowercase identifier"):
        LabDatabase("Robert'); DROP TABLE students;--", "x", "state")


def test_provisioning_is_idempotent_sql_with_the_password_quoted() -> None:
    sql = provisioning_sql([(LabDatabase("his", "his_app", "hospital"), "it's-s3cret")])

    assert "ALTER ROLE \"his_app\" LOGIN PASSWORD 'it''s-s3cret';" in sql
    assert "WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'his_app')\\gexec" in sql
    assert 'CREATE DATABASE "his" OWNER "his_app"\' WHERE NOT EXISTS' in sql
    assert (
        create_database_sql("opsctl_test_1", "opsctl")
        == 'CREATE DATABASE "opsctl_test_1" OWNER "opsctl";\n'
    )
    assert (
        drop_database_sql("opsctl_test_1")
        == 'DROP DATABASE IF EXISTS "opsctl_test_1" WITH (FORCE);\n'
    )
    with pytest.raises(ValueError):
        create_database_sql("x; DROP DATABASE opsctl", "opsctl")


def test_programs_run_as_postgres_and_never_see_a_password() -> None:
    data = Path("/run/opsctl-lab/postgres-abc/data")
    initdb = initdb_command(runuser="/usr/sbin/runuser", data_dir=data)
    server = server_command(setpriv="/usr/bin/setpriv", data_dir=data)
    psql = psql_command(
        runuser="/usr/sbin/runuser",
        socket_dir=data.parent / "socket",
        port=15432,
        database="postgres",
    )

    assert initdb[:4] == ("/usr/sbin/runuser", "-u", "postgres", "--")
    assert initdb[4].endswith("/15/bin/initdb") and "--pgdata" in initdb
    # setpriv executes the server itself: the lab's recorded pid is the postmaster's
    assert server[:5] == (
        "/usr/bin/setpriv",
        "--reuid=postgres",
        "--regid=postgres",
        "--init-groups",
        "--",
    )
    assert server[5].endswith("/15/bin/postgres") and server[6:] == ("-D", str(data))
    assert psql[-2:] == ("--file", "-") and "ON_ERROR_STOP=1" in psql
    assert not any("password" in part.lower() for part in (*initdb, *server, *psql))


def test_the_cluster_lives_outside_the_lab_directory_one_per_lab(tmp_path: Path) -> None:
    first, second = LabLayout(tmp_path / "a" / "lab"), LabLayout(tmp_path / "b" / "lab")

    assert runtime_dir(first) != runtime_dir(second)
    assert runtime_dir(first).parent == Path("/run/opsctl-lab")
    assert postgres_peer(first, "127.14").data_dir == runtime_dir(first) / "data"


def test_a_running_postgres_publishes_its_databases_by_reference(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    peer = postgres_peer(layout, "127.14")
    peer.peer_dir.mkdir(parents=True)
    peer.write_record()
    peer.pid_path.write_text("4242\n")  # what the lab records while the peer is meant to run

    publication = publish(layout, [], user="opsctl-lab")

    assert publication == read_publication(layout)
    state = publication.state_store
    assert state is not None
    assert state.url == "postgresql+psycopg://opsctl@127.14.50.1:15432/opsctl"
    assert state.password == f"file:{layout.secrets_dir / 'postgres-opsctl-password'}"
    document = json.loads((layout.root / "databases.json").read_text())
    assert document["databases"][0]["url"] == state.url
    assert publication.to_dict()["databases"][0]["password"].startswith("file:")
    assert peer_kind("postgres").load(layout, peer.record(), peer.peer_dir) == peer


def test_a_lab_without_postgres_publishes_no_state_store(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    publication = publish(LabLayout(tmp_path / "lab"), [], user="opsctl-lab")
    assert publication.state_store is None and publication.databases == ()
