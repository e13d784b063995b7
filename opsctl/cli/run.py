"""opsctl run TARGET -- COMMAND: one command across a group, pattern or ``all``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsctl.cli.common import JsonlOption, JsonOption, app_context, make_output, reachable_hosts


def run(
    ctx: typer.Context,
    target: Annotated[str | None, typer.Argument(help="Host pattern: group, host, web*, a:b, a:!b, a:&b, ~regex.")] = None,
    command: Annotated[list[str] | None, typer.Argument(help="The command, after --.")] = None,
    waves: Annotated[str | None, typer.Option("--waves", help="Batch sizes, e.g. 1,10%,50% (last repeats).")] = None,
    max_failed: Annotated[str | None, typer.Option("--max-failed", help="Failures tolerated per wave: N or P%.")] = None,
    max_failed_total: Annotated[str | None, typer.Option("--max-failed-total",
                                help="Failures tolerated over the run: N or P%.")] = None,
    unreachable: Annotated[str, typer.Option("--unreachable", help="'fail' (count against budgets) or 'skip'.")] = "fail",
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds before a command is stopped.")] = None,
    forks: Annotated[int | None, typer.Option("--forks", help="Hosts at once (default: fleet.forks, 50).")] = None,
    become: Annotated[bool | None, typer.Option("--become/--no-become", help="Run through sudo.")] = None,
    rerun: Annotated[str | None, typer.Option("--rerun", help="Repeat the last run for its 'failed' or 'skipped' hosts.")] = None,
    output_dir: Annotated[Path | None, typer.Option("--output-dir", help="Write each host's stdout and stderr here.")] = None,
    strict_patterns: Annotated[bool, typer.Option("--strict-patterns",
                               help="Refuse a pattern with a part that matches no host or group.")] = False,
    json_output: JsonOption = False,
    jsonl_output: JsonlOption = False,
) -> None:
    """Run a command on every matching host, with live progress and a per-host result table."""
    from opsctl.cli.render import fleet_progress, render_fleet
    from opsctl.core.errors import UsageError
    from opsctl.core.fleet import Budget, FleetOptions, parse_wave_sizes
    from playbooks.adhoc import AdhocRequest, command_line, run_adhoc, write_output_dir

    settings = app_context(ctx).settings
    if unreachable not in ("fail", "skip"):
        raise UsageError(f"--unreachable {unreachable!r}: expected 'fail' or 'skip'")
    options = FleetOptions(
        forks=forks or settings.fleet.forks,
        waves=parse_wave_sizes(waves) if waves else (),
        max_failed=Budget.parse(max_failed, option="--max-failed") if max_failed else None,
        max_failed_total=Budget.parse(max_failed_total, option="--max-failed-total") if max_failed_total else None,
        unreachable_counts_as_failed=unreachable == "fail",
    )
    request = AdhocRequest(target, command_line(command) if command else None,
                           timeout or settings.ssh.command_timeout, options, become, rerun)
    out = make_output(json_output, jsonl_output)
    with fleet_progress(out) as progress:
        adhoc = run_adhoc(settings,
                          lambda pattern: reachable_hosts(settings, pattern, out, need="shell", strict=strict_patterns),
                          request, on_start=progress.started, on_result=progress.finished, on_targets=progress.total)
    if output_dir is not None:
        write_output_dir(output_dir, adhoc)
    render_fleet(out, "run", adhoc.to_dict(), adhoc.result)
    raise typer.Exit(int(adhoc.result.exit_code))
