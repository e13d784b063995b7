"""Import and export of whole inventories between formats, as one call each for the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from opsctl.core.errors import UsageError


@dataclass(frozen=True)
class Converted:
    """What an export produced: the format and its files (one unnamed file for single-file formats)."""

    format_name: str
    files: Mapping[str, str]
    hosts: int


def convert(source: Path, *, to: str, source_format: str | None = None) -> Converted:
    """Load ``source`` (format detected unless given) and export it as ``to``."""
    from inventory.exports import export_inventory
    from inventory.sources import load_any

    inventory = load_any(source, source_format)
    output = export_inventory(inventory, to)
    files = {"": output} if isinstance(output, str) else dict(output)
    return Converted(to, files, len(inventory.hosts))


def write_converted(converted: Converted, destination: Path) -> list[Path]:
    """Write the files: a single-file format to ``destination``, a multi-file one into it (a directory).

    Each file is written to a temporary name and renamed, so a reader never sees half a file.
    """
    if set(converted.files) == {""}:
        targets = {destination: converted.files[""]}
    else:
        if destination.exists() and not destination.is_dir():
            raise UsageError(f"{converted.format_name} writes several files: {destination} must be a directory")
        destination.mkdir(parents=True, exist_ok=True)
        targets = {destination / name: text for name, text in converted.files.items()}
    written = []
    for path, text in targets.items():
        temporary = path.with_name(f".{path.name}.opsctl-tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
        written.append(path)
    return written
