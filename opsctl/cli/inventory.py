"""opsctl inventory: convert inventories between formats; devices, their history and drift."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsctl.cli.common import JsonlOption, JsonOption, app_context, make_output
from opsctl.core.output import for_people

if TYPE_CHECKING:
    from inventory.readers import DeviceReport
    from inventory.scan import ScanReport
    from inventory.sweep import SweepResult
    from opsctl.core.output import Output

app = typer.Typer(no_args_is_help=True)
_STYLE = {"answered": "green", "silent": "dim", "ok": "green", "partial": "yellow", "failed": "red", "unreachable": "magenta",
          "appeared": "green", "vanished": "red", "changed": "yellow"}


def _formats(kind: str) -> str:
    if kind == "export":
        from inventory.exports import exporters

        return ", ".join(e.name for e in exporters())
    from inventory.sources import sources

    return ", ".join(s.name for s in sources())


@app.command("export")
def export(
    ctx: typer.Context,
    format_name: Annotated[str, typer.Argument(metavar="FORMAT",
                           help="ansible-json, ansible-yaml, ansible-ini, nornir, prometheus-file-sd, opsctl-json, "
                                "netbox-devices-csv.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (or directory for nornir).")] = None,
    source: Annotated[Path | None, typer.Option("--from", help="Inventory to read (default: the configured one).")] = None,
    scanned: Annotated[bool, typer.Option(
        "--scanned", help="netbox-devices-csv only: the devices as the scans last found them, "
                          "with the inventory's opsctl_* variables on top.")] = False,
    site: Annotated[str | None, typer.Option(
        "--site", help="With --scanned: the NetBox site of devices the inventory gives none.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Export the inventory; the text goes to stdout unless --output is given."""
    from opsctl.core.errors import UsageError

    if scanned:
        _export_scanned(ctx, format_name, source, site, output, json_output)
        return
    if site is not None:
        raise UsageError("--site goes with --scanned")
    _convert(ctx, source, format_name, None, output, json_output, action="inventory export")


def _export_scanned(ctx: typer.Context, format_name: str, source: Path | None, site: str | None,
                    output: Path | None, json_output: bool) -> None:
    """NetBox's device-import CSV of the scanned devices; left-out devices are named on stderr."""
    from inventory.convert import export_scanned

    context = app_context(ctx)
    result = export_scanned(context.settings, format_name, inventory=source, site=site, output=output,
                            recorder=context.recorder)
    out = make_output(json_output)
    if out.json:
        out.document("inventory.export", result.to_dict())
    elif output is None:
        typer.echo(result.text, nl=False)
    for reason in result.left_out:
        out.warn(f"not exported, NetBox would refuse the row: {reason}")
    if result.left_out:
        out.stderr.print(f"{result.exported} of {result.devices} devices exported; for the others set "
                         "opsctl_manufacturer, opsctl_model or opsctl_site in the inventory (or give --site)",
                         highlight=False)
    raise typer.Exit(int(result.exit_code))


@app.command("import")
def import_(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(help="An Ansible INI/YAML inventory, a --list JSON, a Nornir directory.")],
    format_name: Annotated[str | None, typer.Option("--format", help="Source format (default: detected).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write opsctl's YAML inventory.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Read another tool's inventory and write it as opsctl's (Ansible YAML) inventory."""
    _convert(ctx, source, "ansible-yaml", format_name, output, json_output, action="inventory import")


def _convert(ctx: typer.Context, source: Path | None, to: str, source_format: str | None,
             output: Path | None, json_output: bool, *, action: str) -> None:
    from inventory.convert import convert_inventory
    from opsctl.core.errors import UsageError

    context = app_context(ctx)
    conversion = convert_inventory(context.settings, source, to=to, source_format=source_format, output=output,
                                   action=action, recorder=context.recorder)
    converted = conversion.converted
    out = make_output(json_output)
    if out.json:
        out.document("inventory.convert", conversion.to_dict())
    elif conversion.written:
        out.stderr.print(for_people(f"wrote {converted.hosts} hosts as {to}: "
                                    f"{', '.join(map(str, conversion.written))}"), highlight=False)
    elif set(converted.files) != {""}:
        raise UsageError(f"{to} writes several files ({', '.join(sorted(converted.files))}): give --output DIR")
    else:
        typer.echo(converted.files[""], nl=False)
    raise typer.Exit(int(conversion.exit_code))


# ----------------------------------------------------------------------------- discovery


@app.command("scan")
def scan_command(
    ctx: typer.Context,
    pattern: Annotated[str | None, typer.Argument(
        help="Host pattern: group, host, web*, a:b, a:!b, a:&b, ~regex (default: all).")] = None,
    subnet: Annotated[str | None, typer.Option(
        "--subnet", metavar="CIDR",
        help="Sweep this subnet for SNMP agents with the credentials of discovery.snmp, instead of a pattern.")] = None,
    snmp_port: Annotated[int | None, typer.Option("--snmp-port", min=1, max=65535,
                         help="With --subnet: the UDP port to sweep (default: discovery.snmp_port, 161).")] = None,
    inventory_files: Annotated[list[Path] | None, typer.Option(
        "--inventory-file", "--devices", "-i",
        help="Another inventory to take hosts from, besides the configured one (repeatable), "
             "e.g. a file of SNMP devices kept apart.")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=1000,
                                             help="Devices read at once per method (SNMP; SSH and CLIs, "
                                                  "at most fleet.forks).")] = 32,
    strict_patterns: Annotated[bool, typer.Option("--strict-patterns",
                               help="Refuse a pattern with a part that matches no host or group.")] = False,
    json_output: JsonOption = False,
    jsonl_output: JsonlOption = False,
) -> None:
    """Discover the matching hosts (SNMP, switch CLIs, Linux over SSH), record the scan and show what changed.

    A host with opsctl_snmp_version is read over SNMP, one with ansible_network_os through its
    CLI (netmiko), any other over SSH. --subnet sweeps every address for an SNMP agent first and
    scans those that answer, named by an inventory SNMP host at that address or by the address.
    Exit 0 all ok, 3 some partial or failed, 4 only unreachable (or, with --subnet, no agent
    answered), 130 on Ctrl-C (nothing is recorded).
    """
    from inventory.scan import ScanRequest, run_scan
    from opsctl.core.errors import UsageError

    if json_output and jsonl_output:
        raise UsageError("--json and --jsonl are exclusive")
    request = ScanRequest(pattern=pattern, subnet=subnet, snmp_port=snmp_port,
                          inventory_files=tuple(inventory_files or ()), concurrency=concurrency)
    context = app_context(ctx)
    out = make_output(json_output, jsonl_output)
    if pattern is not None:
        from inventory.select import unmatched_in_inventories, unmatched_warning

        for part in unmatched_in_inventories(context.settings, pattern, request.inventory_files, strict=strict_patterns):
            out.warn(unmatched_warning(part))
    with _ScanView(out) as view:
        run = run_scan(context.settings, request, recorder=context.recorder, progress=view)
    report = run.report
    if out.jsonl:
        out.event("inventory.scan.summary", {key: value for key, value in run.to_dict().items() if key != "devices"}
                  | {"changed_devices": [device.name for device in report.devices if device.changed]})
    elif out.json:
        out.document("inventory.scan", run.to_dict())
    else:
        from rich.text import Text

        _render_scan(out, report)
        if run.sweep is not None:
            out.stderr.print(for_people(run.sweep.summary), highlight=False)
            for address, message in run.sweep.refused:
                out.stderr.print(Text.assemble(("refused: ", "red"), for_people(f"{address}: {message}")), highlight=False)
    raise typer.Exit(int(run.exit_code))


class _ScanView:
    """What people and machines see while a scan runs: progress bars on a terminal, events for ``--jsonl``."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.bar = _Progress()
        self._bars = ExitStack()  # the bar on screen, if any

    def __enter__(self) -> _ScanView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        self._bars.close()
        self.bar = _Progress()

    def _start(self, total: int, what: str) -> None:
        self._close()
        self.bar = self._bars.enter_context(_progress(self.out, total, what))

    def sweeping(self, addresses: int) -> None:
        self._start(addresses, "sweeping")

    def probed(self, address: str, answered: bool) -> None:
        self.bar.count("answered" if answered else "silent")

    def swept(self, result: SweepResult) -> None:
        self._close()
        if self.out.jsonl:
            self.out.event("inventory.sweep", result.to_dict())

    def scanning(self, devices: int) -> None:
        self._start(devices, "scanning")

    def scanned(self, device: DeviceReport) -> None:
        self.bar.count(device.outcome)
        if self.out.jsonl:  # streamed as each device finishes; whether it changed is known at the end
            self.out.event("inventory.scan.device", {k: v for k, v in device.to_dict().items() if k != "changed"})


def _render_scan(out: Output, report: ScanReport) -> None:
    from rich.text import Text

    from opsctl.cli.render import Column, fit_table

    rows = [[for_people(device.name), for_people(device.method), for_people(device.outcome, style=_STYLE[device.outcome]),
             for_people(device.device.role), for_people(device.device.manufacturer or ""),
             for_people(device.device.model or ""), for_people(device.device.serial or ""),
             "yes" if device.changed else ""] for device in report.devices]
    columns = [Column("device", "no"), Column("via", "no", drop=5), Column("outcome", "no"), Column("role", drop=2),
               Column("manufacturer", drop=4), Column("model", drop=3), Column("serial", "no", drop=6),
               Column("changed", "no", drop=1)]
    out.stdout.print(fit_table(out.stdout.width, columns, rows))
    out.stderr.print(for_people(report.summary), highlight=False)
    for device in report.devices:
        if device.outcome != "ok":
            out.stderr.print(Text.assemble((f"{device.outcome}: ", _STYLE[device.outcome]),
                                           for_people(f"{device.name}: {device.message}")), highlight=False)
    for warning in report.warnings:
        out.warn(warning)


class _Progress:
    """A progress bar on stderr counting items by outcome (a no-op for machines and pipes)."""

    def __init__(self, progress: Any = None, task: Any = None) -> None:
        self.progress, self.task = progress, task
        self.counts: dict[str, int] = {}

    def count(self, outcome: str) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if self.progress is not None:
            summary = " ".join(f"[{_STYLE.get(k, 'default')}]{k} {v}[/]" for k, v in sorted(self.counts.items()))
            self.progress.update(self.task, advance=1, description=summary)


@contextmanager
def _progress(out: Output, total: int, what: str) -> Iterator[_Progress]:
    if out.machine or not out.stderr_is_terminal:
        yield _Progress()
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=out.stderr, transient=True) as progress:
        yield _Progress(progress, progress.add_task(what, total=total))


# the columns `inventory list` can show after the device's name, in their order; all but kind by default
LIST_COLUMNS = ("role", "manufacturer", "model", "serial", "version", "sysname", "address", "kind")
DEFAULT_LIST_COLUMNS = LIST_COLUMNS[:-1]


def _list_columns() -> dict[str, tuple[Any, Any]]:
    """Return each of :data:`LIST_COLUMNS` as its column (how it drops on a narrow terminal) and its value."""
    from inventory.devices import DEVICE_KIND
    from opsctl.cli.render import Column

    return {
        "role": (Column("role", drop=3), lambda device: device.role),
        "manufacturer": (Column("manufacturer", drop=2), lambda device: device.manufacturer),
        "model": (Column("model", drop=1), lambda device: device.model),
        "serial": (Column("serial", "no", drop=5), lambda device: device.serial),
        "version": (Column("os version", drop=6), lambda device: device.os_version),
        "sysname": (Column("sysName", drop=7), lambda device: device.sys_name),
        "address": (Column("address", "no", drop=4), lambda device: device.management_address),
        # what a known device is when the roles have no name for it (a camera): the scan's custom field
        "kind": (Column("kind", drop=8), lambda device: device.custom_fields.extra.get(DEVICE_KIND)),
    }


@app.command("list")
def list_command(
    ctx: typer.Context,
    role: Annotated[str | None, typer.Option("--role", help="Only devices of this role (server, switch, ups, ...).")] = None,
    site: Annotated[str | None, typer.Option("--site", help="Only devices at this site.")] = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Only devices with this tag.")] = None,
    shown: Annotated[str | None, typer.Option(
        "--columns", metavar="NAMES",
        help=f"Only these columns after the device's name, comma-separated: {', '.join(LIST_COLUMNS)}.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List the devices as the scans last found them."""
    from inventory.queries import list_devices
    from opsctl.core.errors import UsageError

    names = list(DEFAULT_LIST_COLUMNS) if shown is None else [name.strip().lower() for name in shown.split(",") if name.strip()]
    unknown = [name for name in names if name not in LIST_COLUMNS]
    if unknown or not names:
        raise UsageError(f"--columns {shown!r}: {', '.join(unknown) or 'no name'}: expected names among "
                         f"{', '.join(LIST_COLUMNS)}")
    devices = list_devices(app_context(ctx).settings, role=role, site=site, tag=tag)
    out = make_output(json_output)
    if out.json:
        out.document("inventory.devices", {"devices": [device.to_dict() for device in devices]})
        return
    from opsctl.cli.render import Column, fit_table

    known = _list_columns()
    rows = [[for_people(device.name), *(for_people(str(known[name][1](device) or "")) for name in names)]
            for device in devices]
    columns = [Column("device", "no"), *(known[name][0] for name in names)]
    out.stdout.print(fit_table(out.stdout.width, columns, rows))
    out.stderr.print(f"{len(devices)} devices", highlight=False)


@app.command("show")
def show_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="DEVICE", help="The device's name.")],
    json_output: JsonOption = False,
) -> None:
    """Show one device, its components, and where each value came from (source, OID or command, when)."""
    from inventory.queries import show_device

    view = show_device(app_context(ctx).settings, name)
    out = make_output(json_output)
    if out.json:
        out.document("inventory.device", view.to_dict())
        return
    from opsctl.cli.render import Column, fit_table

    out.stdout.print(for_people(f"{view.device.name}: {view.device.role}, last scan {view.last_status} "
                          f"at {view.last_scanned_at.isoformat(timespec='seconds')} ({view.scans} scans)"))
    for message in view.messages:
        out.stdout.print(for_people(f"  {message}"))
    rows = [[for_people(row["path"]), for_people(str(row["value"])), for_people(row["source"] or ""),
             for_people(row["origin"] or ""), (row["seen_at"] or "")[:19]] for row in view.values()]
    columns = [Column("path", "no"), Column("value", "words"), Column("source", "no", drop=2), Column("origin", drop=1),
               Column("seen at", "no", drop=3)]
    out.stdout.print(fit_table(out.stdout.width, columns, rows))


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", metavar="WHEN",
                     help="ISO 8601 time or an age (30m, 2h, 1d); default: since the previous scan.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show what appeared, vanished or changed, with where each new value came from."""
    from inventory.queries import changes_since

    report = changes_since(app_context(ctx).settings, since)
    out = make_output(json_output)
    if out.json:
        out.document("inventory.diff", report.to_dict())
        return
    from opsctl.cli.render import Column, fit_table

    rows = []
    for change in report.changes:
        values = "" if change.kind != "changed" else f"{_brief(change.old)} → {_brief(change.new)}"
        provenance = change.provenance
        where = "" if provenance is None else (
            f"{provenance.source} {provenance.origin} {provenance.seen_at.isoformat(timespec='seconds')}")
        rows.append([for_people(change.device), for_people(change.kind, style=_STYLE[change.kind]),
                     for_people(change.path), for_people(values), for_people(where)])
    columns = [Column("device", "no"), Column("kind", "no"), Column("path", "words", detail=True), Column("old → new"),
               Column("provenance", drop=1)]
    out.stdout.print(fit_table(out.stdout.width, columns, rows))
    since_text = "the first scan" if report.since is None else report.since.isoformat(timespec="seconds")
    out.stderr.print(f"{len(report.changes)} changes since {since_text}", highlight=False)


def _brief(value: Any) -> str:
    return "-" if value is None else str(value)
