"""What the inventory declares about a device, laid over what a scan found, with ``manual`` provenance.

A scan learns what a device says about itself; where it stands and what it is for are the
inventory's to say, in ``opsctl_*`` host variables:

- placement: ``opsctl_site``, ``opsctl_building`` and ``opsctl_room``, ``opsctl_rack``,
  ``opsctl_rack_position`` (the lowest U; needs a rack) and ``opsctl_rack_face``;
- ``opsctl_asset_tag`` and ``opsctl_tags`` (a list, or comma-separated text);
- the custom fields other features read: ``opsctl_patch_group``, ``opsctl_backup_policy``,
  ``opsctl_clinical_criticality``;
- ``opsctl_links``: which switch port each of the device's ports hangs off, a mapping such as
  ``{eth0: "core-sw1:Gi1/0/12"}``;
- ``opsctl_power``: what feeds the device, a list such as ``[ups-1, "pdu-a:12"]`` (a UPS or PDU,
  and the outlet after a colon when it is known).

A declared value wins over a discovered one (the serial, model and firmware are never
declared over). Links are also learned from LLDP: a neighbour that names its system and port
is a link with source ``lldp``, whose provenance is the neighbour's. Every value raises
:class:`ConfigError` naming the host and the variable when it is not usable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from inventory.devices import (
    RACK_FACES,
    CustomFields,
    Device,
    Link,
    Location,
    PowerLink,
    Provenance,
)
from inventory.model import Host, is_template, is_vault_value
from opsctl.core.errors import ConfigError

MANUAL = "manual"
CUSTOM_FIELD_VARIABLES = {
    "patch_group": "opsctl_patch_group",
    "backup_policy": "opsctl_backup_policy",
    "clinical_criticality": "opsctl_clinical_criticality",
}


def text_variable(host: Host, variable: str) -> str | None:
    """The variable as one line of text, ``None`` when unset or empty; ``ConfigError`` for anything else."""
    value = host.vars.get(variable)
    if value is None:
        return None
    if is_template(value):
        raise ConfigError(
            f"host {host.name}: {variable} is a Jinja template; opsctl does not template variables, "
            "so write the value itself"
        )
    if is_vault_value(value):
        raise ConfigError(
            f"host {host.name}: {variable} is an Ansible Vault value; opsctl does not decrypt vaults"
        )
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"host {host.name}: {variable} must be a single value (text)")
    text = " ".join(str(value).split())
    return text or None


def choice_variable(host: Host, variable: str, choices: tuple[str, ...]) -> str | None:
    """The variable's text, which must be one of ``choices``."""
    text = text_variable(host, variable)
    if text is not None and text not in choices:
        raise ConfigError(
            f"host {host.name}: {variable} must be one of {', '.join(choices)}, not {text!r}"
        )
    return text


def rack_position(host: Host) -> int | None:
    """``opsctl_rack_position``: a whole number of rack units, 1 or more."""
    value = host.vars.get("opsctl_rack_position")
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"host {host.name}: opsctl_rack_position must be a whole number of rack units, 1 or more"
        )
    return value


def tags(host: Host) -> tuple[str, ...]:
    """``opsctl_tags``, sorted and without duplicates."""
    value = host.vars.get("opsctl_tags")
    if value is None:
        return ()
    if isinstance(value, str) and not is_template(value):
        items: list[Any] = value.split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise ConfigError(
            f"host {host.name}: opsctl_tags must be a list of tag names or comma-separated text"
        )
    if not all(isinstance(item, str) and not is_template(item) for item in items):
        raise ConfigError(
            f"host {host.name}: opsctl_tags must hold tag names (text), not other values or templates"
        )
    return tuple(sorted({item.strip() for item in items if item.strip()}))


def location(host: Host) -> Location | None:
    """``opsctl_building`` and ``opsctl_room`` (a room needs its building)."""
    building = text_variable(host, "opsctl_building")
    room = text_variable(host, "opsctl_room")
    if building is None:
        if room is not None:
            raise ConfigError(
                f"host {host.name}: opsctl_room needs opsctl_building (the building the room is in)"
            )
        return None
    return Location(building, room)


def _device_and_port(host: Host, variable: str, text: Any, *, port_needed: bool) -> tuple[str, str | None]:
    if not isinstance(text, str) or is_template(text) or not text.strip():
        raise ConfigError(f"host {host.name}: {variable} entries must be text such as 'core-sw1:Gi1/0/12'")
    device, colon, port = text.strip().partition(":")
    if not device.strip() or (colon and not port.strip()) or (port_needed and not colon):
        shape = "DEVICE:PORT" if port_needed else "DEVICE or DEVICE:OUTLET"
        raise ConfigError(f"host {host.name}: {variable} entry {text!r} is not {shape}")
    return device.strip(), port.strip() or None


def declared_links(host: Host) -> tuple[Link, ...]:
    """``opsctl_links``: ``{local port: "device:port"}``, each a declared link from this host."""
    value = host.vars.get("opsctl_links")
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigError(f"host {host.name}: opsctl_links must map each local port to 'device:port'")
    found = []
    for local_port, remote in value.items():
        if not isinstance(local_port, str | int) or isinstance(local_port, bool) or not str(local_port).strip():
            raise ConfigError(f"host {host.name}: opsctl_links keys must be port names")
        device, port = _device_and_port(host, "opsctl_links", remote, port_needed=True)
        found.append(Link(host.name, str(local_port).strip(), device, port or "", source="declared"))
    return tuple(sorted(found, key=lambda link: link.a_port))


def declared_power(host: Host) -> tuple[PowerLink, ...]:
    """``opsctl_power``: the UPS or PDU (``device`` or ``device:outlet``) feeding this host."""
    value = host.vars.get("opsctl_power")
    if value is None:
        return ()
    entries = [value] if isinstance(value, str) else value
    if not isinstance(entries, list | tuple):
        raise ConfigError(f"host {host.name}: opsctl_power must be a list such as [ups-1, 'pdu-a:12']")
    feeds = {}
    for entry in entries:
        device, outlet = _device_and_port(host, "opsctl_power", entry, port_needed=False)
        feed = PowerLink(device, host.name, outlet)
        feeds[feed.key] = feed
    return tuple(feeds[key] for key in sorted(feeds))


def links_from_lldp(device: Device) -> tuple[Link, ...]:
    """A link for each LLDP neighbour that names its system and port."""
    return tuple(
        Link(device.name, neighbour.local_port, neighbour.remote_system_name, neighbour.remote_port, source="lldp")
        for neighbour in device.lldp_neighbours
        if neighbour.remote_system_name and neighbour.remote_port
    )


def declare(device: Device, host: Host, seen_at: datetime) -> Device:
    """``device`` as a scan found it, with what ``host`` declares on top and the links LLDP shows."""
    provenance = dict(device.provenance)
    changes: dict[str, Any] = {}

    def put(field_name: str, value: Any, variable: str, path: str | None = None) -> None:
        if value is None or value == ():
            return
        changes[field_name] = value
        provenance[path or field_name] = Provenance(MANUAL, f"inventory {variable}", seen_at)

    for field_name in ("site", "rack", "asset_tag"):
        put(field_name, text_variable(host, f"opsctl_{field_name}"), f"opsctl_{field_name}")
    position = rack_position(host)
    if position is not None and changes.get("rack", device.rack) is None:
        raise ConfigError(f"host {host.name}: opsctl_rack_position needs opsctl_rack")
    put("rack_position", position, "opsctl_rack_position")
    put("rack_face", choice_variable(host, "opsctl_rack_face", RACK_FACES), "opsctl_rack_face")
    place = location(host)
    if place is not None:
        changes["location"] = place
        provenance["location"] = Provenance(MANUAL, "inventory opsctl_building/opsctl_room", seen_at)
    put("tags", tags(host), "opsctl_tags")
    custom = {name: text_variable(host, variable) for name, variable in CUSTOM_FIELD_VARIABLES.items()}
    if any(value is not None for value in custom.values()):
        fields = device.custom_fields
        changes["custom_fields"] = CustomFields(
            patch_group=custom["patch_group"] or fields.patch_group,
            backup_policy=custom["backup_policy"] or fields.backup_policy,
            clinical_criticality=custom["clinical_criticality"] or fields.clinical_criticality,
            extra=fields.extra,
        )
        for name, value in custom.items():
            if value is not None:
                provenance[f"custom_fields/{name}"] = Provenance(
                    MANUAL, f"inventory {CUSTOM_FIELD_VARIABLES[name]}", seen_at)
    links = {link.key: link for link in device.links}
    for link in declared_links(host):
        links[link.key] = link
        provenance[f"links/{link.key}"] = Provenance(MANUAL, "inventory opsctl_links", seen_at)
    for link in links_from_lldp(device):
        links[link.key] = link
        learned = device.provenance_of(f"lldp_neighbours/{link.a_port}")
        if learned is not None:
            provenance[f"links/{link.key}"] = learned
    if links:
        changes["links"] = tuple(links[key] for key in sorted(links))
    feeds = declared_power(host)
    if feeds:
        changes["power_feeds"] = feeds
        for feed in feeds:
            provenance[f"power_feeds/{feed.key}"] = Provenance(MANUAL, "inventory opsctl_power", seen_at)
    if not changes:
        return device
    return replace(device, **changes, provenance=provenance)
