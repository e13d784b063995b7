"""Import and export of whole inventories between formats, as one call each for the CLI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.core.errors import ConfigError, ExitCode, UsageError

if TYPE_CHECKING:
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings


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


@dataclass(frozen=True)
class Conversion:
    """An import or export as one command: what was read, what it made, and the files written (none when printed)."""

    source: Path
    converted: Converted
    written: tuple[Path, ...] = ()

    @property
    def exit_code(self) -> ExitCode:
        """0: a conversion either works or raises."""
        return ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``: the files written, or the text of each file when none was."""
        body: dict[str, Any] = {"format": self.converted.format_name, "source": str(self.source)}
        if self.written:
            return body | {"written": [str(path) for path in self.written], "hosts": self.converted.hosts}
        return body | {"hosts": self.converted.hosts, "files": dict(self.converted.files)}


def convert_inventory(
    settings: Settings,
    source: Path | None,
    *,
    to: str,
    source_format: str | None = None,
    output: Path | None = None,
    action: str,
    recorder: Recorder,
) -> Conversion:
    """Convert ``source`` (default: the configured inventory) to ``to``; write it to ``output`` and record ``action``.

    Without ``output`` nothing is written or recorded. Raise ConfigError when there is no source
    at all, and whatever reading or writing raises.
    """
    if source is None:
        if settings.inventory is None:
            raise ConfigError("no inventory configured", hint="use --from PATH or set inventory: in opsctl.yaml")
        source = settings.inventory
    converted = convert(source, to=to, source_format=source_format)
    if output is None:
        return Conversion(source, converted)
    recorder.check()  # a log that would refuse the record refuses the write too
    written = write_converted(converted, output)
    recorder.record(action, [str(p) for p in written], "ok",
                    {"source": str(source), "format": to, "hosts": converted.hosts})
    return Conversion(source, converted, tuple(written))


@dataclass(frozen=True)
class ScannedExport:
    """The devices the scans found as one export: its text, the devices in it, those left out and why."""

    format_name: str
    text: str
    devices: int
    left_out: tuple[str, ...]
    written: Path | None = None

    @property
    def exported(self) -> int:
        """How many devices the text holds."""
        return self.devices - len(self.left_out)

    @property
    def exit_code(self) -> ExitCode:
        """0 every device exported; 3 when some were left out."""
        return ExitCode.PARTIAL if self.left_out else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {"format": self.format_name, "scanned": True, "text": self.text,
                "written": None if self.written is None else str(self.written), "left_out": list(self.left_out)}


def export_scanned(
    settings: Settings,
    format_name: str,
    *,
    inventory: Path | None = None,
    site: str | None = None,
    output: Path | None = None,
    recorder: Recorder,
) -> ScannedExport:
    """The devices as the scans last found them, with ``inventory``'s (default: the configured one) variables on top.

    Only NetBox's device CSV is made this way; ``site`` is for devices that have none. With
    ``output`` the text is written there and the export recorded. Raise UsageError for another
    format or when no scan has found a device.
    """
    from inventory import load_inventory
    from inventory.exports.netbox_csv import NetboxDevicesCsvExporter, scanned_devices_csv
    from inventory.queries import list_devices

    if format_name != NetboxDevicesCsvExporter.name:
        raise UsageError(f"--scanned exports {NetboxDevicesCsvExporter.name} only, not {format_name}")
    inventory_path = inventory or settings.inventory
    hosts = {} if inventory_path is None else dict(load_inventory(inventory_path).hosts)
    devices = list_devices(settings)
    if not devices:
        raise UsageError("no scan has found a device yet", hint="run `opsctl inventory scan` first")
    text, left_out = scanned_devices_csv(devices, hosts, site=site)
    result = ScannedExport(format_name, text, len(devices), tuple(left_out))
    if output is None:
        return result
    recorder.check()  # a log that would refuse the record refuses the write too
    write_converted(Converted(format_name, {"": text}, result.exported), output)
    recorder.record("inventory export", [str(output)], "ok" if not left_out else "partial",
                    {"format": format_name, "scanned": True, "devices": result.exported, "left_out": len(left_out)})
    return replace(result, written=output)
