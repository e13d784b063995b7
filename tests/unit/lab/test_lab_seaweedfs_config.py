"""The lab's SeaweedFS, its pure parts: address, identities file, command line, hosts file, readiness parsing, publication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.kinds import LabContext, peer_kind
from lab.layout import LabLayout
from lab.publish import PublishedObjectStore
from lab.seaweedfs.config import (
    IDENTITIES,
    LAUNCH_SCRIPT,
    S3Identity,
    S3Keys,
    launch_command,
    render_hosts,
    render_s3_identities,
    seaweedfs_address,
    server_arguments,
)
from lab.seaweedfs.peer import _volume_servers, mount_point, seaweedfs_peer

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


def test_the_launch_mounts_a_private_tmp_and_hosts_then_becomes_weed() -> None:
    command = launch_command(unshare="/usr/bin/unshare", shell="/bin/sh", peer_dir=Path("/lab/p"),
                             mount_point=Path("/run/m"), server=("/v/weed", "server"))  # fmt: skip
    assert command[:5] == ("/usr/bin/unshare", "--mount", "--propagation", "private", "--")
    assert command[5:] == ("/bin/sh", "-c", LAUNCH_SCRIPT, "seaweedfs-launch", "/lab/p", "/run/m",
                           "/v/weed", "server")  # fmt: skip
    assert 'mount --bind "$mount_point/tmp" /tmp' in LAUNCH_SCRIPT
    assert LAUNCH_SCRIPT.rstrip().endswith('exec "$@"')  # weed keeps the pid the lab records
    assert render_hosts("127.11.40.2").splitlines()[-1] == "127.11.40.2 localhost"


def test_readiness_reads_volume_servers_and_free_slots_from_a_recorded_dir_status() -> None:
    status = json.loads((FIXTURES / "seaweedfs-dir-status.json").read_text(encoding="utf-8"))
    assert _volume_servers(status) == (1, status["Topology"]["Free"])
    assert status["Topology"]["Free"] > 0
    assert _volume_servers({}) == (0, 0)


def test_each_lab_directory_has_its_own_mount_point_outside_tmp(tmp_path: Path) -> None:
    first, second = mount_point(tmp_path / "a"), mount_point(tmp_path / "b")
    assert first != second
    assert first.parent == Path("/run/opsctl-lab") and first.name.startswith("seaweedfs-")


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
