"""opsctl agent install/status TARGET: put opsctl-agent on hosts over SSH; ask each agent if it answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output, reachable_hosts

if TYPE_CHECKING:
    from agents.installer.status import AgentStatusReport
    from opsctl.core.output import Output

app = typer.Typer(no_args_is_help=True)
_STYLE = {"ok": "green", "failed": "red", "unreachable": "magenta"}
TargetArgument = Annotated[str, typer.Argument(help="Host pattern: group, host, web*, a:b, a:!b, a:&b, ~regex.")]


@app.command("install")
def install(
    ctx: typer.Context,
    target: TargetArgument,
    forks: Annotated[int | None, typer.Option("--forks", help="Hosts at once (default: fleet.forks, 50).")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds for one host's copy and start.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Copy the agent and its dependencies to each host, write its configuration and unit, start it, check it answers."""
    from agents.installer.install import install_agents
    from inventory.host_vars import mark_runs_agent
    from opsctl.cli.render import fleet_progress, render_fleet
    from opsctl.core.errors import ConfigError
    from opsctl.core.fleet import FleetOptions

    context = app_context(ctx)
    settings = context.settings
    out = make_output(json_output)
    hosts = {host.name: host for host in reachable_hosts(settings, target, out, need="shell")}
    inventory_path = settings.inventory
    if inventory_path is None:
        raise ConfigError("no inventory configured", hint="set inventory: in opsctl.yaml")
    with fleet_progress(out) as progress:
        progress.total(len(hosts))
        run = install_agents(settings, list(hosts.values()), target=target, recorder=context.recorder,
                             mark_agent=lambda name: mark_runs_agent(inventory_path, hosts[name]),
                             options=FleetOptions(forks=forks or settings.fleet.forks), timeout=timeout,
                             on_start=progress.started, on_result=progress.finished)
    render_fleet(out, "agent-install", run.to_dict(), run.result)
    raise typer.Exit(int(run.exit_code))


@app.command("status")
def status(
    ctx: typer.Context,
    target: TargetArgument,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for each agent's /metrics.")] = 3.0,
    json_output: JsonOption = False,
) -> None:
    """Each host's agent: does its /metrics answer, its version, how many series, how fast."""
    from agents.installer.status import agent_status

    context = app_context(ctx)
    settings = context.settings
    out = make_output(json_output)
    hosts = reachable_hosts(settings, target, out, need="ssh")
    report = agent_status(hosts, target=target, timeout=timeout, forks=settings.fleet.forks)
    if out.json:
        out.document("agent-status", report.to_dict())
    else:
        render_status(out, report)
    raise typer.Exit(int(report.exit_code))


def render_status(out: Output, report: AgentStatusReport) -> None:
    """The agents as a table that fits the terminal (the host name never cut), and a count line."""
    from rich.text import Text

    from opsctl.cli.render import Column, fit_table
    from opsctl.core.output import for_people

    columns = [Column("host", "no"), Column("agent", "no", drop=2), Column("state", "no"),
               Column("version", "no"), Column("series", "no", drop=3, justify="right"),
               Column("time", "no", drop=4, justify="right"), Column("detail", detail=True)]
    rows: list[list[Text | str]] = []
    for agent in report.agents:
        answer = agent.answer
        state = "answers" if answer.answering else "silent" if not answer.reached else "wrong"
        rows.append([for_people(agent.host), for_people(answer.url.removeprefix("http://").removesuffix("/metrics")),
                     for_people(state, style=_STYLE[str(agent.outcome)]), for_people(answer.version or ""),
                     str(answer.series) if answer.reached else "", f"{answer.seconds * 1000:.0f}ms",
                     for_people(answer.reason or "")])
    out.stdout.print(fit_table(out.stdout.width, columns, rows))
    counts = report.to_dict()["counts"]
    out.stderr.print(f"{len(report.agents)} agents: " + ", ".join(f"{v} {k}" for k, v in counts.items()),
                     highlight=False)
