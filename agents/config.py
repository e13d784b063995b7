"""The agent's configuration: defaults, then a ``key = value`` file, then command-line flags.

Deliberately not pydantic or YAML (DESIGN.md keeps the daemon's import closure small): the
file holds one ``key = value`` per line, ``#`` comments and blank lines; an unknown key, a
line without ``=`` or a bad value is refused with ``ConfigError`` naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from agents.textfile import DEFAULT_TEXTFILE_DIR
from opsctl.core.errors import ConfigError

ALL_COLLECTORS = ("cpu", "loadavg", "meminfo", "filesystem", "diskstats", "netdev", "processes",
                  "timex", "mdadm", "textfile")
DEFAULT_LISTEN = "127.0.0.1:9101"


@dataclass(frozen=True)
class AgentConfig:
    """What the daemon serves and where: ``listen`` is ``HOST:PORT``; roots point at /proc and /."""

    listen: str = DEFAULT_LISTEN
    textfile_dir: str = DEFAULT_TEXTFILE_DIR
    collectors: tuple[str, ...] = ALL_COLLECTORS
    proc_root: str = "/proc"
    root_dir: str = "/"

    @property
    def address(self) -> tuple[str, int]:
        """``listen`` split into host and port (validated when the configuration was built)."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


def check_listen(value: str) -> str | None:
    """Return why ``value`` is not ``HOST:PORT`` with a port 1..65535, or None if it is."""
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return f"{value!r} is not HOST:PORT"
    return None


def check_collectors(value: str) -> tuple[tuple[str, ...], str | None]:
    """Split a comma-separated collector list; return it and why it is wrong (an unknown name), or None."""
    names = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = [name for name in names if name not in ALL_COLLECTORS]
    if unknown:
        return names, f"unknown collector {', '.join(unknown)} (known: {', '.join(ALL_COLLECTORS)})"
    if not names:
        return names, "no collector named"
    return names, None


def parse_config_text(text: str, path: str, base: AgentConfig | None = None) -> AgentConfig:
    """Given the text of a ``key = value`` file, return ``base`` with its settings applied.

    Raise ``ConfigError`` (file:line, the key, what was expected) on the first bad line.
    """
    config = base or AgentConfig()
    keys = ("listen", "textfile_dir", "collectors", "proc_root", "root_dir")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = (part.strip() for part in line.partition("="))
        if not equals:
            raise ConfigError("expected key = value", path=path, line=number)
        if key not in keys:
            raise ConfigError(f"unknown key {key!r} (known: {', '.join(keys)})", path=path, line=number)
        if not value:
            raise ConfigError("empty value", path=path, line=number, key_path=key)
        if key == "listen":
            problem = check_listen(value)
            if problem:
                raise ConfigError(problem, path=path, line=number, key_path=key)
            config = replace(config, listen=value)
        elif key == "collectors":
            names, problem = check_collectors(value)
            if problem:
                raise ConfigError(problem, path=path, line=number, key_path=key)
            config = replace(config, collectors=names)
        elif key == "textfile_dir":
            config = replace(config, textfile_dir=value)
        elif key == "proc_root":
            config = replace(config, proc_root=value)
        else:
            config = replace(config, root_dir=value)
    return config


def load_config_file(path: str | Path, base: AgentConfig | None = None) -> AgentConfig:
    """Read ``path`` and apply it to ``base``; raise ``ConfigError`` if it cannot be read or is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", path=str(path)) from error
    except UnicodeDecodeError as error:
        raise ConfigError("not UTF-8 text", path=str(path)) from error
    return parse_config_text(text, str(path), base)
