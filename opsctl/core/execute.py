"""The one way opsctl runs a program, locally or on a host over the SSH transport.

What runs is explicit: a :class:`Program` (an argv tuple built by a pure function, quoted with
``shlex.join`` for a remote shell), a :class:`Shell` line (a person's own words, as ``opsctl
run`` takes them) or a :class:`Pipeline` of programs (``pg_dump | restic backup --stdin``).
A bare argv tuple is a :class:`Program`.

- Output is collected and, with ``on_line``, also handed over line by line as it arrives;
  ``keep_output`` bounds what is kept (the last bytes of each stream).
- Every program's exit status is classified by name from its :class:`ExitTable` (the tables
  of the programs opsctl calls live here, in one place); a pipeline's result names the
  member that failed.
- A timeout or a cancel stops the program (its process group, locally or on the host) and
  is a result (``timed_out``, ``cancelled``), never an exception; ``check=True`` raises
  :class:`ProgramFailed` for any result that is not ok, a timeout included.
- ``become=True`` runs through sudo (:mod:`opsctl.core.become`); the password goes over stdin.
- Secrets never go on a command line: locally they go in the child's environment; on a host
  (and under sudo, which resets the environment) they go over stdin, one line each, read by
  the shell into exported variables before the program starts.

Pipelines run locally as processes joined by real OS pipes, each status taken from the
kernel. On a host, and locally under sudo, a pipeline runs as one bash line whose
``PIPESTATUS`` is written on stderr after a token made for this run, and checked against the
channel's own exit status (see :func:`pipeline_script`).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import selectors
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Literal

from opsctl.core import prefetch
from opsctl.core.become import PROMPT, READY, REFUSED, Handshake, sudo_argv
from opsctl.core.errors import AuthenticationFailed, OpsctlError

if TYPE_CHECKING:
    from opsctl.core.secrets import SecretRef
    from opsctl.core.ssh import SshConnection

Stream = Literal["stdout", "stderr"]
LineCallback = Callable[[Stream, str], None]
"""Receives each line as it arrives: the stream it came on and the line without its newline."""

MAX_LINE_BYTES = 65536  # a longer line reaches ``on_line`` in pieces of this size
_STOP_WAIT_SECONDS = 3.0
_SIGPIPE_STATUSES = (-signal.SIGPIPE, 128 + signal.SIGPIPE)


# -- exit codes --------------------------------------------------------------------------------

OK = "ok"
FAILED = "failed"
KILLED = "killed"
TIMED_OUT = "timed_out"
CANCELLED = "cancelled"
UNREPORTED = "unreported"


@dataclass(frozen=True)
class ExitTable:
    """What a program's exit statuses mean: status → name, and which names are a success.

    A status the table does not name is ``failed`` (restic's rule: an unknown code MUST be
    treated as a failure); a program killed by a signal is ``killed``.
    """

    program: str
    names: Mapping[int, str]
    ok_names: frozenset[str] = frozenset({OK})

    def classify(self, exit_status: int | None, *, shell_reported: bool = False) -> str:
        """The name of ``exit_status``: from the table, ``killed`` for a signal, else ``failed``.

        ``shell_reported``: the status came from a shell (``$?``, ``PIPESTATUS``), which reports
        death by signal N as 128+N; such a status the table does not name is ``killed``.
        """
        if exit_status is None or exit_status < 0:
            return KILLED
        if exit_status in self.names:
            return self.names[exit_status]
        if shell_reported and 128 < exit_status <= 128 + 64:
            return KILLED
        return FAILED

    def is_ok(self, status_name: str) -> bool:
        return status_name in self.ok_names


DEFAULT_EXIT_CODES = ExitTable("default", {0: OK})

#: restic's documented codes ("075_scripting": Exit codes); 10 and 11 since 0.17.0, 12 since 0.17.1
_RESTIC_CODES: tuple[tuple[int, str, tuple[int, int, int]], ...] = (
    (0, OK, (0, 0, 0)),
    (1, FAILED, (0, 0, 0)),
    (2, "runtime_error", (0, 0, 0)),
    (3, "partial", (0, 0, 0)),  # backup: a snapshot was made, but some source data could not be read
    (10, "no_repository", (0, 17, 0)),
    (11, "lock_failed", (0, 17, 0)),
    (12, "wrong_password", (0, 17, 1)),
    (130, "interrupted", (0, 0, 0)),  # SIGINT or SIGSTOP
)


def restic_exit_codes(version: tuple[int, int, int] | None = None) -> ExitTable:
    """restic's table as ``version`` documents it (the newest when None): before 0.17 a missing
    repository, a failed lock and a wrong password all exit 1, and 10 to 12 mean nothing."""
    names = {code: name for code, name, since in _RESTIC_CODES if version is None or version >= since}
    return ExitTable("restic", names)


RESTIC_EXIT_CODES = restic_exit_codes()
#: pg_dump, pg_dumpall and pg_restore exit 1 on any error (pg_restore also after ignored errors)
PG_DUMP_EXIT_CODES = ExitTable("pg_dump", {0: OK, 1: FAILED})
PG_RESTORE_EXIT_CODES = ExitTable("pg_restore", {0: OK, 1: FAILED})
#: psql: 1 fatal error, 2 connection lost or refused, 3 a script error with ON_ERROR_STOP
PSQL_EXIT_CODES = ExitTable("psql", {0: OK, 1: FAILED, 2: "connection_failed", 3: "script_failed"})
#: grep and the programs that follow it (diff, cmp): 1 is an answer, not an error
GREP_EXIT_CODES = ExitTable("grep", {0: OK, 1: "no_match", 2: FAILED}, frozenset({OK, "no_match"}))
#: ``systemctl is-active``: LSB's status codes; "inactive" and "unknown" are answers too
SYSTEMCTL_IS_ACTIVE_EXIT_CODES = ExitTable(
    "systemctl is-active", {0: "active", 3: "inactive", 4: "unknown"}, frozenset({"active", "inactive", "unknown"}))

EXIT_TABLES: Mapping[str, ExitTable] = {
    table.program: table
    for table in (DEFAULT_EXIT_CODES, RESTIC_EXIT_CODES, PG_DUMP_EXIT_CODES, PG_RESTORE_EXIT_CODES,
                  PSQL_EXIT_CODES, GREP_EXIT_CODES, SYSTEMCTL_IS_ACTIVE_EXIT_CODES)
}
"""Every table by program name: the one place the next capability's author looks for one."""


def classify(exit_status: int | None, names: ExitTable | Mapping[int, str]) -> str:
    """The name of ``exit_status`` in ``names``; ``failed`` otherwise, ``killed`` for None/negative."""
    table = names if isinstance(names, ExitTable) else ExitTable("", names)
    return table.classify(exit_status)


# -- what runs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    """One program: its argv (never a shell line) and the table its exit status is read by."""

    argv: tuple[str, ...]
    exit_codes: ExitTable = DEFAULT_EXIT_CODES

    def __post_init__(self) -> None:
        if isinstance(self.argv, str) or not self.argv:
            raise TypeError("a Program's argv is a non-empty tuple of words, not a shell line")
        object.__setattr__(self, "argv", tuple(self.argv))


@dataclass(frozen=True)
class Shell:
    """A shell line run by ``/bin/sh -c`` as written: a person's own words (``opsctl run``)."""

    line: str
    exit_codes: ExitTable = DEFAULT_EXIT_CODES

    @property
    def argv(self) -> tuple[str, ...]:
        return ("/bin/sh", "-c", self.line)


@dataclass(frozen=True)
class Pipeline:
    """Programs joined stdout to stdin, each exit status checked by its own table."""

    members: tuple[Program, ...]

    def __post_init__(self) -> None:
        members = tuple(m if isinstance(m, Program) else Program(tuple(m)) for m in self.members)
        if len(members) < 2:
            raise ValueError("a pipeline has two members or more")
        object.__setattr__(self, "members", members)


Command = Program | Shell | Pipeline | Sequence[str]


def command_text(command: Program | Shell | Pipeline) -> str:
    """How ``command`` reads as a shell line (for messages; it holds no secret)."""
    if isinstance(command, Shell):
        return command.line
    if isinstance(command, Program):
        return shlex.join(command.argv)
    return " | ".join(shlex.join(member.argv) for member in command.members)


# -- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberResult:
    """One program of what ran: its argv, exit status (None when stopped or not reported), name."""

    argv: tuple[str, ...]
    exit_status: int | None
    status_name: str
    ok: bool


@dataclass(frozen=True)
class ExecResult:
    """A finished command: the status that decides it and its name, both streams, duration.

    For a pipeline, ``members`` holds every program's status; ``exit_status``, ``status_name``
    and ``argv`` are those of :attr:`failed_member`, or of the last member when none failed.
    ``stdout_dropped``/``stderr_dropped`` count the bytes not kept (``keep_output``).
    """

    argv: tuple[str, ...]
    exit_status: int | None
    status_name: str
    stdout: bytes
    stderr: bytes
    duration_seconds: float
    host: str | None = None
    timed_out: bool = False
    cancelled: bool = False
    timeout_seconds: float | None = None
    members: tuple[MemberResult, ...] = ()
    stdout_dropped: int = 0
    stderr_dropped: int = 0
    command: str = ""

    @property
    def ok(self) -> bool:
        """Whether it ran to the end and every program's status is one its table accepts."""
        if self.timed_out or self.cancelled:
            return False
        if self.members:
            return all(member.ok for member in self.members)
        return self.status_name == OK

    @property
    def failed_member(self) -> MemberResult | None:
        """The program that failed the command: the first one not ok, passing over one that a
        later failure killed with SIGPIPE (its reader had gone); None when all are ok."""
        return _decisive(self.members)[1]

    @property
    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")


class ProgramFailed(OpsctlError, RuntimeError):
    """A program exited with a status its table does not accept, or was stopped."""

    def __init__(self, result: ExecResult) -> None:
        where = f" on {result.host}" if result.host else ""
        name = _program_name(result)
        if result.timed_out:
            text = f"{name}{where} ran past {result.timeout_seconds or 0:g} s and was stopped"
        elif result.cancelled:
            text = f"{name}{where} was cancelled and stopped"
        else:
            tail = [line for line in result.stderr_text.splitlines() if line.strip()][-1:] or [""]
            text = f"{name}{where} exited {result.exit_status} ({result.status_name}): {tail[0]}".rstrip(": ")
        super().__init__(text)
        self.result = result


def _program_name(result: ExecResult) -> str:
    if result.argv[:2] == ("/bin/sh", "-c") and len(result.members) <= 1:
        line = result.argv[2] if len(result.argv) > 2 else ""
        return repr(line if len(line) <= 60 else line[:57] + "...")
    name = result.argv[0] if result.argv else "?"
    if len(result.members) > 1:
        names = " | ".join(os.path.basename(m.argv[0]) for m in result.members)
        index = next((i for i, m in enumerate(result.members) if m.argv == result.argv), len(result.members) - 1)
        name = f"{name} (member {index + 1} of {len(result.members)} in {names})"
    return name


def _decisive(members: Sequence[MemberResult]) -> tuple[int, MemberResult | None]:
    failing = [i for i, member in enumerate(members) if not member.ok]
    if not failing:
        return len(members) - 1, None
    for position, index in enumerate(failing):
        later_failure = position + 1 < len(failing)
        if later_failure and members[index].exit_status in _SIGPIPE_STATUSES:
            continue
        return index, members[index]
    return failing[-1], members[failing[-1]]


# -- output ------------------------------------------------------------------------------------


class _StreamBuffer:
    """One stream: what is kept (the last ``keep`` bytes), and lines for the callback."""

    def __init__(self, name: Stream, keep: int | None, on_line: LineCallback | None,
                 status_mark: bytes | None, on_status: Callable[[str], None]) -> None:
        self.name = name
        self.keep = keep
        self.kept = bytearray()
        self.dropped = 0
        self._on_line = on_line
        self._status_mark = status_mark
        self._on_status = on_status
        self._partial = bytearray()
        self._by_line = on_line is not None or status_mark is not None

    def data(self, chunk: bytes) -> None:
        if not self._by_line:
            self._keep(chunk)
            return
        self._partial += chunk
        while True:
            end = self._partial.find(b"\n")
            if end < 0:
                if len(self._partial) <= MAX_LINE_BYTES:
                    return
                piece = bytes(self._partial[:MAX_LINE_BYTES])
                del self._partial[:MAX_LINE_BYTES]
                self._line(piece, newline=False)
                continue
            line = bytes(self._partial[:end])
            del self._partial[:end + 1]
            self._line(line, newline=True)

    def close(self) -> None:
        if self._partial:
            line = bytes(self._partial)
            self._partial.clear()
            self._line(line, newline=False)

    def _line(self, line: bytes, *, newline: bool) -> None:
        if self._status_mark is not None and self._status_mark in line:
            before, _, report = line.partition(self._status_mark)
            self._on_status(report.decode("ascii", "replace"))
            if not before:
                return
            line, newline = before, True
        self._keep(line + b"\n" if newline else line)
        if self._on_line is not None:
            self._on_line(self.name, line.decode("utf-8", "replace"))

    def _keep(self, data: bytes) -> None:
        if self.keep is None:
            self.kept += data
            return
        self.kept += data
        excess = len(self.kept) - self.keep
        if excess > 0:
            del self.kept[:excess]
            self.dropped += excess


class _Output:
    """Both streams of one command, and the status reports a wrapped pipeline wrote on stderr."""

    def __init__(self, on_line: LineCallback | None, keep: int | None, status_token: str | None) -> None:
        if keep is not None and keep < 0:
            raise ValueError("keep_output is a number of bytes, 0 or more")
        mark = f"{status_token}:pipestatus:".encode() if status_token else None
        self.status_reports: list[str] = []
        self.stdout = _StreamBuffer("stdout", keep, on_line, None, self.status_reports.append)
        self.stderr = _StreamBuffer("stderr", keep, on_line, mark, self.status_reports.append)

    def data(self, stream: str, chunk: bytes) -> None:
        (self.stdout if stream == "stdout" else self.stderr).data(chunk)

    def close(self) -> None:
        self.stdout.close()
        self.stderr.close()


# -- the shell line for a host (and for sudo) ----------------------------------------------------

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def secret_lines(secret_env: Mapping[str, str]) -> tuple[str, bytes]:
    """The shell that reads each secret from stdin into an exported variable, and the stdin.

    Raise ValueError for a name that is not a variable name or a value holding a newline
    (the message names the variable, never the value).
    """
    reads: list[str] = []
    data = bytearray()
    for name in sorted(secret_env):
        value = secret_env[name]
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not an environment variable name")
        if "\n" in value or "\0" in value:
            raise ValueError(f"the secret for {name} holds a newline or NUL; it cannot go over stdin as a line")
        reads.append(f"IFS= read -r {name} || exit 125; export {name}")
        data += value.encode() + b"\n"
    return "".join(f"{read}\n" for read in reads), bytes(data)


def pipeline_script(members: Sequence[Sequence[str]], *, token: str) -> str:
    """The bash script that runs ``members`` as one pipeline and reports each member's status.

    After the pipeline it writes ``TOKEN:pipestatus:S1 S2 …`` on stderr and exits with the
    status of the rightmost member that failed (0 when none did). The reader trusts a report
    only if there is exactly one and it agrees with that exit status, which the command's
    output cannot set: a forged or doubled line makes the statuses ``unreported`` (a
    failure), never a success. The token is made per run, so output does not know it.
    """
    line = " | ".join(shlex.join(member) for member in members)
    return (
        f"{line}\n"
        's=("${PIPESTATUS[@]}")\n'
        f"printf '%s:pipestatus:%s\\n' {shlex.quote(token)} \"${{s[*]}}\" >&2\n"
        'r=0; for x in "${s[@]}"; do [ "$x" = 0 ] || r=$x; done; exit "$r"\n'
    )


def wrapped_line(command: Program | Shell | Pipeline, *, reads: str = "", status_token: str | None = None) -> str:
    """The shell line a host's shell (or sudo's) runs for ``command``: the secrets' reads first."""
    if isinstance(command, Pipeline):
        if status_token is None:
            raise ValueError("a wrapped pipeline needs a status token")
        script = reads + pipeline_script([m.argv for m in command.members], token=status_token)
        return f"exec bash -c {shlex.quote(script)}"
    if isinstance(command, Shell):
        return reads + command.line
    return (reads + "exec " if reads else "") + shlex.join(command.argv)


def _read_report(reports: list[str], exit_status: int | None, count: int) -> list[int | None]:
    """The members' statuses from the wrapper's report, or all None if it cannot be trusted."""
    unknown: list[int | None] = [None] * count
    if len(reports) != 1:
        return unknown
    words = reports[0].split()
    if len(words) != count or not all(word.isdigit() for word in words):
        return unknown
    statuses = [int(word) for word in words]
    rightmost = next((s for s in reversed(statuses) if s != 0), 0)
    # sudo passes on its command's status; a wrapper killed by a signal reports nothing true
    return list(statuses) if exit_status == rightmost else unknown


# -- execute -----------------------------------------------------------------------------------


def execute(
    command: Command,
    *,
    host: SshConnection | None = None,
    timeout: float = 600.0,
    exit_codes: ExitTable | None = None,
    secret_env: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    cwd: str | None = None,
    check: bool = False,
    cancel: threading.Event | None = None,
    on_line: LineCallback | None = None,
    keep_output: int | None = None,
    become: bool | None = None,
    become_user: str | None = None,
    become_password: SecretRef | None = None,
) -> ExecResult:
    """Run ``command`` locally, or on ``host``; return the classified result.

    ``command``: an argv tuple or :class:`Program`, a :class:`Shell` line, or a
    :class:`Pipeline`; ``exit_codes`` is the table for a bare argv or a shell line.
    Locally the child gets ``env`` (default: this process's environment) plus ``secret_env``;
    on a host, or under sudo, ``secret_env`` goes over stdin (``env`` and ``cwd`` are local
    only). ``become``: run through sudo, as ``become_user`` (default root); on a host the
    target's settings apply when these are None, and its become password; locally
    ``become_password`` is asked for only if sudo prompts. ``on_line`` gets every line as it
    arrives; ``keep_output`` bounds the bytes kept of each stream (the last ones; None: all).
    A timeout or ``cancel`` stops the program and its process group and is a result.
    Raise :class:`ProgramFailed` when ``check`` is set and the result is not ok,
    :class:`AuthenticationFailed` when sudo refuses the password, and an
    :class:`OpsctlError` for a program that is not installed.
    """
    what = _as_command(command, exit_codes)
    output_token = secrets.token_hex(16) if isinstance(what, Pipeline) else None
    if host is not None:
        if env or cwd:
            raise ValueError("env and cwd are local only; send a remote secret with secret_env")
        if become_password is not None:
            raise ValueError("on a host the become password is the target's (ansible_become_password)")
        result = _execute_remote(what, host, timeout=timeout, secret_env=secret_env or {}, stdin=stdin,
                                 cancel=cancel, on_line=on_line, keep_output=keep_output, become=become,
                                 become_user=become_user, status_token=output_token)
    else:
        result = _execute_local(what, timeout=timeout, secret_env=secret_env or {}, env=env, stdin=stdin,
                                cwd=cwd, cancel=cancel, on_line=on_line, keep_output=keep_output,
                                become=bool(become), become_user=become_user, become_password=become_password,
                                status_token=output_token)
    if check and not result.ok:
        raise ProgramFailed(result)
    return result


def _as_command(command: Command, exit_codes: ExitTable | None) -> Program | Shell | Pipeline:
    if isinstance(command, str):
        raise TypeError("a shell line goes in Shell(...); an argv is a tuple of words")
    if isinstance(command, Program | Pipeline):
        if exit_codes is not None:
            raise ValueError("a Program or Pipeline carries its own exit_codes")
        return command
    if isinstance(command, Shell):
        return command if exit_codes is None else Shell(command.line, exit_codes)
    return Program(tuple(command), exit_codes or DEFAULT_EXIT_CODES)


def _programs(command: Program | Shell | Pipeline) -> tuple[Program | Shell, ...]:
    return command.members if isinstance(command, Pipeline) else (command,)


def _build_result(command: Program | Shell | Pipeline, statuses: Sequence[int | None], stopped: Sequence[bool],
                  output: _Output, *, shell_reported: bool, timed_out: bool, cancelled: bool,
                  timeout: float, duration: float, host: str | None) -> ExecResult:
    output.close()
    members: list[MemberResult] = []
    for program, status, was_stopped in zip(_programs(command), statuses, stopped, strict=True):
        if was_stopped:
            name, status = (TIMED_OUT if timed_out else CANCELLED), None
        elif status is None:
            name = UNREPORTED
        else:
            name = program.exit_codes.classify(status, shell_reported=shell_reported)
        members.append(MemberResult(program.argv, status, name, program.exit_codes.is_ok(name)))
    index, _failed = _decisive(members)
    decisive = members[index]
    status_name = TIMED_OUT if timed_out else CANCELLED if cancelled else decisive.status_name
    return ExecResult(
        argv=decisive.argv, exit_status=None if (timed_out or cancelled) else decisive.exit_status,
        status_name=status_name, stdout=bytes(output.stdout.kept), stderr=bytes(output.stderr.kept),
        duration_seconds=duration, host=host, timed_out=timed_out, cancelled=cancelled,
        timeout_seconds=timeout, members=tuple(members), stdout_dropped=output.stdout.dropped,
        stderr_dropped=output.stderr.dropped, command=command_text(command),
    )


def _execute_remote(command: Program | Shell | Pipeline, host: SshConnection, *, timeout: float,
                    secret_env: Mapping[str, str], stdin: bytes | None, cancel: threading.Event | None,
                    on_line: LineCallback | None, keep_output: int | None, become: bool | None,
                    become_user: str | None, status_token: str | None) -> ExecResult:
    reads, secret_data = secret_lines(secret_env)
    line = wrapped_line(command, reads=reads, status_token=status_token)
    data = secret_data + (stdin or b"") if secret_data else stdin
    output = _Output(on_line, keep_output, status_token)
    remote = host.run(line, timeout=timeout, become=become, become_user=become_user, stdin=data,
                      cancel=cancel, on_data=output.data)
    output.close()  # a report on the last line counts too
    stopped = remote.timed_out or remote.cancelled
    count = len(_programs(command))
    if stopped:
        statuses: list[int | None] = [None] * count
    elif isinstance(command, Pipeline):
        statuses = _read_report(output.status_reports, remote.exit_status, count)
    else:
        statuses = [remote.exit_status]
    return _build_result(command, statuses, [stopped] * count, output, shell_reported=isinstance(command, Pipeline),
                         timed_out=remote.timed_out, cancelled=remote.cancelled, timeout=timeout,
                         duration=remote.duration_seconds, host=host.target.name)


def _execute_local(command: Program | Shell | Pipeline, *, timeout: float, secret_env: Mapping[str, str],
                   env: Mapping[str, str] | None, stdin: bytes | None, cwd: str | None,
                   cancel: threading.Event | None, on_line: LineCallback | None, keep_output: int | None,
                   become: bool, become_user: str | None, become_password: SecretRef | None,
                   status_token: str | None) -> ExecResult:
    output = _Output(on_line, keep_output, status_token if become else None)
    programs = _programs(command)
    if not become:
        base = os.environ if env is None else env
        child_env = {**base, **secret_env} if secret_env else dict(base) if env is not None else None
        ran = _run_local([p.argv for p in programs], stdin=stdin, env=child_env, cwd=cwd, timeout=timeout,
                         cancel=cancel, on_data=output.data)
        return _build_result(command, ran.statuses, ran.stopped, output, shell_reported=False,
                             timed_out=ran.timed_out, cancelled=ran.cancelled, timeout=timeout,
                             duration=ran.duration, host=None)
    # sudo resets the environment: secrets go over stdin, as they do to a host
    reads, secret_data = secret_lines(secret_env)
    token = secrets.token_hex(8)
    password = become_password.resolve() if become_password is not None else None
    argv = sudo_argv(wrapped_line(command, reads=reads, status_token=status_token), token=token,
                     become_user=become_user, has_password=password is not None)
    handshake = Handshake(token, expect_pid=False, become=True, has_password=password is not None)
    ran = _run_local([argv], stdin=secret_data + (stdin or b""), env=env, cwd=cwd, timeout=timeout,
                     cancel=cancel, on_data=output.data, handshake=handshake, password=password,
                     password_ref=become_password)
    output.close()
    count = len(programs)
    stopped = ran.stopped[0]
    if stopped:
        statuses: list[int | None] = [None] * count
    elif isinstance(command, Pipeline):
        statuses = _read_report(output.status_reports, ran.statuses[0], count)
    else:
        statuses = list(ran.statuses)
    return _build_result(command, statuses, [stopped] * count, output, shell_reported=isinstance(command, Pipeline),
                         timed_out=ran.timed_out, cancelled=ran.cancelled, timeout=timeout,
                         duration=ran.duration, host=None)


# -- local processes ---------------------------------------------------------------------------


@dataclass
class _Ran:
    statuses: list[int | None] = field(default_factory=list)
    stopped: list[bool] = field(default_factory=list)
    timed_out: bool = False
    cancelled: bool = False
    duration: float = 0.0


def _spawn(argvs: Sequence[tuple[str, ...]], *, with_stdin: bool, stderr: int, env: Mapping[str, str] | None,
           cwd: str | None) -> list[subprocess.Popen[bytes]]:
    """Start each argv in its own session, stdout to the next one's stdin (a real pipe)."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for index, argv in enumerate(argvs):
            if index == 0:
                stdin: int | IO[bytes] | None = subprocess.PIPE if with_stdin else subprocess.DEVNULL
            else:
                stdin = processes[-1].stdout
            try:
                process = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                           stderr=stderr, env=env, cwd=cwd, start_new_session=True)
            except FileNotFoundError:
                raise OpsctlError(f"{argv[0]}: program not found", hint="is its Debian package installed?") from None
            except PermissionError:
                raise OpsctlError(f"{argv[0]}: program not executable") from None
            if index > 0:
                # our copy closed: the writer gets SIGPIPE when its reader has gone
                assert processes[-1].stdout is not None
                processes[-1].stdout.close()
            processes.append(process)
    except BaseException:
        _stop_groups(processes)
        raise
    return processes


def _run_local(argvs: Sequence[tuple[str, ...]], *, stdin: bytes | None, env: Mapping[str, str] | None,
               cwd: str | None, timeout: float, cancel: threading.Event | None,
               on_data: Callable[[str, bytes], None], handshake: Handshake | None = None,
               password: str | None = None, password_ref: SecretRef | None = None) -> _Ran:
    """Run ``argvs`` as a pipeline, feeding ``stdin`` and passing output to ``on_data`` as it comes.

    With a sudo ``handshake``, the password is written when sudo prompts and ``stdin`` only
    once the command runs. A timeout or ``cancel`` stops every process group.
    """
    started = time.monotonic()
    deadline = started + timeout
    with_stdin = stdin is not None or handshake is not None
    error_read, error_write = os.pipe()
    try:
        processes = _spawn(argvs, with_stdin=with_stdin, stderr=error_write, env=env, cwd=cwd)
    except BaseException:
        os.close(error_read)
        raise
    finally:
        os.close(error_write)
    prefetch.while_waiting()
    last_stdout = processes[-1].stdout
    assert last_stdout is not None
    stdin_pipe = processes[0].stdin
    pending = memoryview(stdin or b"")
    ready = handshake is None or handshake.done
    ran = _Ran()
    selector = selectors.DefaultSelector()
    selector.register(last_stdout.fileno(), selectors.EVENT_READ, "stdout")
    selector.register(error_read, selectors.EVENT_READ, "stderr")
    open_readers = 2
    writing = False
    stop_reason: str | None = None

    def close_stdin() -> None:
        nonlocal stdin_pipe, writing
        if stdin_pipe is None:
            return
        if writing:
            selector.unregister(stdin_pipe.fileno())
            writing = False
        with contextlib.suppress(BrokenPipeError):
            stdin_pipe.close()
        stdin_pipe = None

    try:
        if stdin_pipe is not None:
            os.set_blocking(stdin_pipe.fileno(), False)
        while open_readers:
            if stdin_pipe is not None and ready:
                if not pending:
                    close_stdin()
                elif not writing:
                    selector.register(stdin_pipe.fileno(), selectors.EVENT_WRITE, "stdin")
                    writing = True
            for key, _mask in selector.select(timeout=0.05):
                if key.data == "stdin":
                    assert stdin_pipe is not None
                    try:
                        written = os.write(stdin_pipe.fileno(), pending[:65536])
                    except BrokenPipeError:  # the program stopped reading: the rest is not wanted
                        written = len(pending)
                    pending = pending[written:]
                    continue
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                    open_readers -= 1
                    continue
                if key.data == "stderr" and handshake is not None and not handshake.done:
                    step = handshake.feed(chunk)
                    chunk = step.passthrough
                    for event, _value in step.events:
                        if event == PROMPT and stdin_pipe is not None:
                            assert password is not None
                            os.write(stdin_pipe.fileno(), (password + "\n").encode())
                        elif event == REFUSED:
                            stop_reason = "refused"
                        elif event == READY:
                            ready = True
                    if stop_reason:
                        break
                if chunk:
                    on_data(key.data, chunk)
            if stop_reason is None:
                stop_reason = _stop_reason(deadline, cancel)
            if stop_reason:
                break
        if stop_reason is None:
            close_stdin()
            while unfinished := [p for p in processes if p.poll() is None]:
                stop_reason = _stop_reason(deadline, cancel)
                if stop_reason:
                    break
                try:
                    unfinished[0].wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    continue
        if stop_reason:
            ran.stopped = [p.poll() is None for p in processes]
            _stop_groups(processes)
        else:
            ran.stopped = [False] * len(processes)
    except BaseException:
        _stop_groups(processes)
        raise
    finally:
        close_stdin()
        selector.close()
        last_stdout.close()
        os.close(error_read)
        if handshake is not None:
            rest = handshake.flush()
            if rest:
                on_data("stderr", rest)
        prefetch.settle()  # what the caller imports next never runs beside the prefetch's imports
    if stop_reason == "refused":
        raise AuthenticationFailed("sudo refused the password" + (f" from {password_ref}" if password_ref else ""))
    ran.statuses = [p.returncode for p in processes]
    ran.timed_out = stop_reason == "timeout"
    ran.cancelled = stop_reason == "cancelled"
    ran.duration = time.monotonic() - started
    return ran


def _stop_reason(deadline: float, cancel: threading.Event | None) -> str | None:
    if cancel is not None and cancel.is_set():
        return "cancelled"
    if time.monotonic() > deadline:
        return "timeout"
    return None


def _stop_groups(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """TERM each process's group, KILL the groups still there after a while; reap every process.

    A group can outlive its leader (``sh -c 'sleep 60 & ...'``), so groups are signalled
    whether or not their leader is still running.
    """
    groups = [process.pid for process in processes]
    _signal_groups(groups, signal.SIGTERM)
    wait_until = time.monotonic() + _STOP_WAIT_SECONDS
    while True:
        for process in processes:
            process.poll()  # reap a leader that ended, or its zombie keeps the group alive
        alive = [group for group in groups if _group_alive(group)]
        if not alive or time.monotonic() > wait_until:
            break
        time.sleep(0.05)
    _signal_groups(alive, signal.SIGKILL)
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):  # unkillable (D state): do not hang here
            process.wait(timeout=_STOP_WAIT_SECONDS)


def _signal_groups(groups: Sequence[int], sig: signal.Signals) -> None:
    for group in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, sig)


def _group_alive(group: int) -> bool:
    """Whether a process of ``group`` still runs; zombies do not count (an orphan waits to be
    reaped by PID 1, which on some machines takes seconds)."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if len(fields) > 2 and fields[2] == str(group).encode() and fields[0] != b"Z":
            return True
    return False
