"""The session-wide lab every integration test runs against, and an environment for the CLI.

The lab's address prefix comes from ``TEST_LAB_PREFIX`` (default ``127.3``) so two
test sessions on one machine can each have their own lab.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import lab as lab_api
from lab.settings import lab_dir, lab_settings
from opsctl.core.settings import Settings

if TYPE_CHECKING:
    from lab.seaweedfs.peer import SeaweedfsPeer

LAB_PREFIX = os.environ.get("TEST_LAB_PREFIX", "127.3")
LAB_SSH_HOSTS = 5


@dataclass(frozen=True)
class RunningLab:
    """The session's lab: its settings, what ``up`` returned and what it published."""

    settings: Settings
    state: lab_api.LabState
    publication: lab_api.LabPublication

    @property
    def lab_dir(self) -> Path:
        return lab_dir(self.settings)

    @property
    def prefix(self) -> str:
        return lab_settings(self.settings).prefix


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningLab]:
    """Bring the lab up once per session (5 SSH hosts) and bring it down at the end."""
    state_dir = tmp_path_factory.mktemp("lab-state")
    settings = Settings(
        state={"dir": state_dir}, lab={"prefix": LAB_PREFIX, "ssh_hosts": LAB_SSH_HOSTS}
    )
    try:
        state = lab_api.up(settings)
        yield RunningLab(settings=settings, state=state, publication=state.publication)
    finally:
        lab_api.down(settings)


@pytest.fixture
def lab_env(lab: RunningLab, tmp_path: Path) -> dict[str, str]:
    """An environment for running ``opsctl`` against the session lab.

    Its own empty state directory per test (known hosts, audit log, state database), the
    lab's published inventory, the session lab's directory and prefix, XDG directories in
    the test's temporary directory, and no ssh agent.
    """
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("OPSCTL_")
    }
    environment.pop("SSH_AUTH_SOCK", None)
    xdg = tmp_path / "xdg"
    for name in ("config", "state", "cache", "data"):
        (xdg / name).mkdir(parents=True, exist_ok=True)
    (tmp_path / "state").mkdir(exist_ok=True)
    environment.update(
        {
            "OPSCTL_STATE__DIR": str(tmp_path / "state"),
            "OPSCTL_INVENTORY": str(lab.publication.inventory_path),
            "OPSCTL_LAB__DIR": str(lab.lab_dir),
            "OPSCTL_LAB__PREFIX": lab.prefix,
            "XDG_CONFIG_HOME": str(xdg / "config"),
            "XDG_STATE_HOME": str(xdg / "state"),
            "XDG_CACHE_HOME": str(xdg / "cache"),
            "XDG_DATA_HOME": str(xdg / "data"),
        }
    )
    return environment


@dataclass(frozen=True)
class PostgresDatabase:
    """A database of one test's own on the lab's PostgreSQL, owned by the state store's role."""

    name: str
    url: str  # postgresql+psycopg://role@address:port/name, no password
    password: str  # resolved from the lab's published reference


@pytest.fixture
def postgres_database(lab: RunningLab) -> Iterator[PostgresDatabase]:
    """A new, empty database on the lab's PostgreSQL for this test alone, dropped afterwards."""
    from lab.postgres.peer import postgres_peer
    from opsctl.core.secrets import SecretRef

    published = lab.publication.state_store
    assert published is not None, "the lab publishes no PostgreSQL state store"
    peer = postgres_peer(lab_api.LabLayout(lab.lab_dir.absolute()), lab.prefix)
    name = f"opsctl_test_{uuid.uuid4().hex[:12]}"
    peer.create_database(name, owner=published.role)
    try:
        yield PostgresDatabase(
            name=name,
            url=f"{published.url.rpartition('/')[0]}/{name}",
            password=SecretRef.parse(published.password).resolve(),
        )
    finally:
        peer.drop_database(name)


@pytest.fixture
def own_seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, SeaweedfsPeer]]:
    """A SeaweedFS peer alone, for a test that breaks it: in a lab directory of its own on
    ``TEST_SMALL_LAB_PREFIX``; its lab brought down and removed afterwards."""
    import shutil

    from lab.seaweedfs.peer import seaweedfs_peer

    prefix = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")
    settings = Settings(state={"dir": tmp_path_factory.mktemp("seaweedfs-lab")}, lab={"prefix": prefix})
    layout = lab_api.LabLayout(lab_dir(settings).absolute())
    peer = seaweedfs_peer(layout, prefix)
    try:
        yield settings, peer
    finally:
        lab_api.down(settings)
        shutil.rmtree(layout.root, ignore_errors=True)
