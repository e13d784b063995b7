"""A private ssh-agent for a benchmark: every tool authenticates through it, with no key file.

The agent runs in the foreground (``ssh-agent -D``) as our own child, so stopping it is
stopping one process we started. The key's passphrase reaches ``ssh-add`` through an
``SSH_ASKPASS`` script that reads the passphrase file; it is never printed or put in argv.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from pathlib import Path

START_SECONDS = 10.0


class AgentError(RuntimeError):
    """The agent did not start, or refused the key."""


class SshAgent:
    """``ssh-agent -D -a SOCKET`` in ``directory``; ``add`` loads one key, ``stop`` ends it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "agent.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def env(self) -> dict[str, str]:
        """The one variable every tool gets: where the agent listens."""
        return {"SSH_AUTH_SOCK": str(self.socket)}

    def start(self) -> None:
        program = shutil.which("ssh-agent")
        if program is None:
            raise AgentError("ssh-agent is not installed (Debian package openssh-client)")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [program, "-D", "-a", str(self.socket)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_SECONDS
        while not self.socket.exists():
            if self._process.poll() is not None:
                error = self._process.stderr.read().decode() if self._process.stderr else ""
                raise AgentError(f"ssh-agent exited with {self._process.returncode}: {error.strip()}")
            if time.monotonic() > deadline:
                raise AgentError(f"ssh-agent did not create {self.socket} in {START_SECONDS:g} s")
            time.sleep(0.02)

    def add(self, key_path: Path, passphrase_path: Path) -> str:
        """Add the key (passphrase through SSH_ASKPASS); return the agent's listing of it."""
        askpass = self.directory / "askpass"
        askpass.write_text(f"#!/bin/sh\nexec cat {shlex.quote(str(passphrase_path))}\n", encoding="utf-8")
        askpass.chmod(0o700)
        env = {
            **os.environ,
            **self.env(),
            "SSH_ASKPASS": str(askpass),
            "SSH_ASKPASS_REQUIRE": "force",
            "DISPLAY": os.environ.get("DISPLAY", ":0"),
        }
        added = subprocess.run(
            ["ssh-add", str(key_path)],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if added.returncode != 0:
            raise AgentError(f"ssh-add {key_path} failed ({added.returncode}): {added.stderr.strip()}")
        listed = subprocess.run(
            ["ssh-add", "-l"], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        if listed.returncode != 0 or not listed.stdout.strip():
            raise AgentError(f"the agent holds no key after ssh-add: {listed.stderr.strip()}")
        return listed.stdout.strip()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()
        self.socket.unlink(missing_ok=True)
