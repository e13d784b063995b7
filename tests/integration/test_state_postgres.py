"""The state store on the lab's real PostgreSQL 15: the whole contract suite, and what is PostgreSQL's own.

The contract tests (test_state_contract.py) run here once more, each in a database of its own
(``postgres_database``): migrations by component, several processes migrating one new database
at once, runs, anchors, and named locks contended by several processes.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from opsctl.core.errors import StateError
from opsctl.core.state import StateStore
from tests.unit.core.test_state_contract import *  # noqa: F403  the same suite, on PostgreSQL
from tests.unit.core.test_state_contract import Backend
from tests.unit.core.test_state_release import release_state_module

if TYPE_CHECKING:
    from tests.integration.conftest import PostgresDatabase, RunningLab

pytestmark = pytest.mark.integration


@pytest.fixture
def state_backend(postgres_database: PostgresDatabase) -> Iterator[Backend]:
    """This test's own new database on the lab's PostgreSQL."""
    backend = Backend("postgresql", postgres_database.url, postgres_database.password)
    yield backend
    for cleanup in backend.cleanups:
        cleanup()


def test_the_lab_publishes_its_state_store_without_the_password(lab: RunningLab) -> None:
    published = lab.publication.state_store

    assert published is not None
    assert published.url == f"postgresql+psycopg://opsctl@{lab.prefix}.50.1:15432/opsctl"
    reference = Path(published.password.removeprefix("file:"))
    assert published.password.startswith("file:") and reference.is_file()
    assert stat.S_IMODE(reference.stat().st_mode) == 0o600
    password = reference.read_text(encoding="utf-8").strip()
    document = (lab.lab_dir / "databases.json").read_text(encoding="utf-8")
    assert password not in document and password not in published.url
    with StateStore(published.url, password=password) as store:
        assert store.schema_version() >= 2


def test_a_wrong_password_is_one_line_without_it(postgres_database: PostgresDatabase) -> None:
    with pytest.raises(StateError) as caught:
        StateStore(postgres_database.url, password="not-the-password")

    message = str(caught.value)
    assert message.startswith(f"state store {postgres_database.url}: ")
    assert "password authentication failed" in message and "\n" not in message
    assert "not-the-password" not in message and postgres_database.password not in message
    assert caught.value.hint is not None and "state.password" in caught.value.hint


def test_a_database_that_is_not_there_is_one_line(postgres_database: PostgresDatabase) -> None:
    url = f"{postgres_database.url}_missing"
    with pytest.raises(StateError) as caught:
        StateStore(url, password=postgres_database.password)
    assert str(caught.value).startswith(f"state store {url}: ") and "\n" not in str(caught.value)
    assert "does not exist" in str(caught.value)


def test_a_store_written_by_the_release_migrates_in_place_on_postgresql(
    postgres_database: PostgresDatabase,
) -> None:
    old = release_state_module()
    inline = sa.make_url(postgres_database.url).set(password=postgres_database.password)
    old_url = inline.render_as_string(hide_password=False)
    first = old.StateStore(old_url)
    first.begin_run("r-1", "run", "uptime", "web*", "alice")
    first.record_host("r-1", "web1", "ok", 0, 0.5, None)
    first.record_host("r-1", "web2", "unreachable", None, None, "connection refused")
    first.finish_run("r-1", "failed")
    first.set_anchor(7, "f" * 64)
    first.close()

    with StateStore(postgres_database.url, password=postgres_database.password) as store:
        assert store.schema_versions() == {"backup": 2, "core": 2, "inventory": 2}
        run = store.last_run("run")
        assert run is not None and run.outcome == "failed"
        assert [(h.host, h.outcome) for h in run.hosts] == [("web1", "ok"), ("web2", "unreachable")]
        anchor = store.get_anchor()
        assert anchor is not None and (anchor.seq, anchor.hash) == (7, "f" * 64)
        store.record_host("r-1", "web3", "partial", 0, 1.0, None)  # the new outcome is allowed

    with pytest.raises(
        StateError, match=r"schema version 3 is newer than this opsctl knows \(up to 2\)"
    ):
        old.StateStore(old_url)
