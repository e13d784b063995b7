"""Pure parts of the lab's SeaweedFS: its address, ports, S3 identities and command line.

Nothing here touches the disk or runs a program. The S3 keys appear only in the identities
file (0600, read by ``weed``) and in the lab's secret files, never on a command line.

Two SeaweedFS habits decide the command line. It puts its gRPC sockets at fixed paths
``/tmp/seaweedfs-*-grpc-PORT.sock``, so two labs with the same gRPC ports would share them
(one lab's filer would reach the other lab's master): each lab's gRPC ports are therefore its
own, derived from its prefix (:func:`grpc_ports`). And it listens on every port a second time
on ``localhost`` (unless ``-ip`` is a loopback name), skipping that listener when the port is
taken: so besides its own address it may also answer on 127.0.0.1, which is loopback too.
(A mount namespace with a private ``/tmp`` and ``/etc/hosts`` would hide both, but in a chroot
``/`` is no mount point and ``unshare`` cannot make it private, so the lab does without.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SEAWEEDFS_NAME = "lab-seaweedfs"
SEAWEEDFS_SUBNET = 40  # third octet: SeaweedFS is {prefix}.40.2 (.40.1 is kept for moto)
SEAWEEDFS_HOST = 2
S3_PORT = 18333
REGION = "us-east-1"
BUCKET_SUGGESTION = "opsctl-offsite"
# weed's other servers, all on the peer's address (gRPC ports given, never weed's port+10000)
MASTER_PORT = 19333
VOLUME_PORT = 18080
FILER_PORT = 18888
# gRPC ports: 4 per lab, GRPC_PORT_BASE + 4 * (the prefix's second octet) + (0 master, 1 volume,
# 2 filer, 3 s3): 30000-31023, below Linux's ephemeral ports (32768 and up)
GRPC_PORT_BASE = 30000


@dataclass(frozen=True)
class GrpcPorts:
    """The gRPC ports of one lab's weed servers (their sockets' paths name them)."""

    master: int
    volume: int
    filer: int
    s3: int


def grpc_ports(address: str) -> GrpcPorts:
    """The gRPC ports of the lab whose SeaweedFS listens on ``address`` (``127.N.40.2``)."""
    octet = int(address.split(".")[1])
    base = GRPC_PORT_BASE + 4 * octet
    return GrpcPorts(master=base, volume=base + 1, filer=base + 2, s3=base + 3)

# small volumes, many of them: every bucket is a collection that takes a few volumes
VOLUME_SIZE_LIMIT_MB = 64
VOLUME_MAX = 200

ADMIN = "admin"
BACKUP = "backup"
_ACTIONS = ("Admin", "Read", "Write", "List", "Tagging")
_KEY = re.compile(r"^[A-Za-z0-9]{16,128}$")

@dataclass(frozen=True)
class S3Identity:
    """One S3 identity of the lab's store: its name and the SeaweedFS actions it may do.

    ``admin`` may do everything and is used only to create and set up buckets; ``backup`` is
    what a backup host holds: read, write (which in SeaweedFS covers deletes), list and tag,
    never bucket administration, so object lock (not the identity) protects history.
    """

    name: str
    actions: tuple[str, ...]

    def __post_init__(self) -> None:
        unknown = [action for action in self.actions if action not in _ACTIONS]
        if unknown:
            raise ValueError(f"unknown SeaweedFS S3 action(s): {', '.join(unknown)}")


IDENTITIES: tuple[S3Identity, ...] = (
    S3Identity(ADMIN, ("Admin", "Read", "Write", "List", "Tagging")),
    S3Identity(BACKUP, ("Read", "Write", "List", "Tagging")),
)


@dataclass(frozen=True)
class S3Keys:
    """An identity's access key id and secret access key (secrets: never logged)."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:
        return "S3Keys(<hidden>)"


def seaweedfs_address(prefix: str) -> str:
    """The address of the lab's SeaweedFS: ``{prefix}.40.2``."""
    first, _, second = prefix.partition(".")
    if first != "127" or not second.isdigit() or not 0 <= int(second) <= 255:
        raise ValueError(f"lab prefix {prefix!r} is not 127.N")
    return f"{prefix}.{SEAWEEDFS_SUBNET}.{SEAWEEDFS_HOST}"


def endpoint_url(address: str, port: int = S3_PORT) -> str:
    """The S3 endpoint URL clients use (plain HTTP on loopback)."""
    return f"http://{address}:{port}"


def render_s3_identities(identities: Sequence[tuple[S3Identity, S3Keys]]) -> str:
    """The identities file ``weed -s3.config`` reads (JSON): each identity, its keys and actions.

    Raise ``ValueError`` for a key that is not 16-128 letters and digits (SeaweedFS keys
    travel in headers; the lab makes hex ones).
    """
    entries = []
    for identity, keys in identities:
        for what, value in (("access key id", keys.access_key_id), ("secret key", keys.secret_access_key)):
            if not _KEY.match(value):
                raise ValueError(f"the {identity.name} identity's {what} is not 16-128 letters and digits")
        entries.append(
            {
                "name": identity.name,
                "credentials": [
                    {"accessKey": keys.access_key_id, "secretKey": keys.secret_access_key}
                ],
                "actions": list(identity.actions),
            }
        )
    return json.dumps({"identities": entries}, indent=2) + "\n"


def server_arguments(*, weed: str, address: str, root: Path) -> tuple[str, ...]:
    """``weed server`` with master, volume, filer and S3 on ``address`` only, state under ``root``.

    ``root`` is the peer's directory; telemetry is off, the Iceberg and Lance side servers are
    off, every port and socket is given explicitly (the gRPC ports are the lab's own).
    """
    data = root / "data"
    grpc = grpc_ports(address)
    return (
        weed, "server",
        f"-ip={address}", f"-ip.bind={address}",
        f"-dir={data}",
        f"-master.dir={data / 'master'}",
        f"-master.port={MASTER_PORT}", f"-master.port.grpc={grpc.master}",
        "-master.telemetry=false",
        "-master.electionTimeout=1s",
        f"-master.volumeSizeLimitMB={VOLUME_SIZE_LIMIT_MB}",
        f"-volume.max={VOLUME_MAX}",
        "-volume.preStopSeconds=1",
        f"-volume.port={VOLUME_PORT}", f"-volume.port.grpc={grpc.volume}",
        "-filer",
        f"-filer.port={FILER_PORT}", f"-filer.port.grpc={grpc.filer}",
        f"-filer.localSocket={data / 'filer.sock'}",
        "-s3",
        f"-s3.port={S3_PORT}", f"-s3.port.grpc={grpc.s3}",
        "-s3.port.iceberg=0", "-s3.port.lance=0",
        f"-s3.localSocket={data / 's3.sock'}",
        f"-s3.config={root / 's3.json'}",
        "-s3.autoCreateBucket=false",
    )  # fmt: skip


__all__ = [
    "ADMIN",
    "BACKUP",
    "BUCKET_SUGGESTION",
    "IDENTITIES",
    "REGION",
    "S3_PORT",
    "SEAWEEDFS_NAME",
    "GrpcPorts",
    "S3Identity",
    "S3Keys",
    "endpoint_url",
    "grpc_ports",
    "render_s3_identities",
    "seaweedfs_address",
    "server_arguments",
]
