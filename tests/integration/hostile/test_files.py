"""Files that are not files, through the real ``opsctl``: a FIFO ``--config``, a process
substitution and a huge inventory end at once with exit 2 and one line naming the file and why."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from fleetcli import OPSCTL, Cli

SECONDS = 30  # opsctl answers in well under a second; a blocked read would never answer


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error line of a run that exited 2 with one error line (and at most a hint line)."""
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines and lines[0].startswith("opsctl: error: "), done.stderr
    assert all(line.startswith("  hint: ") for line in lines[1:]), done.stderr
    return lines[0]


def test_a_fifo_config_exits_2_at_once_instead_of_hanging(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n    web1:\n")
    fifo = tmp_path / "opsctl.yaml"
    os.mkfifo(fifo)
    cli = Cli.create(tmp_path, inventory)
    started = time.monotonic()
    done = cli("--config", str(fifo), "inventory", "export", "ansible-yaml", timeout=SECONDS)
    assert time.monotonic() - started < SECONDS
    assert one_line_error(done) == (
        f"opsctl: error: {fifo}: a FIFO, not a regular file: refused (reading it could block forever)"
    )


def test_a_process_substitution_config_is_refused_deliberately(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all:\n  hosts:\n    web1:\n")
    cli = Cli.create(tmp_path, inventory)
    done = subprocess.run(
        [
            "bash",
            "-c",
            f"{OPSCTL} --config <(echo 'fleet: {{forks: 3}}') inventory export ansible-yaml",
        ],
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=SECONDS,
    )
    line = one_line_error(done)
    assert line.startswith("opsctl: error: /dev/fd/")
    assert (
        "a pipe (a process substitution such as --config <(...)), not a regular file: refused deliberately"
        in line
    )


def test_a_huge_inventory_exits_2_quickly_naming_the_limit(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    host = "    host-{:08d}.example.net:\n      ansible_host: 192.0.2.1\n"
    with inventory.open("w") as handle:
        handle.write("all:\n  hosts:\n")
        handle.writelines(host.format(number) for number in range(300_000))
    assert inventory.stat().st_size > 16 * 1024 * 1024
    cli = Cli.create(tmp_path, inventory)
    started = time.monotonic()
    done = cli("inventory", "export", "ansible-yaml", timeout=SECONDS)
    assert time.monotonic() - started < SECONDS
    assert one_line_error(done) == (
        f"opsctl: error: {inventory}: larger than the limit of 16777216 bytes (files.max_bytes)"
    )
