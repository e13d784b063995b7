"""opsctl hosts: enrol, import, forget and list SSH host keys."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output
from opsctl.core.output import for_people

app = typer.Typer(no_args_is_help=True)


@app.command("trust")
def trust(
    ctx: typer.Context,
    hosts: Annotated[list[str], typer.Argument(help="Inventory hosts, groups or patterns.")],
    fingerprint: Annotated[list[str], typer.Option("--fingerprint", "-f",
                           help="Expected SHA256:... fingerprint (repeatable); others are refused.")] = [],  # noqa: B006
    fingerprints_from: Annotated[Path | None, typer.Option("--fingerprints-from",
                                 help="JSON file {host: {fingerprints: [...]}}, as the lab publishes.")] = None,
    strict_patterns: Annotated[bool, typer.Option("--strict-patterns",
                               help="Refuse a pattern with a part that matches no host or group.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Show each host's key fingerprints and enrol them in opsctl's known_hosts."""
    from inventory.select import ssh_targets
    from opsctl.core.trust import expected_fingerprints, trust_hosts

    context = app_context(ctx)
    out = make_output(json_output)
    selection = ssh_targets(context.settings, hosts, strict=strict_patterns)
    for message in (*selection.unmatched_warnings, *selection.messages):
        out.warn(message)
    report = trust_hosts(context.settings, selection.targets, recorder=context.recorder,
                         expected=expected_fingerprints(fingerprint, fingerprints_from))
    if out.json:
        out.document("hosts.trust", report.to_dict())
    else:
        from rich.text import Text

        from opsctl.cli.render import Column, fit_table

        rows = []
        for o in report.outcomes:
            keys = o.enrolled or o.offered
            style = {"enrolled": "green", "already-trusted": "green", "refused": "red"}.get(o.status, "yellow")
            rows.append([for_people(o.host), for_people(o.status, style=style),
                         for_people("\n".join(k.key_type for k in keys)),
                         for_people("\n".join(k.fingerprint for k in keys))])
        columns = [Column("host", "no"), Column("status", "no"), Column("key type", "no", drop=1),
                   Column("fingerprint", "no", detail=True)]
        out.stdout.print(fit_table(out.stdout.width, columns, rows))
        for o in report.outcomes:
            if o.message:
                out.stderr.print(Text.assemble((f"{o.status}:", "red"), " ", for_people(o.message)), highlight=False)
    raise typer.Exit(int(report.exit_code))


@app.command("import")
def import_(
    ctx: typer.Context,
    known_hosts_file: Annotated[Path, typer.Argument(help="An OpenSSH known_hosts file.")],
    json_output: JsonOption = False,
) -> None:
    """Take host keys from an existing OpenSSH known_hosts file."""
    from opsctl.core.trust import import_known_hosts

    context = app_context(ctx)
    result = import_known_hosts(context.settings, known_hosts_file, recorder=context.recorder)
    out = make_output(json_output)
    if out.json:
        out.document("hosts.import", result.to_dict())
    else:
        out.stdout.print(for_people(f"imported {len(result.imported)} key(s) from {result.source}"), highlight=False)
    for line in result.unsupported:
        out.warn(f"{result.source}:{line.line}: not honoured: {line.reason}")
    raise typer.Exit(int(result.exit_code))


@app.command("forget")
def forget(
    ctx: typer.Context,
    hosts: Annotated[list[str], typer.Argument(help="Inventory host names (not patterns) whose keys are removed.")],
    json_output: JsonOption = False,
) -> None:
    """Remove hosts' enrolled keys deliberately (audited): the only way past a changed key.

    Takes exact host names, never a pattern, so one word cannot forget a whole group.
    """
    from inventory.select import host_targets
    from opsctl.core.trust import forget_hosts

    context = app_context(ctx)
    report = forget_hosts(context.settings, host_targets(context.settings, hosts), recorder=context.recorder)
    out = make_output(json_output)
    if out.json:
        out.document("hosts.forget", report.to_dict())
    else:
        for r in report.results:
            for e in r.removed:
                out.stdout.print(for_people(f"forgot {r.host} {r.known_hosts_name} {e.key_type} {e.fingerprint}"),
                                 highlight=False)
    raise typer.Exit(int(report.exit_code))


@app.command("list")
def list_(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """List the enrolled host keys, and the lines opsctl cannot honour."""
    from opsctl.core.known_hosts import load_known_hosts

    settings = app_context(ctx).settings
    store = load_known_hosts(settings.known_hosts_path)
    out = make_output(json_output)
    if out.json:
        out.document("hosts.list", {
            "known_hosts": str(store.path),
            "keys": [{"names": list(e.names), "type": e.key_type, "fingerprint": e.fingerprint,
                      "revoked": e.revoked, "line": e.line} for e in store.entries],
            "unsupported": [{"line": u.line, "reason": u.reason} for u in store.unsupported]})
    else:
        from opsctl.cli.render import Column, fit_table

        # names as "a, b": broken only between names, never inside one
        rows = [[for_people(", ".join(e.names)), for_people(e.key_type), for_people(e.fingerprint),
                 for_people("revoked" if e.revoked else "", style="red")] for e in store.entries]
        columns = [Column("names", "words"), Column("key type", "no", drop=2), Column("fingerprint", "no", detail=True),
                   Column("note", "no", drop=1)]
        out.stdout.print(fit_table(out.stdout.width, columns, rows, title=for_people(str(store.path))))
    for line in store.unsupported:
        out.warn(f"{store.path}:{line.line}: not honoured: {line.reason}")
