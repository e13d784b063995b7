"""Where the agent goes on a host, and the files written there: its configuration and systemd unit.

Pure functions of an :class:`AgentPlacement`; :mod:`agents.installer.install` sends them.
A host's placement comes from its inventory variables, each with a default:

| variable | default | what |
| --- | --- | --- |
| ``ansible_python_interpreter`` | ``/usr/bin/python3`` | the interpreter (3.11 or newer) |
| ``opsctl_agent_dir`` | ``/opt/opsctl-agent`` | the install root (versions, config, pid, log) |
| ``opsctl_agent_port`` | ``9101`` | the port (``prometheus-file-sd`` reads it too) |
| ``opsctl_agent_bind`` | ``0.0.0.0`` | the address the agent listens on |
| ``opsctl_agent_textfile_dir`` | ``/var/lib/prometheus/node-exporter`` | the ``*.prom`` directory |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from opsctl.core.errors import ConfigError

UNIT_NAME = "opsctl-agent.service"
UNIT_DIR = "/etc/systemd/system"
DEFAULT_PYTHON = "/usr/bin/python3"
DEFAULT_ROOT = "/opt/opsctl-agent"
DEFAULT_PORT = 9101
DEFAULT_BIND = "0.0.0.0"
DEFAULT_TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
# characters a path may hold to go unquoted into a unit file and a shell line
_SAFE_PATH = re.compile(r"/[A-Za-z0-9._/@+-]*\Z")


class AgentHostLike(Protocol):
    """What the installer needs of an inventory host (``inventory.Host`` satisfies it)."""

    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def vars(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class AgentPlacement:
    """One host's agent: where it is installed, what it listens on, which interpreter runs it."""

    host: str
    address: str
    port: int = DEFAULT_PORT
    bind: str = DEFAULT_BIND
    root: str = DEFAULT_ROOT
    textfile_dir: str = DEFAULT_TEXTFILE_DIR
    python: str = DEFAULT_PYTHON

    @property
    def listen(self) -> str:
        return f"{self.bind}:{self.port}"

    @property
    def url(self) -> str:
        """Where the controller scrapes it."""
        address = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{address}:{self.port}/metrics"

    @property
    def config_path(self) -> str:
        return f"{self.root}/agent.conf"

    @property
    def current(self) -> str:
        """The symbolic link to the running version's directory."""
        return f"{self.root}/current"

    @property
    def pid_file(self) -> str:
        """The supervisor's pid (hosts without systemd as PID 1); its command line holds this path."""
        return f"{self.root}/run/supervisor.pid"

    @property
    def log_path(self) -> str:
        return f"{self.root}/log/agent.log"

    @property
    def state_path(self) -> str:
        """The digest of what was last installed completely (written last)."""
        return f"{self.root}/installed.sha256"


def _path(host: str, variable: str, value: Any) -> str:
    text = str(value)
    if not _SAFE_PATH.match(text) or "/../" in f"{text}/":
        raise ConfigError(f"host {host}: {variable} must be an absolute path of letters, digits and ._/@+-, "
                          f"not {text!r}")
    return text.rstrip("/") or "/"


def placement_of(host: AgentHostLike) -> AgentPlacement:
    """The placement ``host``'s variables give; raise :class:`ConfigError` naming the host and variable."""
    variables = host.vars
    port_value = variables.get("opsctl_agent_port", DEFAULT_PORT)
    try:
        port = int(port_value)
    except (TypeError, ValueError):
        port = 0
    if isinstance(port_value, bool) or not 0 < port < 65536:
        raise ConfigError(f"host {host.name}: opsctl_agent_port must be a port 1..65535, not {port_value!r}")
    bind = str(variables.get("opsctl_agent_bind", DEFAULT_BIND))
    if not re.fullmatch(r"[0-9A-Za-z.:\[\]-]+", bind):
        raise ConfigError(f"host {host.name}: opsctl_agent_bind must be an address, not {bind!r}")
    return AgentPlacement(
        host=host.name,
        address=host.address,
        port=port,
        bind=bind,
        root=_path(host.name, "opsctl_agent_dir", variables.get("opsctl_agent_dir", DEFAULT_ROOT)),
        textfile_dir=_path(host.name, "opsctl_agent_textfile_dir",
                           variables.get("opsctl_agent_textfile_dir", DEFAULT_TEXTFILE_DIR)),
        python=str(variables.get("ansible_python_interpreter", DEFAULT_PYTHON)),
    )


def render_config(placement: AgentPlacement) -> str:
    """The agent's ``key = value`` configuration (agents/config.py reads it)."""
    return (
        "# written by `opsctl agent install`; rewritten on every install\n"
        f"listen = {placement.listen}\n"
        f"textfile_dir = {placement.textfile_dir}\n"
    )


def agent_argv(placement: AgentPlacement, python_path: str) -> tuple[str, ...]:
    """The daemon's command line: the host's interpreter, isolated (``-I``), on the current version."""
    return (python_path, "-I", f"{placement.current}/agent.py", "--config", placement.config_path)


def render_unit(placement: AgentPlacement, python_path: str) -> str:
    """The hardened ``opsctl-agent.service``: a dynamic user, the whole file system read-only, no privileges.

    The agent only reads (/proc, /sys, statvfs, its textfile directory) and serves HTTP, so
    nothing is writable; ``-`` makes a textfile directory that does not exist yet no error.
    No ``ProtectClock=``: its filter denies ``adjtimex(2)`` even read-only, which the timex collector uses.
    """
    return "\n".join([
        "# written by `opsctl agent install`; rewritten on every install",
        "[Unit]",
        "Description=opsctl host agent (Prometheus metrics on /metrics)",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(agent_argv(placement, python_path)),
        "Restart=on-failure",
        "RestartSec=5s",
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelTunables=yes",
        "ProtectControlGroups=yes",
        "RestrictNamespaces=yes",
        "RestrictSUIDSGID=yes",
        "RestrictRealtime=yes",
        "LockPersonality=yes",
        "SystemCallArchitectures=native",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        f"ReadOnlyPaths={placement.root}",
        f"ReadOnlyPaths=-{placement.textfile_dir}",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])
