"""opsctl inventory: convert inventories between formats; devices, their history and drift."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output

app = typer.Typer(no_args_is_help=True)


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
                           help="ansible-json, ansible-yaml, ansible-ini, nornir, prometheus-file-sd, opsctl-json.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (or directory for nornir).")] = None,
    source: Annotated[Path | None, typer.Option("--from", help="Inventory to read (default: the configured one).")] = None,
    json_output: JsonOption = False,
) -> None:
    """Export the inventory; the text goes to stdout unless --output is given."""
    _convert(ctx, source, format_name, None, output, json_output, action="inventory export")


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
    from inventory.convert import convert, write_converted
    from opsctl.core.errors import ConfigError, UsageError

    settings = app_context(ctx).settings
    if source is None:
        if settings.inventory is None:
            raise ConfigError("no inventory configured", hint="use --from PATH or set inventory: in opsctl.yaml")
        source = settings.inventory
    converted = convert(source, to=to, source_format=source_format)
    out = make_output(json_output)
    if output is not None:
        from opsctl.core.audit import open_audit

        written = write_converted(converted, output)
        open_audit(settings).append(action, [str(p) for p in written], "ok",
                                    {"source": str(source), "format": to, "hosts": converted.hosts})
        if out.json:
            out.document("inventory.convert", {"format": to, "source": str(source),
                                               "written": [str(p) for p in written], "hosts": converted.hosts})
        else:
            out.stderr.print(f"wrote {converted.hosts} hosts as {to}: {', '.join(map(str, written))}",
                             highlight=False)
        return
    if set(converted.files) != {""} and not out.json:
        raise UsageError(f"{to} writes several files ({', '.join(sorted(converted.files))}): give --output DIR")
    if out.json:
        out.document("inventory.convert", {"format": to, "source": str(source), "hosts": converted.hosts,
                                           "files": dict(converted.files)})
    else:
        typer.echo(converted.files[""], nl=False)
