"""Where opsctl keeps its files: system paths as root, XDG paths for a user."""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_CONFIG_FILE = Path("/etc/opsctl/opsctl.yaml")
SYSTEM_STATE_DIR = Path("/var/lib/opsctl")


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    return Path(value) if value else Path.home() / fallback


def user_config_file() -> Path:
    """``$XDG_CONFIG_HOME/opsctl/opsctl.yaml``."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "opsctl" / "opsctl.yaml"


def default_state_dir() -> Path:
    """``/var/lib/opsctl`` for root (a system install), else ``$XDG_STATE_HOME/opsctl``."""
    if os.geteuid() == 0:
        return SYSTEM_STATE_DIR
    return _xdg("XDG_STATE_HOME", ".local/state") / "opsctl"
