"""One output layer: rich for people, a versioned JSON document (or JSON lines) for scripts.

Data goes to stdout; progress and diagnostics go to stderr. No colour when stdout is not
a terminal (rich decides that from the stream).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def _default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_document(kind: str, body: Mapping[str, Any]) -> str:
    """Return the JSON text of one machine document of ``kind`` (schema ``opsctl.KIND/v1``)."""
    return json.dumps({"schema": f"opsctl.{kind}/v1", **body}, default=_default, indent=2)


@dataclass
class Output:
    """Where a command writes: ``json`` for one document, ``jsonl`` for events, else rich."""

    json: bool = False
    jsonl: bool = False
    quiet: bool = False
    _stdout: Console | None = field(default=None, repr=False)
    _stderr: Console | None = field(default=None, repr=False)

    @property
    def machine(self) -> bool:
        return self.json or self.jsonl

    @property
    def stdout(self) -> Console:
        if self._stdout is None:
            from rich.console import Console

            self._stdout = Console(soft_wrap=False)
        return self._stdout

    @property
    def stderr(self) -> Console:
        if self._stderr is None:
            from rich.console import Console

            self._stderr = Console(stderr=True, soft_wrap=True)
        return self._stderr

    def document(self, kind: str, body: Mapping[str, Any]) -> None:
        """Print one JSON document to stdout."""
        sys.stdout.write(json_document(kind, body) + "\n")
        sys.stdout.flush()

    def event(self, kind: str, body: Mapping[str, Any]) -> None:
        """Print one JSON-lines event to stdout (``--jsonl``)."""
        line = json.dumps({"schema": f"opsctl.{kind}/v1", **body}, default=_default)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def info(self, message: str) -> None:
        """A diagnostic for people, on stderr; silent in machine modes and with --quiet."""
        if not (self.quiet or self.machine):
            self.stderr.print(message, highlight=False)

    def warn(self, message: str) -> None:
        """A warning on stderr, shown in every mode (scripts read stdout only)."""
        self.stderr.print(f"[yellow]warning:[/] {message}", highlight=False)
