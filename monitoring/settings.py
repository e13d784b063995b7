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
  poll_interval_seconds: 60         # the SNMP poller's pass
  poll_concurrency: 32              # devices polled at once
  poll_timeout_seconds: 2           # per SNMP request (with poll_retries retries)
  poll_deadline_seconds: 30         # one device's whole poll
  reload_seconds: 60                # monitor serve re-reads the inventory and scanned devices (new agents)
  thresholds:                       # where readings turn warning / critical (see THRESHOLD_DEFAULTS)
    filesystem_used_percent: {warning: 85, critical: 95}
  nut_servers:
    - {name: ups-room1, address: 10.0.5.20, port: 3493, username: monitor,
       password: file:/etc/opsctl/nut.pw, site: main, rack: A1}
```

Probes are a mapping by name, so ``conf.d/`` fragments each add their own (the configuration
layers merge mappings key by key). This module imports only pydantic and :mod:`opsctl.core`:
loading a configuration that has a ``monitoring:`` section never imports the poller or a probe;
a probe's options are checked by the probe itself when it runs (a bad URL is a failed probe
naming it), as the backup targets check theirs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from opsctl.core.settings import SecretField, Settings, SettingsModel

SECTION = "monitoring"
NUT_PORT = 3493
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


class Level(SettingsModel):
    """Where one reading turns ``warning`` and where ``critical``."""

    warning: float
    critical: float


# Every threshold: its default, and whether a lower value is the worse one (a battery's charge,
# the days a certificate has left). Percentages are 0-100 of what the key names.
THRESHOLD_DEFAULTS: dict[str, tuple[Level, bool]] = {
    "filesystem_used_percent": (Level(warning=85, critical=95), False),  # a server's fullest filesystem
    "memory_used_percent": (Level(warning=90, critical=97), False),  # 1 - MemAvailable/MemTotal
    "cpu_busy_percent": (Level(warning=90, critical=98), False),  # all CPUs, between two scrapes
    "ups_charge_percent": (Level(warning=50, critical=20), True),
    "ups_runtime_seconds": (Level(warning=600, critical=300), True),
    "postgres_connections_percent": (Level(warning=80, critical=95), False),  # of max_connections
    "postgres_replication_lag_seconds": (Level(warning=60, critical=300), False),  # a standby's replay
    "postgres_transaction_seconds": (Level(warning=3600, critical=86400), False),  # the oldest open one
    "certificate_days_left": (Level(warning=21, critical=7), True),
    "switch_port_errors": (Level(warning=100_000, critical=10_000_000), False),  # in+out, all ports, since reset
}


class ThresholdSettings(SettingsModel):
    """``monitoring.thresholds``: each key a ``{warning, critical}`` pair (see :data:`THRESHOLD_DEFAULTS`).

    A key may give one of the two; the other keeps its default. Refused: an unknown key, and a
    pair in the wrong order (for a lower-is-worse key, warning must be at or above critical).
    """

    filesystem_used_percent: Level = THRESHOLD_DEFAULTS["filesystem_used_percent"][0]
    memory_used_percent: Level = THRESHOLD_DEFAULTS["memory_used_percent"][0]
    cpu_busy_percent: Level = THRESHOLD_DEFAULTS["cpu_busy_percent"][0]
    ups_charge_percent: Level = THRESHOLD_DEFAULTS["ups_charge_percent"][0]
    ups_runtime_seconds: Level = THRESHOLD_DEFAULTS["ups_runtime_seconds"][0]
    postgres_connections_percent: Level = THRESHOLD_DEFAULTS["postgres_connections_percent"][0]
    postgres_replication_lag_seconds: Level = THRESHOLD_DEFAULTS["postgres_replication_lag_seconds"][0]
    postgres_transaction_seconds: Level = THRESHOLD_DEFAULTS["postgres_transaction_seconds"][0]
    certificate_days_left: Level = THRESHOLD_DEFAULTS["certificate_days_left"][0]
    switch_port_errors: Level = THRESHOLD_DEFAULTS["switch_port_errors"][0]

    @model_validator(mode="before")
    @classmethod
    def _one_of_two(cls, data: object) -> object:
        """A key that gives only ``warning`` or only ``critical`` keeps the default of the other."""
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for key, value in data.items():
            if key in THRESHOLD_DEFAULTS and isinstance(value, dict):
                merged[key] = {**THRESHOLD_DEFAULTS[key][0].model_dump(), **value}
        return merged

    @model_validator(mode="after")
    def _ordered(self) -> ThresholdSettings:
        for key, (_, lower_is_worse) in THRESHOLD_DEFAULTS.items():
            level: Level = getattr(self, key)
            if lower_is_worse and level.warning < level.critical:
                raise ValueError(f"{key}: warning ({level.warning:g}) must be at or above critical "
                                 f"({level.critical:g}): lower is worse")
            if not lower_is_worse and level.warning > level.critical:
                raise ValueError(f"{key}: warning ({level.warning:g}) must be at or below critical "
                                 f"({level.critical:g})")
        return self


class MonitoringSettings(SettingsModel):
    """The ``monitoring:`` section: the daemon's address, where health finds it, the probes and their
    defaults; the SNMP poller's pace and bounds, and the NUT servers to read."""

    listen: str = Field(default=DEFAULT_LISTEN, pattern=r"^\S+:\d{1,5}$")
    endpoint: str | None = Field(default=None, pattern=r"^https?://\S+$")
    probe_interval_seconds: float = Field(default=30.0, gt=0)
    probe_timeout_seconds: float = Field(default=10.0, gt=0)
    agents: bool = True
    probes: dict[str, ProbeSettings] = Field(default_factory=dict)
    poll_interval_seconds: float = Field(default=60.0, ge=1, le=86400)
    poll_concurrency: int = Field(default=32, ge=1, le=1024)
    poll_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    poll_retries: int = Field(default=1, ge=0, le=5)
    poll_deadline_seconds: float = Field(default=30.0, gt=0, le=3600)
    nut_interval_seconds: float = Field(default=30.0, ge=1, le=86400)
    nut_servers: tuple[NutServerSettings, ...] = ()
    thresholds: ThresholdSettings = Field(default_factory=ThresholdSettings)
    reload_seconds: float = Field(default=60.0, ge=1, le=86400, description=(
        "monitor serve reads the inventory and the scanned devices again this often (new agents, new devices)"))

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


__all__ = ["THRESHOLD_DEFAULTS", "Level", "MonitoringSettings", "NutServerSettings", "ProbeSettings",
           "ThresholdSettings", "monitoring_settings"]
