"""From a configured repository to the :class:`~backup.targets.Repository` restic is given.

The settings section (:mod:`backup.settings`) imports no backup code, so the target checks
its type and options here, when a repository is first used; a bad one is a
:class:`~opsctl.core.errors.ConfigError` (exit 2) naming ``backup.repositories.NAME.KEY``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from backup.settings import backup_settings
from backup.targets import BACKUP_TARGETS, Repository
from opsctl.core.errors import ConfigError

if TYPE_CHECKING:
    from opsctl.core.secrets import SecretRef
    from opsctl.core.settings import Settings


def repository_for(settings: Settings, name: str) -> Repository:
    """The repository ``name`` describes, its password as a reference in ``RESTIC_PASSWORD``.

    Raise ConfigError for an unknown name, an unknown target type or a bad target option.
    """
    configured = backup_settings(settings).repositories.get(name)
    where = f"backup.repositories.{name}"
    if configured is None:
        raise ConfigError(f"no backup repository named {name!r}", key_path=where)
    if configured.type not in BACKUP_TARGETS:
        known = ", ".join(BACKUP_TARGETS.names()) or "none"
        raise ConfigError(f"unknown repository type {configured.type!r} (known: {known})", key_path=f"{where}.type")
    try:
        base = BACKUP_TARGETS.get(configured.type).repository(configured.options)
    except ConfigError as error:
        # a target's message starts with the option it is about ("path: ..."), named here as a key path
        option, sep, rest = error.message.partition(": ")
        if sep and option.isidentifier():
            raise ConfigError(rest, key_path=f"{where}.{option}") from None
        raise ConfigError(error.message, key_path=where) from None
    environment: dict[str, SecretRef | str] = {**base.environment, "RESTIC_PASSWORD": configured.password}
    return Repository(base.location, environment)


__all__ = ["repository_for"]
