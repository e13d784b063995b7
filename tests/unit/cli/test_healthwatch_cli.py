"""``opsctl health --watch`` redraws a terminal and nothing else: with ``--json`` or ``--nagios``, or with
its output going to a pipe, it is refused with exit 2 before anything is read, and says why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

OPSCTL = str(Path(sys.executable).with_name("opsctl"))


@pytest.mark.parametrize(("extra", "message"), [
    ((), "opsctl: error: --watch redraws a terminal, and the output is not one"),
    (("--json",), "opsctl: error: --watch redraws a terminal and does not go with --json"),
    (("--nagios",), "opsctl: error: --watch redraws a terminal and does not go with --nagios"),
])
def test_watch_is_refused_where_it_cannot_redraw(tmp_path: Path, extra: tuple[str, ...], message: str) -> None:
    config = tmp_path / "opsctl.yaml"
    # an endpoint nothing listens on: a refusal must come before any attempt to read it
    config.write_text("monitoring:\n  endpoint: http://127.0.0.1:9/\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("OPSCTL_")}
    env["OPSCTL_STATE__DIR"] = str(tmp_path / "state")

    done = subprocess.run([OPSCTL, "-c", str(config), "health", "--watch", *extra], env=env,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines()[0] == message
