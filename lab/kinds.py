"""The lab's peer kinds: what a kind is (:class:`PeerKind`), what it is given (:class:`LabContext`), and their registry.

A kind knows how to prepare what its peers share (keys, users), which peers the lab wants
for given settings, and how to rebuild one of its peers from its ``peer.json``. Kinds live in
:data:`PEER_KINDS`, a registry of :mod:`opsctl.core.plugins`: the built-ins are registered by
reference (``"module:attribute"``, exactly as a third party's entry point in the
``opsctl.lab_peer_kinds`` group is), so this module imports none of them and the kinds'
modules import this one, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from lab.errors import LabError
from lab.layout import LabLayout
from lab.settings import lab_dir, lab_settings
from opsctl.core.plugins import PluginRegistry

if TYPE_CHECKING:
    from lab.peer import Peer, PeerRecord
    from opsctl.core.settings import Settings


@dataclass(frozen=True)
class LabContext:
    """What the lab needs from the settings: its directory, address prefix, sizes and which
    optional peers it runs (``object_store``: the S3 store, SeaweedFS)."""

    layout: LabLayout
    prefix: str
    ssh_hosts: int
    hospital_db_megabytes: int = 0  # the hospital database's size in the lab's PostgreSQL; 0: none
    object_store: bool = True
    state_dir: Path | None = None  # the settings' state directory (the monitoring daemon reads its scanned devices)

    @classmethod
    def from_settings(cls, settings: Settings, *, ssh_hosts: int | None = None) -> LabContext:
        """Build the context; ``ssh_hosts`` overrides the ``lab.ssh_hosts`` setting (1..50)."""
        section = lab_settings(settings)
        count = section.ssh_hosts if ssh_hosts is None else ssh_hosts
        if not 1 <= count <= 50:
            raise LabError(f"the lab runs 1 to 50 SSH hosts, not {count}")
        return cls(
            layout=LabLayout(lab_dir(settings).absolute()),
            prefix=section.prefix,
            ssh_hosts=count,
            hospital_db_megabytes=section.hospital_db_megabytes,
            object_store=section.object_store,
            state_dir=settings.state_dir.absolute(),
        )


@runtime_checkable
class PeerKind(Protocol):
    """A kind of lab peer (OpenSSH hosts, snmpd, ...).

    Contract: ``kind`` is the name it is registered under and the ``kind`` of every peer it
    makes; ``desired_peers`` is pure (it reads the context, starts and writes nothing) and
    gives peers on addresses under the context's prefix with names unique in the lab;
    ``load`` rebuilds, from a peer's own record, a peer equal in name, kind, address and port.
    """

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


PEER_KINDS: PluginRegistry[PeerKind] = PluginRegistry(
    "lab peer kind", "opsctl.lab_peer_kinds", PeerKind, name_of=lambda peer_kind: peer_kind.kind
)

# the built-ins, in the order `up` starts them (third parties' entry points follow)
for _name, _reference in (
    ("ssh", "lab.ssh.host:SSH_HOSTS"),
    ("snmpd", "lab.snmp.snmpd:SNMPD"),
    ("snmpsim", "lab.snmp.snmpsim:SNMPSIM"),
    ("fake-switch", "lab.switch.peer:FAKE_SWITCHES"),
    ("postgres", "lab.postgres.peer:POSTGRES"),
    ("postgres-standby", "lab.postgres.standby:STANDBY"),  # after its primary
    ("orthanc", "lab.orthanc.peer:ORTHANC"),
    ("seaweedfs", "lab.seaweedfs.peer:SEAWEEDFS"),
    ("nut", "lab.nut.peer:NUT"),
    ("monitor", "lab.monitor:MONITOR"),  # last: it polls the others, after the lab published its configuration
):
    PEER_KINDS.register_reference(_name, _reference)


def register_peer_kind(peer_kind: PeerKind) -> None:
    """Add ``peer_kind`` under its ``kind``; raise ``UsageError`` if a different kind holds the name."""
    PEER_KINDS.register(peer_kind)


def peer_kinds() -> list[PeerKind]:
    """Every registered kind, built-ins first, in the order ``up`` starts them."""
    return list(PEER_KINDS.plugins())


def peer_kind(name: str) -> PeerKind:
    """The registered kind called ``name``; raise ``LabError`` (naming the known kinds) if there is none."""
    if name not in PEER_KINDS:
        raise LabError(
            f"unknown lab peer kind {name!r}",
            hint=f"known: {', '.join(PEER_KINDS.names())}; is this lab from a newer opsctl?",
        )
    return PEER_KINDS.get(name)
