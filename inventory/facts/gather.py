"""Gather facts from one host in one round trip: a remote script prints each fact's output
between markers, with its exit status, and each part is read by its fact's pure parser.

The script runs through :func:`opsctl.core.execute.execute` as a shell line, on a host over
its SSH connection, or on this machine when there is none. A fact whose program is missing
(exit 127), fails, times out or prints what its parser cannot read is reported missing with
a note; the others still give values, so the result is partial, never an exception.
"""

from __future__ import annotations

import datetime
import re
import secrets
import shlex
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inventory.facts.base import (
    SOURCE_LOCAL,
    SOURCE_SSH,
    Fact,
    FactParseError,
    FactValue,
    HostFacts,
    MissingFact,
)
from inventory.facts.linux import ALL_FACTS
from opsctl.core.execute import Shell, execute

if TYPE_CHECKING:
    from opsctl.core.ssh import SshConnection

_EXIT_NOT_FOUND = 127
_EXIT_NOT_EXECUTABLE = 126
_EXIT_TIMEOUT = 124  # what coreutils' timeout exits with


@dataclass(frozen=True)
class Section:
    """One fact's part of the script's answer: its output, error output and exit status."""

    stdout: str
    stderr: str
    exit_status: int


def build_script(facts: Sequence[Fact[Any]], *, token: str, fact_timeout: float | None) -> str:
    """The remote shell script that runs every fact's command between markers made of ``token``.

    Each command runs in its own ``sh -c`` with stdin closed, under coreutils' ``timeout`` when
    the host has it and ``fact_timeout`` is set.
    """
    lines = ['T=""']
    if fact_timeout is not None:
        seconds = f"{max(fact_timeout, 1.0):g}"
        lines.append(f'if command -v timeout >/dev/null 2>&1; then T="timeout -k 2 {seconds}"; fi')
    for index, fact in enumerate(facts):
        begin = shlex.quote(f"{token}:begin:{index}")
        lines += [
            f"printf '%s\\n' {begin}; printf '%s\\n' {begin} >&2",
            f"$T /bin/sh -c {shlex.quote(fact.command())} </dev/null",
            "status=$?",
            f"printf '\\n%s\\n' \"{token}:end:{index}:$status\"; printf '\\n%s\\n' {shlex.quote(f'{token}:end:{index}')} >&2",
        ]
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


def split_sections(stdout: str, stderr: str, *, token: str) -> dict[int, Section]:
    """The complete sections of the script's answer by fact index; a cut-off section is left out."""
    errors = {int(m[1]): m[2] for m in re.finditer(
        rf"(?m)^{re.escape(token)}:begin:(\d+)\n(.*?)\n{re.escape(token)}:end:\1\n", stderr, re.S)}
    sections: dict[int, Section] = {}
    for match in re.finditer(
            rf"(?m)^{re.escape(token)}:begin:(\d+)\n(.*?)\n{re.escape(token)}:end:\1:(\d+)\n", stdout, re.S):
        index = int(match[1])
        sections[index] = Section(match[2], errors.get(index, ""), int(match[3]))
    return sections


def _failure_reason(fact: Fact[Any], section: Section, fact_timeout: float | None) -> str:
    tail = section.stderr.strip().splitlines()[-1:] or [""]
    detail = f": {tail[0][:200]}" if tail[0] else ""
    if section.exit_status == _EXIT_NOT_FOUND:
        program = fact.argv[0] if fact.argv else fact.command().split()[0]
        return f"command not found on the host ({program}){detail}"
    if section.exit_status == _EXIT_NOT_EXECUTABLE:
        return f"command not executable{detail}"
    if section.exit_status == _EXIT_TIMEOUT and fact_timeout is not None:
        return f"timed out after {fact_timeout:g} s and was stopped"
    return f"exited {section.exit_status}{detail}"


def facts_from_sections(host: str, facts: Sequence[Fact[Any]], sections: dict[int, Section], *,
                        fact_timeout: float | None = None, cut_off: str | None = None,
                        collected_at: datetime.datetime | None = None,
                        duration_seconds: float = 0.0, source: str = SOURCE_SSH) -> HostFacts:
    """Run each fact's parser on its section; a fact without a usable section becomes missing.

    ``cut_off`` says why the answer may stop early (a timeout); it is the note of every fact
    whose section never arrived.
    """
    values: dict[str, FactValue] = {}
    missing: dict[str, MissingFact] = {}
    for index, fact in enumerate(facts):
        command = fact.command()
        section = sections.get(index)
        if section is None:
            missing[fact.name] = MissingFact(fact.name, command, cut_off or "no answer from the host")
            continue
        if section.exit_status not in fact.ok_exit_statuses:
            missing[fact.name] = MissingFact(fact.name, command, _failure_reason(fact, section, fact_timeout),
                                             section.exit_status)
            continue
        try:
            value = fact.process(section.stdout)
        except FactParseError as error:
            missing[fact.name] = MissingFact(fact.name, command, f"unreadable output: {error}",
                                             section.exit_status)
            continue
        values[fact.name] = FactValue(fact.name, value, command, source=source, collected_at=collected_at)
    return HostFacts(host, values, missing, collected_at=collected_at, duration_seconds=duration_seconds)


def gather_facts(connection: SshConnection | None, facts: Sequence[Fact[Any]] = ALL_FACTS, timeout: float = 60.0,
                 *, fact_timeout: float | None = 30.0, cancel: threading.Event | None = None) -> HostFacts:
    """Gather ``facts`` over one connection (this machine's when None) in one command that runs
    at most ``timeout`` s.

    Return every fact that answered, with provenance, and the others as missing with a note.
    Connection errors (unreachable, refused host key, failed login) are raised as they come
    from the transport; everything after login ends in a result, partial if need be (a
    timeout or ``cancel`` keeps the facts that had answered).
    """
    names = [fact.name for fact in facts]
    if len(set(names)) != len(names):
        raise ValueError("two facts share one name")
    token = "opsctl-fact-" + secrets.token_hex(8)
    script = build_script(facts, token=token, fact_timeout=fact_timeout)
    collected_at = datetime.datetime.now(datetime.UTC)
    started = time.monotonic()
    result = execute(Shell(script), host=connection, timeout=timeout, cancel=cancel)
    cut_off = None
    if result.timed_out:
        cut_off = f"no answer within {timeout:g} s (the gathering was stopped)"
    elif result.cancelled:
        cut_off = "cancelled before it answered"
    elif result.exit_status != 0:
        cut_off = f"the gathering script exited {result.exit_status}"
    host = connection.target.name if connection is not None else socket.gethostname()
    return facts_from_sections(host, facts, split_sections(result.stdout_text, result.stderr_text, token=token),
                               fact_timeout=fact_timeout, cut_off=cut_off, collected_at=collected_at,
                               duration_seconds=time.monotonic() - started,
                               source=SOURCE_SSH if connection is not None else SOURCE_LOCAL)
