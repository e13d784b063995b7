"""One output layer: rich for people, a versioned JSON document (or JSON lines) for scripts.

Data goes to stdout; progress and diagnostics go to stderr. No colour when stdout is not
a terminal (rich decides that from the stream).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# C0 controls but newline and tab, DEL, and C1 controls: what a terminal may act on
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CONTROL_STYLE = "dim"


def _visible(character: str) -> str:
    return f"\\x{ord(character):02x}"


def visible_controls(text: str) -> str:
    """``text`` with every control character but newline and tab written out as ``\\xNN``.

    For plain-text output (the one-line error path); rich output uses :func:`for_people`.
    """
    return _CONTROL.sub(lambda match: _visible(match.group()), text)


def short(text: str, width: int = 60) -> str:
    """The first non-empty line of ``text``, cut to ``width`` characters (an ellipsis marks the cut)."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 1] + "…"
    return ""


def for_people(text: str, style: str = "") -> Text:
    """``text`` as a rich Text for people: never parsed as markup, control characters (all but
    newline and tab) shown as dim ``\\xNN``, so remote output or a device string can neither
    format nor drive the terminal. Printable UTF-8 (accents, emoji) is kept as it is.
    """
    from rich.text import Text

    shown = Text(style=style)
    position = 0
    for match in _CONTROL.finditer(text):
        shown.append(text[position:match.start()])
        shown.append(_visible(match.group()), style=CONTROL_STYLE)
        position = match.end()
    shown.append(text[position:])
    return shown


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


def _stderr_may_be_terminal() -> bool:
    """Whether rich could take stderr for a terminal: it is one, or the environment forces one."""
    import os

    if "FORCE_COLOR" in os.environ or "TTY_COMPATIBLE" in os.environ:
        return True
    try:
        return sys.stderr.isatty()
    except ValueError:  # a closed stderr
        return False


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

            # emoji=False: a name such as "postgres:hospital:" is text, never an emoji code
            self._stdout = Console(soft_wrap=False, emoji=False)
        return self._stdout

    @property
    def stderr(self) -> Console:
        if self._stderr is None:
            from rich.console import Console

            self._stderr = Console(stderr=True, soft_wrap=True, emoji=False)
        return self._stderr

    @property
    def stderr_is_terminal(self) -> bool:
        """Whether stderr is a terminal, as rich decides; a stderr that cannot be one is told
        without importing rich (about 50 ms, before a command's child process may start)."""
        return (self._stderr is not None or _stderr_may_be_terminal()) and self.stderr.is_terminal

    def document(self, kind: str, body: Mapping[str, Any]) -> None:
        """Print one JSON document to stdout."""
        sys.stdout.write(json_document(kind, body) + "\n")
        sys.stdout.flush()

    def event(self, kind: str, body: Mapping[str, Any]) -> None:
        """Print one JSON-lines event to stdout (``--jsonl``)."""
        line = json.dumps({"schema": f"opsctl.{kind}/v1", **body}, default=_default)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def info(self, message: str | Text) -> None:
        """A diagnostic for people, on stderr; silent in machine modes and with --quiet.

        ``message`` is rich markup written by opsctl; text from hosts or devices in it must be
        escaped (``rich.markup.escape`` and :func:`visible_controls`) or passed as :func:`for_people`.
        """
        if not (self.quiet or self.machine):
            self.stderr.print(message, highlight=False)

    def warn(self, message: str) -> None:
        """A warning on stderr, shown in every mode (scripts read stdout only); ``message`` is
        shown as text, never as markup, its control characters made visible."""
        from rich.text import Text

        self.stderr.print(Text.assemble(("warning:", "yellow"), " ", for_people(message)), highlight=False)
