"""The switch platforms opsctl reads over their CLI: which commands, and ntc-templates' name for each."""

from __future__ import annotations

from dataclasses import dataclass

from opsctl.core.errors import ConfigError


@dataclass(frozen=True)
class Platform:
    """A netmiko device type, the ntc-templates platform that parses it, and the three commands.

    ``version_command`` gives identity (hostname, model, serial, OS version, uptime);
    ``inventory_command`` hardware modules; ``interfaces_command`` the interface listing.
    None means the platform has no such command with a template.
    """

    device_type: str
    ntc_platform: str
    version_command: str
    inventory_command: str | None
    interfaces_command: str | None


_CISCO_IOS = Platform("cisco_ios", "cisco_ios", "show version", "show inventory", "show interfaces status")
_CISCO_NXOS = Platform("cisco_nxos", "cisco_nxos", "show version", "show inventory", "show interface status")
# ProCurve / ArubaOS-Switch: "show system" carries name, serial, software version and uptime
_PROCURVE = Platform("hp_procurve", "hp_procurve", "show system", None, "show interfaces brief")
_ARUBA_OS = Platform("aruba_os", "aruba_os", "show version", "show inventory", None)
_ARUBA_AOSCX = Platform("aruba_aoscx", "aruba_aoscx", "show system", "show module", "show interface")
_HUAWEI = Platform("huawei", "huawei_vrp", "display version", "display device", "display interface brief")
_JUNOS = Platform("juniper_junos", "juniper_junos", "show version", "show chassis hardware", "show interfaces")

PLATFORMS: dict[str, Platform] = {
    "cisco_ios": _CISCO_IOS,
    "cisco_nxos": _CISCO_NXOS,
    "hp_procurve": _PROCURVE,
    "aruba_procurve": _PROCURVE,
    "aruba_osswitch": _PROCURVE,
    "aruba_os": _ARUBA_OS,
    "aruba_aoscx": _ARUBA_AOSCX,
    "huawei": _HUAWEI,
    "huawei_vrp": _HUAWEI,
    "huawei_vrpv8": _HUAWEI,
    "juniper_junos": _JUNOS,
}

# Ansible's ansible_network_os spellings (short and collection names) for the same platforms
_ALIASES = {
    "ios": "cisco_ios",
    "cisco.ios.ios": "cisco_ios",
    "nxos": "cisco_nxos",
    "cisco.nxos.nxos": "cisco_nxos",
    "junos": "juniper_junos",
    "junipernetworks.junos.junos": "juniper_junos",
    "arubanetworks.aoscx.aoscx": "aruba_aoscx",
    "aoscx": "aruba_aoscx",
    "community.network.ce": "huawei",
    "ce": "huawei",
    "vrp": "huawei",
    "procurve": "hp_procurve",
}


def platform_for(network_os: str) -> Platform:
    """The platform for a netmiko device type or an Ansible ``ansible_network_os``; ConfigError if unknown."""
    key = network_os.strip().lower()
    platform = PLATFORMS.get(_ALIASES.get(key, key))
    if platform is None:
        raise ConfigError(f"unsupported network OS {network_os!r}",
                          hint="one of: " + ", ".join(sorted(PLATFORMS)))
    return platform
