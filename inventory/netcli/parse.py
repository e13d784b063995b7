"""Pure parsers of switch CLI output: ntc-templates (TextFSM) records, then typed values per platform.

``records`` turns raw output into ntc-templates' records; ``identity_from``, ``modules_from`` and
``interfaces_from`` turn records into frozen dataclasses. Each raises :class:`CliParseError`
on output it cannot read; nothing here touches the network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from inventory.netcli.platforms import Platform
from opsctl.core.errors import OpsctlError

Record = Mapping[str, Any]


class CliParseError(OpsctlError, ValueError):
    """Device output that its template cannot read, or that holds none of the expected fields."""


@dataclass(frozen=True)
class DeviceIdentity:
    """What a switch says about itself; a field it does not report is None (serials empty)."""

    hostname: str | None = None
    model: str | None = None
    serials: tuple[str, ...] = ()
    os_version: str | None = None
    uptime: str | None = None


@dataclass(frozen=True)
class HardwareModule:
    """One inventory item: chassis, line card, supply, fan or transceiver."""

    name: str
    description: str | None
    pid: str | None
    serial: str | None
    version: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class SwitchInterface:
    """One interface; ``oper_status`` and ``admin_status`` are ``up``, ``down`` or None when not said."""

    name: str
    description: str | None
    oper_status: str | None
    admin_status: str | None
    speed: str | None
    duplex: str | None = None
    vlan: str | None = None
    mtu: int | None = None
    mac: str | None = None
    raw_status: str | None = None


def records(platform: Platform, command: str, output: str) -> list[dict[str, Any]]:
    """ntc-templates' records for ``output`` of ``command``; raise CliParseError when TextFSM cannot parse it."""
    from ntc_templates.parse import ParsingException, parse_output
    from textfsm import Error as TextFsmError
    from textfsm.clitable import Error as CliTableError

    try:
        parsed = parse_output(platform=platform.ntc_platform, command=command, data=output)
    except (ParsingException, TextFsmError, CliTableError) as error:
        message = str(error).strip().splitlines()[:1] or [type(error).__name__]
        raise CliParseError(f"{command}: cannot parse the output: {message[0][:200]}") from None
    if not isinstance(parsed, list):
        raise CliParseError(f"{command}: the template returned no records")
    return [dict(row) for row in parsed if isinstance(row, dict)]


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text if text and text not in ("--", "-", "N/A", "n/a") else None


def _texts(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    return tuple(t for t in (_text(item) for item in items) if t is not None)


def _first(rows: Sequence[Record], command: str) -> Record:
    if not rows:
        raise CliParseError(f"{command}: no record in the output")
    return rows[0]


def _uptime_from_parts(row: Record) -> str | None:
    parts = [(row.get(f"uptime_{unit}"), unit) for unit in ("years", "weeks", "days", "hours", "minutes")]
    words = [f"{_text(n)} {unit}" for n, unit in parts if _text(n)]
    return ", ".join(words) or None


def identity_from(platform: Platform, rows: Sequence[Record]) -> DeviceIdentity:
    """The identity in the records of ``platform.version_command``; raise CliParseError if empty."""
    command = platform.version_command
    row = _first(rows, command)
    ntc = platform.ntc_platform
    if ntc == "cisco_ios":
        identity = DeviceIdentity(_text(row.get("hostname")), _text(row.get("hardware")),
                                  _texts(row.get("serial")), _text(row.get("version")),
                                  _text(row.get("uptime")))
    elif ntc == "cisco_nxos":
        identity = DeviceIdentity(_text(row.get("hostname")), _text(row.get("platform")),
                                  _texts(row.get("serial")), _text(row.get("os")), _text(row.get("uptime")))
    elif ntc == "hp_procurve":
        identity = DeviceIdentity(_text(row.get("name")), None, _texts(row.get("serial")),
                                  _text(row.get("software_version")), _text(row.get("uptime")))
    elif ntc == "aruba_os":
        identity = DeviceIdentity(None, None, (), _text(row.get("image_version")), None)
    elif ntc == "aruba_aoscx":
        identity = DeviceIdentity(_text(row.get("hostname")), _text(row.get("product")),
                                  _texts(row.get("serial")), _text(row.get("version")),
                                  _uptime_from_parts(row))
    elif ntc == "huawei_vrp":
        vrp, product = _text(row.get("vrp_version")), _text(row.get("product_version"))
        version = " ".join(p for p in (f"VRP {vrp}" if vrp else None, product) if p) or None
        identity = DeviceIdentity(None, _text(row.get("model")), (), version, _text(row.get("uptime")))
    elif ntc == "juniper_junos":
        identity = DeviceIdentity(_text(row.get("hostname")), _text(row.get("model")),
                                  _texts(row.get("serial_number")), _text(row.get("junos_version")), None)
    else:
        raise CliParseError(f"{command}: no reader for platform {ntc}")
    if identity == DeviceIdentity():
        raise CliParseError(f"{command}: the record holds none of hostname, model, serial, version")
    return identity


_JUNOS_PREFIX = re.compile(r"(?P<prefix>[a-z]+)_description")


def modules_from(platform: Platform, rows: Sequence[Record]) -> tuple[HardwareModule, ...]:
    """The hardware modules in the records of ``platform.inventory_command``, in device order."""
    ntc = platform.ntc_platform
    found: list[HardwareModule] = []
    if ntc in ("cisco_ios", "cisco_nxos"):
        for row in rows:
            found.append(HardwareModule(_text(row.get("name")) or "", _text(row.get("descr")),
                                        _text(row.get("pid")), _text(row.get("sn")), _text(row.get("vid"))))
    elif ntc == "aruba_os":
        for row in rows:
            found.append(HardwareModule("system", None, _text(row.get("sc_model")), _text(row.get("system_serial"))))
            for card in ("cpu_card", "interface_card"):
                if _text(row.get(f"{card}_serial")):
                    found.append(HardwareModule(card.replace("_", " "), None,
                                                _text(row.get(f"{card}_assembly")),
                                                _text(row.get(f"{card}_serial")), _text(row.get(f"{card}_rev"))))
    elif ntc == "aruba_aoscx":
        for row in rows:
            found.append(HardwareModule(_text(row.get("module")) or "", _text(row.get("cardtype")),
                                        _text(row.get("model")), _text(row.get("serial")),
                                        status=_text(row.get("status"))))
    elif ntc == "huawei_vrp":
        for row in rows:
            slot = _text(row.get("slot"))
            found.append(HardwareModule(f"slot {slot}" if slot else "", _text(row.get("card")),
                                        _text(row.get("pid")), None, status=_text(row.get("online_status"))))
    elif ntc == "juniper_junos":
        for row in rows:
            if _text(row.get("chassis_description")) or _text(row.get("chassis_serial_number")):
                found.append(HardwareModule("Chassis", _text(row.get("chassis_description")), None,
                                            _text(row.get("chassis_serial_number"))))
                continue
            for key in row:
                match = _JUNOS_PREFIX.fullmatch(key)
                if match and match["prefix"] != "chassis" and _text(row.get(key)):
                    prefix = match["prefix"]
                    number = _text(row.get(f"{prefix}_number"))
                    label = prefix.upper() if len(prefix) <= 4 else prefix.capitalize()
                    found.append(HardwareModule(
                        f"{label} {number}" if number else label, _text(row.get(key)),
                        _text(row.get(f"{prefix}_part")), _text(row.get(f"{prefix}_serial_number")),
                        _text(row.get(f"{prefix}_version"))))
                    break
    else:
        raise CliParseError(f"no inventory reader for platform {ntc}")
    return tuple(m for m in found if m.name)


_CISCO_STATUS = {"connected": ("up", "up"), "notconnect": ("down", "up"), "disabled": ("down", "down"),
                 "err-disabled": ("down", "up"), "sfpAbsent": ("down", "up"), "xcvrAbsen": ("down", "up"),
                 "noOperMem": ("down", "up"), "monitoring": ("up", "up"), "inactive": ("down", "up"),
                 "suspnd": ("down", "up"), "down": ("down", "up"), "up": ("up", "up")}


def _up_down(value: Any) -> str | None:
    text = (_text(value) or "").lower().lstrip("*^")
    if text.startswith("up"):
        return "up"
    if text.startswith("down") or text in ("disabled", "admin-down", "notpresent"):
        return "down"
    return None


def _enabled(value: Any) -> str | None:
    text = (_text(value) or "").lower()
    return {"enabled": "up", "disabled": "down"}.get(text) or _up_down(text)


def _mtu(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text and text.isdigit() else None


def interfaces_from(platform: Platform, rows: Sequence[Record]) -> tuple[SwitchInterface, ...]:
    """The interfaces in the records of ``platform.interfaces_command``, in device order."""
    ntc = platform.ntc_platform
    found: list[SwitchInterface] = []
    for row in rows:
        if ntc in ("cisco_ios", "cisco_nxos"):
            status = _text(row.get("status"))
            oper, admin = _CISCO_STATUS.get(status or "", (None, None))
            found.append(SwitchInterface(_text(row.get("port")) or "", _text(row.get("name")), oper, admin,
                                         _text(row.get("speed")), _text(row.get("duplex")),
                                         _text(row.get("vlan_id")), raw_status=status))
        elif ntc == "hp_procurve":
            enabled = _text(row.get("enabled"))
            found.append(SwitchInterface(_text(row.get("port")) or "", None, _up_down(row.get("status")),
                                         None if enabled is None else ("up" if enabled == "Yes" else "down"),
                                         _text(row.get("mode")), raw_status=_text(row.get("status"))))
        elif ntc == "aruba_aoscx":
            found.append(SwitchInterface(_text(row.get("interface")) or "", _text(row.get("interface_desc")),
                                         _up_down(row.get("link_status")), _up_down(row.get("link_admin")),
                                         _text(row.get("speed")), _text(row.get("duplex")), None,
                                         _mtu(row.get("mtu")), _text(row.get("mac_address")),
                                         _text(row.get("link_status"))))
        elif ntc == "huawei_vrp":
            phy = _text(row.get("phy"))
            admin = None if phy is None else ("down" if phy.startswith("*") else "up")
            found.append(SwitchInterface(_text(row.get("interface")) or "", None, _up_down(phy), admin, None,
                                         raw_status=phy))
        elif ntc == "juniper_junos":
            found.append(SwitchInterface(_text(row.get("interface")) or "", _text(row.get("description")),
                                         _up_down(row.get("link_status")), _enabled(row.get("admin_state")),
                                         None, None, None, _mtu(row.get("mtu")), None,
                                         _text(row.get("link_status"))))
        else:
            raise CliParseError(f"no interface reader for platform {ntc}")
    return tuple(i for i in found if i.name)
