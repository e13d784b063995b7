"""Remote output is data, never terminal control (issue 8, item 2), and a refused switch key
shows its fingerprint (item 10), through the real ``opsctl`` against the lab."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fleetcli import OPSCTL, Cli

pytestmark = pytest.mark.integration

TITLE_AND_CLEAR = r"printf '\033]0;PWNED\007\033[2J'"
NOT_UTF8 = r"printf '\377\376'; printf '\377' >&2"


@pytest.fixture
def trusted(lab: Any, tmp_path: Path) -> Cli:
    cli = Cli.create(tmp_path, lab.publication.inventory_path)
    done = cli("hosts", "trust", "lab-ssh-01", "--fingerprints-from", str(lab.publication.fingerprints_path))
    assert done.returncode == 0, done.stderr
    return cli


def _raw(cli: Cli, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run opsctl and keep its output as bytes, exactly what would reach the terminal."""
    return subprocess.run([OPSCTL, *args], env=cli.env, capture_output=True, timeout=120)


def test_a_title_and_clear_screen_are_shown_not_obeyed(trusted: Cli) -> None:
    done = _raw(trusted, "run", "lab-ssh-01", "--", TITLE_AND_CLEAR)
    assert done.returncode == 0, done.stderr
    for stream in (done.stdout, done.stderr):
        assert b"\x1b" not in stream and b"\x07" not in stream
    assert b"\\x1b]0;PWNED\\x07\\x1b[2J" in done.stdout


def test_a_failing_host_cannot_hide_its_failure_line(trusted: Cli) -> None:
    done = _raw(trusted, "run", "lab-ssh-01", "--", TITLE_AND_CLEAR + " >&2; exit 3")
    assert done.returncode == 1
    assert b"\x1b" not in done.stdout + done.stderr
    assert b"\\x1b]0;PWNED" in done.stdout
    assert b"lab-ssh-01" in done.stderr and b"exit status 3" in done.stderr


def test_json_keeps_text_and_adds_the_exact_bytes_when_not_utf8(trusted: Cli, tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    code, document = trusted.json("run", "lab-ssh-01", "--output-dir", str(outdir), "--", NOT_UTF8)
    assert code == 0
    (host,) = document["hosts"]
    assert base64.b64decode(host["stdout_base64"]) == b"\xff\xfe"
    assert base64.b64decode(host["stderr_base64"]) == b"\xff"
    assert host["stdout"] == "\ufffd\ufffd"  # text stays text, as before
    assert (outdir / "lab-ssh-01.stdout").read_bytes() == b"\xff\xfe"
    assert (outdir / "lab-ssh-01.stderr").read_bytes() == b"\xff"
    run_json = json.loads((outdir / "run.json").read_text())
    assert base64.b64decode(run_json["hosts"][0]["stdout_base64"]) == b"\xff\xfe"


def test_utf8_output_has_no_base64_and_the_output_dir_holds_the_control_bytes(trusted: Cli, tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    code, document = trusted.json("run", "lab-ssh-01", "--output-dir", str(outdir), "--",
                                  TITLE_AND_CLEAR + "; printf 'café ✓\\n'")
    assert code == 0
    (host,) = document["hosts"]
    assert "stdout_base64" not in host and "stderr_base64" not in host
    assert host["stdout"] == "\x1b]0;PWNED\x07\x1b[2Jcafé ✓\n"  # JSON escapes it: a script gets the data
    assert (outdir / "lab-ssh-01.stdout").read_bytes() == "\x1b]0;PWNED\x07\x1b[2Jcafé ✓\n".encode()


def test_a_refused_switch_key_shows_the_offered_fingerprint(lab: Any, tmp_path: Path) -> None:
    devices = {d["name"]: d for d in json.loads((lab.lab_dir / "devices.json").read_text())["devices"]}
    switch = next(name for name, device in devices.items() if device["kind"] == "fake-switch")
    cli = Cli.create(tmp_path, lab.publication.inventory_path)  # nothing trusted
    done = cli("inventory", "scan", switch, "--devices", str(lab.lab_dir / "devices.yaml"))
    assert done.returncode != 0
    assert "unknown host key" in done.stderr
    assert any(fp in done.stderr for fp in devices[switch]["ssh_fingerprints"]), done.stderr
