"""Secret references (``env:NAME``, ``file:/path``, ``keyring:service/name``), resolved at use.

A reference is what configuration and inventory hold; the secret itself exists only in the
return value of :meth:`SecretRef.resolve` and is never part of a repr, a message or a log.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsctl.core.errors import SecretError

SCHEMES = ("env", "file", "keyring")


@dataclass(frozen=True)
class SecretRef:
    """A reference to a secret; ``str()`` and ``repr()`` show the reference, never the value."""

    scheme: str
    location: str

    @classmethod
    def parse(cls, text: str) -> SecretRef:
        """Parse ``scheme:location``; raise :class:`SecretError` for anything else.

        The error never repeats ``text``: a literal secret pasted by mistake must not be echoed.
        """
        scheme, sep, location = text.partition(":")
        if not sep or scheme not in SCHEMES or not location:
            raise SecretError(
                "expected a secret reference (env:NAME, file:/path or keyring:service/name), "
                "not a literal value",
                hint="keep the secret itself in the environment, a 0600 file or the keyring",
            )
        if scheme == "keyring" and "/" not in location:
            raise SecretError("a keyring reference is keyring:service/name")
        if scheme == "file" and not location.startswith("/"):
            raise SecretError(f"a file reference needs an absolute path: file:{location}")
        return cls(scheme, location)

    def __str__(self) -> str:
        return f"{self.scheme}:{self.location}"

    def check(self) -> None:
        """Raise :class:`SecretError` as :meth:`resolve` would if the secret cannot be read now.

        For a pre-flight before anything runs: ``env:`` and ``file:`` are checked without
        reading the secret (the variable is set; the file opens for reading); a keyring entry
        can only be checked by reading it, and the value is dropped at once.
        """
        if self.scheme == "env":
            if self.location not in os.environ:
                raise SecretError(f"secret {self}: environment variable {self.location} is not set")
        elif self.scheme == "file":
            path = Path(self.location)
            try:
                with path.open("rb"):
                    pass
            except OSError as error:
                raise SecretError(f"secret {self}: cannot read {path}: {error.strerror}") from None
        else:
            self.resolve()

    def resolve(self) -> str:
        """Return the secret; raise :class:`SecretError` naming the reference if it is missing."""
        if self.scheme == "env":
            value = os.environ.get(self.location)
            if value is None:
                raise SecretError(f"secret {self}: environment variable {self.location} is not set")
            return value
        if self.scheme == "file":
            path = Path(self.location)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as error:
                raise SecretError(f"secret {self}: cannot read {path}: {error.strerror}") from None
            # one trailing newline is the file's, not the secret's
            return text[:-1] if text.endswith("\n") else text
        service, _, name = self.location.partition("/")
        try:
            import keyring

            value = keyring.get_password(service, name)
        except Exception as error:  # keyring backends raise their own types
            raise SecretError(f"secret {self}: keyring unavailable: {type(error).__name__}") from None
        if value is None:
            raise SecretError(f"secret {self}: no such entry in the keyring")
        return str(value)


def secret_ref_validator(value: Any) -> SecretRef:
    """Pydantic before-validator: accept a ``SecretRef`` or its text form."""
    if isinstance(value, SecretRef):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a secret reference string (env:, file: or keyring:)")
    try:
        return SecretRef.parse(value)
    except SecretError as error:
        raise ValueError(error.message) from None


def secret_problems(references: Iterable[tuple[str, SecretRef | None]]) -> list[str]:
    """For each ``(owner, reference)`` whose secret cannot be read now, ``"owner: why"``; ``None`` is skipped.

    The messages name references, never a secret (see :meth:`SecretRef.check`).
    """
    problems = []
    for owner, reference in references:
        if reference is None:
            continue
        try:
            reference.check()
        except SecretError as error:
            problems.append(f"{owner}: {error.message}")
    return problems


def unreadable_file_problem(path: Path) -> str | None:
    """Why the file at ``path`` (a private key, say) cannot be opened for reading now, or ``None`` if it can."""
    try:
        with path.open("rb"):
            return None
    except OSError as error:
        return f"cannot read {path}: {error.strerror}"
