"""The real ``opsctl`` with its state store on the lab's PostgreSQL, shared by two controllers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import PostgresDatabase
from fleetcli import Cli

pytestmark = pytest.mark.integration


def _controller(lab: Any, root: Path, database: PostgresDatabase, password_file: Path) -> Cli:
    """An opsctl with its own state directory (known hosts, audit log) and the shared PostgreSQL store."""
    cli = Cli.create(root, lab.publication.inventory_path)
    cli.env["OPSCTL_STATE__URL"] = database.url
    cli.env["OPSCTL_STATE__PASSWORD"] = f"file:{password_file}"
    return cli


def test_two_controllers_share_one_postgresql_store_and_keep_their_own_audit_chains(
    lab: Any, tmp_path: Path, postgres_database: PostgresDatabase
) -> None:
    password_file = tmp_path / "state-password"
    password_file.write_text(postgres_database.password + "\n")
    password_file.chmod(0o600)
    first = _controller(lab, tmp_path / "ctl1", postgres_database, password_file)
    second = _controller(lab, tmp_path / "ctl2", postgres_database, password_file)
    outputs = []

    # an empty database is not a state store until `opsctl state init` makes it one
    done = first("audit", "verify")
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"opsctl: error: state store {postgres_database.url}: the database holds no opsctl state store\n"
    )
    done = first("state", "init")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"state store {postgres_database.url}: created (")
    assert "core 2" in done.stdout  # with every installed component's version beside it
    outputs.append(done.stdout + done.stderr)

    for cli in (first, second):
        done = cli("hosts", "trust", "ssh_hosts", "--fingerprints-from", str(lab.publication.fingerprints_path))
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    done = first("run", "ssh_hosts", "--", "exit 3")
    assert done.returncode == 1, done.stderr
    outputs.append(done.stdout + done.stderr)
    # the last run is in the shared store: the other controller repeats it for the failed hosts
    code, doc = second.json("run", "ssh_hosts", "--rerun", "failed", "--", "true")
    assert code == 0, doc
    assert doc["target"] == "ssh_hosts" and len(doc["hosts"]) == 5

    for cli, entries in ((first, 3), (second, 2)):
        done = cli("audit", "verify")
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.startswith(f"audit log OK: {entries} entries, anchored at seq {entries}\n")
        outputs.append(done.stdout + done.stderr)
    assert not (first.state_dir / "state.db").exists()  # nothing fell back to SQLite
    assert all(postgres_database.password not in text for text in outputs)


def test_a_wrong_password_is_one_line_naming_the_url_without_any_password(
    lab: Any, tmp_path: Path, postgres_database: PostgresDatabase
) -> None:
    password_file = tmp_path / "wrong-password"
    password_file.write_text("not-the-password\n")
    cli = _controller(lab, tmp_path / "ctl", postgres_database, password_file)

    done = cli("audit", "verify")

    assert done.returncode == 1
    first_line = done.stderr.splitlines()[0]
    assert first_line.startswith(f"opsctl: error: state store {postgres_database.url}: ")
    assert "password authentication failed" in first_line
    assert "not-the-password" not in done.stderr + done.stdout
