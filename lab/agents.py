"""The opsctl agents on the lab's SSH hosts: where each one goes, and stopping them on ``down``.

The lab's hosts share this machine's file system and have no systemd as PID 1, so
``opsctl agent install`` runs each agent under its supervisor, with its pid and log in its
install directory. The lab gives each host its own directory and port through inventory
variables (the installer's ``opsctl_agent_dir``, ``opsctl_agent_port``, ``opsctl_agent_bind``
and ``opsctl_agent_textfile_dir``): ``LAB/agents/HOST``, ``19100 + N`` on the host's address.
``down`` stops every supervisor whose pid file is there (``ROOT/run/supervisor.pid``, the
installer's layout; the supervisor's command line holds that path, which is how it is told
from a process that reused the pid).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.layout import LabLayout
from lab.process import read_pid, stop_process

AGENT_BASE_PORT = 19100
PID_FILE = Path("run") / "supervisor.pid"


def agents_dir(layout: LabLayout) -> Path:
    """Where the lab's agents are installed, one directory per host."""
    return layout.root / "agents"


def agent_variables(layout: LabLayout, name: str, address: str, number: int) -> dict[str, Any]:
    """The inventory variables that place host ``name`` (lab host ``number``)'s agent."""
    root = agents_dir(layout) / name
    return {
        "opsctl_agent_dir": str(root),
        "opsctl_agent_port": AGENT_BASE_PORT + number,
        "opsctl_agent_bind": address,
        "opsctl_agent_textfile_dir": str(root / "textfile"),
    }


def stop_agents(layout: LabLayout, timeout: float = 15.0) -> list[str]:
    """Stop the supervised agents installed on the lab's hosts; return the hosts whose agent ran."""
    directory = agents_dir(layout)
    if not directory.is_dir():
        return []
    stopped = []
    for host_dir in sorted(path for path in directory.iterdir() if path.is_dir()):
        pid_file = host_dir / PID_FILE
        pid = read_pid(pid_file)
        if pid is not None and stop_process(pid, str(pid_file), timeout=timeout):
            stopped.append(host_dir.name)
        pid_file.unlink(missing_ok=True)
    return stopped
