"""Backup targets: each is one kind of place restic repositories live (a local directory, SFTP, S3).

The kind is declared here before any target exists, so that the backup issue's targets, and
third parties through an entry point in the ``opsctl.backup_targets`` group, only register
in :data:`BACKUP_TARGETS` (a registry of :mod:`opsctl.core.plugins`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from opsctl.core.plugins import PluginRegistry
from opsctl.core.secrets import SecretRef


@dataclass(frozen=True)
class Repository:
    """A restic repository as restic is given it.

    ``location`` is the ``-r`` argument and never holds a secret; ``environment`` is what
    restic needs in its environment (``AWS_ACCESS_KEY_ID``, ``RESTIC_PASSWORD``, ...), secrets
    as references resolved only when restic runs.
    """

    location: str
    environment: Mapping[str, SecretRef | str] = field(default_factory=dict)


@runtime_checkable
class BackupTarget(Protocol):
    """One kind of place restic repositories live.

    Contract: ``repository`` is pure (no network, no secret resolved): from a policy's target
    options it returns the repository, or raises :class:`~opsctl.core.errors.ConfigError`
    naming a missing or invalid option. ``check`` looks at the place itself (reachable, and
    for S3 the bucket's versioning and object lock where the store offers them) and returns
    what is wrong, one sentence each, empty when the place is usable; an unreachable place is
    such a sentence, never an exception. Neither ever shows a secret.
    """

    @property
    def name(self) -> str:
        """The target type, as a backup policy names it (``local``, ``sftp``, ``s3``)."""
        ...

    def repository(self, options: Mapping[str, str]) -> Repository:
        """Return the repository that ``options`` describe; raise ``ConfigError`` for a bad option."""
        ...

    def check(self, repository: Repository) -> tuple[str, ...]:
        """Return what is wrong with the place ``repository`` lives in (empty when usable)."""
        ...


BACKUP_TARGETS: PluginRegistry[BackupTarget] = PluginRegistry(
    "backup target", "opsctl.backup_targets", BackupTarget, name_of=lambda target: target.name
)
BACKUP_TARGETS.register_reference("s3", "backup.s3:S3_TARGET")
BACKUP_TARGETS.register_reference("local", "backup.local:LOCAL_TARGET")

__all__ = ["BACKUP_TARGETS", "BackupTarget", "Repository"]
