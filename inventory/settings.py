"""The inventory's settings section (``discovery:``), registered by the entry point ``discovery`` in ``opsctl.settings``.

This module imports only pydantic and :mod:`opsctl.core.settings` (with its secret field
type): loading a configuration that has a ``discovery:`` section imports it, never the
inventory's discovery code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from opsctl.core.settings import SecretField, Settings, SettingsModel

SECTION = "discovery"


class SnmpCredentialSettings(SettingsModel):
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


class DiscoverySettings(SettingsModel):
    """How ``opsctl inventory scan --subnet`` sweeps: the SNMP port, patience, and credentials tried in order."""

    snmp: tuple[SnmpCredentialSettings, ...] = ()
    snmp_port: int = Field(default=161, ge=1, le=65535)
    snmp_timeout: float = Field(default=1.0, gt=0, le=60)
    snmp_retries: int = Field(default=1, ge=0, le=5)
    max_addresses: int = Field(default=4096, ge=1, le=1_048_576)


def discovery_settings(settings: Settings) -> DiscoverySettings:
    """Return the ``discovery:`` section of ``settings`` (its defaults when the configuration has none)."""
    return settings.section(SECTION, DiscoverySettings)


__all__ = ["DiscoverySettings", "SnmpCredentialSettings", "discovery_settings"]
