"""The lab: a simulated hospital data centre of real programs on loopback addresses."""

from __future__ import annotations

from lab.errors import LabError, LabNotPublished, PeerFailure, PeerStartError
from lab.kinds import LabContext, PeerKind, peer_kinds, register_peer_kind
from lab.layout import LabLayout
from lab.peer import Answer, Peer, PeerStatus
from lab.publish import LabPublication, PublishedHost
from lab.runtime import LabState, down, published, status, up
from lab.ssh.host import RunningPeer, start_ssh_host

__all__ = [
    "Answer",
    "LabContext",
    "LabError",
    "LabLayout",
    "LabNotPublished",
    "LabPublication",
    "LabState",
    "Peer",
    "PeerFailure",
    "PeerKind",
    "PeerStartError",
    "PeerStatus",
    "PublishedHost",
    "RunningPeer",
    "down",
    "peer_kinds",
    "published",
    "register_peer_kind",
    "start_ssh_host",
    "status",
    "up",
]
