"""Small file helpers: atomic writes, secret files, directory modes and a lock."""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def ensure_dir(path: Path, mode: int = 0o755) -> Path:
    """Create ``path`` (and parents) if missing and set its mode; return it."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)
    return path


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace ``path`` with ``text`` in one rename, so readers never see half a file."""
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def ensure_secret(path: Path, *, nbytes: int = 24, hex_only: bool = False) -> Path:
    """Create ``path`` (mode 0600) holding a new random secret unless it exists; return it.

    An existing secret is kept (only its mode is tightened), so keys made with it stay usable.
    ``hex_only`` makes one plain word, for config parsers that split on other characters.
    """
    ensure_dir(path.parent, 0o700)
    if not path.exists():
        value = secrets.token_hex(nbytes) if hex_only else secrets.token_urlsafe(nbytes)
        write_atomic(path, value, mode=0o600)
    os.chmod(path, 0o600)
    return path


def copy_secret(source: Path, target: Path) -> None:
    """Copy the secret in ``source`` to ``target`` (0600) unless ``target`` already matches."""
    value = source.read_text(encoding="utf-8")
    if target.exists() and target.read_text(encoding="utf-8") == value:
        os.chmod(target, 0o600)
        return
    ensure_dir(target.parent, 0o700)
    write_atomic(target, value, mode=0o600)


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the ``with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
