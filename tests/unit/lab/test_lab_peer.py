"""Peer records, failures and the registry of peer kinds."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError, PeerFailure, PeerStartError
from lab.kinds import LabContext, peer_kind, peer_kinds
from lab.peer import PeerRecord
from opsctl.core.settings import Settings


def test_peer_record_round_trips_through_json() -> None:
    import json

    record = PeerRecord(name="lab-ssh-01", kind="ssh", address="127.3.10.1", port=2222)
    assert PeerRecord.from_mapping(json.loads(record.to_json())) == record
    with pytest.raises(LabError):
        PeerRecord.from_mapping({"name": "x"})


def test_start_error_names_each_peer_with_its_log_tail() -> None:
    failure = PeerFailure(
        name="lab-ssh-02",
        kind="ssh",
        endpoint="127.4.10.2:2222",
        detail="its process exited",
        log_path="/lab/peers/lab-ssh-02/ssh.log",
        log_tail="Bind to port 2222 on 127.4.10.2 failed: Address already in use.\nCannot bind any address.",
    )
    error = PeerStartError([failure])
    text = str(error)
    assert "lab-ssh-02 (ssh, 127.4.10.2:2222) did not start: its process exited" in text
    assert "    Cannot bind any address." in text
    assert error.failures == (failure,)
    assert error.hint


def test_context_takes_the_override_and_refuses_out_of_range(tmp_path: Path) -> None:
    settings = Settings(state={"dir": tmp_path}, lab={"prefix": "127.7", "ssh_hosts": 5})
    context = LabContext.from_settings(settings, ssh_hosts=2)
    assert (context.prefix, context.ssh_hosts, context.layout.root) == (
        "127.7",
        2,
        tmp_path / "lab",
    )
    with pytest.raises(LabError):
        LabContext.from_settings(settings, ssh_hosts=51)


def test_ssh_hosts_are_a_registered_kind(tmp_path: Path) -> None:
    assert "ssh" in [kind.kind for kind in peer_kinds()]
    settings = Settings(state={"dir": tmp_path}, lab={"prefix": "127.7", "ssh_hosts": 3})
    peers = peer_kind("ssh").desired_peers(LabContext.from_settings(settings))
    assert [(peer.name, peer.address, peer.port) for peer in peers] == [
        ("lab-ssh-01", "127.7.10.1", 2222),
        ("lab-ssh-02", "127.7.10.2", 2222),
        ("lab-ssh-03", "127.7.10.3", 2222),
    ]
    with pytest.raises(LabError, match="unknown lab peer kind"):
        peer_kind("teapot")
