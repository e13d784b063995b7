"""ENTITY-MIB entPhysicalTable: chassis, modules, power supplies, fans and their serials."""

from __future__ import annotations

import re
from dataclasses import dataclass

from inventory.snmp.values import (
    Rows,
    Sourced,
    cell_enum,
    cell_integer,
    cell_text,
    normalise_rows,
    table_columns,
)

ENT_PHYSICAL_ENTRY = "1.3.6.1.2.1.47.1.1.1.1"

_DESCR, _CONTAINED_IN, _CLASS, _NAME = 2, 4, 5, 7
_HARDWARE_REV, _FIRMWARE_REV, _SOFTWARE_REV, _SERIAL, _MFG_NAME, _MODEL, _ASSET_ID, _IS_FRU = (
    8, 9, 10, 11, 12, 13, 15, 16,
)
CLASS_NAMES = {
    1: "other", 2: "unknown", 3: "chassis", 4: "backplane", 5: "container", 6: "powerSupply",
    7: "fan", 8: "sensor", 9: "module", 10: "port", 11: "stack", 12: "cpu",
    13: "energyObject", 14: "battery", 15: "storageDrive",
}


@dataclass(frozen=True)
class PhysicalEntity:
    """One entPhysicalTable row; ``field_replaceable`` is entPhysicalIsFRU."""

    index: int
    entity_class: Sourced[str] | None = None
    description: Sourced[str] | None = None
    name: Sourced[str] | None = None
    manufacturer: Sourced[str] | None = None
    model: Sourced[str] | None = None
    serial: Sourced[str] | None = None
    hardware_revision: Sourced[str] | None = None
    firmware_revision: Sourced[str] | None = None
    software_revision: Sourced[str] | None = None
    asset_id: Sourced[str] | None = None
    field_replaceable: Sourced[bool] | None = None
    contained_in: Sourced[int] | None = None


@dataclass(frozen=True)
class EntityTable:
    """The physical entities in index order, and notes on what was skipped."""

    entities: tuple[PhysicalEntity, ...]
    notes: tuple[str, ...] = ()

    def chassis(self) -> PhysicalEntity | None:
        """Return the entity that stands for the whole device: a chassis with a serial, else a stack with one,
        else a top-level chassis or stack that carries a serial or a model, else the first entity of any class
        with a serial or a model (a FortiGate's only row is "other"; an empty "Stack" row holds its unit), else
        a top-level chassis or stack, else any chassis or stack."""

        def of_class(*names: str) -> list[PhysicalEntity]:
            return [e for e in self.entities if e.entity_class is not None and e.entity_class.value in names]

        def says(entity: PhysicalEntity) -> bool:
            return entity.serial is not None or entity.model is not None

        top_level = [e for e in of_class("chassis", "stack") if e.contained_in is None or e.contained_in.value == 0]
        for pool in (
            [e for e in of_class("chassis") if e.serial is not None],
            [e for e in of_class("stack") if e.serial is not None],
            [e for e in top_level if says(e)],
            [e for e in self.entities if says(e)],
            top_level,
            of_class("chassis", "stack"),
        ):
            if pool:
                return pool[0]
        return None

    def only_serial(self) -> Sourced[str] | None:
        """Return the serial of the one entity that carries one (a chassis row without a serial over the single
        module that has it), else ``None``: with two serials, which is the device's is not known."""
        serials = [e.serial for e in self.entities if e.serial is not None and e.serial.value.strip()]
        return serials[0] if len(serials) == 1 else None

    def software_revision(self) -> Sourced[str] | None:
        """Return the first entPhysicalSoftwareRev any entity carries, else ``None``."""
        return next((e.software_revision for e in self.entities if e.software_revision is not None), None)


# what an entPhysicalDescr or entPhysicalName says when it names a part, not a product
_PART_WORDS = re.compile(
    r"\b(chassis|stack|container|slot|backplane|module|port|fan|power supply|psu|cpu|unit [0-9]+|board|"
    r"shelf|software|version|system|switch fabric)\b",
    re.IGNORECASE,
)


def product_name(entity: PhysicalEntity) -> Sourced[str] | None:
    """Return the entity's entPhysicalDescr, else its entPhysicalName, when it is a product name (letters and a
    digit, at most 100 characters, no word naming a part such as "Chassis", "Slot 1", "SHELF-1" or "Software
    Version").

    For a chassis whose entPhysicalModelName is empty; ``None`` when neither text names a product.
    """
    for text in (entity.description, entity.name):
        if text is None:
            continue
        value = text.value.strip()
        if (
            len(value) <= 100
            and re.search(r"[0-9]", value)
            and re.search(r"[A-Za-z]", value)
            and not _PART_WORDS.search(value)
        ):
            return text
    return None


def parse_entities(rows: Rows) -> EntityTable:
    """Return the entPhysicalTable rows in ``rows``; a row without an integer index is skipped with a note."""
    notes: list[str] = []
    found = normalise_rows(rows, notes)
    entities = []
    for index, cells in table_columns(found, ENT_PHYSICAL_ENTRY).items():
        if not index.isdigit():
            notes.append(f"{ENT_PHYSICAL_ENTRY}.*.{index}: no integer entPhysicalIndex; skipped")
            continue
        fru = cell_integer(cells, _IS_FRU, notes)
        entities.append(
            PhysicalEntity(
                index=int(index),
                entity_class=cell_enum(cells, _CLASS, CLASS_NAMES, notes),
                description=cell_text(cells, _DESCR, notes),
                name=cell_text(cells, _NAME, notes),
                manufacturer=cell_text(cells, _MFG_NAME, notes),
                model=cell_text(cells, _MODEL, notes),
                serial=cell_text(cells, _SERIAL, notes),
                hardware_revision=cell_text(cells, _HARDWARE_REV, notes),
                firmware_revision=cell_text(cells, _FIRMWARE_REV, notes),
                software_revision=cell_text(cells, _SOFTWARE_REV, notes),
                asset_id=cell_text(cells, _ASSET_ID, notes),
                field_replaceable=None if fru is None or fru.value not in (1, 2) else Sourced(fru.value == 1, fru.oid),
                contained_in=cell_integer(cells, _CONTAINED_IN, notes),
            )
        )
    entities.sort(key=lambda entity: entity.index)
    return EntityTable(tuple(entities), tuple(notes))
