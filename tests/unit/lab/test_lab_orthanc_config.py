"""The lab's Orthanc rendered, not run: its address, configuration files, samples and publication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.kinds import LabContext, peer_kind
from lab.layout import LabLayout
from lab.orthanc.config import (
    CREDENTIALS_CONFIG,
    DICOM_PORT,
    HTTP_PORT,
    MAIN_CONFIG,
    orthanc_address,
    orthanc_command,
    render_credentials_config,
    render_orthanc_config,
)
from lab.orthanc.dicom import sample_datasets
from lab.orthanc.peer import OrthancPeer, orthanc_peer
from lab.publish import publish, read_publication


def test_orthanc_is_reached_on_its_lab_address() -> None:
    assert orthanc_address("127.14") == "127.14.60.1"
    with pytest.raises(ValueError, match=r"not 127\.N"):
        orthanc_address("10.0")


def test_the_config_asks_for_a_password_and_local_clients_only_and_holds_no_secret(
    tmp_path: Path,
) -> None:
    text = render_orthanc_config(
        name="lab-orthanc", storage_dir=tmp_path / "storage", index_dir=tmp_path / "index"
    )
    config = json.loads(text)

    assert (config["HttpPort"], config["DicomPort"]) == (HTTP_PORT, DICOM_PORT) == (18042, 14242)
    assert config["AuthenticationEnabled"] is True
    assert config["RemoteAccessAllowed"] is False  # the forwarders connect from the namespace's lo
    assert config["StorageDirectory"] == str(tmp_path / "storage")
    assert config["IndexDirectory"] == str(tmp_path / "index")
    assert config["DicomAet"] == "OPSCTL_LAB" and config["Plugins"] == []
    assert "RegisteredUsers" not in config

    credentials = json.loads(render_credentials_config("opsctl", "s3cret-value"))
    assert credentials == {"RegisteredUsers": {"opsctl": "s3cret-value"}}
    assert orthanc_command("/usr/sbin/Orthanc", tmp_path / "config") == (
        "/usr/sbin/Orthanc", str(tmp_path / "config"),
    )  # fmt: skip


def test_the_samples_are_three_studies_with_distinct_uids_the_same_every_time() -> None:
    first = [sample for sample, _ in sample_datasets()]
    again = [sample for sample, _ in sample_datasets()]

    assert first == again
    assert len({sample.study_uid for sample in first}) == 3
    assert len({sample.series_uid for sample in first}) == 4
    assert len({sample.sop_uid for sample in first}) == 4
    for sample, dataset in sample_datasets():
        assert dataset.file_meta.MediaStorageSOPInstanceUID == sample.sop_uid


def test_the_kind_wants_one_orthanc_on_the_prefix(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    context = LabContext(layout=layout, prefix="127.14", ssh_hosts=1)

    (peer,) = peer_kind("orthanc").desired_peers(context)

    assert isinstance(peer, OrthancPeer)
    assert (peer.name, peer.address, peer.port, peer.dicom_port) == (
        "lab-orthanc", "127.14.60.1", 18042, 14242,
    )  # fmt: skip
    assert peer.storage_dir.parent == peer.index_dir.parent == layout.peer_dir("lab-orthanc")


def test_a_running_orthanc_is_published_in_services_json_by_reference(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    peer = orthanc_peer(layout, "127.14")
    peer.peer_dir.mkdir(parents=True)
    layout.secrets_dir.mkdir(parents=True)
    peer.password_path.write_text("canary-password-value")
    peer.write_record()
    peer.pid_path.write_text("4242\n")

    publication = publish(layout, [], user="opsctl-lab")

    assert publication == read_publication(layout)
    pacs = publication.service("pacs")
    assert pacs is not None and pacs.kind == "orthanc"
    document = json.loads((layout.root / "services.json").read_text())
    (entry,) = document["services"]
    assert entry["rest_url"] == "http://127.14.60.1:18042"
    assert entry["dicom"] == {"host": "127.14.60.1", "port": 14242, "aet": "OPSCTL_LAB"}
    assert entry["password"] == f"file:{peer.password_path}"
    assert entry["storage_dir"] == str(peer.storage_dir)
    assert entry["index_dir"] == str(peer.index_dir) and entry["index"] == "sqlite"
    assert entry["stop_command"][-4:] == ["lab.orthanc", "stop", "--lab-dir", str(layout.root)]
    assert entry["start_command"][-3] == "start"
    assert "canary-password-value" not in (layout.root / "services.json").read_text()
    assert peer_kind("orthanc").load(layout, peer.record(), peer.peer_dir) == peer


def test_the_password_is_written_only_to_0600_files(tmp_path: Path) -> None:
    peer = orthanc_peer(LabLayout(tmp_path / "lab"), "127.14")

    peer.prepare()

    password = peer.password_path.read_text(encoding="utf-8")
    assert password in (peer.config_dir / CREDENTIALS_CONFIG).read_text(encoding="utf-8")
    assert password not in (peer.config_dir / MAIN_CONFIG).read_text(encoding="utf-8")
    for path in (peer.password_path, peer.config_dir / CREDENTIALS_CONFIG):
        assert path.stat().st_mode & 0o077 == 0
