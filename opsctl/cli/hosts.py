"""opsctl hosts: enrol, import, forget and list SSH host keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, load_host, make_output, ssh_targets

app = typer.Typer(no_args_is_help=True)


def _expected_fingerprints(fingerprints: list[str], from_file: Path | None) -> dict[str, set[str]] | set[str] | None:
    from opsctl.core.errors import ConfigError

    if from_file is None:
        return set(fingerprints) if fingerprints else None
    try:
        published = json.loads(from_file.read_text(encoding="utf-8"))
        return {host: set(entry["fingerprints"]) | set(fingerprints) for host, entry in published.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"expected {{host: {{fingerprints: [...]}}}}: {type(error).__name__}",
                          path=str(from_file)) from None


@app.command("trust")
def trust(
    ctx: typer.Context,
    hosts: Annotated[list[str], typer.Argument(help="Inventory hosts, groups or patterns.")],
    fingerprint: Annotated[list[str], typer.Option("--fingerprint", "-f",
                           help="Expected SHA256:... fingerprint (repeatable); others are refused.")] = [],  # noqa: B006
    fingerprints_from: Annotated[Path | None, typer.Option("--fingerprints-from",
                                 help="JSON file {host: {fingerprints: [...]}}, as the lab publishes.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show each host's key fingerprints and enrol them in opsctl's known_hosts."""
    from opsctl.core.fleet import Outcome, exit_code_for_outcomes
    from opsctl.core.trust import trust_hosts

    settings = app_context(ctx).settings
    out = make_output(json_output)
    targets = [t for pattern in hosts for t in ssh_targets(settings, pattern, out)]
    targets = list({t.name: t for t in targets}.values())
    outcomes = trust_hosts(settings, targets, expected=_expected_fingerprints(fingerprint, fingerprints_from))
    if out.json:
        out.document("hosts.trust", {"known_hosts": str(settings.known_hosts_path),
                                     "hosts": [o.to_dict() for o in outcomes]})
    else:
        from rich.markup import escape
        from rich.table import Table

        table = Table("host", "status", "key type", "fingerprint")
        for o in outcomes:
            keys = o.enrolled or o.offered
            style = {"enrolled": "green", "already-trusted": "green", "refused": "red"}.get(o.status, "yellow")
            table.add_row(o.host, f"[{style}]{o.status}[/]", "\n".join(k.key_type for k in keys),
                          "\n".join(k.fingerprint for k in keys))
        out.stdout.print(table)
        for o in outcomes:
            if o.message:
                out.stderr.print(f"[red]{o.status}:[/] {escape(o.message)}", highlight=False)
    as_outcome = {"enrolled": Outcome.OK, "already-trusted": Outcome.OK, "unreachable": Outcome.UNREACHABLE}
    raise typer.Exit(exit_code_for_outcomes(as_outcome.get(o.status, Outcome.FAILED) for o in outcomes))


@app.command("import")
def import_(
    ctx: typer.Context,
    known_hosts_file: Annotated[Path, typer.Argument(help="An OpenSSH known_hosts file.")],
    json_output: JsonOption = False,
) -> None:
    """Take host keys from an existing OpenSSH known_hosts file."""
    from opsctl.core.trust import import_known_hosts

    result = import_known_hosts(app_context(ctx).settings, known_hosts_file)
    out = make_output(json_output)
    if out.json:
        out.document("hosts.import", {
            "source": str(result.source),
            "imported": [{"names": list(e.names), "type": e.key_type, "fingerprint": e.fingerprint,
                          "revoked": e.revoked} for e in result.imported],
            "unsupported": [{"line": u.line, "reason": u.reason} for u in result.unsupported]})
    else:
        out.stdout.print(f"imported {len(result.imported)} key(s) from {result.source}", highlight=False)
    for line in result.unsupported:
        out.warn(f"{result.source}:{line.line}: not honoured: {line.reason}")
    raise typer.Exit(3 if result.unsupported else 0)


@app.command("forget")
def forget(
    ctx: typer.Context,
    hosts: Annotated[list[str], typer.Argument(help="Inventory host names (not patterns) whose keys are removed.")],
    json_output: JsonOption = False,
) -> None:
    """Remove hosts' enrolled keys deliberately (audited): the only way past a changed key.

    Takes exact host names, never a pattern, so one word cannot forget a whole group.
    """
    from opsctl.core.ssh import target_from_host
    from opsctl.core.trust import forget_host

    settings = app_context(ctx).settings
    targets = [target_from_host(load_host(settings, name), settings.ssh) for name in hosts]
    results = [forget_host(settings, target) for target in targets]
    out = make_output(json_output)
    if out.json:
        out.document("hosts.forget", {"hosts": [
            {"host": r.host, "known_hosts_name": r.known_hosts_name,
             "removed": [{"type": e.key_type, "fingerprint": e.fingerprint} for e in r.removed]}
            for r in results]})
    else:
        for r in results:
            for e in r.removed:
                out.stdout.print(f"forgot {r.host} {r.known_hosts_name} {e.key_type} {e.fingerprint}",
                                 highlight=False)


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
        from rich.table import Table

        table = Table("names", "key type", "fingerprint", "note", title=str(store.path))
        for e in store.entries:
            table.add_row(",".join(e.names), e.key_type, e.fingerprint, "[red]revoked[/]" if e.revoked else "")
        out.stdout.print(table)
    for line in store.unsupported:
        out.warn(f"{store.path}:{line.line}: not honoured: {line.reason}")
