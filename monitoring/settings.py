"""The monitoring settings section (``monitoring:``), registered by the entry point ``monitoring`` in ``opsctl.settings``.

```yaml
monitoring:
  listen: 127.0.0.1:9102            # opsctl monitor serve: /metrics and /readings
  endpoint: http://127.0.0.1:9102   # opsctl health reads the running daemon here (unset: collects once)
  probe_interval_seconds: 30
  probe_timeout_seconds: 10
  agents: true                      # probe every inventory host with opsctl_agent: true
  probes:                           # usually one conf.d/ fragment per service
    his-db: {type: postgres, address: 10.0.0.5, port: 5432, database: his, user: monitor,
             password: file:/etc/opsctl/secrets/monitor-db}
    pacs: {type: orthanc, url: http://10.0.0.7:8042, username: monitor, password: env:PACS_PW,
           dicom_port: 4242, dicom_aet: PACS}
    portal: {type: http, url: https://portal.example.org/, ca_file: /etc/opsctl/hospital-ca.pem}
```

Probes are a mapping by name, so ``conf.d/`` fragments each add their own (the configuration
layers merge mappings key by key). This module imports only pydantic and :mod:`opsctl.core`;
a probe's options are checked by the probe itself when it runs (a bad URL is a failed probe
naming it), as the backup targets check theirs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from opsctl.core.settings import SecretField, Settings, SettingsModel

SECTION = "monitoring"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$"
DEFAULT_LISTEN = "127.0.0.1:9102"
PROBE_TYPES = ("postgres", "orthanc", "http", "agent")


class ProbeSettings(SettingsModel):
    """One configured probe: its type, where it connects, its own interval and timeout, secrets by reference.

    ``host`` is the inventory host the service runs on (shown beside it by ``opsctl health``).
    Which keys a type reads: ``postgres``: address, port, database, user, password, sslmode;
    ``orthanc``: url, username, password, dicom_host (default: the URL's host), dicom_port,
    dicom_aet, calling_aet; ``http``: url, ca_file, expect_status; ``agent``: url (its
    ``/metrics``) or address and port.
    """

    type: Literal["postgres", "orthanc", "http", "agent"]
    host: str | None = None
    interval_seconds: float | None = Field(default=None, gt=0)
    timeout_seconds: float | None = Field(default=None, gt=0)
    address: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    url: str | None = None
    database: str | None = None
    user: str | None = None
    username: str | None = None
    password: SecretField | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = None
    dicom_host: str | None = None
    dicom_port: int | None = Field(default=None, ge=1, le=65535)
    dicom_aet: str | None = Field(default=None, max_length=16)
    calling_aet: str | None = Field(default=None, max_length=16)
    ca_file: str | None = None
    expect_status: int | None = Field(default=None, ge=100, le=599)

    @model_validator(mode="after")
    def _where(self) -> ProbeSettings:
        if self.type == "postgres" and not self.address:
            raise ValueError("a postgres probe needs address")
        if self.type in ("orthanc", "http") and not self.url:
            raise ValueError(f"an {self.type} probe needs url")
        if self.type == "agent" and not (self.url or self.address):
            raise ValueError("an agent probe needs url or address")
        if self.type == "http" and self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        return self

    def options(self) -> dict[str, str]:
        """The probe's options as :class:`monitoring.probes.ProbeTarget` takes them: strings, the password as its reference."""
        skip = {"type", "host", "interval_seconds", "timeout_seconds", "address", "port"}
        return {key: str(value) for key, value in self.model_dump(mode="json").items()
                if key not in skip and value is not None}


class MonitoringSettings(SettingsModel):
    """The ``monitoring:`` section: the daemon's address, where health finds it, the probes and their defaults."""

    listen: str = Field(default=DEFAULT_LISTEN, pattern=r"^\S+:\d{1,5}$")
    endpoint: str | None = Field(default=None, pattern=r"^https?://\S+$")
    probe_interval_seconds: float = Field(default=30.0, gt=0)
    probe_timeout_seconds: float = Field(default=10.0, gt=0)
    agents: bool = True
    probes: dict[str, ProbeSettings] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names(self) -> MonitoringSettings:
        import re

        for name in self.probes:
            if re.match(NAME_PATTERN, name) is None:
                raise ValueError(f"probe name {name!r}: letters, digits and _.:- only, at most 63")
        return self


def monitoring_settings(settings: Settings) -> MonitoringSettings:
    """The ``monitoring:`` section of ``settings`` (its defaults when absent)."""
    return settings.section(SECTION, MonitoringSettings)
