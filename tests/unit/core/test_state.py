"""The state store on its own: the SQLite file, opening errors, URLs and passwords, schema plugins.

What every backend must do (migrations, runs, anchors, locks) is in test_state_contract.py.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from opsctl.core.errors import StateError
from opsctl.core.settings import Settings, StateSettings
from opsctl.core.state import (
    CORE_SCHEMA,
    Migration,
    Schema,
    StateStore,
    installed_schemas,
    open_state,
    url_with_password,
)

ROOT = Path(__file__).resolve().parents[3]


def url_of(path: Path) -> str:
    return f"sqlite:///{path}"


def test_a_new_sqlite_database_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state" / "state.db"

    StateStore(url_of(path)).close()

    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_open_state_uses_the_state_directory(tmp_path: Path) -> None:
    settings = Settings(state=StateSettings(dir=tmp_path / "var"))
    with open_state(settings) as store:
        store.set_anchor(1, "a" * 64)
    assert (tmp_path / "var" / "state.db").is_file()


def test_open_state_joins_a_password_given_by_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    # the settings declare state.password (a secret reference); the store joins it to the URL
    monkeypatch.setenv("OPSCTL_TEST_STATE_PW", "s3cr3t-pw")
    settings = Settings(
        state={
            "url": "postgresql+psycopg://opsctl@127.0.0.1:1/opsctl",
            "password": "env:OPSCTL_TEST_STATE_PW",
        }
    )

    with pytest.raises(StateError) as caught:
        open_state(settings)

    assert "s3cr3t-pw" not in str(caught.value)
    assert str(caught.value).startswith(
        "state store postgresql+psycopg://opsctl@127.0.0.1:1/opsctl:"
    )


def test_a_file_that_is_not_a_database_gives_a_state_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not an SQLite database, just some text " * 100)

    with pytest.raises(StateError) as caught:
        StateStore(url_of(path))

    assert str(path) in str(caught.value)
    assert "file is not a database" in str(caught.value)
    assert caught.value.hint is not None and "move it aside" in caught.value.hint


def test_an_unwritable_state_directory_gives_a_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StateError, match=f"state store {blocker}/state.db: cannot create"):
        StateStore(url_of(blocker / "state.db"))


def test_a_url_password_never_appears_in_an_error() -> None:
    with pytest.raises(StateError) as caught:
        StateStore("postgresql://opsctl:s3cr3t-pw@127.0.0.1:1/opsctl")
    assert "s3cr3t-pw" not in str(caught.value)
    assert "opsctl:***@127.0.0.1:1/opsctl" in str(caught.value)


def test_postgresql_unreachable_is_one_line_naming_the_url_without_its_password() -> None:
    with pytest.raises(StateError) as caught:
        StateStore("postgresql+psycopg://opsctl@127.0.0.1:1/opsctl", password="s3cr3t-pw")

    message = str(caught.value)
    assert "\n" not in message and "\t" not in message
    assert message.startswith("state store postgresql+psycopg://opsctl@127.0.0.1:1/opsctl: ")
    assert "Connection refused" in message
    assert "s3cr3t-pw" not in message and "s3cr3t-pw" not in str(caught.value.hint)
    assert caught.value.hint is not None and "database server is running" in caught.value.hint


def test_a_password_in_the_url_and_by_reference_is_refused() -> None:
    with pytest.raises(StateError, match="holds a password") as caught:
        url_with_password("postgresql+psycopg://opsctl:inline-pw@db.example/opsctl", "other-pw")
    assert "inline-pw" not in str(caught.value) and "other-pw" not in str(caught.value)
    joined = url_with_password("postgresql+psycopg://opsctl@db.example/opsctl", "p@ss:w/rd")
    assert joined.password == "p@ss:w/rd"
    assert (
        joined.render_as_string(hide_password=True)
        == "postgresql+psycopg://opsctl:***@db.example/opsctl"
    )


def test_an_unparsable_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(StateError) as caught:
        StateStore("not a url with s3cr3t-pw")
    assert "s3cr3t-pw" not in str(caught.value)
    assert caught.value.hint == "check state.url"


def test_a_component_s_versions_run_without_gaps() -> None:
    def noop(_connection: object) -> None:
        pass

    with pytest.raises(
        ValueError, match=r"notes migrations' versions must run 1, 2, 3, .*\[1, 3\]"
    ):
        Schema("notes", (Migration(1, "a", noop), Migration(3, "c", noop)))
    assert [step.version for step in CORE_SCHEMA.migrations] == list(
        range(1, CORE_SCHEMA.version + 1)
    )
    assert CORE_SCHEMA.migrations[0].description == "audit anchor, runs and per-host results"


def test_the_inventory_declares_its_schema_as_an_entry_point() -> None:
    from inventory.state import SCHEMA

    assert [schema.component for schema in installed_schemas()][:1] == ["core"]
    assert SCHEMA in installed_schemas()


def write_plugin(site: Path, name: str, module_text: str) -> None:
    """A distribution ``name`` on ``site`` declaring ``notes = notes_plugin:SCHEMA``."""
    (site / "notes_plugin.py").write_text(module_text, encoding="utf-8")
    dist = site / f"{name}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[opsctl.state_schemas]\nnotes = notes_plugin:SCHEMA\n")


def run_with_site(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=120
    )


def test_a_package_declaring_its_schema_is_migrated_without_being_imported(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(
        site,
        "opsctl_notes",
        "from opsctl.core.state import Migration, Schema\n"
        "def create(connection):\n"
        "    connection.exec_driver_sql('CREATE TABLE notes (id INTEGER PRIMARY KEY)')\n"
        "SCHEMA = Schema('notes', (Migration(1, 'notes', create),))\n",
    )
    database = tmp_path / "state.db"

    done = run_with_site(
        site,
        "import sys\n"
        "from opsctl.core.state import StateStore\n"
        f"store = StateStore({url_of(database)!r})\n"
        "print(sorted(store.schema_versions().items()), 'notes_plugin' in sys.modules)\n",
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.split("] ")[0] + "]" == "[('backup', 2), ('core', 2), ('inventory', 2), ('notes', 1)]"
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_a_broken_schema_entry_point_is_named(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    write_plugin(site, "opsctl_broken", "raise ImportError('no module named notes_backend')\n")

    done = run_with_site(
        site,
        "from opsctl.core.errors import StateError\n"
        "from opsctl.core.state import StateStore\n"
        f"try:\n    StateStore({url_of(tmp_path / 'state.db')!r})\n"
        "except StateError as error:\n    print(error)\n",
    )

    assert done.returncode == 0, done.stderr
    assert (
        "entry point notes = notes_plugin:SCHEMA in opsctl.state_schemas cannot be loaded"
        in done.stdout
    )
    assert "no module named notes_backend" in done.stdout


def test_the_core_knows_no_inventory_table() -> None:
    # the inventory's tables and queries live in inventory.state and inventory.history
    offences = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "opsctl").rglob("*.py"))
        for name in ("inventory_scans", "inventory_snapshots")
        if name in path.read_text(encoding="utf-8")
    ]
    assert offences == []
