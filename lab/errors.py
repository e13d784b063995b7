"""The lab's errors: all are :class:`~opsctl.core.errors.OpsctlError` subclasses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from opsctl.core.errors import OpsctlError


class LabError(OpsctlError, RuntimeError):
    """The lab cannot be prepared, started, stopped or read."""


class LabNotPublished(LabError, FileNotFoundError):
    """The lab has never been brought up in this lab directory, so nothing is published."""


@dataclass(frozen=True)
class PeerFailure:
    """One peer that did not come up: why, and the last lines of its log."""

    name: str
    kind: str
    endpoint: str
    detail: str
    log_path: str
    log_tail: str

    def describe(self) -> str:
        """Return a few lines naming the peer, the reason and its log tail (indented)."""
        lines = [f"{self.name} ({self.kind}, {self.endpoint}) did not start: {self.detail}"]
        if self.log_tail:
            lines.append(f"  last lines of {self.log_path}:")
            lines.extend(f"    {line}" for line in self.log_tail.splitlines())
        else:
            lines.append(f"  its log {self.log_path} is empty")
        return "\n".join(lines)


class PeerStartError(LabError):
    """One or more peers failed to start or never answered; ``failures`` names each one."""

    def __init__(self, failures: Sequence[PeerFailure], *, hint: str | None = None) -> None:
        self.failures = tuple(failures)
        names = ", ".join(failure.name for failure in self.failures)
        details = "\n".join(failure.describe() for failure in self.failures)
        super().__init__(
            f"{len(self.failures)} lab peer(s) failed: {names}\n{details}",
            hint=hint or "fix the cause shown in the log, then run `opsctl lab up` again",
        )
