"""The one way opsctl runs a program, locally or on a host over the SSH transport.

Arguments are tuples built by pure functions; for a remote shell they are quoted with
``shlex.join``. Exit codes are classified by name in one place per program. Secrets never go
on a command line: locally they go in the child's environment, remotely over the channel's
stdin.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from opsctl.core.errors import CommandTimeout, OpsctlError

if TYPE_CHECKING:
    from opsctl.core.ssh import SshConnection

DEFAULT_EXIT_NAMES: Mapping[int, str] = {0: "ok"}


@dataclass(frozen=True)
class ExecResult:
    """A finished program: its arguments, exit status and its name, both streams, duration."""

    argv: tuple[str, ...]
    exit_status: int | None
    status_name: str
    stdout: bytes
    stderr: bytes
    duration_seconds: float
    host: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_name == "ok"

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


class ProgramFailed(OpsctlError, RuntimeError):
    """A program exited with a status not classified as acceptable."""

    def __init__(self, result: ExecResult) -> None:
        where = f" on {result.host}" if result.host else ""
        tail = result.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
        super().__init__(f"{result.argv[0]}{where} exited {result.exit_status} "
                         f"({result.status_name}): {tail[0]}".rstrip(": "))
        self.result = result


def classify(exit_status: int | None, names: Mapping[int, str]) -> str:
    """The name of ``exit_status`` in ``names``; ``failed`` otherwise, ``killed`` for None/negative."""
    if exit_status is None or exit_status < 0:
        return "killed"
    return names.get(exit_status, "failed")


def execute(
    argv: Sequence[str],
    *,
    host: SshConnection | None = None,
    timeout: float = 600.0,
    exit_names: Mapping[int, str] = DEFAULT_EXIT_NAMES,
    secret_env: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    cwd: str | None = None,
    check: bool = False,
    cancel: threading.Event | None = None,
) -> ExecResult:
    """Run ``argv`` locally, or on ``host``; return the classified result.

    A local child gets ``env`` (default: this process's environment) plus ``secret_env``;
    remotely, pass secrets in ``stdin``.
    Raise :class:`CommandTimeout` after stopping a program that ran past ``timeout``, and
    :class:`ProgramFailed` when ``check`` is set and the status is not ``ok``.
    """
    argv = tuple(argv)
    if host is not None:
        if secret_env or env:
            raise ValueError("env and secret_env are local only; send a remote secret over stdin")
        remote = host.run(shlex.join(argv), timeout=timeout, stdin=stdin, cancel=cancel)
        if remote.timed_out:
            raise CommandTimeout(f"{argv[0]} on {host.target.name} ran past {timeout:g} s and was stopped")
        result = ExecResult(argv, remote.exit_status, classify(remote.exit_status, exit_names),
                            remote.stdout, remote.stderr, remote.duration_seconds, host.target.name)
    else:
        base = os.environ if env is None else env
        child_env = {**base, **secret_env} if secret_env else dict(base) if env is not None else None
        result = _execute_local(argv, timeout=timeout, exit_names=exit_names, env=child_env,
                                stdin=stdin, cwd=cwd)
    if check and not result.ok:
        raise ProgramFailed(result)
    return result


def _execute_local(argv: tuple[str, ...], *, timeout: float, exit_names: Mapping[int, str],
                   env: Mapping[str, str] | None, stdin: bytes | None, cwd: str | None) -> ExecResult:
    started = time.monotonic()
    try:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd,
                                   start_new_session=True)
    except FileNotFoundError:
        raise OpsctlError(f"{argv[0]}: program not found", hint="is its Debian package installed?") from None
    try:
        stdout, stderr = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop_group(process)
        raise CommandTimeout(f"{argv[0]} ran past {timeout:g} s and was stopped") from None
    except BaseException:
        _stop_group(process)
        raise
    status = process.returncode
    return ExecResult(argv, status, classify(status, exit_names), stdout, stderr, time.monotonic() - started)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """TERM the child's process group, then KILL it if it lingers."""
    for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    process.communicate()
