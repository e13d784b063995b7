"""The installer's probe: run for real on this machine (/bin/sh; no systemd as PID 1 here), and
parsed from probe outputs written for hosts this machine is not (a Debian 11 host's Python 3.9, a
systemd host with the agent installed: tests/fixtures/agent_install/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agents.installer.install import desired_digest
from agents.installer.remote import parse_probe, probe_script
from agents.installer.units import AgentPlacement

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agent_install"


def _probe_here(placement: AgentPlacement) -> str:
    return subprocess.run(["/bin/sh", "-c", probe_script(placement)], capture_output=True, text=True,
                          check=True, timeout=30).stdout


def test_agent_install_probe_on_this_machine_finds_python_and_no_systemd(tmp_path: Path) -> None:
    probe = parse_probe(_probe_here(AgentPlacement("here", "127.0.0.1", root=str(tmp_path), python="python3")))

    assert probe.python_path is not None and Path(probe.python_path).name.startswith("python3")
    assert probe.python_version is not None and probe.python_version[:2] >= (3, 11)
    assert probe.python_problem("python3") is None
    assert (probe.systemd, probe.installed, probe.running) == (Path("/run/systemd/system").is_dir(), "", False)


def test_agent_install_probe_of_a_missing_interpreter_names_it(tmp_path: Path) -> None:
    probe = parse_probe(_probe_here(AgentPlacement("here", "127.0.0.1", root=str(tmp_path),
                                                   python="/nonexistent/python3")))

    assert probe.python_problem("/nonexistent/python3") == \
        "needs Python 3.11 or newer; /nonexistent/python3 was not found"


def test_agent_install_probe_of_an_old_python_says_what_it_found() -> None:
    probe = parse_probe((FIXTURES / "probe-systemd-python39.txt").read_text())

    assert probe.python_problem("python3") == "needs Python 3.11 or newer; found Python 3.9.2 at /usr/bin/python3"


def test_agent_install_probe_reads_a_running_systemd_install() -> None:
    probe = parse_probe((FIXTURES / "probe-systemd-installed.txt").read_text())

    assert (probe.systemd, probe.running, probe.python_version) == (True, True, (3, 11, 2))
    assert probe.installed.startswith("5d1c1e0b")


def test_agent_install_probe_finds_a_running_supervisor_by_its_pid_file(tmp_path: Path) -> None:
    placement = AgentPlacement("here", "127.0.0.1", root=str(tmp_path))
    (tmp_path / "run").mkdir()
    # a process whose command line names the pid file, as the supervisor's does
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", placement.pid_file])
    try:
        (tmp_path / "run" / "supervisor.pid").write_text(f"{holder.pid}\n")
        assert parse_probe(_probe_here(placement)).running
        (tmp_path / "run" / "supervisor.pid").write_text(f"{__import__('os').getpid()}\n")  # a pid not ours
        assert not parse_probe(_probe_here(placement)).running
    finally:
        holder.kill()
        holder.wait()


def test_agent_install_digest_changes_with_what_the_host_gets() -> None:
    from agents.installer.bundle import Bundle, BundleFile

    bundle = Bundle("0.1.0", (BundleFile("agent.py", b"print()"),))
    first = desired_digest(bundle, "listen = 0.0.0.0:9101\n", None, "/usr/bin/python3")

    assert first == desired_digest(bundle, "listen = 0.0.0.0:9101\n", None, "/usr/bin/python3")
    assert first != desired_digest(bundle, "listen = 0.0.0.0:9102\n", None, "/usr/bin/python3")
    assert first != desired_digest(bundle, "listen = 0.0.0.0:9101\n", "[Unit]\n", "/usr/bin/python3")
    assert first != desired_digest(Bundle("0.1.0", (BundleFile("agent.py", b"print(1)"),)),
                                   "listen = 0.0.0.0:9101\n", None, "/usr/bin/python3")
