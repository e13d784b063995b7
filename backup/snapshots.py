"""``opsctl backup snapshots`` and ``ls``: a policy's snapshots in one of its repositories, newest
first, and the files one of them holds.

restic lists them (the policy's tags: ``opsctl``, ``policy=NAME``); the state store says which
its runs and copies recorded good, which are the ones restore and drills pick by default. A
snapshot restic holds and no run recorded good (a run that failed after it, a store rebuilt
since) says so; a state store that cannot be read leaves that column unknown, with the reason,
and the list is still shown (restic's is what a rebuilt controller has). ``ls`` lists a paths
snapshot's files (the newest good one unless named), so a restore can name what it wants with
``--include``; a path the snapshot does not hold is an error, never an empty listing. Read-only:
nothing is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from backup import queries
from backup.maintenance import Where, chosen_repository, restic_for
from backup.offsite import opened_store, snapshot_source
from backup.restore import newest_good
from opsctl.core.errors import ConfigError, OpsctlError, StateError

if TYPE_CHECKING:
    from backup.restic import Node, Snapshot
    from opsctl.core.settings import Settings
    from opsctl.core.state import StateStore


@dataclass(frozen=True)
class SnapshotEntry:
    """One snapshot of the policy: when, what (its run's step), which run, and whether it is recorded good."""

    snapshot_id: str
    short_id: str
    taken_at: datetime
    source: str  # paths, postgres:DB, orthanc, manifest
    kind: str | None  # full or incremental, from the run's tag
    run_id: str | None
    hostname: str
    paths: tuple[str, ...]
    recorded_good: bool | None  # None: the state store could not be read

    def to_dict(self) -> dict[str, Any]:
        return {"snapshot_id": self.snapshot_id, "short_id": self.short_id, "taken_at": self.taken_at.isoformat(),
                "source": self.source, "kind": self.kind, "run_id": self.run_id, "hostname": self.hostname,
                "paths": list(self.paths), "recorded_good": self.recorded_good}


@dataclass(frozen=True)
class SnapshotList:
    """The policy's snapshots in ``repository`` (``where``: local or offsite), newest first."""

    policy: str
    repository: str
    where: str
    snapshots: tuple[SnapshotEntry, ...]
    state_error: str | None = None  # why recorded_good is unknown

    @property
    def exit_code(self) -> int:
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "repository": self.repository, "where": self.where,
                "snapshots": [entry.to_dict() for entry in self.snapshots], "state_error": self.state_error}


def is_recorded(snapshot_id: str, recorded: Sequence[str]) -> bool:
    """Whether ``snapshot_id`` (restic's full id) is among ``recorded`` ids, which may be short forms (pure)."""
    return any(snapshot_id.startswith(known) or known.startswith(snapshot_id) for known in recorded if known)


def entries(listed: Sequence[Snapshot], recorded: Sequence[str] | None) -> tuple[SnapshotEntry, ...]:
    """restic's ``listed`` snapshots as entries, newest first; ``recorded`` None when unknown (pure)."""
    return tuple(
        SnapshotEntry(snapshot_id=snapshot.id, short_id=snapshot.short_id, taken_at=snapshot.time,
                      source=snapshot_source(snapshot), kind=snapshot.tag_value("kind"),
                      run_id=snapshot.tag_value("run"), hostname=snapshot.hostname, paths=snapshot.paths,
                      recorded_good=None if recorded is None else is_recorded(snapshot.id, recorded))
        for snapshot in sorted(listed, key=lambda snapshot: snapshot.time, reverse=True)
    )


def list_snapshots(settings: Settings, policy_name: str, *, store: StateStore | None = None,
                   where: Where = "local") -> SnapshotList:
    """The policy's snapshots in its ``where`` repository, each marked recorded good or not.

    Raise ConfigError for an unknown policy (or ``offsite`` of a policy without one), SecretError
    for a password that cannot be read, a ResticError subclass when restic cannot list them.
    """
    _chosen, repository_name = chosen_repository(settings, policy_name, where)
    restic = restic_for(settings, repository_name)
    listed = restic.snapshots(tags=("opsctl", f"policy={policy_name}"))
    recorded: list[str] | None
    state_error = None
    try:
        with opened_store(settings, store) as opened:
            recorded = [row.snapshot_id for row in queries.good_snapshots(opened, policy_name, repository_name)]
    except StateError as error:
        recorded, state_error = None, error.message
    return SnapshotList(policy_name, repository_name, where, entries(listed, recorded), state_error)


class NotInSnapshot(OpsctlError, FileNotFoundError):
    """A path asked of ``backup ls`` that the snapshot does not hold (exit 1)."""


@dataclass(frozen=True)
class FileList:
    """What ``snapshot_id`` of the policy holds at ``paths`` (the snapshot's own paths when none were asked)."""

    policy: str
    repository: str
    snapshot_id: str
    paths: tuple[str, ...]
    recursive: bool
    nodes: tuple[Node, ...]

    @property
    def exit_code(self) -> int:
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "repository": self.repository, "snapshot_id": self.snapshot_id,
                "paths": list(self.paths), "recursive": self.recursive,
                "nodes": [node.to_dict() for node in self.nodes]}


def holds(nodes: Sequence[Node], path: str) -> bool:
    """Whether ``nodes`` include ``path`` itself or something below it (pure)."""
    inside = path.rstrip("/") + "/"
    return any(node.path == path.rstrip("/") or node.path.startswith(inside) for node in nodes)


def list_files(settings: Settings, policy_name: str, paths: Sequence[str] = (), *, snapshot: str | None = None,
               recursive: bool = False, store: StateStore | None = None, where: Where = "local") -> FileList:
    """The files ``snapshot`` (default: the newest good paths snapshot) holds at ``paths``.

    Without ``paths``: each of the policy's paths and what it holds directly; with ``recursive``,
    everything below them (without ``paths``, the whole snapshot). Raise ConfigError for a relative
    path, NotInSnapshot for a path the snapshot does not hold (or, without ``paths``, when it holds
    none of the policy's), RestoreFailed when the policy has no paths snapshot, a ResticError when
    restic fails.
    """
    for path in paths:
        if not path.startswith("/"):
            raise ConfigError(f"path {path!r}: give it as the snapshot holds it, absolute (from /)")
    chosen, repository_name = chosen_repository(settings, policy_name, where)
    restic = restic_for(settings, repository_name)
    chosen_id = snapshot or newest_good(settings, store, restic, policy_name, repository_name, "paths")
    asked = tuple(paths) or (() if recursive else tuple(str(path) for path in chosen.paths))
    full_id, nodes = restic.ls(chosen_id, asked, recursive=recursive)
    for path in paths:
        if not holds(nodes, path):
            raise NotInSnapshot(f"snapshot {chosen_id[:8]} of {policy_name} holds no {path}",
                                hint=f"opsctl backup ls {policy_name} (without a path) lists the policy's paths")
    if asked and not paths and not nodes:
        raise NotInSnapshot(f"snapshot {chosen_id[:8]} of {policy_name} holds none of the policy's paths "
                            f"({', '.join(asked)}): it was taken with others",
                            hint="--recursive without a path lists all it holds")
    return FileList(policy_name, repository_name, full_id or chosen_id, asked, recursive, nodes)
