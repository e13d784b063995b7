"""The shell scripts the installer runs on a host (as root), and the parser of what the probe prints.

Pure functions: every path and word is quoted with ``shlex.quote``. The probe is one round
trip: the interpreter and its version, whether systemd is PID 1 (sd_booted(3): ``/run/systemd/
system`` exists), the digest of what is installed and whether the agent runs. The activation
script reads a gzip'd tar on stdin (``version/``, ``agent.conf``, the unit) and puts it in place.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from agents.installer.units import UNIT_DIR, UNIT_NAME, AgentPlacement, agent_argv

MINIMUM_PYTHON = (3, 11)
STOP_WAIT_SECONDS = 15


@dataclass(frozen=True)
class Probe:
    """What a host said: its interpreter (path and version, None when not found), init and agent."""

    python_path: str | None
    python_version: tuple[int, ...] | None
    systemd: bool
    installed: str
    running: bool

    def python_problem(self, wanted: str) -> str | None:
        """Why the host cannot run the agent (one line), or None when its Python will do."""
        minimum = ".".join(map(str, MINIMUM_PYTHON))
        if self.python_path is None:
            return f"needs Python {minimum} or newer; {wanted} was not found"
        if self.python_version is None:
            return f"needs Python {minimum} or newer; {self.python_path} did not say its version"
        if self.python_version[:2] < MINIMUM_PYTHON:
            found = ".".join(map(str, self.python_version))
            return f"needs Python {minimum} or newer; found Python {found} at {self.python_path}"
        return None


def _pid_check(placement: AgentPlacement) -> str:
    """Shell: ``pid`` is set to the running supervisor's pid (its command line names the pid file), else empty."""
    pid_file = shlex.quote(placement.pid_file)
    return (
        f"pid=$(cat {pid_file} 2>/dev/null || true)\n"
        'case "$pid" in (""|*[!0-9]*) pid= ;; esac\n'
        f'if [ -n "$pid" ] && ! tr "\\000" " " < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- {pid_file}; then pid=; fi\n'
    )


def probe_script(placement: AgentPlacement) -> str:
    """The probe: ``key=value`` lines (``python_path``, ``python_version``, ``init``, ``installed``, ``running``)."""
    python = shlex.quote(placement.python)
    version = shlex.quote('import sys; print("%d.%d.%d" % sys.version_info[:3])')
    return (
        f"py=$(command -v {python} 2>/dev/null || true)\n"
        'echo "python_path=$py"\n'
        f'if [ -n "$py" ]; then echo "python_version=$("$py" -c {version} 2>/dev/null)"; fi\n'
        "if [ -d /run/systemd/system ]; then echo init=systemd; else echo init=other; fi\n"
        f'echo "installed=$(cat {shlex.quote(placement.state_path)} 2>/dev/null)"\n'
        "if [ -d /run/systemd/system ]; then\n"
        f"  if systemctl is-active --quiet {UNIT_NAME}; then echo running=yes; else echo running=no; fi\n"
        "else\n"
        + "".join(f"  {line}\n" for line in _pid_check(placement).splitlines())
        + '  if [ -n "$pid" ]; then echo running=yes; else echo running=no; fi\n'
        "fi\n"
    )


def parse_probe(text: str) -> Probe:
    """Pure: the probe's output as a :class:`Probe` (a missing line reads as absent or no)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, equals, value = line.partition("=")
        if equals:
            values[key.strip()] = value.strip()
    version_text = values.get("python_version", "")
    parts = version_text.split(".")
    version = tuple(int(part) for part in parts) if version_text and all(p.isdigit() for p in parts) else None
    return Probe(
        python_path=values.get("python_path") or None,
        python_version=version,
        systemd=values.get("init") == "systemd",
        installed=values.get("installed", ""),
        running=values.get("running") == "yes",
    )


def _stop_supervisor(placement: AgentPlacement) -> str:
    return _pid_check(placement) + (
        'if [ -n "$pid" ]; then\n'
        '  kill -TERM "$pid"\n'
        f"  i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt {STOP_WAIT_SECONDS * 10} ]; do sleep 0.1; i=$((i+1)); done\n"
        "fi\n"
    )


def activate_script(placement: AgentPlacement, *, install_name: str, digest: str, python_path: str,
                    systemd: bool) -> str:
    """Unpack stdin's tar, switch ``current`` to ``install_name``, (re)start the agent, record ``digest``.

    With systemd: the unit goes to /etc/systemd/system, is checked by ``systemd-analyze verify``,
    enabled and restarted. Without: the previous supervisor is stopped and a new one started
    detached (``setsid -f``), its pid in the install directory. Older versions are removed.
    ``set -e``: the first failing command fails the script, and the digest is not written.
    """
    root = shlex.quote(placement.root)
    stage = shlex.quote(f"{placement.root}/.stage")
    version_dir = shlex.quote(f"{placement.root}/{install_name}")
    lines = [
        "set -eu",
        "umask 022",
        f"mkdir -p {root} {root}/run {root}/log {shlex.quote(placement.textfile_dir)}",
        f"rm -rf {stage}",
        f"mkdir {stage}",
        f"tar -xzf - -C {stage} --no-same-owner",
        f"rm -rf {version_dir}",
        f"mv {stage}/version {version_dir}",
        f"mv {stage}/agent.conf {shlex.quote(placement.config_path)}",
        f"ln -sfn {shlex.quote(install_name)} {root}/current.new",
        f"mv -T {root}/current.new {shlex.quote(placement.current)}",
    ]
    if systemd:
        unit = shlex.quote(f"{UNIT_DIR}/{UNIT_NAME}")
        lines += [
            f"install -m 0644 {stage}/{UNIT_NAME} {unit}",
            f"systemd-analyze verify {unit}",
            "systemctl daemon-reload",
            f"systemctl enable --quiet {UNIT_NAME}",
            f"systemctl restart {UNIT_NAME}",
        ]
    else:
        supervisor = (python_path, "-I", f"{placement.current}/supervise.py", "--pid-file", placement.pid_file,
                      "--log", placement.log_path, "--", *agent_argv(placement, python_path))
        log = shlex.quote(placement.log_path)
        lines += [
            *_stop_supervisor(placement).splitlines(),
            f"rm -f {shlex.quote(placement.pid_file)}",
            f"setsid -f {shlex.join(supervisor)} </dev/null >>{log} 2>&1",
            f"i=0; while [ ! -s {shlex.quote(placement.pid_file)} ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done",
            f'echo "supervised: pid $(cat {shlex.quote(placement.pid_file)}), log {placement.log_path}"',
        ]
    lines += [
        f"for old in {root}/*-*; do",
        f'  case "$old" in ({version_dir}) ;; (*) [ -d "$old" ] && [ ! -L "$old" ] && rm -rf "$old" || true ;; esac',
        "done",
        f"rm -rf {stage}",
        f"echo {shlex.quote(digest)} > {shlex.quote(placement.state_path)}",
    ]
    return "\n".join(lines) + "\n"


def log_tail_script(placement: AgentPlacement, *, systemd: bool, lines: int = 5) -> str:
    """The last lines the agent logged: the journal with systemd, else its log file."""
    if systemd:
        return f"journalctl -u {UNIT_NAME} -n {lines} --no-pager -o cat 2>&1 || true\n"
    return f"tail -n {lines} {shlex.quote(placement.log_path)} 2>&1 || true\n"
