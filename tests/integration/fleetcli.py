"""Running the real ``opsctl`` program against the lab, each test with its own state dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def default_sighup() -> None:
    """In a child before exec: SIGHUP at its default disposition (``nohup`` leaves it ignored)."""
    import signal

    signal.signal(signal.SIGHUP, signal.SIG_DFL)

OPSCTL = str(Path(sys.executable).with_name("opsctl"))


@dataclass
class Cli:
    """An opsctl with its own state directory, pointed at an inventory."""

    state_dir: Path
    inventory: Path
    env: dict[str, str]

    @classmethod
    def create(cls, root: Path, inventory: Path) -> Cli:
        state = root / "state"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("OPSCTL_")},
            "OPSCTL_STATE__DIR": str(state),
            "OPSCTL_INVENTORY": str(inventory),
            "XDG_CONFIG_HOME": str(root / "config"),
            "SSH_AUTH_SOCK": "",
            "COLUMNS": "200",
        }
        return cls(state, inventory, env)

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([OPSCTL, *args], env=self.env, capture_output=True, text=True, timeout=timeout)

    def json(self, *args: str) -> tuple[int, dict[str, Any]]:
        words = list(args)
        at = words.index("--") if "--" in words else len(words)
        done = self(*words[:at], "--json", *words[at:])
        try:
            return done.returncode, json.loads(done.stdout)
        except ValueError:
            raise AssertionError(f"not JSON (exit {done.returncode}): {done.stdout!r} {done.stderr!r}") from None

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """opsctl started as from a terminal: SIGHUP at its default even when the tests run under
        ``nohup`` (opsctl keeps a signal its caller ignores ignored, as it should)."""
        return subprocess.Popen([OPSCTL, *args], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, preexec_fn=default_sighup)
