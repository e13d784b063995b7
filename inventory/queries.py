"""What ``inventory list``, ``show`` and ``diff`` ask of the recorded scans.

:mod:`inventory.history` stores the scans and reads them back; this module answers the
questions people ask: the devices as last known (filtered), one device with where each value
came from, and what changed since a time or since the previous scan. Each function opens the
state store the settings name and closes it before returning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from inventory.devices import Device, flatten
from opsctl.core.errors import HostNotFound, UsageError

if TYPE_CHECKING:
    from inventory.diff import Change
    from inventory.history import DeviceSnapshot
    from opsctl.core.settings import Settings
    from opsctl.core.state import StateStore


def latest_by_name(store: StateStore) -> dict[str, Device]:
    """The latest known state of every recorded device (vanished ones left out), by name."""
    from inventory.history import devices_at

    return {device.name: device for device in devices_at(store)}


def list_devices(
    settings: Settings, *, role: str | None = None, site: str | None = None, tag: str | None = None
) -> list[Device]:
    """The latest known state of every recorded device, filtered by role, site and tag, sorted by name."""
    from inventory.history import devices_at
    from opsctl.core.state import open_state

    with open_state(settings) as store:
        devices = devices_at(store)
    return [
        device for device in devices
        if (role is None or device.role == role)
        and (site is None or device.site == site)
        and (tag is None or tag in device.tags)
    ]


@dataclass(frozen=True)
class DeviceView:
    """One device as last known, the status and messages of its newest scan, and how many scans saw it."""

    device: Device
    last_status: str
    last_scan_id: str
    last_scanned_at: datetime
    messages: tuple[str, ...]
    scans: int

    def values(self) -> list[dict[str, Any]]:
        """Every set value by component path with where it came from (source, origin, seen_at)."""
        rows = []
        for path, value in flatten(self.device).items():
            provenance = self.device.provenance_of(path)
            rows.append({
                "path": path,
                "value": value,
                "source": provenance.source if provenance else None,
                "origin": provenance.origin if provenance else None,
                "seen_at": provenance.seen_at.isoformat() if provenance else None,
            })
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``: the whole device, its newest scan and every value's provenance."""
        return {
            "device": self.device.to_dict(),
            "last_status": self.last_status,
            "last_scan_id": self.last_scan_id,
            "last_scanned_at": self.last_scanned_at.isoformat(),
            "messages": list(self.messages),
            "scans": self.scans,
            "values": self.values(),
        }


def show_device(settings: Settings, name: str) -> DeviceView:
    """The device called ``name`` as last known; raise HostNotFound if no scan ever saw it."""
    from inventory.history import device_history
    from opsctl.core.state import open_state

    with open_state(settings) as store:
        history = device_history(store, name)
    known: list[DeviceSnapshot] = [s for s in history if s.status in ("ok", "partial")]
    if not known:
        raise HostNotFound(f"no scan has found a device named '{name}'",
                           hint="run `opsctl inventory scan`, or see `opsctl inventory list`")
    newest = history[-1]
    return DeviceView(device=known[-1].device, last_status=newest.status, last_scan_id=newest.scan_id,
                      last_scanned_at=newest.started_at, messages=newest.messages, scans=len(history))


_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """``2h``, ``30m``, ``1d``, ``1w`` ago, or an ISO 8601 time (UTC if it has no zone); raise UsageError otherwise."""
    current = now or datetime.now(UTC)
    match = _RELATIVE.match(text.strip().lower())
    if match is not None:
        return current - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--since {text!r}: expected an ISO 8601 time or an age such as 30m, 2h, 1d") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DiffReport:
    """The changes since ``since`` (``None`` when no scan was recorded yet)."""

    since: datetime | None
    changes: tuple[Change, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {
            "since": None if self.since is None else self.since.isoformat(),
            "changes": [change.to_dict() for change in self.changes],
        }


def changes_since(settings: Settings, since: str | None = None) -> DiffReport:
    """What appeared, vanished or changed since ``since`` (see :func:`parse_when`); by default what the newest scan changed."""
    from inventory.diff import diff_since
    from inventory.history import list_scans
    from opsctl.core.state import open_state

    with open_state(settings) as store:
        if since is not None:
            when = parse_when(since)
        else:
            scans = list_scans(store, limit=2)
            if not scans:
                return DiffReport(None, ())
            # the state as the previous scan left it; with one scan, the empty state before it
            when = scans[1].started_at if len(scans) > 1 else scans[0].started_at - timedelta(microseconds=1)
        return DiffReport(when, tuple(diff_since(store, when)))
