"""The validated configuration models (pydantic, ``extra="forbid"``).

:mod:`opsctl.core.config` loads the layers into :class:`Settings`; everything else reads
settings only through these models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from opsctl.core.paths import default_state_dir
from opsctl.core.secrets import SecretRef, secret_ref_validator

SecretField = Annotated[SecretRef, BeforeValidator(secret_ref_validator), PlainSerializer(str)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateSettings(_Model):
    dir: Path | None = None
    url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in dir by default")

    @property
    def directory(self) -> Path:
        return self.dir if self.dir is not None else default_state_dir()

    @property
    def database_url(self) -> str:
        return self.url or f"sqlite:///{self.directory / 'state.db'}"


class SshSettings(_Model):
    known_hosts: Path | None = Field(default=None, description="default: STATE_DIR/known_hosts")
    connect_timeout: float = Field(default=10.0, gt=0)
    command_timeout: float = Field(default=600.0, gt=0)
    user: str | None = None
    port: int = Field(default=22, ge=1, le=65535)
    private_key: Path | None = None
    private_key_passphrase: SecretField | None = None
    use_agent: bool = True
    become_password: SecretField | None = None


class FleetSettings(_Model):
    forks: int = Field(default=50, ge=1, le=1000)


class AuditSettings(_Model):
    path: Path | None = Field(default=None, description="default: STATE_DIR/audit.jsonl")
    operator: str | None = Field(default=None, description="default: the login name")


class LabSettings(_Model):
    prefix: str = Field(default="127.0", pattern=r"^127\.\d{1,3}$", description="first two octets")
    dir: Path | None = Field(default=None, description="default: STATE_DIR/lab")
    ssh_hosts: int = Field(default=5, ge=1, le=50)


class SnmpCredentialSettings(_Model):
    """One credential set a subnet sweep tries: a v2c community, or a v3 USM user (secrets by reference)."""

    version: Literal["2c", "3"] = "2c"
    community: SecretField | None = None
    user: str | None = None
    auth_key: SecretField | None = None
    priv_key: SecretField | None = None
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"
    context: str = ""

    @model_validator(mode="after")
    def _complete(self) -> SnmpCredentialSettings:
        if self.version == "2c" and self.community is None:
            raise ValueError("a v2c credential needs community: (a secret reference)")
        if self.version == "3" and not self.user:
            raise ValueError("a v3 credential needs user:")
        if self.version == "3" and self.priv_key is not None and self.auth_key is None:
            raise ValueError("a v3 credential with priv_key: needs auth_key: too")
        return self


class DiscoverySettings(_Model):
    """How ``opsctl inventory scan --subnet`` sweeps: the SNMP port, patience, and credentials tried in order."""

    snmp: tuple[SnmpCredentialSettings, ...] = ()
    snmp_port: int = Field(default=161, ge=1, le=65535)
    snmp_timeout: float = Field(default=1.0, gt=0, le=60)
    snmp_retries: int = Field(default=1, ge=0, le=5)
    max_addresses: int = Field(default=4096, ge=1, le=1_048_576)


class Settings(_Model):
    inventory: Path | None = None
    state: StateSettings = StateSettings()
    ssh: SshSettings = SshSettings()
    fleet: FleetSettings = FleetSettings()
    audit: AuditSettings = AuditSettings()
    lab: LabSettings = LabSettings()
    discovery: DiscoverySettings = DiscoverySettings()

    @property
    def state_dir(self) -> Path:
        return self.state.directory

    @property
    def known_hosts_path(self) -> Path:
        return self.ssh.known_hosts or self.state_dir / "known_hosts"

    @property
    def audit_path(self) -> Path:
        return self.audit.path or self.state_dir / "audit.jsonl"

    @property
    def lab_dir(self) -> Path:
        return self.lab.dir or self.state_dir / "lab"
