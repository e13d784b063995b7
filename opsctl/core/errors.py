"""Errors and exit codes: one root error, subclasses that also inherit the matching built-in.

Nothing below the CLI calls ``sys.exit``; the CLI maps an exception to an exit code with
:func:`exit_code_for` and prints its one-line message and hint.
"""

from __future__ import annotations

import enum
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime


class ExitCode(enum.IntEnum):
    """Exit codes as DESIGN.md defines them (128 + the signal's number for a stopped command)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    PARTIAL = 3
    UNREACHABLE = 4
    REFUSED = 5
    HANGUP = 129  # SIGHUP: a closed terminal
    INTERRUPTED = 130  # SIGINT: Ctrl-C
    TERMINATED = 143  # SIGTERM: systemctl stop, timeout

    @classmethod
    def for_signal(cls, signum: int) -> ExitCode:
        """The exit code of a command stopped by ``signum`` (SIGHUP, SIGINT or SIGTERM)."""
        return {
            signal.SIGHUP: cls.HANGUP,
            signal.SIGINT: cls.INTERRUPTED,
            signal.SIGTERM: cls.TERMINATED,
        }[signal.Signals(signum)]


class OpsctlError(Exception):
    """Root of every error opsctl raises on purpose; ``hint`` says what to do next."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(OpsctlError, ValueError):
    """Wrong arguments or options: nothing was done."""

    exit_code = ExitCode.USAGE


class ConfigError(OpsctlError, ValueError):
    """An invalid configuration or inventory file: nothing was done."""

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key_path: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = path if line is None else f"{path}:{line}"
        if key_path:
            where = f"{where}: {key_path}" if where else key_path
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.path = path
        self.line = line
        self.key_path = key_path


class SecretError(OpsctlError, LookupError):
    """A secret reference that is malformed or cannot be resolved (never shows the value)."""

    exit_code = ExitCode.USAGE


class HostNotFound(OpsctlError, KeyError):
    """A host name or pattern that matches nothing in the inventory."""

    exit_code = ExitCode.USAGE

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message


class HostKeyError(OpsctlError):
    """A host key that is unknown, changed or not the expected one: the host is refused."""

    def __init__(self, message: str, *, host: str, fingerprint: str | None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.host = host
        self.fingerprint = fingerprint


class HostKeyUnknown(HostKeyError):
    """The host offered a key opsctl has never enrolled."""


class HostKeyChanged(HostKeyError):
    """The host offered a key different from the enrolled one."""


class HostUnreachable(OpsctlError, ConnectionError):
    """A host that did not answer: refused, timed out, no route, or no SSH banner."""

    exit_code = ExitCode.UNREACHABLE


class AuthenticationFailed(OpsctlError, PermissionError):
    """The host answered but refused every key we offered (or sudo refused the password)."""


class StateError(OpsctlError, RuntimeError):
    """The state store cannot be opened, migrated or written."""


class StateStoreMissing(StateError):
    """The configured state store does not exist (and is not opsctl's to create silently): exit 2.

    A typo in ``state.url`` must not create a second store beside the real one.
    """

    exit_code = ExitCode.USAGE


class AuditError(OpsctlError, RuntimeError):
    """The audit log cannot be written, or it failed verification."""


class SafetyRefusal(OpsctlError, RuntimeError):
    """Refused by a safety check before anything was done (lock held, outside a window)."""

    exit_code = ExitCode.REFUSED


class LockHeld(SafetyRefusal):
    """A named lock (``StateStore.lock``) is held by another process, or by this one already.

    The message names the lock and its holder (host, pid, since when, for what); the holder's
    fields are kept for callers that render them. Nothing was done.
    """

    def __init__(
        self,
        message: str,
        *,
        lock: str,
        holder_host: str | None = None,
        holder_pid: int | None = None,
        since: datetime | None = None,
        purpose: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.lock = lock
        self.holder_host = holder_host
        self.holder_pid = holder_pid
        self.since = since
        self.purpose = purpose


class Interrupted(OpsctlError, RuntimeError):
    """The operator pressed Ctrl-C and the command has stopped cleanly; the message says what was kept.

    Not a KeyboardInterrupt: typer turns those into a silent exit 130, and this one has something to say.
    """

    exit_code = ExitCode.INTERRUPTED


def exit_code_for(error: BaseException) -> ExitCode:
    """Return the exit code for an exception: its own for ours, 130 for Ctrl-C, else 1."""
    if isinstance(error, OpsctlError):
        return error.exit_code
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.FAILED
