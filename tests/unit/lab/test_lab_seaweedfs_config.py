"""The lab's SeaweedFS, its pure parts: address, identities file, command line, gRPC ports, readiness parsing, publication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.kinds import LabContext, peer_kind
from lab.layout import LabLayout
from lab.publish import PublishedObjectStore
from lab.seaweedfs.config import (
    IDENTITIES,
    S3Identity,
    S3Keys,
    grpc_ports,
    render_s3_identities,
    seaweedfs_address,
    server_arguments,
)
from lab.seaweedfs.peer import _volume_servers, seaweedfs_peer

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "lab"
ADMIN_KEYS = S3Keys("0123456789abcdef0123", "a" * 40)
BACKUP_KEYS = S3Keys("fedcba98765432100123", "b" * 40)


def test_the_store_is_on_the_prefixs_40_2() -> None:
    assert seaweedfs_address("127.11") == "127.11.40.2"
    with pytest.raises(ValueError, match=r"not 127\.N"):
        seaweedfs_address("10.0")


def test_the_identities_file_gives_admin_everything_and_backup_no_bucket_administration() -> None:
    document = json.loads(render_s3_identities(list(zip(IDENTITIES, (ADMIN_KEYS, BACKUP_KEYS), strict=True))))
    by_name = {entry["name"]: entry for entry in document["identities"]}
    assert by_name["admin"]["actions"] == ["Admin", "Read", "Write", "List", "Tagging"]
    assert by_name["backup"]["actions"] == ["Read", "Write", "List", "Tagging"]
    assert by_name["backup"]["credentials"] == [
        {"accessKey": "fedcba98765432100123", "secretKey": "b" * 40}
    ]


def test_a_key_that_is_not_plain_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError, match="backup identity's secret key") as raised:
        render_s3_identities([(IDENTITIES[1], S3Keys("fedcba98765432100123", "short/+"))])
    assert "short/+" not in str(raised.value)
    with pytest.raises(ValueError, match="unknown SeaweedFS S3 action"):
        S3Identity("x", ("DeleteEverything",))


def test_keys_never_show_in_a_repr() -> None:
    assert "0123456789abcdef0123" not in repr(ADMIN_KEYS)


def test_the_server_binds_its_address_with_telemetry_off_and_every_port_given() -> None:
    arguments = server_arguments(weed="/v/bin/weed", address="127.11.40.2", root=Path("/run/x"))
    assert arguments[:2] == ("/v/bin/weed", "server")
    assert {"-ip=127.11.40.2", "-ip.bind=127.11.40.2", "-master.telemetry=false",
            "-s3.port=18333", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-s3.config=/run/x/s3.json", "-s3.autoCreateBucket=false"} <= set(arguments)  # fmt: skip
    for port in ("-master.port", "-master.port.grpc", "-volume.port", "-volume.port.grpc",
                 "-filer.port", "-filer.port.grpc", "-s3.port.grpc"):  # fmt: skip
        assert any(argument.startswith(f"{port}=") for argument in arguments), port
    for path_option in ("-dir=", "-master.dir=", "-filer.localSocket=", "-s3.localSocket="):
        value = next(a for a in arguments if a.startswith(path_option)).partition("=")[2]
        assert value.startswith("/run/x/"), path_option
    assert not any("AWS" in argument or "secret" in argument.lower() for argument in arguments)


def test_each_lab_has_grpc_ports_of_its_own_so_weeds_fixed_socket_paths_never_meet() -> None:
    # weed's gRPC sockets are /tmp/seaweedfs-NAME-grpc-PORT.sock: two labs with one port would
    # share a socket, and one lab's filer would reach the other's master
    labs = [grpc_ports(f"127.{octet}.40.2") for octet in range(256)]
    ports = [port for lab in labs for port in (lab.master, lab.volume, lab.filer, lab.s3)]
    assert len(set(ports)) == len(ports) == 1024
    assert min(ports) >= 30000 and max(ports) < 32768  # below Linux's ephemeral ports
    arguments = server_arguments(weed="/v/bin/weed", address="127.11.40.2", root=Path("/lab/p"))
    lab = grpc_ports("127.11.40.2")
    assert {f"-master.port.grpc={lab.master}", f"-volume.port.grpc={lab.volume}",
            f"-filer.port.grpc={lab.filer}", f"-s3.port.grpc={lab.s3}"} <= set(arguments)  # fmt: skip


def test_readiness_reads_volume_servers_and_free_slots_from_a_recorded_dir_status() -> None:
    status = json.loads((FIXTURES / "seaweedfs-dir-status.json").read_text(encoding="utf-8"))
    assert _volume_servers(status) == (1, status["Topology"]["Free"])
    assert status["Topology"]["Free"] > 0
    assert _volume_servers({}) == (0, 0)


def test_the_kind_wants_one_store_unless_the_lab_runs_none(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    kind = peer_kind("seaweedfs")
    [peer] = kind.desired_peers(LabContext(layout=layout, prefix="127.11", ssh_hosts=1))
    assert (peer.name, peer.address, peer.port) == ("lab-seaweedfs", "127.11.40.2", 18333)
    off = LabContext(layout=layout, prefix="127.11", ssh_hosts=1, object_store=False)
    assert kind.desired_peers(off) == []


def test_the_publication_holds_key_references_only(tmp_path: Path) -> None:
    peer = seaweedfs_peer(LabLayout(tmp_path / "lab"), "127.11")
    [store] = peer.published_object_stores()
    document = store.to_dict()
    assert document["endpoint"] == "http://127.11.40.2:18333"
    assert (document["region"], document["bucket"]) == ("us-east-1", "opsctl-offsite")
    references = [document[who][key] for who in ("admin", "backup")
                  for key in ("access_key_id", "secret_access_key")]  # fmt: skip
    assert all(reference.startswith(f"file:{tmp_path / 'lab' / 'secrets'}/s3-") for reference in references)
    assert len(set(references)) == 4
    assert PublishedObjectStore.from_mapping(json.loads(json.dumps(document))) == store
