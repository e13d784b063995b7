"""The lab's SeaweedFS against the real ``weed``: only the lab's address, signatures enforced,
keys published by reference, and a stop that ends it while a new start finds its buckets.

Tests that stop the store start one of their own (``TEST_SMALL_LAB_PREFIX``) in a lab
directory of their own, so the session lab stays intact.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import lab as lab_api
from lab.peer import wait_ready
from lab.seaweedfs.peer import SeaweedfsPeer, seaweedfs_peer
from opsctl.core.settings import Settings

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

SMALL_LAB_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")
_PID = re.compile(r"pid=(\d+),")


def listening_sockets(pid: int) -> list[tuple[str, str]]:
    """(protocol, local address:port) of every TCP and UDP socket ``pid`` listens on, as ``ss`` shows them."""
    done = subprocess.run(["ss", "-H", "-l", "-n", "-p", "-t", "-u"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    sockets = []
    for line in done.stdout.splitlines():
        fields = line.split()
        if str(pid) in _PID.findall(line):
            sockets.append((fields[0], fields[4]))
    return sockets


def client(endpoint: str, access_key_id: str, secret_access_key: str) -> object:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
        config=Config(connect_timeout=5, read_timeout=5, retries={"max_attempts": 1},
                      s3={"addressing_style": "path"}),
    )  # fmt: skip


def session_store(lab: RunningLab) -> SeaweedfsPeer:
    return seaweedfs_peer(lab_api.LabLayout(lab.lab_dir.absolute()), lab.prefix)


def test_the_session_lab_serves_s3_on_its_address_only(lab: RunningLab) -> None:
    statuses = {peer.name: peer for peer in lab_api.status(lab.settings)}
    store = statuses["lab-seaweedfs"]
    assert store.answering, store.detail
    assert store.detail.startswith("SeaweedFS 4.48: signed ListBuckets answered for admin and backup;")
    assert store.pid is not None

    sockets = listening_sockets(store.pid)
    assert ("tcp", f"{lab.prefix}.40.2:18333") in sockets
    assert len(sockets) >= 8  # master, volume, filer and S3, each with its gRPC port
    # its own address, and weed's second listeners on localhost: loopback only, never outside
    assert [address for _, address in sockets
            if not address.startswith((f"{lab.prefix}.", "127.0.0.1:"))] == []  # fmt: skip
    # weed's fixed-path gRPC sockets carry the lab's own ports, so no other lab shares them
    peer = session_store(lab)
    assert all(path.is_socket() for path in peer.grpc_sockets), peer.grpc_sockets
    assert list((peer.peer_dir / "tmp").glob("*.sock")) == []
    with open(f"/proc/{store.pid}/cmdline", "rb") as cmdline:
        assert b"-master.telemetry=false" in cmdline.read().split(b"\0")


def test_signatures_are_enforced(lab: RunningLab) -> None:
    peer = session_store(lab)
    keys = peer.keys("backup")
    with pytest.raises(ClientError) as refused:
        client(peer.endpoint, keys.access_key_id, "0" * 40).list_buckets()  # type: ignore[attr-defined]
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as unknown:
        client(peer.endpoint, "A" * 20, keys.secret_access_key).list_buckets()  # type: ignore[attr-defined]
    assert unknown.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def test_keys_live_in_0600_files_and_are_published_by_reference_only(lab: RunningLab) -> None:
    store = lab.publication.object_store
    assert store is not None
    assert store.endpoint == f"http://{lab.prefix}.40.2:18333"
    published = (lab.lab_dir / "object_stores.json").read_text(encoding="utf-8")
    assert json.loads(published)["object_stores"][0]["backup"]["access_key_id"].startswith("file:")
    peer = session_store(lab)
    secrets = []
    for reference in (store.admin_access_key_id, store.admin_secret_access_key,
                      store.backup_access_key_id, store.backup_secret_access_key):  # fmt: skip
        path = reference.removeprefix("file:")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        secrets.append(Path(path).read_text(encoding="utf-8").strip())
    assert len(set(secrets)) == 4 and all(len(secret) >= 20 for secret in secrets)
    assert stat.S_IMODE(peer.identities_path.stat().st_mode) == 0o600
    for public in (lab.lab_dir / "object_stores.json", lab.publication.config_path,
                   lab.publication.inventory_path, peer.record_path):  # fmt: skip
        text = public.read_text(encoding="utf-8")
        assert not [secret for secret in secrets if secret in text], public



def start(peer: SeaweedfsPeer) -> None:
    peer.prepare()
    peer.start()
    answer = wait_ready(peer, wait_seconds=120)
    assert answer.ok, f"{answer.detail}\n{peer.failure(answer.detail).describe()}"


def test_lab_down_stops_seaweedfs_and_a_new_start_finds_its_buckets(
    own_seaweedfs: tuple[Settings, SeaweedfsPeer],
) -> None:
    settings, peer = own_seaweedfs
    start(peer)
    admin = peer.keys("admin")
    client(peer.endpoint, admin.access_key_id, admin.secret_access_key).create_bucket(Bucket="kept-bucket")  # type: ignore[attr-defined]
    pid = peer.running_pid()
    assert pid is not None

    assert lab_api.down(settings) == ["lab-seaweedfs"]

    assert peer.running_pid() is None and not peer.pid_path.exists()
    assert listening_sockets(pid) == []
    start(peer)
    buckets = client(peer.endpoint, admin.access_key_id, admin.secret_access_key).list_buckets()  # type: ignore[attr-defined]
    assert [bucket["Name"] for bucket in buckets["Buckets"]] == ["kept-bucket"]
