"""What a fact is and what gathering facts returns: values with provenance, missing facts with a note.

A fact, as in pyinfra, is a command plus a pure ``process(output)`` that turns the command's
standard output into a typed, frozen value; it raises :class:`FactParseError` on output it
cannot read, and never touches the network.
"""

from __future__ import annotations

import dataclasses
import datetime
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Generic, TypeVar

from opsctl.core.errors import OpsctlError

T = TypeVar("T")

SOURCE_SSH = "ssh"
SOURCE_LOCAL = "local"  # gathered on the machine opsctl runs on


class FactParseError(OpsctlError, ValueError):
    """A command's output that a fact cannot read (garbage, truncated, an unknown format)."""


class Fact(Generic[T]):
    """One fact: ``command()`` to run on the host and a pure ``process(output)`` for its value.

    Subclasses set ``name`` and either ``argv`` (quoted with ``shlex.join``) or ``shell`` (a
    shell line), and ``ok_exit_statuses`` when a status other than 0 still means an answer.
    """

    name: ClassVar[str]
    argv: ClassVar[tuple[str, ...] | None] = None
    shell: ClassVar[str | None] = None
    ok_exit_statuses: ClassVar[frozenset[int]] = frozenset({0})

    def command(self) -> str:
        """The shell line that prints this fact's raw output on standard output."""
        if self.argv is not None:
            return shlex.join(self.argv)
        if self.shell is not None:
            return self.shell
        raise NotImplementedError(f"fact {self.name} has neither argv nor shell")

    def process(self, output: str) -> T:
        """The typed value read from ``output``; raise :class:`FactParseError` if unreadable."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<fact {self.name}>"


@dataclass(frozen=True)
class FactValue:
    """A gathered value with its provenance: where (``ssh``, or ``local``), which command, and when."""

    name: str
    value: Any
    command: str
    source: str = SOURCE_SSH
    collected_at: datetime.datetime | None = None


@dataclass(frozen=True)
class MissingFact:
    """A fact that gave no value, the command tried, and why (``reason`` is meant for people)."""

    name: str
    command: str
    reason: str
    exit_status: int | None = None


@dataclass(frozen=True)
class HostFacts:
    """The facts of one host: values by fact name, and the facts that are missing, each with a note."""

    host: str
    values: Mapping[str, FactValue] = field(default_factory=dict)
    missing: Mapping[str, MissingFact] = field(default_factory=dict)
    collected_at: datetime.datetime | None = None
    duration_seconds: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))
        object.__setattr__(self, "missing", MappingProxyType(dict(self.missing)))

    @property
    def partial(self) -> bool:
        """Whether any requested fact is missing."""
        return bool(self.missing)

    @property
    def notes(self) -> tuple[str, ...]:
        """One line per missing fact: its name and the reason."""
        return tuple(f"{m.name}: {m.reason}" for m in self.missing.values())

    def get(self, fact: Fact[T] | type[Fact[T]]) -> T | None:
        """The value of ``fact`` (an instance or its class), or None when it is missing."""
        found = self.values.get(fact.name)
        return None if found is None else found.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data: every value with its provenance, then the missing facts."""
        return {
            "host": self.host,
            "partial": self.partial,
            "collected_at": self.collected_at.isoformat() if self.collected_at else None,
            "facts": {
                name: {"value": to_jsonable(v.value), "source": v.source, "command": v.command}
                for name, v in self.values.items()
            },
            "missing": {
                name: {"command": m.command, "reason": m.reason, "exit_status": m.exit_status}
                for name, m in self.missing.items()
            },
        }


def to_jsonable(value: Any) -> Any:
    """``value`` as JSON data: dataclasses become objects, tuples lists; other values stay."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [to_jsonable(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    return value
