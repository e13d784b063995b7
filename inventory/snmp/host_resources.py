"""HOST-RESOURCES-MIB: uptime, memory, storage areas and processor count of a host."""

from __future__ import annotations

from dataclasses import dataclass

from inventory.snmp.values import (
    Rows,
    Sourced,
    cell_integer,
    cell_oid,
    cell_text,
    integer_value,
    normalise_rows,
    table_columns,
)

HR_SYSTEM_UPTIME = "1.3.6.1.2.1.25.1.1.0"
HR_MEMORY_SIZE = "1.3.6.1.2.1.25.2.2.0"
HR_STORAGE_ENTRY = "1.3.6.1.2.1.25.2.3.1"
HR_DEVICE_ENTRY = "1.3.6.1.2.1.25.3.2.1"
HR_PROCESSOR_ENTRY = "1.3.6.1.2.1.25.3.3.1"
HOST_RESOURCES_TREE = "1.3.6.1.2.1.25"
HOST_RESOURCES_WALKS = (
    "1.3.6.1.2.1.25.1.1", "1.3.6.1.2.1.25.2.2", HR_STORAGE_ENTRY, HR_DEVICE_ENTRY, HR_PROCESSOR_ENTRY,
)

_STORAGE_TYPES = "1.3.6.1.2.1.25.2.1."
STORAGE_TYPE_NAMES = {
    1: "other", 2: "ram", 3: "virtualMemory", 4: "fixedDisk", 5: "removableDisk",
    6: "floppyDisk", 7: "compactDisc", 8: "ramDisk", 9: "flashMemory", 10: "networkDisk",
}
_DEVICE_PROCESSOR = "1.3.6.1.2.1.25.3.1.3"


@dataclass(frozen=True)
class StorageArea:
    """One hrStorageTable row; sizes in bytes (allocation units already applied)."""

    index: int
    description: Sourced[str] | None
    storage_type: Sourced[str] | None
    size_bytes: Sourced[int] | None
    used_bytes: Sourced[int] | None


@dataclass(frozen=True)
class HostResources:
    """A host's resources; ``uptime_ticks`` in hundredths of a second, memory in bytes."""

    uptime_ticks: Sourced[int] | None = None
    memory_bytes: Sourced[int] | None = None
    storage: tuple[StorageArea, ...] = ()
    processor_count: Sourced[int] | None = None
    notes: tuple[str, ...] = ()


def parse_host_resources(rows: Rows) -> HostResources:
    """Return the HOST-RESOURCES-MIB facts in ``rows``; malformed values are skipped with a note."""
    notes: list[str] = []
    found = normalise_rows(rows, notes)
    memory = integer_value(found.get(HR_MEMORY_SIZE), HR_MEMORY_SIZE, notes)
    storage = []
    for index, cells in table_columns(found, HR_STORAGE_ENTRY).items():
        if not index.isdigit():
            notes.append(f"{HR_STORAGE_ENTRY}.*.{index}: no integer index; skipped")
            continue
        type_oid = cell_oid(cells, 2, notes)
        storage_type = None
        if type_oid is not None:
            name = type_oid.value
            if name.startswith(_STORAGE_TYPES) and name[len(_STORAGE_TYPES) :].isdigit():
                name = STORAGE_TYPE_NAMES.get(int(name[len(_STORAGE_TYPES) :]), name)
            storage_type = Sourced(name, type_oid.oid)
        unit = cell_integer(cells, 4, notes)
        size = cell_integer(cells, 5, notes)
        used = cell_integer(cells, 6, notes)
        if unit is None or unit.value <= 0:
            size = used = None
        storage.append(
            StorageArea(
                index=int(index),
                description=cell_text(cells, 3, notes),
                storage_type=storage_type,
                size_bytes=None if size is None or unit is None else Sourced(size.value * unit.value, size.oid),
                used_bytes=None if used is None or unit is None else Sourced(used.value * unit.value, used.oid),
            )
        )
    processors = 0
    device_oid = ""
    for cells in table_columns(found, HR_DEVICE_ENTRY).values():
        device_type = cell_oid(cells, 2, notes)
        if device_type is not None and device_type.value == _DEVICE_PROCESSOR:
            processors += 1
            device_oid = device_oid or device_type.oid
    if not processors:
        processor_rows = table_columns(found, HR_PROCESSOR_ENTRY)
        processors = len(processor_rows)
        device_oid = HR_PROCESSOR_ENTRY
    storage.sort(key=lambda area: area.index)
    return HostResources(
        uptime_ticks=integer_value(found.get(HR_SYSTEM_UPTIME), HR_SYSTEM_UPTIME, notes),
        memory_bytes=None if memory is None else Sourced(memory.value * 1024, memory.oid),
        storage=tuple(storage),
        processor_count=Sourced(processors, device_oid) if processors else None,
        notes=tuple(notes),
    )
