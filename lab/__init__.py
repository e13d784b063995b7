"""The lab: a simulated hospital data centre of real programs on loopback addresses.

The names below are imported on first use, so that importing a light module of the lab
(``lab.settings``, which a configuration with a ``lab:`` section loads) does not import the
whole lab.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsctl.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from lab.errors import LabError, LabNotPublished, PeerFailure, PeerStartError
    from lab.kinds import LabContext, PeerKind, peer_kinds, register_peer_kind
    from lab.layout import LabLayout
    from lab.peer import Answer, Peer, PeerStatus
    from lab.publish import LabPublication, PublishedHost
    from lab.runtime import LabState, down, published, status, up
    from lab.settings import LabSettings, lab_dir, lab_settings
    from lab.ssh.host import RunningPeer, start_ssh_host

_HOMES = {
    "lab.errors": ("LabError", "LabNotPublished", "PeerFailure", "PeerStartError"),
    "lab.kinds": ("LabContext", "PeerKind", "peer_kinds", "register_peer_kind"),
    "lab.layout": ("LabLayout",),
    "lab.peer": ("Answer", "Peer", "PeerStatus"),
    "lab.publish": ("LabPublication", "PublishedHost"),
    "lab.runtime": ("LabState", "down", "published", "status", "up"),
    "lab.settings": ("LabSettings", "lab_dir", "lab_settings"),
    "lab.ssh.host": ("RunningPeer", "start_ssh_host"),
}
__getattr__ = lazy_attributes(__name__, _HOMES)


__all__ = [
    "Answer",
    "LabContext",
    "LabError",
    "LabLayout",
    "LabNotPublished",
    "LabPublication",
    "LabSettings",
    "LabState",
    "Peer",
    "PeerFailure",
    "PeerKind",
    "PeerStartError",
    "PeerStatus",
    "PublishedHost",
    "RunningPeer",
    "down",
    "lab_dir",
    "lab_settings",
    "peer_kinds",
    "published",
    "register_peer_kind",
    "start_ssh_host",
    "status",
    "up",
]
