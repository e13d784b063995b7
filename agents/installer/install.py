"""``opsctl agent install``: put the agent on hosts over the SSH transport, start it, and check it answers.

Each host runs four steps on the fleet executor, as root (sudo, the host's become password):

1. ``check``: one probe (:mod:`agents.installer.remote`); a host without Python 3.11 or newer
   is refused with one line naming the host and what it found.
2. ``install``: the bundle (:mod:`agents.installer.bundle`), the configuration and, where
   systemd is PID 1, the hardened unit go into ``ROOT/VERSION-DIGEST``, ``ROOT/agent.conf``
   and /etc/systemd/system, and the agent is (re)started: by systemd, or else by a detached
   supervisor whose pid and log are in the install directory (and the step says so). Nothing
   is sent when the digest of all of it is the one the host recorded and the agent runs: ``ok``.
3. ``answer``: the controller GETs the agent's ``/metrics`` until it answers (its log tail
   when it never does).
4. ``inventory``: ``opsctl_agent: true`` for the host, by the ``mark_agent`` the caller gives
   (the CLI's writes ``host_vars/``, which ``prometheus-file-sd`` reads).

One audit entry per host that changed, written as the host finishes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from agents.installer.bundle import Bundle, BundleFile, build_bundle
from agents.installer.remote import (
    Probe,
    activate_script,
    log_tail_script,
    parse_probe,
    probe_script,
)
from agents.installer.status import wait_for_agent
from agents.installer.units import (
    UNIT_NAME,
    AgentPlacement,
    placement_of,
    render_config,
    render_unit,
)
from opsctl.core.errors import ExitCode, HostUnreachable, OpsctlError
from opsctl.core.execute import Shell, execute
from opsctl.core.fleet import (
    FleetOptions,
    FleetResult,
    HostResult,
    Outcome,
    Step,
    StepContext,
    StepResult,
    run_steps,
)
from opsctl.core.ssh import HostLike

if TYPE_CHECKING:
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings
    from opsctl.core.ssh import SshConnection, SshPool, SshTarget

PROBE_TIMEOUT_SECONDS = 60.0
ANSWER_WAIT_SECONDS = 20.0
STEP_NAMES = ("check", "install", "answer", "inventory")


class AgentHost(HostLike, Protocol):
    """An inventory host the installer can reach and place (``inventory.Host`` satisfies it)."""

    @property
    def vars(self) -> Mapping[str, Any]: ...


MarkAgent = Callable[[str], str | None]
"""Sets ``opsctl_agent: true`` for the named host; returns what it changed (None: already set)."""


@dataclass(frozen=True)
class AgentInstall:
    """An install run: the version shipped and every host's result."""

    target: str
    version: str
    result: FleetResult

    @property
    def exit_code(self) -> ExitCode:
        return self.result.exit_code

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "version": self.version, **self.result.to_dict()}


def desired_digest(bundle: Bundle, config: str, unit: str | None, python_path: str) -> str:
    """Pure: the digest of everything one host gets; equal digests mean nothing to send."""
    hasher = hashlib.sha256()
    for part in (bundle.digest, config, unit or "supervised", python_path):
        hasher.update(part.encode())
        hasher.update(b"\0")
    return hasher.hexdigest()


@dataclass
class _HostWork:
    placement: AgentPlacement
    target: SshTarget
    probe: Probe | None = None
    mode: str = ""
    series: int = 0


@dataclass
class _Installer:
    pool: SshPool
    bundle: Bundle
    recorder: Recorder
    mark_agent: MarkAgent
    timeout: float
    answer_seconds: float
    work: dict[str, _HostWork] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _connection(self, work: _HostWork) -> SshConnection:
        return self.pool.connection(work.target)

    def _run(self, work: _HostWork, script: str, *, timeout: float, stdin: bytes | None = None) -> Any:
        return execute(Shell(script), host=self._connection(work), timeout=timeout, stdin=stdin, become=True)

    def check(self, work: _HostWork, context: StepContext) -> StepResult:
        result = self._run(work, probe_script(work.placement), timeout=PROBE_TIMEOUT_SECONDS)
        if not result.ok:
            return StepResult("check", Outcome.FAILED, error=f"{work.placement.host}: the probe failed: "
                              f"{_last_line(result.stderr_text) or f'exit status {result.exit_status}'}")
        probe = parse_probe(result.stdout_text)
        problem = probe.python_problem(work.placement.python)
        if problem is not None:
            return StepResult("check", Outcome.FAILED, error=f"{work.placement.host}: {problem}",
                              hint="install python3 (3.11 or newer) or set ansible_python_interpreter")
        work.probe = probe
        work.mode = "systemd" if probe.systemd else "supervised (no systemd as PID 1)"
        version = ".".join(map(str, probe.python_version or ()))
        return StepResult("check", Outcome.OK, stdout=f"Python {version} at {probe.python_path}; {work.mode}")

    def install(self, work: _HostWork, context: StepContext) -> StepResult:
        probe = work.probe
        assert probe is not None and probe.python_path is not None
        placement = work.placement
        config = render_config(placement)
        unit = render_unit(placement, probe.python_path) if probe.systemd else None
        digest = desired_digest(self.bundle, config, unit, probe.python_path)
        if probe.installed == digest and probe.running:
            return StepResult("install", Outcome.OK, stdout=f"{self.bundle.install_name} installed and running")
        extra = [BundleFile("agent.conf", config.encode())]
        if unit is not None:
            extra.append(BundleFile(UNIT_NAME, unit.encode()))
        payload = self.bundle.tar_gz(prefix="version/", extra=tuple(extra))
        script = activate_script(placement, install_name=self.bundle.install_name, digest=digest,
                                 python_path=probe.python_path, systemd=probe.systemd)
        with self.lock:
            self.recorder.check()  # a log that would refuse the record refuses the change too
        result = self._run(work, script, timeout=self.timeout, stdin=payload)
        if not result.ok:
            why = (f"stopped after {self.timeout:g} s" if result.timed_out
                   else _last_line(result.stderr_text) or f"exit status {result.exit_status}")
            return StepResult("install", Outcome.FAILED, changed=True, stderr=result.stderr_text,
                              error=f"{placement.host}: installing {self.bundle.install_name} failed: {why}")
        said = _last_line(result.stdout_text)
        return StepResult("install", Outcome.CHANGED, stdout=f"{self.bundle.install_name} in {placement.root}"
                          + (f"; {said}" if said else f"; {UNIT_NAME} restarted"))

    def answer(self, work: _HostWork, context: StepContext) -> StepResult:
        placement = work.placement
        answer = wait_for_agent(placement.url, seconds=self.answer_seconds)
        if not answer.answering:
            probe = work.probe
            tail = self._run(work, log_tail_script(placement, systemd=bool(probe and probe.systemd)),
                             timeout=PROBE_TIMEOUT_SECONDS).stdout_text.strip()
            return StepResult("answer", Outcome.FAILED, stderr=tail,
                              error=f"{placement.host}: the agent at {placement.url} does not answer: {answer.reason}"
                                    + (f"; its log ends: {_last_line(tail)}" if tail else ""))
        work.series = answer.series
        return StepResult("answer", Outcome.OK,
                          stdout=f"{placement.url} answers: opsctl-agent {answer.version}, {answer.series} series")

    def inventory(self, work: _HostWork, context: StepContext) -> StepResult:
        changed = self.mark_agent(work.placement.host)
        mode = "systemd" if work.probe is not None and work.probe.systemd else "supervised (no systemd)"
        summary = f"{self.bundle.install_name} {mode}: {work.series} series"
        if changed is not None:
            return StepResult("inventory", Outcome.CHANGED, stdout=f"{summary}\n{changed}")
        return StepResult("inventory", Outcome.OK, stdout=summary)

    def step(self, name: str, function: Callable[[_HostWork, StepContext], StepResult]) -> Step[_HostWork]:
        def run(work: _HostWork, context: StepContext) -> StepResult:
            started = time.monotonic()
            try:
                step = function(work, context)
            except HostUnreachable as error:
                step = StepResult(name, Outcome.UNREACHABLE, error=str(error))
            except OpsctlError as error:  # a refused host key or login, sudo's refusal, a bundle error
                text = str(error) if work.placement.host in str(error) else f"{work.placement.host}: {error}"
                step = StepResult(name, Outcome.FAILED, error=text, hint=error.hint)
            return StepResult(name, step.outcome, step.changed, time.monotonic() - started, step.stdout,
                              step.stderr, step.error, step.exit_status, step.hint)
        return Step(name, run)

    def record(self, result: HostResult) -> None:
        """One audit entry for a host that changed (written as the host finishes)."""
        if not any(step.changed for step in result.steps):
            return
        work = self.work[result.host]
        details = {"version": self.bundle.install_name, "root": work.placement.root, "mode": work.mode,
                   "steps": {step.name: str(step.outcome) for step in result.steps}}
        with self.lock:
            self.recorder.record("agent install", [result.host], str(result.outcome), details)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def install_agents(
    settings: Settings,
    hosts: Sequence[AgentHost],
    *,
    target: str,
    recorder: Recorder,
    mark_agent: MarkAgent,
    options: FleetOptions = FleetOptions(),
    timeout: float | None = None,
    answer_seconds: float = ANSWER_WAIT_SECONDS,
    bundle: Bundle | None = None,
    on_start: Callable[[str], None] | None = None,
    on_result: Callable[[HostResult], None] | None = None,
) -> AgentInstall:
    """Install, start and check the agent on ``hosts``; return every host's result (never raises for a host).

    Raise :class:`ConfigError` naming the host for a bad ``opsctl_agent_*`` variable, the
    bundle's error when the controller cannot gather the agent, and AuditError when the audit
    log would refuse the records (before anything is changed).
    """
    from opsctl.core.ssh import open_pool, target_from_host

    placements = {host.name: placement_of(host) for host in hosts}
    bundle = bundle or build_bundle()
    recorder.check()
    with open_pool(settings) as pool:
        installer = _Installer(pool, bundle, recorder, mark_agent,
                               timeout or settings.ssh.command_timeout, answer_seconds)
        for host in hosts:
            installer.work[host.name] = _HostWork(placements[host.name],
                                                  target_from_host(host, settings.ssh, become=True))
        steps = [installer.step(name, getattr(installer, name)) for name in STEP_NAMES]

        def finished(result: HostResult) -> None:
            installer.record(result)
            if on_result is not None:
                on_result(result)

        result = run_steps([installer.work[host.name] for host in hosts], steps,
                           name_of=lambda work: work.placement.host, options=options,
                           on_start=on_start, on_result=finished)
    return AgentInstall(target, bundle.install_name, result)

