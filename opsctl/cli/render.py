"""Rendering fleet runs: live progress on stderr, the result table on stdout, or JSON."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opsctl.cli.common import short
from opsctl.core.output import for_people

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from opsctl.core.fleet import FleetResult, HostResult
    from opsctl.core.output import Output

_STYLE = {"ok": "green", "changed": "yellow", "failed": "red", "unreachable": "magenta", "skipped": "dim",
          "partial": "dark_orange"}


@dataclass
class FleetProgress:
    """Callbacks for the executor: a progress bar for people, events for ``--jsonl``."""

    out: Output
    progress: Progress | None = None
    task: TaskID | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def total(self, hosts: int) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, total=hosts)

    def started(self, host: str) -> None:
        if self.out.jsonl:
            self.out.event("run.event", {"event": "start", "host": host})

    def finished(self, result: HostResult) -> None:
        if self.out.jsonl:
            self.out.event("run.event", {"event": "done", **result.to_dict()})
        self.counts[str(result.outcome)] = self.counts.get(str(result.outcome), 0) + 1
        if self.progress is not None and self.task is not None:
            summary = " ".join(f"[{_STYLE[k]}]{k} {v}[/]" for k, v in sorted(self.counts.items()))
            self.progress.update(self.task, advance=1, description=summary)


@contextmanager
def fleet_progress(out: Output) -> Iterator[FleetProgress]:
    """A live progress bar on stderr (only when stderr is a terminal and output is for people)."""
    if out.machine or not out.stderr.is_terminal:
        yield FleetProgress(out)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=out.stderr, transient=True) as progress:
        yield FleetProgress(out, progress, progress.add_task("running", total=None))


def render_fleet(out: Output, kind: str, document: Mapping[str, Any], result: FleetResult) -> None:
    """Print the run: a JSON document, a closing JSONL event, or a table and a summary line."""
    if out.json:
        out.document(kind, document)
        return
    if out.jsonl:
        out.event(f"{kind}.event", {"event": "end", **{k: v for k, v in document.items() if k != "hosts"}})
        return
    from rich.table import Table
    from rich.text import Text

    with_steps = any(len(host.steps) > 1 for host in result.results)
    table = Table("host", "outcome", *(("steps",) if with_steps else ()), "exit", "time", "output")
    for host in result.results:
        head = short(host.stdout) or short(host.stderr) or (host.error or "")
        # for_people: a host's output such as "[/red]" or "\x1b]0;" is data, not formatting or control
        table.add_row(for_people(host.host), for_people(str(host.outcome), style=_STYLE[str(host.outcome)]),
                      *((for_people(_steps_cell(host)),) if with_steps else ()),
                      "" if host.exit_status is None else str(host.exit_status),
                      f"{host.duration_seconds:.2f}s", for_people(head))
    out.stdout.print(table)
    counts = ", ".join(f"{v} {k}" for k, v in result.counts.items() if v)
    out.stderr.print(f"{len(result.results)} hosts: {counts} in {result.duration_seconds:.2f}s", highlight=False)
    if result.halted_reason:
        out.stderr.print(Text.assemble(("halted:", "red"), " ", for_people(result.halted_reason)), highlight=False)
    for host in result.results:
        if host.error and host.outcome != "skipped":
            out.stderr.print(Text.assemble((f"{host.outcome}:", _STYLE[str(host.outcome)]), " ",
                                           for_people(host.error)), highlight=False)
    hints = [h.hint for h in result.results if h.hint]
    if hints:
        more = f" (and {len(hints) - 1} more like it)" if len(hints) > 1 else ""
        out.stderr.print(for_people(f"  hint: {hints[0]}{more}"), highlight=False)


def _steps_cell(host: HostResult) -> str:
    """``3/4`` steps done, with the step that stopped the host and how many an earlier attempt did."""
    done = sum(1 for step in host.steps if step.done)
    cell = f"{done}/{len(host.steps)}"
    stopped = next((step for step in host.steps if not step.done), None)
    if stopped is not None and host.steps:
        cell += f" {stopped.name} {stopped.outcome}"
    resumed = sum(1 for step in host.steps if step.resumed)
    if resumed:
        cell += f" ({resumed} resumed)"
    return cell
