"""Switch CLIs through netmiko (strict host keys), parsed with ntc-templates; netmiko loads on first use."""

from __future__ import annotations

from inventory.netcli.device import (
    SwitchFacts,
    SwitchTarget,
    connect_switch,
    facts_from_outputs,
    gather_switch,
    netmiko_parameters,
    switch_target_from_host,
)
from inventory.netcli.parse import (
    CliParseError,
    DeviceIdentity,
    HardwareModule,
    SwitchInterface,
    identity_from,
    interfaces_from,
    modules_from,
    records,
)
from inventory.netcli.platforms import PLATFORMS, Platform, platform_for

__all__ = [
    "PLATFORMS",
    "CliParseError",
    "DeviceIdentity",
    "HardwareModule",
    "Platform",
    "SwitchFacts",
    "SwitchInterface",
    "SwitchTarget",
    "connect_switch",
    "facts_from_outputs",
    "gather_switch",
    "identity_from",
    "interfaces_from",
    "modules_from",
    "netmiko_parameters",
    "platform_for",
    "records",
    "switch_target_from_host",
]
