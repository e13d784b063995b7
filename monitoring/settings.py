"""The monitoring settings section (``monitoring:``), registered by the entry point ``monitoring`` in ``opsctl.settings``.

```yaml
monitoring:
  poll_interval_seconds: 60       # the SNMP poller's pass
  poll_concurrency: 32            # devices polled at once
  poll_timeout_seconds: 2         # per SNMP request (with poll_retries retries)
  poll_deadline_seconds: 30       # one device's whole poll
  nut_servers:
    - {name: ups-room1, address: 10.0.5.20, port: 3493, username: monitor,
       password: file:/etc/opsctl/nut.pw, site: main, rack: A1}
```

This module imports only pydantic and :mod:`opsctl.core.settings`: loading a configuration
that has a ``monitoring:`` section never imports the poller.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from opsctl.core.settings import SecretField, Settings, SettingsModel

SECTION = "monitoring"
NUT_PORT = 3493


class NutServerSettings(SettingsModel):
    """One NUT ``upsd`` to read: where it listens, the login (password by reference), and its place."""

    name: str = Field(default="", description="the server's name in labels and messages (default: address:port)")
    address: str
    port: int = Field(default=NUT_PORT, ge=1, le=65535)
    username: str | None = None
    password: SecretField | None = None
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    site: str = ""
    rack: str = ""

    @model_validator(mode="after")
    def _login_complete(self) -> NutServerSettings:
        if (self.username is None) != (self.password is None):
            raise ValueError("username: and password: go together (the password as a secret reference)")
        return self

    @property
    def label(self) -> str:
        """The server's name: ``name`` or ``address:port``."""
        return self.name or f"{self.address}:{self.port}"


class MonitoringSettings(SettingsModel):
    """The ``monitoring:`` section: the SNMP poller's pace and bounds, and the NUT servers to read."""

    poll_interval_seconds: float = Field(default=60.0, ge=1, le=86400)
    poll_concurrency: int = Field(default=32, ge=1, le=1024)
    poll_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    poll_retries: int = Field(default=1, ge=0, le=5)
    poll_deadline_seconds: float = Field(default=30.0, gt=0, le=3600)
    nut_interval_seconds: float = Field(default=30.0, ge=1, le=86400)
    nut_servers: tuple[NutServerSettings, ...] = ()


def monitoring_settings(settings: Settings) -> MonitoringSettings:
    """The ``monitoring:`` section of ``settings`` (its defaults when the configuration has none)."""
    return settings.section(SECTION, MonitoringSettings)


__all__ = ["MonitoringSettings", "NutServerSettings", "monitoring_settings"]
