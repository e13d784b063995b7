"""The registry of peer kinds. Each later issue adds its kind here, built-ins like any other.

A kind knows how to prepare what its peers share (keys, users), which peers the lab wants
for given settings, and how to rebuild one of its peers from its ``peer.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lab.errors import LabError
from lab.layout import LabLayout

if TYPE_CHECKING:
    from lab.peer import Peer, PeerRecord
    from opsctl.core.settings import Settings


@dataclass(frozen=True)
class LabContext:
    """What the lab needs from the settings: its directory, address prefix and sizes."""

    layout: LabLayout
    prefix: str
    ssh_hosts: int

    @classmethod
    def from_settings(cls, settings: Settings, *, ssh_hosts: int | None = None) -> LabContext:
        """Build the context; ``ssh_hosts`` overrides ``settings.lab.ssh_hosts`` (1..50)."""
        count = settings.lab.ssh_hosts if ssh_hosts is None else ssh_hosts
        if not 1 <= count <= 50:
            raise LabError(f"the lab runs 1 to 50 SSH hosts, not {count}")
        return cls(
            layout=LabLayout(settings.lab_dir.absolute()),
            prefix=settings.lab.prefix,
            ssh_hosts=count,
        )


class PeerKind(Protocol):
    """A kind of lab peer (OpenSSH hosts, snmpd, ...)."""

    @property
    def kind(self) -> str:
        """The kind's name, as stored in ``peer.json``."""
        ...

    def prepare(self, lab: LabContext) -> None:
        """Set up what this kind's peers share (idempotent); raise ``LabError`` if impossible."""

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        """The peers of this kind that ``up`` should leave running, in order."""
        ...

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        """Rebuild a peer of this kind from its record and directory."""
        ...


_KINDS: dict[str, PeerKind] = {}
_BUILTINS_LOADED = False


def register_peer_kind(peer_kind: PeerKind) -> None:
    """Add ``peer_kind`` to the registry (replacing one of the same name)."""
    _KINDS[peer_kind.kind] = peer_kind


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    from lab.postgres.peer import POSTGRES
    from lab.snmp.snmpd import SNMPD
    from lab.snmp.snmpsim import SNMPSIM
    from lab.ssh.host import SSH_HOSTS
    from lab.switch.peer import FAKE_SWITCHES

    register_peer_kind(SSH_HOSTS)
    register_peer_kind(SNMPD)
    register_peer_kind(SNMPSIM)
    register_peer_kind(FAKE_SWITCHES)
    register_peer_kind(POSTGRES)


def peer_kinds() -> list[PeerKind]:
    """Every registered kind, built-ins first, in the order ``up`` starts them."""
    _load_builtins()
    return list(_KINDS.values())


def peer_kind(name: str) -> PeerKind:
    """The registered kind called ``name``; raise ``LabError`` if there is none."""
    _load_builtins()
    try:
        return _KINDS[name]
    except KeyError:
        raise LabError(
            f"unknown lab peer kind {name!r}", hint="is this lab from a newer opsctl?"
        ) from None
