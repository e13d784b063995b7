"""What changed between two views of the inventory: devices that appeared or vanished, and values that changed.

A change names the device, the component path (see :mod:`inventory.devices`), the old and new
values (``None`` where there was none) and the provenance of the new value. A partial scan only
reports values it read (a value it could not read has not gone); an unreachable device has
neither changed nor vanished.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inventory.devices import Device, Provenance, ScanResult, flatten
from inventory.history import devices_at
from opsctl.core.state import StateStore

CHANGE_KINDS = ("appeared", "vanished", "changed")


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` is appeared, vanished or changed; ``path`` is empty for a whole device."""

    device: str
    kind: str
    path: str
    old: Any
    new: Any
    provenance: Provenance | None

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-safe data."""
        return {
            "device": self.device,
            "kind": self.kind,
            "path": self.path,
            "old": self.old,
            "new": self.new,
            "provenance": None if self.provenance is None else self.provenance.to_dict(),
        }


def diff_devices(
    old: Iterable[Device],
    new: Iterable[Device],
    *,
    partial: Collection[str] = (),
    unreachable: Collection[str] = (),
) -> list[Change]:
    """Return the changes from ``old`` to ``new``, sorted by device and path.

    Devices named in ``partial`` report no removed values; devices named in ``unreachable``
    are neither changed nor vanished.
    """
    before = {device.name: device for device in old}
    after = {device.name: device for device in new}
    changes: list[Change] = []
    for name in sorted(before.keys() | after.keys()):
        if name in unreachable:
            continue
        old_device, new_device = before.get(name), after.get(name)
        if old_device is None and new_device is not None:
            changes.append(
                Change(name, "appeared", "", None, None, new_device.provenance_of("name"))
            )
        elif new_device is None:
            changes.append(Change(name, "vanished", "", None, None, None))
        elif old_device is not None:
            changes += _changed_values(old_device, new_device, only_read=name in partial)
    return changes


def diff_scans(old: ScanResult, new: ScanResult) -> list[Change]:
    """Return the changes from scan ``old`` to scan ``new`` (devices unreachable in ``old`` count as unknown there)."""
    reached_before = [s.device for s in old.devices if s.status != "unreachable"]
    unreachable_before = {s.device.name for s in old.devices if s.status == "unreachable"}
    reached_now = [s.device for s in new.devices if s.status != "unreachable"]
    return diff_devices(
        reached_before,
        reached_now,
        partial={s.device.name for s in new.devices if s.status == "partial"},
        unreachable={s.device.name for s in new.devices if s.status == "unreachable"}
        | unreachable_before,
    )


def diff_since(store: StateStore, since: datetime) -> list[Change]:
    """Return the changes from the inventory as known at ``since`` to the inventory as known now."""
    return diff_devices(devices_at(store, since), devices_at(store))


def _changed_values(old: Device, new: Device, *, only_read: bool) -> list[Change]:
    before, after = flatten(old), flatten(new)
    paths = after.keys() if only_read else before.keys() | after.keys()
    return [
        Change(
            new.name, "changed", path, before.get(path), after.get(path), new.provenance_of(path)
        )
        for path in sorted(paths)
        if before.get(path) != after.get(path)
    ]
