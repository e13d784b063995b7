"""opsctl state: create the state store where the configuration says."""

from __future__ import annotations

import typer

from opsctl.cli.common import JsonOption, app_context, make_output

app = typer.Typer(no_args_is_help=True)


@app.command("init")
def init(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Create the state store state.url names (nothing else creates one outside state.dir)."""
    from opsctl.core.state import init_state

    context = app_context(ctx)
    result = init_state(context.settings, recorder=context.recorder)
    out = make_output(json_output)
    if out.json:
        out.document("state.init", result.to_dict())
    else:
        what = "created" if result.created else "already there, migrated"
        versions = ", ".join(f"{name} {version}" for name, version in sorted(result.versions.items()))
        out.stdout.print(f"state store {result.location}: {what} ({versions})", highlight=False)
    raise typer.Exit(result.exit_code)
