"""The lab's settings section (``lab:``), registered by the entry point ``lab`` in ``opsctl.settings``.

This module imports only pydantic and :mod:`opsctl.core.settings`: loading a configuration
that has a ``lab:`` section imports it, never the rest of the lab.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from opsctl.core.settings import Settings, SettingsModel

SECTION = "lab"


class LabSettings(SettingsModel):
    """Where the lab lives and what it runs: its address prefix, directory, number of SSH hosts
    the size of its hospital database, and whether it runs the S3 store (SeaweedFS)."""

    prefix: str = Field(default="127.0", pattern=r"^127\.\d{1,3}$", description="first two octets")
    dir: Path | None = Field(default=None, description="default: STATE_DIR/lab")
    ssh_hosts: int = Field(default=5, ge=1, le=50)
    hospital_db_megabytes: int = Field(
        default=20, ge=0, le=65536,
        description="size of the hospital database in the lab's PostgreSQL (0: none)",
    )  # fmt: skip
    object_store: bool = Field(default=True, description="run the S3 store (SeaweedFS)")


def lab_settings(settings: Settings) -> LabSettings:
    """Return the ``lab:`` section of ``settings`` (its defaults when the configuration has none)."""
    return settings.section(SECTION, LabSettings)


def lab_dir(settings: Settings) -> Path:
    """Return the lab's directory: ``lab.dir``, or ``lab`` in the state directory."""
    return lab_settings(settings).dir or settings.state_dir / "lab"


__all__ = ["LabSettings", "lab_dir", "lab_settings"]
