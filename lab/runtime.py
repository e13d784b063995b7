"""The lab's public operations: ``up``, ``down``, ``status`` and ``published``.

``up`` makes exactly the wanted peers run and answer, then publishes; ``down`` stops every
process whose pid file the lab holds (from any process); ``status`` asks each one.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lab.agents import stop_agents
from lab.errors import LabError, PeerStartError
from lab.files import ensure_dir, locked
from lab.kinds import LabContext, peer_kind, peer_kinds
from lab.layout import LabLayout
from lab.peer import RECORD_FILE, Answer, Peer, PeerRecord, PeerStatus, peer_status, wait_ready
from lab.publish import HostKeys, LabPublication, PublishesMonitoring, publish, read_publication
from lab.settings import lab_dir
from lab.ssh.host import WAIT_SECONDS, SshHost
from lab.ssh.login_user import LOGIN_USER

if TYPE_CHECKING:
    from opsctl.core.settings import Settings

Item = TypeVar("Item")
Result = TypeVar("Result")

STATUS_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class LabState:
    """What ``up`` did: every wanted peer's status, what it started, kept and stopped."""

    peers: tuple[PeerStatus, ...]
    publication: LabPublication
    started: tuple[str, ...]
    kept: tuple[str, ...]
    stopped: tuple[str, ...]
    elapsed_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "peers": [peer.to_dict() for peer in self.peers],
            "started": list(self.started),
            "kept": list(self.kept),
            "stopped": list(self.stopped),
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "published": self.publication.to_dict(),
        }


def _parallel(function: Callable[[Item], Result], items: Sequence[Item]) -> list[Result]:
    """``function`` over ``items`` in threads (the work is waiting on subprocesses), in order."""
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(64, len(items))) as pool:
        return list(pool.map(function, items))


def _load_peer(layout: LabLayout, peer_dir: Path) -> Peer:
    record_path = peer_dir / RECORD_FILE
    try:
        record = PeerRecord.from_mapping(json.loads(record_path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        raise LabError(f"cannot read {record_path}: {error}") from None
    return peer_kind(record.kind).load(layout, record, peer_dir)


def _recorded_peers(layout: LabLayout, directory: Path, *, with_pid_file: bool) -> list[Peer]:
    """The peers recorded under ``directory`` (those with a pid file: the ones meant to run)."""
    if not directory.is_dir():
        return []
    peers = [
        _load_peer(layout, record.parent) for record in sorted(directory.glob(f"*/{RECORD_FILE}"))
    ]
    return [peer for peer in peers if peer.pid_path.exists() or not with_pid_file]


def _sorted_by_kind(peers: Sequence[Peer]) -> list[Peer]:
    order = {kind.kind: index for index, kind in enumerate(peer_kinds())}
    return sorted(peers, key=lambda peer: (order.get(peer.kind, len(order)), peer.name))


def _started_status(peer: Peer, answer: Answer) -> PeerStatus:
    return peer_status(peer, answer, peer.running_pid())


def _stop_unwanted(layout: LabLayout, wanted_names: set[str]) -> list[str]:
    """Stop the lab's running peers that are no longer wanted; return those that ran."""
    recorded = _recorded_peers(layout, layout.peers_dir, with_pid_file=True)
    unwanted = [peer for peer in recorded if peer.name not in wanted_names]
    results = _parallel(lambda peer: peer.stop(), unwanted)
    return [peer.name for peer, was_running in zip(unwanted, results, strict=True) if was_running]


def _start_all(peers: Sequence[Peer], *, wait_seconds: float) -> list[Answer]:
    """Start ``peers`` and wait for each to answer; raise ``PeerStartError`` for any that do not.

    A peer that failed is stopped again, so a failed ``up`` leaves no half-started process.
    """
    for peer in peers:
        peer.stop()  # a silent process or a stale pid file: start from nothing
        peer.start()
    answers = _parallel(lambda peer: wait_ready(peer, wait_seconds=wait_seconds), peers)
    failed = [(peer, answer) for peer, answer in zip(peers, answers, strict=True) if not answer.ok]
    if failed:
        failures = [peer.failure(answer.detail) for peer, answer in failed]
        for peer, _ in failed:
            peer.stop()
        raise PeerStartError(failures)
    return answers


def _publish(layout: LabLayout, peers: Sequence[Peer]) -> LabPublication:
    hosts = [peer for peer in peers if isinstance(peer, SshHost)]
    monitoring = {key: value for peer in peers if isinstance(peer, PublishesMonitoring)
                  for key, value in peer.published_monitoring().items()}
    return publish(
        layout,
        [HostKeys(host.name, host.address, host.port, tuple(host.public_keys())) for host in hosts],
        user=hosts[0].user.name if hosts else LOGIN_USER, monitoring=monitoring,
    )


def up(
    settings: Settings, *, ssh_hosts: int | None = None, wait_seconds: float = WAIT_SECONDS
) -> LabState:
    """Make exactly the wanted peers run and answer, then publish; return what was done.

    Peers already running and answering are left alone; dead or silent ones are (re)started;
    lab peers no longer wanted are stopped. Raise ``PeerStartError`` naming every peer that
    did not answer within ``wait_seconds`` (with its log tail), ``LabError`` for setup failures.
    """
    began = time.monotonic()
    lab = LabContext.from_settings(settings, ssh_hosts=ssh_hosts)
    ensure_dir(lab.layout.root, 0o755)
    with locked(lab.layout.lock):
        kinds = peer_kinds()
        for kind in kinds:
            kind.prepare(lab)
        wanted = [peer for kind in kinds for peer in kind.desired_peers(lab)]
        stopped = _stop_unwanted(lab.layout, {peer.name for peer in wanted})
        _parallel(lambda peer: peer.prepare(), wanted)
        checks = _parallel(
            lambda peer: peer.status(check=True, timeout=STATUS_TIMEOUT_SECONDS), wanted
        )
        statuses = {status.name: status for status in checks if status.answering}
        to_start = [peer for peer in wanted if peer.name not in statuses]
        # a peer that reads the published configuration (the monitoring daemon) starts after it is written
        late = [peer for peer in to_start if getattr(peer, "starts_after_publish", False)]
        early = [peer for peer in to_start if peer not in late]
        answers = _start_all(early, wait_seconds=wait_seconds)
        publication = _publish(lab.layout, wanted)
        answers += _start_all(late, wait_seconds=wait_seconds)
    for peer, answer in zip(early + late, answers, strict=True):
        statuses[peer.name] = _started_status(peer, answer)
    if to_start or stopped:
        _audit(settings, "lab up", [peer.name for peer in to_start] + list(stopped),
               {"started": [peer.name for peer in to_start], "stopped": list(stopped)})
    return LabState(
        peers=tuple(statuses[peer.name] for peer in wanted),
        publication=publication,
        started=tuple(peer.name for peer in to_start),
        kept=tuple(peer.name for peer in wanted if peer not in to_start),
        stopped=tuple(stopped),
        elapsed_seconds=time.monotonic() - began,
    )


def down(settings: Settings) -> list[str]:
    """Stop every peer the lab started (and extra hosts started in its directory), and the
    agents ``opsctl agent install`` started on its hosts (named ``agent@HOST``).

    Only recorded pids whose command line is still the peer's are signalled; pid files are
    removed, keys and secrets kept. Return the names of the peers that were running.
    """
    layout = LabLayout(lab_dir(settings).absolute())
    if not layout.root.is_dir():
        return []
    with locked(layout.lock):
        peers = _recorded_peers(layout, layout.peers_dir, with_pid_file=True)
        peers += _recorded_peers(layout, layout.extras_dir, with_pid_file=True)
        agents = [f"agent@{host}" for host in stop_agents(layout)]
        results = _parallel(lambda peer: peer.stop(), peers)
    stopped = agents + [peer.name for peer, was_running in zip(peers, results, strict=True) if was_running]
    if stopped:
        _audit(settings, "lab down", stopped, {"stopped": stopped})
    return stopped


def _audit(settings: Settings, command: str, targets: list[str], details: dict[str, list[str]]) -> None:
    """Record a change the lab made (it starts and stops processes, and adds a user)."""
    from opsctl.core.audit import open_audit

    open_audit(settings).append(command, targets, "ok", details)


def status(settings: Settings, *, timeout: float = STATUS_TIMEOUT_SECONDS) -> list[PeerStatus]:
    """Every peer ``up`` started, each asked once for a real answer (in parallel).

    An empty list means the lab is not running. Extra hosts started by tests are not listed.
    """
    layout = LabLayout(lab_dir(settings).absolute())
    peers = _sorted_by_kind(_recorded_peers(layout, layout.peers_dir, with_pid_file=True))
    return _parallel(lambda peer: peer.status(check=True, timeout=timeout), peers)


def published(settings: Settings) -> LabPublication:
    """The files the last successful ``up`` published; raise ``LabNotPublished`` if none."""
    return read_publication(LabLayout(lab_dir(settings).absolute()))
