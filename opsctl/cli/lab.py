"""opsctl lab: start, stop and inspect the simulated data centre (a thin layer over ``lab``)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from opsctl.cli.common import JsonOption, app_context, make_output
from opsctl.core.output import for_people

if TYPE_CHECKING:
    from rich.table import Table

    from lab import PeerStatus

app = typer.Typer(no_args_is_help=True)


def _peer_table(peers: Sequence[PeerStatus], width: int | None = None) -> Table:
    from opsctl.cli.render import Column, fit_table

    rows = []
    for peer in peers:
        answers = for_people("yes", "green") if peer.answering else for_people("no", "red")
        rows.append([
            *(for_people(cell) for cell in (peer.name, peer.kind, peer.endpoint, str(peer.pid or "-"))),
            answers,
            for_people(peer.detail),
        ])
    columns = [Column("peer", "no"), Column("kind", "no", drop=2), Column("address", "no"),
               Column("pid", "no", drop=1, justify="right"), Column("answers", "no"), Column("detail", min_width=20, detail=True)]
    return fit_table(width, columns, rows, boxed=False, pad_edge=False)


@app.command()
def up(
    ctx: typer.Context,
    ssh_hosts: Annotated[
        int | None,
        typer.Option(
            "--ssh-hosts", min=1, max=50, help="How many SSH hosts (default: lab.ssh_hosts)."
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Start the lab's peers (idempotent) and publish its inventory, keys and fingerprints."""
    import lab

    output = make_output(json=json)
    output.info("starting the lab…")
    state = lab.up(app_context(ctx).settings, ssh_hosts=ssh_hosts)
    if output.json:
        output.document("lab.up", state.to_dict())
        return
    output.stdout.print(_peer_table(state.peers, output.stdout.width))
    output.stdout.print(
        f"{len(state.peers)} peers answer ({len(state.started)} started, {len(state.kept)} already running, "
        f"{len(state.stopped)} stopped) in {state.elapsed_seconds:.1f} s",
        highlight=False,
    )
    output.stdout.print(
        f"inventory: {state.publication.inventory_path}", highlight=False, soft_wrap=True
    )


@app.command()
def down(ctx: typer.Context, json: JsonOption = False) -> None:
    """Stop every peer the lab started; keys and secrets are kept for the next ``up``."""
    import lab

    output = make_output(json=json)
    stopped = lab.down(app_context(ctx).settings)
    if output.json:
        output.document("lab.down", {"stopped": stopped})
    elif stopped:
        output.stdout.print(
            f"stopped {len(stopped)} peers: {', '.join(stopped)}", highlight=False, soft_wrap=True
        )
    else:
        output.stdout.print("nothing was running")


@app.command()
def status(ctx: typer.Context, json: JsonOption = False) -> None:
    """Ask every lab peer for a real answer; exit 1 if any does not, or the lab is not running."""
    import lab

    output = make_output(json=json)
    peers = lab.status(app_context(ctx).settings)
    every_peer_answers = bool(peers) and all(peer.answering for peer in peers)
    if output.json:
        body = {
            "running": bool(peers),
            "answering": every_peer_answers,
            "peers": [peer.to_dict() for peer in peers],
        }
        output.document("lab.status", body)
    elif not peers:
        output.stdout.print("lab is not running")
    else:
        output.stdout.print(_peer_table(peers, output.stdout.width))
        silent = [peer.name for peer in peers if not peer.answering]
        summary = f"{len(peers) - len(silent)} of {len(peers)} peers answer"
        output.stdout.print(
            summary + (f"; not answering: {', '.join(silent)}" if silent else ""), highlight=False
        )
    if not every_peer_answers:
        raise typer.Exit(1)


class UpsState(StrEnum):
    """The states of the lab's UPS (NUT's dummy-ups) that ``opsctl lab ups`` offers."""

    online = "online"
    on_battery = "on-battery"
    low_battery = "low-battery"


@app.command()
def ups(
    ctx: typer.Context,
    state: Annotated[UpsState, typer.Argument(help="online, on-battery or low-battery.")],
    json: JsonOption = False,
) -> None:
    """Put the lab's UPS (NUT's dummy-ups) on line, on battery or on a low battery, and wait until upsd says so."""
    from lab.nut.peer import set_ups_state

    output = make_output(json=json)
    change = set_ups_state(app_context(ctx).settings, state.value)
    if output.json:
        output.document("lab.ups", change.to_dict())
        return
    output.stdout.print(
        f"lab UPS {change.state}: upsd reports ups.status {change.status} after {change.elapsed_seconds:.1f} s",
        highlight=False,
    )
