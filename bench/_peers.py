"""The tools a fan-out benchmark compares, each run the way an engineer would run it.

Every tool gets the same credentials (the private agent's ``SSH_AUTH_SOCK``, no key file)
and strict host keys (the lab's published known_hosts, or for opsctl its own known_hosts
enrolled with ``opsctl hosts trust --fingerprints-from``). A tool writes its inventories
once in ``prepare``; ``invocation(size)`` is the command for the first ``size`` lab hosts;
``verify`` says why a finished run does not count (None when every host ran).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

COMMAND = "true"
SETUP_TIMEOUT_SECONDS = 300.0


@dataclass(frozen=True)
class BenchHost:
    name: str
    address: str
    port: int


@dataclass(frozen=True)
class BenchContext:
    """What every tool shares: the lab's published files, the agent, a scratch directory."""

    root: Path  # scratch directory of this run (cwd of every tool)
    bin_dir: Path  # the virtualenv's bin/
    hosts: tuple[BenchHost, ...]
    user: str
    known_hosts: Path  # OpenSSH known_hosts of every lab host
    fingerprints: Path  # the lab's fingerprints.json
    key_path: Path  # the lab's client key (passphrase-protected); only opsctl-keyfile reads it
    passphrase_path: Path
    state_dir: Path  # opsctl's state directory (OPSCTL_STATE__DIR)
    agent_env: Mapping[str, str]

    def base_env(self) -> dict[str, str]:
        """This environment without any tool's own settings or agent, plus our agent."""
        dropped = ("SSH_AUTH_SOCK", "SSH_AGENT_PID", "ANSIBLE_", "OPSCTL_", "PYINFRA_", "PYTHON")
        env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
        # Bytecode caches for every tool in one scratch directory, written by the warm-up run:
        # an editable checkout has no __pycache__ of its own (and PYTHONDONTWRITEBYTECODE may
        # be set), which would charge opsctl alone for compiling its sources on every run.
        env["PYTHONPYCACHEPREFIX"] = str(self.root / "pycache")
        env.update(self.agent_env)
        return env

    def first(self, size: int) -> tuple[BenchHost, ...]:
        return self.hosts[:size]


@dataclass(frozen=True)
class Invocation:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path
    stdin: str | None = None


@dataclass
class Tool:
    """One contender. Subclasses fill in the command, the files it needs and the check."""

    name: str
    label: str
    context: BenchContext
    notes: list[str] = field(default_factory=list)

    def prepare(self, sizes: Sequence[int]) -> None:
        """Write inventories and enrol keys; raise ``ToolUnavailable`` if the tool cannot run."""

    def invocation(self, size: int) -> Invocation:
        raise NotImplementedError

    def verify(self, size: int, completed: subprocess.CompletedProcess[str]) -> str | None:
        return None if completed.returncode == 0 else f"exit status {completed.returncode}"

    def before_run(self, size: int) -> dict[str, Any]:
        """Facts about the state right before a run, recorded with its sample."""
        return {}

    def version_invocation(self) -> Invocation | None:
        """``TOOL --version`` for the start-up benchmark (None: not part of it)."""
        return None

    def cleanup(self) -> None:
        """Stop anything the tool left running (e.g. ssh ControlPersist masters)."""

    def env(self) -> dict[str, str]:
        return self.context.base_env()

    def program(self, name: str) -> str:
        path = self.context.bin_dir / name
        if not path.exists():
            raise ToolUnavailable(f"{path} is not installed")
        return str(path)


class ToolUnavailable(RuntimeError):
    """The tool cannot be measured (not installed, or its setup failed)."""


def _tail(text: str, lines: int = 8) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def failure_text(completed: subprocess.CompletedProcess[str], lines: int = 8) -> str:
    """The end of what a failed run printed (stderr first), for the report."""
    return _tail(completed.stderr, lines) or _tail(completed.stdout, lines) or "(no output)"


def _missing(hosts: Sequence[str], text: str, ok: re.Pattern[str]) -> list[str]:
    succeeded = set(ok.findall(text))
    return [host for host in hosts if host not in succeeded]


class OpenSsh(Tool):
    """``ssh HOST true`` once per host under ``xargs -P SIZE``: the floor."""

    def __init__(self, context: BenchContext, *, kex: str | None) -> None:
        name = "openssh-curve25519" if kex else "openssh-default"
        label = f"OpenSSH (xargs -P, {kex or 'default kex'})"
        super().__init__(name, label, context)
        self.kex = kex

    def prepare(self, sizes: Sequence[int]) -> None:
        ports = {host.port for host in self.context.hosts}
        if len(ports) != 1:
            raise ToolUnavailable(f"the lab hosts listen on several ports {sorted(ports)}")

    def ssh_options(self) -> tuple[str, ...]:
        options = (
            "-o", f"UserKnownHostsFile={self.context.known_hosts}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=no",
        )  # fmt: skip
        if self.kex:
            options += ("-o", f"KexAlgorithms={self.kex}")
        port = self.context.hosts[0].port
        return (*options, "-p", str(port), "-l", self.context.user)

    def invocation(self, size: int) -> Invocation:
        addresses = "".join(f"{host.address}\n" for host in self.context.first(size))
        argv = ("xargs", "-P", str(size), "-I", "{}", "ssh", *self.ssh_options(), "{}", COMMAND)
        return Invocation(argv, self.env(), self.context.root, stdin=addresses)

    def verify(self, size: int, completed: subprocess.CompletedProcess[str]) -> str | None:
        # xargs exits 0 only if every ssh (and so every remote `true`) exited 0
        if completed.returncode != 0:
            return f"xargs exit status {completed.returncode}: {failure_text(completed)}"
        return None


class Pyinfra(Tool):
    """``pyinfra -y --parallel SIZE INVENTORY exec -- true`` (paramiko, gevent)."""

    def __init__(self, context: BenchContext) -> None:
        super().__init__("pyinfra", "pyinfra exec", context)

    def inventory(self, size: int) -> Path:
        return self.context.root / "inventories" / f"pyinfra_{size}.py"

    def prepare(self, sizes: Sequence[int]) -> None:
        self.program("pyinfra")
        for size in sizes:
            data = {
                "ssh_port": 0,
                "ssh_user": self.context.user,
                "ssh_known_hosts_file": str(self.context.known_hosts),
                "ssh_strict_host_key_checking": "yes",
            }
            lines = ["# generated by bench/fanout", "bench = ["]
            for host in self.context.first(size):
                lines.append(f"    ({host.address!r}, {({**data, 'ssh_port': host.port})!r}),")
            lines.append("]")
            path = self.inventory(size)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def invocation(self, size: int) -> Invocation:
        argv = (
            self.program("pyinfra"), "-y", "--parallel", str(size),
            str(self.inventory(size)), "exec", "--", COMMAND,
        )  # fmt: skip
        return Invocation(argv, self.env(), self.context.root)

    def verify(self, size: int, completed: subprocess.CompletedProcess[str]) -> str | None:
        if completed.returncode != 0:
            return f"exit status {completed.returncode}: {failure_text(completed)}"
        text = completed.stdout + completed.stderr
        addresses = [host.address for host in self.context.first(size)]
        missing = _missing(addresses, text, re.compile(r"\[([0-9.]+)\]\s+Success"))
        if missing:
            return f"no success reported for {', '.join(missing)}: {_tail(text)}"
        return None

    def version_invocation(self) -> Invocation:
        return Invocation((self.program("pyinfra"), "--version"), self.env(), self.context.root)


class Ansible(Tool):
    """``ansible bench -i INV -m command -a true -f SIZE`` with Ansible's defaults (ssh plugin,
    ControlPersist=60s, interpreter discovery); only its home, temp and control path dirs
    are moved into the scratch directory."""

    def __init__(self, context: BenchContext) -> None:
        super().__init__("ansible", "ansible ad-hoc (ansible-core defaults)", context)
        self.home = context.root / "ansible"
        self.control_dir = self.home / "cp"

    def inventory(self, size: int) -> Path:
        return self.context.root / "inventories" / f"ansible_{size}.ini"

    def prepare(self, sizes: Sequence[int]) -> None:
        self.program("ansible")
        known_hosts = str(self.context.known_hosts)
        if any(character.isspace() or character in "'\"" for character in known_hosts):
            raise ToolUnavailable(f"known_hosts path {known_hosts!r} needs quoting in an INI inventory")
        for directory in (self.home, self.home / "tmp", self.control_dir):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for size in sizes:
            lines = ["# generated by bench/fanout", "[bench]"]
            lines += [f"{host.address} ansible_port={host.port}" for host in self.context.first(size)]
            lines += [
                "",
                "[bench:vars]",
                f"ansible_user={self.context.user}",
                f"ansible_ssh_common_args='-o UserKnownHostsFile={known_hosts} -o StrictHostKeyChecking=yes'",
            ]
            path = self.inventory(size)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_HOME": str(self.home),
            "ANSIBLE_LOCAL_TEMP": str(self.home / "tmp"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control_dir),
        }

    def invocation(self, size: int) -> Invocation:
        argv = (
            self.program("ansible"), "bench", "-i", str(self.inventory(size)),
            "-m", "command", "-a", COMMAND, "-f", str(size),
        )  # fmt: skip
        return Invocation(argv, self.env(), self.context.root)

    def verify(self, size: int, completed: subprocess.CompletedProcess[str]) -> str | None:
        if completed.returncode != 0:
            return f"exit status {completed.returncode}: {failure_text(completed)}"
        addresses = [host.address for host in self.context.first(size)]
        ok = re.compile(r"^([0-9.]+) \| (?:CHANGED|SUCCESS) \| rc=0", re.MULTILINE)
        missing = _missing(addresses, completed.stdout, ok)
        if missing:
            return f"no rc=0 reported for {', '.join(missing)}: {_tail(completed.stdout)}"
        return None

    def masters(self) -> list[Path]:
        """The ControlPersist masters alive now (their sockets in the control path dir)."""
        return sorted(path for path in self.control_dir.glob("*") if path.is_socket())

    def before_run(self, size: int) -> dict[str, Any]:
        return {"live_control_masters": len(self.masters())}

    def version_invocation(self) -> Invocation:
        return Invocation((self.program("ansible"), "--version"), self.env(), self.context.root)

    def cleanup(self) -> None:
        for socket in self.masters():
            subprocess.run(
                ["ssh", "-o", f"ControlPath={socket}", "-O", "exit", "bench-master"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=10,
                check=False,
            )


class Opsctl(Tool):
    """``opsctl run PATTERN -- true`` over the agent, with keys enrolled by ``hosts trust``."""

    def __init__(self, context: BenchContext, *, name: str = "opsctl",
                 label: str = "opsctl run (agent)") -> None:
        super().__init__(name, label, context)
        self.inventory = context.root / "inventories" / f"{name}.yaml"
        self.state_dir = context.state_dir

    def pattern(self, size: int) -> str:
        total = len(self.context.hosts)
        if size == total:
            return "bench"
        return "bench[0]" if size == 1 else f"bench[0:{size - 1}]"

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "OPSCTL_STATE__DIR": str(self.state_dir),
            "OPSCTL_INVENTORY": str(self.inventory),
            "XDG_CONFIG_HOME": str(self.context.root / "xdg-config"),  # no user opsctl.yaml
        }

    def group_vars(self) -> list[str]:
        # no key file: opsctl authenticates through the agent
        return [f"ansible_user: {self.context.user}"]

    def _run(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.program("opsctl"), *arguments],
            env=self.env(),
            cwd=self.context.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SETUP_TIMEOUT_SECONDS,
            check=False,
        )

    def prepare(self, sizes: Sequence[int]) -> None:
        self.program("opsctl")
        lines = ["# generated by bench/fanout", "all:", "  children:", "    bench:", "      hosts:"]
        for host in self.context.hosts:
            lines.append(f"        {host.name}:")
            lines.append(f"          ansible_host: {host.address}")
            lines.append(f"          ansible_port: {host.port}")
        lines += ["      vars:", *(f"        {line}" for line in self.group_vars())]
        self.inventory.parent.mkdir(parents=True, exist_ok=True)
        self.inventory.write_text("\n".join(lines) + "\n", encoding="utf-8")
        (self.context.root / "xdg-config").mkdir(exist_ok=True)
        trusted = self._run("hosts", "trust", "bench", "--fingerprints-from", str(self.context.fingerprints))
        if trusted.returncode != 0:
            raise ToolUnavailable(f"opsctl hosts trust failed ({trusted.returncode}): {failure_text(trusted)}")
        for size in sizes:  # the subscript patterns must pick exactly the first SIZE hosts
            checked = self._run("run", self.pattern(size), "--json", "--", COMMAND)
            try:
                document = json.loads(checked.stdout)
            except ValueError:
                raise ToolUnavailable(f"opsctl run {self.pattern(size)!r} --json printed no JSON "
                                      f"(exit status {checked.returncode}): {failure_text(checked)}") from None
            names = [str(host.get("host")) for host in document.get("hosts", [])]
            wanted = [host.name for host in self.context.first(size)]
            if sorted(names) != sorted(wanted):
                raise ToolUnavailable(f"opsctl pattern {self.pattern(size)!r} matched {names}, expected {wanted}")

    def invocation(self, size: int) -> Invocation:
        argv = (self.program("opsctl"), "run", self.pattern(size), "--", COMMAND)
        return Invocation(argv, self.env(), self.context.root)

    def verify(self, size: int, completed: subprocess.CompletedProcess[str]) -> str | None:
        if completed.returncode != 0:
            lines = [line.strip() for line in completed.stderr.splitlines() if line.strip()]
            summary = [line for line in lines if re.match(r"^\d+ hosts?: ", line)]
            failures = [line for line in lines if line.startswith(("failed:", "unreachable:"))]
            detail = "; ".join(summary + failures[:2]) or failure_text(completed, lines=4)
            return f"exit status {completed.returncode}: {detail}"
        # the result table names every host that ran; exit status 0 means all were ok
        missing = [host.name for host in self.context.first(size) if host.name not in completed.stdout]
        if missing:
            return f"not in the result table: {', '.join(missing)}: {_tail(completed.stdout)}"
        return None

    def version_invocation(self) -> Invocation | None:
        return Invocation((self.program("opsctl"), "--version"), self.env(), self.context.root)


class OpsctlKeyFile(Opsctl):
    """opsctl with the lab's key file and a ``file:`` passphrase reference instead of the
    agent (no SSH_AUTH_SOCK): a supplementary row, not the like-for-like comparison, kept
    because it isolates opsctl's own cost from how it talks to an agent."""

    def __init__(self, context: BenchContext) -> None:
        super().__init__(context, name="opsctl-keyfile", label="opsctl run (key file, no agent)")
        self.state_dir = context.root / "state-keyfile"

    def group_vars(self) -> list[str]:
        return [
            *super().group_vars(),
            f"ansible_ssh_private_key_file: {self.context.key_path}",
            f"opsctl_ssh_key_passphrase: file:{self.context.passphrase_path}",
        ]

    def env(self) -> dict[str, str]:
        env = super().env()
        for name in self.context.agent_env:
            env.pop(name, None)
        return env

    def version_invocation(self) -> Invocation | None:
        return None  # the same program as opsctl


def all_tools(context: BenchContext) -> list[Tool]:
    """Every contender, the floor first."""
    return [
        OpenSsh(context, kex="curve25519-sha256"),
        OpenSsh(context, kex=None),
        Pyinfra(context),
        Ansible(context),
        Opsctl(context),
        OpsctlKeyFile(context),
    ]


FLOOR = "openssh-curve25519"
