"""Read a configuration or inventory file only when it is a regular file of bounded size.

A FIFO would block a cron job forever, a process substitution (``--config <(...)``) is a pipe
that can be read once only, and a multi-megabyte or alias-bomb document takes minutes and
gigabytes: each is refused with a :class:`ConfigError` naming the file and the limit.

The limits are the ``files`` settings (:class:`FileLimits`). The configuration files are read
before any settings exist, so they are always read with :data:`DEFAULT_LIMITS`;
:func:`~opsctl.core.config.load_settings` then makes the configured limits the ones every later
read (the inventory, its ``group_vars/`` and ``host_vars/``) uses, through :func:`set_limits`.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from opsctl.core.errors import ConfigError

MIB = 1024 * 1024


@dataclass(frozen=True)
class FileLimits:
    """How much one configuration or inventory file may hold.

    ``max_bytes`` bounds the bytes read from one file; ``max_yaml_alias_nodes`` bounds the nodes
    that YAML aliases add once expanded (each ``*alias`` counts every node under its anchor).
    """

    max_bytes: int = 16 * MIB
    max_yaml_alias_nodes: int = 100_000


DEFAULT_LIMITS = FileLimits()

_current_limits = DEFAULT_LIMITS


def set_limits(limits: FileLimits) -> None:
    """Make ``limits`` the ones :func:`current_limits` returns (the configured ``files`` settings)."""
    global _current_limits
    _current_limits = limits


def current_limits() -> FileLimits:
    """Return the limits in force: the configured ones once settings are loaded, else the defaults."""
    return _current_limits


def _refusal(path: Path, mode: int) -> ConfigError:
    """The error for a path that is not a regular file, saying what it is instead."""
    if stat.S_ISDIR(mode):
        return ConfigError("a directory, not a file", path=str(path))
    if stat.S_ISFIFO(mode) and str(path).startswith(("/dev/fd/", "/proc/self/fd/")):
        return ConfigError(
            "a pipe (a process substitution such as --config <(...)), not a regular file: "
            "refused deliberately, as a pipe can be read only once",
            path=str(path),
            hint="write the content to a file and pass that file",
        )
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
    return ConfigError(
        f"{kind}, not a regular file: refused (reading it could block forever)",
        path=str(path),
        hint="pass a regular file",
    )


def read_bytes(path: Path, *, limits: FileLimits | None = None) -> bytes:
    """Return the bytes of the regular file ``path``, at most ``limits.max_bytes`` of them.

    The file is opened without blocking and checked with ``fstat`` on the open descriptor (no race
    between the check and the read). Raise :class:`ConfigError` naming the file for a missing or
    unreadable file, anything but a regular file, or a file larger than the limit.
    """
    limits = current_limits() if limits is None else limits
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError("no such file", path=str(path)) from None
    except IsADirectoryError:
        raise ConfigError("a directory, not a file", path=str(path)) from None
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", path=str(path)) from None
    status = os.fstat(descriptor)
    if not stat.S_ISREG(status.st_mode):
        os.close(descriptor)
        raise _refusal(path, status.st_mode)
    with os.fdopen(descriptor, "rb") as handle:
        too_large = ConfigError(
            f"larger than the limit of {limits.max_bytes} bytes (files.max_bytes)",
            path=str(path),
            hint="split it, or raise files.max_bytes in the configuration",
        )
        if status.st_size > limits.max_bytes:
            raise too_large
        try:
            # read one byte more than allowed: a file that grew since fstat is refused too
            content = handle.read(limits.max_bytes + 1)
        except OSError as error:
            raise ConfigError(f"cannot read: {error.strerror}", path=str(path)) from None
    if len(content) > limits.max_bytes:
        raise too_large
    return content


def read_text(path: Path, *, limits: FileLimits | None = None) -> str:
    """Return the UTF-8 text of the regular file ``path``; see :func:`read_bytes`.

    Raise :class:`ConfigError` naming the file, and the line of the first invalid byte, for
    text that is not UTF-8.
    """
    content = read_bytes(path, limits=limits)
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        raise ConfigError(
            f"not UTF-8 text (byte {content[error.start]:#04x})", path=str(path), line=line
        ) from None


def check_regular_file(path: Path) -> None:
    """Raise :class:`ConfigError` naming ``path`` unless it is a regular file or a directory
    (checked without blocking, as :func:`read_bytes` does)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError("no such file", path=str(path)) from None
    except IsADirectoryError:
        return
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", path=str(path)) from None
    try:
        mode = os.fstat(descriptor).st_mode
    finally:
        os.close(descriptor)
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise _refusal(path, mode)


def read_head(path: Path, size: int) -> str | None:
    """Return up to ``size`` characters from the start of the regular file ``path``, or ``None``
    when it is not a readable regular UTF-8 file (for a format's cheap first look)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        return None
    with os.fdopen(descriptor, "rb") as handle:
        try:
            return handle.read(size).decode("utf-8", errors="ignore")
        except OSError:
            return None
