"""The validated configuration models (pydantic, ``extra="forbid"``).

:mod:`opsctl.core.config` loads the layers into :class:`Settings`; everything else reads
settings only through these models.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

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


class Settings(_Model):
    inventory: Path | None = None
    state: StateSettings = StateSettings()
    ssh: SshSettings = SshSettings()
    fleet: FleetSettings = FleetSettings()
    audit: AuditSettings = AuditSettings()
    lab: LabSettings = LabSettings()

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
