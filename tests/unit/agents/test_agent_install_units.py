"""The agent's placement from inventory variables, its configuration and its hardened systemd unit
(checked by the real ``systemd-analyze verify``, which works without systemd as PID 1)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import pytest

from agents.config import parse_config_text
from agents.installer.units import AgentPlacement, placement_of, render_config, render_unit
from opsctl.core.errors import ConfigError


def _host(**variables: Any) -> Any:
    return SimpleNamespace(name="db-1", address="192.0.2.7", vars=MappingProxyType(variables))


def test_agent_install_placement_defaults_and_the_lab_variables() -> None:
    assert placement_of(_host()) == AgentPlacement("db-1", "192.0.2.7")
    lab = placement_of(_host(opsctl_agent_dir="/srv/lab/agents/lab-ssh-01", opsctl_agent_port=19101,
                             opsctl_agent_bind="127.35.10.1", ansible_python_interpreter="/usr/bin/python3.11"))
    assert (lab.listen, lab.url, lab.pid_file) == ("127.35.10.1:19101", "http://192.0.2.7:19101/metrics",
                                                   "/srv/lab/agents/lab-ssh-01/run/supervisor.pid")
    assert lab.python == "/usr/bin/python3.11"


@pytest.mark.parametrize(("variables", "message"), [
    ({"opsctl_agent_port": "http"}, "host db-1: opsctl_agent_port must be a port 1..65535, not 'http'"),
    ({"opsctl_agent_port": 70000}, "host db-1: opsctl_agent_port must be a port"),
    ({"opsctl_agent_dir": "opt/agent"}, "host db-1: opsctl_agent_dir must be an absolute path"),
    ({"opsctl_agent_dir": "/opt/agent; rm -rf /"}, "host db-1: opsctl_agent_dir must be an absolute path"),
    ({"opsctl_agent_textfile_dir": "/var/../etc"}, "host db-1: opsctl_agent_textfile_dir must be"),
    ({"opsctl_agent_bind": "0.0.0.0 --x"}, "host db-1: opsctl_agent_bind must be an address"),
])
def test_agent_install_refuses_a_bad_variable_naming_host_and_variable(variables: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        placement_of(_host(**variables))


def test_agent_install_config_is_what_the_daemon_reads() -> None:
    placement = AgentPlacement("db-1", "192.0.2.7", port=19101, bind="127.35.10.1", textfile_dir="/srv/tf")

    config = parse_config_text(render_config(placement), "agent.conf")

    assert (config.listen, config.textfile_dir) == ("127.35.10.1:19101", "/srv/tf")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_agent_install_unit_is_hardened_and_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    unit = render_unit(AgentPlacement("db-1", "192.0.2.7"), "/usr/bin/python3")
    path = tmp_path / "opsctl-agent.service"
    path.write_text(unit, encoding="utf-8")

    done = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True,
                          timeout=60)

    complaints = [line for line in (done.stdout + done.stderr).splitlines() if "opsctl-agent" in line]
    assert done.returncode == 0 and complaints == [], done.stdout + done.stderr
    for line in ("DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                 "CapabilityBoundingSet=", "ReadOnlyPaths=-/var/lib/prometheus/node-exporter",
                 "ExecStart=/usr/bin/python3 -I /opt/opsctl-agent/current/agent.py --config "
                 "/opt/opsctl-agent/agent.conf"):
        assert line in unit.splitlines()
