"""What every command module shares: the app context, settings, and the output switch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from opsctl.core.output import Output

if TYPE_CHECKING:
    from inventory.model import Host
    from opsctl.core.recorder import AuditRecorder
    from opsctl.core.settings import Settings

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]
JsonlOption = Annotated[bool, typer.Option("--jsonl", help="Print one JSON event a line.")]


@dataclass
class AppContext:
    """Global options, and the settings loaded once, on first use."""

    config_file: Path | None = None
    verbose: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _recorder: AuditRecorder | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from opsctl.core.config import load_settings

            self._settings = load_settings(self.config_file)
        return self._settings

    @property
    def recorder(self) -> AuditRecorder:
        """The command's one audit recorder (opened on first record, closed by run_app)."""
        if self._recorder is None:
            from opsctl.core.recorder import AuditRecorder

            self._recorder = AuditRecorder.for_settings(lambda: self.settings)
        return self._recorder

    def close(self) -> None:
        """Close what the command opened (the recorder's state store)."""
        if self._recorder is not None:
            self._recorder.close()


def app_context(ctx: typer.Context) -> AppContext:
    """Return the AppContext the root callback stored (a fresh one when run standalone)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
    return root.obj


def make_output(json: bool = False, jsonl: bool = False) -> Output:
    return Output(json=json, jsonl=jsonl)


def reachable_hosts(settings: Settings, pattern: str, out: Output, *, need: Literal["ssh", "shell"],
                    strict: bool = False) -> list[Host]:
    """The hosts of ``pattern`` that fleet work can reach (see :func:`inventory.select.reachable_hosts`).

    Each pattern part that matched nothing, and the message naming the hosts left out, are
    shown as warnings on stderr; with ``strict`` an unmatched part is a UsageError instead.
    """
    from inventory.select import reachable_hosts as select_reachable

    selection = select_reachable(settings, pattern, need=need, strict=strict)
    for warning in selection.unmatched_warnings:
        out.warn(warning)
    if selection.message:
        out.warn(selection.message)
    return list(selection.hosts)
