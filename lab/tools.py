"""Find the external programs the lab runs, with a hint naming the Debian package."""

from __future__ import annotations

import os
import shutil

from lab.errors import LabError

_SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def find_program(name: str, *, package: str) -> str:
    """Return the absolute path of ``name`` (searching sbin too); raise ``LabError`` if absent."""
    search = os.pathsep.join(part for part in (os.environ.get("PATH", ""), _SYSTEM_PATH) if part)
    found = shutil.which(name, path=search)
    if found is None:
        raise LabError(f"{name} is not installed", hint=f"install the Debian package {package}")
    return os.path.abspath(found)
