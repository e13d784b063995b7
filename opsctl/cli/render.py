"""Rendering fleet runs: live progress on stderr, the result table on stdout, or JSON."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from opsctl.core.output import for_people, short

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID
    from rich.table import Table
    from rich.text import Text

    from opsctl.core.fleet import FleetResult, HostResult
    from opsctl.core.output import Output

@dataclass(frozen=True)
class Column:
    """A table column for people: how its cells may break, and how early it drops on a narrow terminal.

    ``wrap`` is ``"no"`` for names and fingerprints (never broken, never cut), ``"words"`` for lists of
    names (broken only between words, so each name stays whole) or ``"fold"`` for free text (wrapped,
    a word longer than the column folded). ``drop`` 0 never drops; of the others the highest drops first.
    A ``detail`` column moves, when the table still does not fit, to a line under the row's first cell.
    """

    header: str
    wrap: Literal["no", "words", "fold"] = "fold"
    drop: int = 0
    justify: Literal["left", "right"] = "left"
    min_width: int = 10
    detail: bool = False


def fit_table(width: int | None, columns: Sequence[Column], rows: Sequence[Sequence[Text | str]], *,
              boxed: bool = True, pad_edge: bool = True, **table_options: Any) -> Table:
    """A rich Table that fits ``width`` columns without cutting a name: columns whose cells do not
    fit drop (highest ``drop`` first) and the caption names them, then ``detail`` columns move under
    the first cell; the rest wrap as their ``wrap`` says. ``width`` None keeps every column.
    """
    from rich.table import Table
    from rich.text import Text

    cells = [[cell if isinstance(cell, Text) else Text(cell) for cell in row] for row in rows]
    columns = list(columns)

    def least(index: int) -> int:
        column = columns[index]
        lines = [column.header, *(line for row in cells for line in row[index].plain.splitlines())]
        if column.wrap == "no":
            return max(Text(line).cell_len for line in lines)
        words = [Text(word).cell_len for line in lines for word in line.split()] or [0]
        if column.wrap == "words":
            return max(words)
        # a header may wrap between its words, never inside one ("manufacture" over "r")
        header = max((Text(word).cell_len for word in column.header.split()), default=0)
        return max(min(max(Text(line).cell_len for line in lines), column.min_width), header)

    def most(index: int) -> int:
        lines = [columns[index].header, *(line for row in cells for line in row[index].plain.splitlines())]
        return max(Text(line).cell_len for line in lines)

    def needed(kept: list[int]) -> int:
        edges = (len(kept) + 1) if boxed else 0
        return sum(least(i) + 2 for i in kept) + edges - (0 if pad_edge else 2)

    kept = list(range(len(columns)))
    dropped: list[int] = []
    moved: list[int] = []
    while width is not None and needed(kept) > width:
        droppable = [i for i in kept if columns[i].drop]
        details = [i for i in kept[1:] if columns[i].detail]
        if droppable:
            victim = max(reversed(droppable), key=lambda i: columns[i].drop)
            kept.remove(victim)
            dropped.append(victim)
        elif details:
            # the names stay whole, and so do detail lines that must (fingerprints); the others wrap
            name_width = max([least(0), *(least(i) + 2 for i in details if columns[i].wrap != "fold")])
            for row in cells:
                for i in details:
                    if row[i].plain:
                        row[0] = Text("\n").join([row[0], *(Text("  ") + line for line in row[i].split("\n"))])
            columns[0] = Column(columns[0].header, min_width=name_width)
            moved += details
            kept = [i for i in kept if i not in details]
        else:
            break
    if not boxed:
        table_options.setdefault("box", None)
    table = Table(pad_edge=pad_edge, **table_options)
    # each column at least its floor; the space left goes a character at a time to the columns that
    # wrap, up to their widest line, so the table fits as laid out and rich never has to squeeze it
    limit = {i: least(i) if width is not None and columns[i].wrap != "no" else None for i in kept}
    spare = 0 if width is None else width - needed(kept)
    while spare > 0:
        growing = [i for i, cap in limit.items() if cap is not None and cap < most(i)]
        if not growing:
            break
        for i in growing[:spare]:
            limit[i] = (limit[i] or 0) + 1
            spare -= 1
    for i in kept:
        column = columns[i]
        table.add_column(column.header, justify=column.justify, no_wrap=column.wrap == "no",
                         overflow="fold" if column.wrap != "no" else "ellipsis",
                         min_width=least(i), max_width=limit[i])
    for row in cells:
        table.add_row(*(row[i] for i in kept))
    notes = []
    if moved:
        notes.append(f"{', '.join(columns[i].header for i in moved)} under each {columns[0].header}")
    if dropped:
        names = ", ".join(columns[i].header for i in sorted(dropped))
        notes.append(f"not shown at {width} columns: {names} (a wider terminal or --json shows them)")
    if notes:
        table.caption = "; ".join(notes)
        table.caption_justify = "left"
    return table


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
    if out.machine or not out.stderr_is_terminal:
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
    from rich.text import Text

    with_steps = any(len(host.steps) > 1 for host in result.results)
    columns = [Column("host", "no"), Column("outcome", "no"), *((Column("steps", drop=2),) if with_steps else ()),
               Column("exit", "no", drop=1, justify="right"), Column("time", "no", drop=3), Column("output")]
    rows = []
    for host in result.results:
        head = short(host.stdout) or short(host.stderr) or (host.error or "")
        # for_people: a host's output such as "[/red]" or "\x1b]0;" is data, not formatting or control
        rows.append([for_people(host.host), for_people(str(host.outcome), style=_STYLE[str(host.outcome)]),
                     *((for_people(_steps_cell(host)),) if with_steps else ()),
                     "" if host.exit_status is None else str(host.exit_status),
                     f"{host.duration_seconds:.2f}s", for_people(head)])
    out.stdout.print(fit_table(out.stdout.width, columns, rows))
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
