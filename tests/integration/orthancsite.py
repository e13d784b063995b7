"""A controller with a policy over an Orthanc of its own (the small lab's prefix), for the Orthanc
hook and drill tests: stopping a PACS breaks it, so never the session lab's."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetcli import Cli

import lab as lab_api
from backup.restic import Restic
from backup.targets import Repository
from lab.orthanc.peer import OrthancPeer, orthanc_peer
from lab.peer import wait_ready
from opsctl.core.secrets import SecretRef
from opsctl.core.settings import Settings

SMALL_LAB_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")


def postgres_passable_dir(prefix: str) -> Iterator[Path]:
    """A fresh directory under /var/tmp the postgres user can pass through (pytest's are 0700
    root's), for scratch clusters and drills; removed afterwards."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@dataclass
class PacsSite:
    root: Path
    cli: Cli
    config: Path
    peer: OrthancPeer
    details: dict[str, Any]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.cli("-c", str(self.config), *args, timeout=timeout)

    def json(self, *args: str) -> tuple[int, dict[str, Any]]:
        return self.cli.json("-c", str(self.config), *args)

    def restic(self) -> Restic:
        return Restic(Repository(str(self.root / "repo"), {"RESTIC_PASSWORD": SecretRef("file", str(self.root / "pw"))}),
                      cache_dir=self.root / "restic-cache")

    def statistics(self) -> dict[str, Any]:
        from lab.orthanc.dicom import rest_get

        password = SecretRef.parse(self.details["password"]).resolve()
        return dict(rest_get(self.details["rest_url"], "/statistics", user=self.details["user"], password=password,
                             timeout=10))

    def metrics(self, name: str) -> dict[str, float]:
        path = self.root / "textfile" / name
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in path.read_text().splitlines() if line and not line.startswith("#")}


def orthanc_policy(details: dict[str, Any], *, max_downtime: str = "5m") -> str:
    """The policy's ``orthanc:`` section (YAML flow) from what the lab publishes."""
    return ("      orthanc:\n"
            f"        url: {details['rest_url']}\n"
            f"        username: {details['user']}\n"
            f"        password: {details['password']}\n"
            f"        storage_dir: {details['storage_dir']}\n"
            f"        index_dir: {details['index_dir']}\n"
            f"        stop_command: {json.dumps(details['stop_command'])}\n"
            f"        start_command: {json.dumps(details['start_command'])}\n"
            f"        dicom_aet: {details['dicom']['aet']}\n"
            f"        max_downtime: {max_downtime}\n")


@dataclass
class OwnOrthanc:
    settings: Settings
    peer: OrthancPeer

    def details(self) -> dict[str, Any]:
        (service,) = self.peer.published_services()
        return dict(service.to_dict())


def start_own_orthanc(state_dir: Path) -> OwnOrthanc:
    """An Orthanc peer alone in a lab directory of its own, started and ready."""
    settings = Settings(state={"dir": state_dir}, lab={"prefix": SMALL_LAB_PREFIX})
    peer = orthanc_peer(lab_api.LabLayout(lab_api.lab_dir(settings).absolute()), SMALL_LAB_PREFIX)
    peer.prepare()
    peer.start()
    answer = wait_ready(peer, wait_seconds=90)
    assert answer.ok, peer.failure(answer.detail).describe()
    return OwnOrthanc(settings, peer)


def own_orthanc_fixture(state_dir: Path) -> Iterator[OwnOrthanc]:
    own = start_own_orthanc(state_dir)
    try:
        yield own
    finally:
        lab_api.down(own.settings)


@dataclass
class PgIndexPacs:
    """A PACS whose index is in PostgreSQL: Debian's Orthanc with Debian's PostgreSQL index plugin
    (orthanc-postgresql), in a network namespace of its own, its index in a PostgreSQL 15 cluster
    started for the test (backup.scratch's helper: the lab's own PostgreSQL lets only its superuser
    use its socket, and the namespace reaches a server through a socket alone). The lab's sample
    instances are stored in it."""

    rest_url: str
    dicom_port: int
    user: str
    password_file: Path
    storage_dir: Path
    database: str
    db_host: str
    db_port: int
    db_user: str
    db_password_file: Path

    def policy(self) -> str:
        """The policy's ``orthanc:`` section for this PACS (no stop, no start: its index is dumped)."""
        return ("      orthanc:\n"
                f"        url: {self.rest_url}\n"
                f"        username: {self.user}\n"
                f"        password: file:{self.password_file}\n"
                f"        storage_dir: {self.storage_dir}\n"
                "        index: postgresql\n"
                f"        index_database: {{host: {self.db_host}, port: {self.db_port}, database: {self.database}, "
                f"user: {self.db_user}, password: 'file:{self.db_password_file}'}}\n"
                "        dicom_aet: PGINDEX_PACS\n")

    def statistics(self) -> dict[str, Any]:
        from lab.orthanc.dicom import rest_get

        return dict(rest_get(self.rest_url, "/statistics", user=self.user,
                             password=self.password_file.read_text().strip(), timeout=10))


def pg_index_pacs(workdir: Path) -> Iterator[PgIndexPacs]:
    """Start a :class:`PgIndexPacs` under ``workdir`` (one the postgres user can pass through)."""
    import base64
    import io
    import secrets
    import socket
    import time
    import urllib.request
    from contextlib import ExitStack

    from pydicom import dcmwrite

    from backup.drill import postgresql_index_plugin
    from backup.orthanc import OrthancError, rest_get
    from backup.scratch import create_database, scratch_postgres
    from lab.orthanc.dicom import sample_datasets
    from opsctl.core.netns import start_forwarder, start_in_namespace

    def free_port() -> int:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    with ExitStack() as stack:
        cluster = stack.enter_context(scratch_postgres(workdir / "index-server", bind="127.0.0.1"))
        create_database(cluster, "orthanc_index")
        secrets_dir = workdir / "secrets"
        secrets_dir.mkdir(mode=0o700)
        password, db_password = secrets_dir / "orthanc-pw", secrets_dir / "db-pw"
        password.write_text(secrets.token_hex(12) + "\n")
        db_password.write_text(cluster.password + "\n")
        for path in (password, db_password):
            path.chmod(0o600)
        config_dir, storage = workdir / "pacs-config", workdir / "pacs-storage"
        config_dir.mkdir(mode=0o700)
        storage.mkdir()
        (config_dir / "orthanc.json").write_text(json.dumps({
            "Name": "pgindex-pacs", "StorageDirectory": str(storage), "IndexDirectory": str(workdir / "unused"),
            "StorageCompression": False, "Plugins": [str(postgresql_index_plugin())], "HttpPort": 8042,
            "DicomPort": 4242, "DicomAet": "PGINDEX_PACS", "DicomAlwaysAllowEcho": True,
            "AuthenticationEnabled": True, "RemoteAccessAllowed": False,
            "PostgreSQL": {"EnableIndex": True, "EnableStorage": False, "Host": str(cluster.socket_dir),
                           "Port": cluster.port, "Database": "orthanc_index", "Username": cluster.superuser,
                           "Password": ""}}))
        (config_dir / "credentials.json").write_text(
            json.dumps({"RegisteredUsers": {"pacs": password.read_text().strip()}}))
        (config_dir / "credentials.json").chmod(0o600)
        process = start_in_namespace(("/usr/sbin/Orthanc", str(config_dir)), env={"PATH": "/usr/sbin:/usr/bin:/bin"},
                                     cwd=workdir, log_path=workdir / "pacs.log", marker=str(config_dir))
        stack.callback(process.stop, 10.0)
        ports = []
        for inside in (8042, 4242):
            ports.append(free_port())
            stack.callback(start_forwarder("127.0.0.1", ports[-1], process.pid, inside,
                                           log_path=workdir / "forwarder.log").stop)
        url = f"http://127.0.0.1:{ports[0]}"
        secret = password.read_text().strip()
        deadline = time.monotonic() + 60
        while True:
            try:
                system = rest_get(url, "/system", user="pacs", password=secret, timeout=3)
                break
            except OrthancError:
                assert time.monotonic() < deadline and process.running(), (workdir / "pacs.log").read_text()[-2000:]
                time.sleep(0.2)
        assert system.get("DatabaseBackendPlugin"), system  # the index really is in PostgreSQL
        token = base64.b64encode(f"pacs:{secret}".encode()).decode()
        for _sample, dataset in sample_datasets():
            buffer = io.BytesIO()
            dcmwrite(buffer, dataset)
            request = urllib.request.Request(f"{url}/instances", data=buffer.getvalue(), method="POST",
                                             headers={"Authorization": f"Basic {token}"})
            with urllib.request.urlopen(request, timeout=30) as answer:
                assert answer.status == 200
        assert cluster.host is not None
        yield PgIndexPacs(url, ports[1], "pacs", password, storage, "orthanc_index", cluster.host, cluster.port,
                          cluster.superuser, db_password)
