"""The ``local`` backup target: a restic repository in a directory of the controller.

Options: ``path`` (absolute; the repository's directory, created by ``restic init``) and
``min_free_bytes`` (default 1 GiB: less free space on its file system is reported by
``check``). Registered in :data:`backup.targets.BACKUP_TARGETS` as ``local``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from backup.targets import Repository
from opsctl.core.errors import ConfigError

DEFAULT_MIN_FREE_BYTES = 1024**3
_OPTIONS = frozenset({"path", "min_free_bytes"})


class LocalTarget:
    """A repository in a local directory (see the module's docstring)."""

    name = "local"

    def repository(self, options: Mapping[str, str]) -> Repository:
        """The repository at ``options["path"]``; raise ConfigError for a missing or bad option."""
        unknown = sorted(set(options) - _OPTIONS)
        if unknown:
            raise ConfigError(f"{unknown[0]}: not an option of a local repository (path, min_free_bytes)")
        path = options.get("path")
        if not path:
            raise ConfigError("path: a local repository needs path: (an absolute directory)")
        if not os.path.isabs(path):
            raise ConfigError(f"path: a local repository's path is absolute, not {path!r}")
        _min_free(options)
        return Repository(location=os.path.normpath(path))

    def check(self, repository: Repository) -> tuple[str, ...]:
        """What is wrong with the directory: missing (and its parent too), not writable, short of space."""
        return check_directory(Path(repository.location), DEFAULT_MIN_FREE_BYTES)


def _min_free(options: Mapping[str, str]) -> int:
    text = options.get("min_free_bytes", str(DEFAULT_MIN_FREE_BYTES))
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"min_free_bytes: expected a number of bytes, not {text!r}") from None
    if value < 0:
        raise ConfigError("min_free_bytes: expected zero or more bytes")
    return value


def check_directory(path: Path, min_free_bytes: int) -> tuple[str, ...]:
    """Problems of the repository directory ``path``, one sentence each (empty when usable).

    A directory that does not exist yet is usable when its parent is (``restic init`` creates it).
    """
    existing = path if path.exists() else path.parent
    if not existing.exists():
        return (f"{path}: neither the directory nor its parent {path.parent} exists",)
    if not existing.is_dir():
        return (f"{existing}: not a directory",)
    problems: list[str] = []
    if not os.access(existing, os.W_OK | os.X_OK):
        problems.append(f"{existing}: not writable by this user")
    free = shutil.disk_usage(existing).free
    if free < min_free_bytes:
        problems.append(f"{existing}: {free} bytes free, less than the {min_free_bytes} wanted")
    return tuple(problems)


LOCAL_TARGET = LocalTarget()

__all__ = ["LOCAL_TARGET", "LocalTarget", "check_directory"]
