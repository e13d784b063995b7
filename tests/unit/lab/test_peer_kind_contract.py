"""The shared contract every registered lab peer kind passes: pure desired peers under the prefix, rebuilt from their records."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.kinds import PEER_KINDS, LabContext, PeerKind, peer_kind, peer_kinds, register_peer_kind
from lab.layout import LabLayout
from lab.peer import Peer
from opsctl.core.errors import UsageError

KIND_NAMES = list(PEER_KINDS.names())
PREFIX = "127.8"


def _context(tmp_path: Path) -> LabContext:
    return LabContext(layout=LabLayout(tmp_path / "lab"), prefix=PREFIX, ssh_hosts=2)


def test_the_built_in_kinds_come_first_in_the_order_up_starts_them() -> None:
    assert KIND_NAMES[:4] == ["ssh", "snmpd", "snmpsim", "fake-switch"]
    assert [kind.kind for kind in peer_kinds()] == KIND_NAMES


@pytest.mark.parametrize("name", KIND_NAMES)
def test_satisfies_the_protocol_and_is_found_by_its_kind(name: str) -> None:
    kind = peer_kind(name)
    assert isinstance(kind, PeerKind)
    assert kind.kind == name


@pytest.mark.parametrize("name", KIND_NAMES)
def test_desired_peers_are_its_own_under_the_prefix_and_write_nothing(name: str, tmp_path: Path) -> None:
    context = _context(tmp_path)
    peers = peer_kind(name).desired_peers(context)
    assert peers, f"{name} wants no peer at all"
    for peer in peers:
        assert isinstance(peer, Peer)
        assert peer.kind == name
        assert peer.address.startswith(f"{PREFIX}.")
        assert 1 <= peer.port <= 65535
        assert peer.peer_dir.parent == context.layout.peers_dir
    assert list(tmp_path.iterdir()) == []


def test_peer_names_and_endpoints_are_unique_across_kinds(tmp_path: Path) -> None:
    peers = [peer for kind in peer_kinds() for peer in kind.desired_peers(_context(tmp_path))]
    assert len({peer.name for peer in peers}) == len(peers)
    assert len({(peer.address, peer.port) for peer in peers}) == len(peers)


@pytest.mark.parametrize("name", KIND_NAMES)
def test_a_peer_is_rebuilt_from_its_record(name: str, tmp_path: Path) -> None:
    context = _context(tmp_path)
    for peer in peer_kind(name).desired_peers(context):
        again = peer_kind(name).load(context.layout, peer.record(), peer.peer_dir)
        assert again.record() == peer.record()
        assert (again.peer_dir, again.log_path, again.pid_path) == (
            peer.peer_dir, peer.log_path, peer.pid_path,
        )  # fmt: skip


def test_an_unknown_kind_is_a_lab_error_naming_the_known() -> None:
    with pytest.raises(LabError, match="unknown lab peer kind 'teapot'") as raised:
        peer_kind("teapot")
    assert "ssh, snmpd" in (raised.value.hint or "")


def test_a_different_kind_under_a_taken_name_is_refused() -> None:
    class Impostor:
        kind = "ssh"

        def prepare(self, lab: LabContext) -> None: ...

        def desired_peers(self, lab: LabContext) -> list[Peer]:
            return []

        def load(self, layout: LabLayout, record: object, peer_dir: Path) -> Peer:
            raise NotImplementedError

    with pytest.raises(UsageError, match="'ssh' is already registered"):
        register_peer_kind(Impostor())
    assert type(peer_kind("ssh")).__name__ == "SshHostsKind"
