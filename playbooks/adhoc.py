"""Ad-hoc commands: one shell command across the hosts a pattern matches.

Once the playbook engine exists an ad-hoc command becomes a one-task play; for now it is a
task for the fleet executor, which records the run in the state store and the audit log.
"""

from __future__ import annotations

import shlex
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.core.errors import (
    AuthenticationFailed,
    ConfigError,
    HostKeyError,
    HostNotFound,
    HostUnreachable,
    OpsctlError,
    UsageError,
)
from opsctl.core.execute import Shell, execute
from opsctl.core.fleet import FleetOptions, FleetResult, HostResult, Outcome, run_fleet

if TYPE_CHECKING:
    from inventory import Host
    from opsctl.core.journal import RunJournal
    from opsctl.core.settings import Settings
    from opsctl.core.ssh import SshPool, SshTarget

RUN_KIND = "run"


def command_line(words: Sequence[str]) -> str:
    """The remote shell command: one word is a shell line as written, several are quoted."""
    if not words:
        raise UsageError("no command given: opsctl run TARGET -- COMMAND")
    return words[0] if len(words) == 1 else shlex.join(words)


@dataclass(frozen=True)
class AdhocRequest:
    pattern: str | None
    command: str | None
    timeout: float
    options: FleetOptions = field(default_factory=FleetOptions)
    become: bool | None = None
    rerun: str | None = None  # "failed" (failed and unreachable) or "skipped"


@dataclass(frozen=True)
class AdhocRun:
    run_id: str
    pattern: str
    command: str
    result: FleetResult

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "target": self.pattern, "command": self.command, **self.result.to_dict()}


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def run_on_host(pool: SshPool, target: SshTarget, command: str, timeout: float,
                cancel: threading.Event, journal: RunJournal) -> HostResult:
    """Connect, wait until the run is recorded, run the shell line ``command`` and classify what
    happened (through :func:`opsctl.core.execute.execute`, become as the target says).

    Never raises for the host's sake; a journal that cannot record the run raises, so that
    nothing runs unrecorded.
    """
    started = time.monotonic()
    try:
        connection = pool.connection(target)
        journal.wait_ready()
        result = execute(Shell(command), host=connection, timeout=timeout, cancel=cancel)
    except HostUnreachable as error:
        return HostResult(target.name, Outcome.UNREACHABLE, error=str(error),
                          duration_seconds=time.monotonic() - started)
    except (HostKeyError, AuthenticationFailed, ConfigError, OpsctlError) as error:
        text = str(error) if target.name in str(error) else f"{target.label}: {error}"
        return HostResult(target.name, Outcome.FAILED, error=text, duration_seconds=time.monotonic() - started,
                          hint=error.hint)
    outcome = Outcome.OK if result.ok else Outcome.FAILED
    message = None if outcome == Outcome.OK else f"{target.label}: exit status {result.exit_status}"
    exit_status = result.exit_status
    if result.timed_out:
        exit_status, message = None, f"{target.label}: timed out after {timeout:g} s; the command was stopped"
    elif result.cancelled:
        exit_status, message = None, f"{target.label}: interrupted; the command was stopped"
    # the exact bytes ride along for --output-dir and for base64 in --json
    return HostResult(target.name, outcome, exit_status, result.duration_seconds, _decode(result.stdout),
                      _decode(result.stderr), message, stdout_bytes=result.stdout, stderr_bytes=result.stderr)


def check_target_secrets(targets: Sequence[SshTarget], settings: Settings) -> None:
    """Raise :class:`SecretError` naming every target whose secrets this run would use cannot be read now.

    A pre-flight, before anything connects or is recorded (:func:`opsctl.core.ssh.target_secret_problems`).
    """
    from opsctl.core.errors import SecretError
    from opsctl.core.ssh import target_secret_problems

    problems = target_secret_problems(targets, settings.ssh)
    if problems:
        raise SecretError("secrets of the targeted hosts cannot be read, nothing was run: " + "; ".join(problems),
                          hint="fix the references (env:NAME, file:/path, keyring:service/name) or leave "
                          "these hosts out of the pattern")


def _rerun_selection(settings: Settings, rerun: str, pattern: str | None,
                     command: str | None) -> tuple[set[str], str, str]:
    from opsctl.core.state import open_state

    if rerun not in ("failed", "skipped"):
        raise UsageError(f"--rerun {rerun!r}: expected 'failed' or 'skipped'")
    last = open_state(settings).last_run(RUN_KIND)
    if last is None:
        raise UsageError("--rerun: there is no earlier run to repeat")
    wanted = {"failed": {"failed", "unreachable"}, "skipped": {"skipped"}}[rerun]
    names = {h.host for h in last.hosts if h.outcome in wanted}
    if not names:
        raise HostNotFound(f"--rerun {rerun}: no host was {rerun} in the last run ({last.run_id})")
    return names, pattern or last.target, command or last.command


def run_adhoc(
    settings: Settings,
    hosts_for: Callable[[str], list[Host]],
    request: AdhocRequest,
    *,
    on_start: Callable[[str], None] | None = None,
    on_result: Callable[[HostResult], None] | None = None,
    on_targets: Callable[[int], None] | None = None,
) -> AdhocRun:
    """Resolve the targets, run the command across them, record and return the run."""
    from opsctl.core.journal import RunJournal
    from opsctl.core.ssh import open_pool, target_from_host

    pattern, command = request.pattern, request.command
    only: set[str] | None = None
    if request.rerun is not None:
        only, pattern, command = _rerun_selection(settings, request.rerun, pattern, command)
    if not pattern or not command:
        raise UsageError("give a TARGET and a COMMAND: opsctl run TARGET -- COMMAND")
    hosts = hosts_for(pattern)
    if only is not None:
        hosts = [h for h in hosts if h.name in only]
        if not hosts:
            raise HostNotFound(f"--rerun: none of the hosts to repeat is in '{pattern}' now")
    targets = [target_from_host(h, settings.ssh, become=request.become) for h in hosts]
    check_target_secrets(targets, settings)
    if on_targets is not None:
        on_targets(len(targets))
    run_id = uuid.uuid4().hex[:12]
    journal = RunJournal(settings, run_id=run_id, kind=RUN_KIND, command=command, target=pattern)
    with open_pool(settings) as pool:
        result = run_fleet(
            targets,
            lambda target, cancel: run_on_host(pool, target, command, request.timeout, cancel, journal),
            name_of=lambda target: target.name,
            options=request.options, on_start=on_start, on_result=on_result, journal=journal,
        )
    return AdhocRun(run_id, pattern, command, result)


def write_output_dir(directory: Path, run: AdhocRun) -> None:
    """Write each host's full stdout and stderr apart, byte for byte as the host sent them (its
    decoded text when the bytes were not kept), and the run as JSON, into ``directory``."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    for host in run.result.results:
        for stream, text, data in (("stdout", host.stdout, host.stdout_bytes),
                                   ("stderr", host.stderr, host.stderr_bytes)):
            (directory / f"{host.host}.{stream}").write_bytes(text.encode("utf-8") if data is None else data)
    (directory / "run.json").write_text(json.dumps(run.to_dict(), indent=2) + "\n", encoding="utf-8")
