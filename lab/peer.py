"""What every lab peer is: a Protocol, a base for peers that are one process, and results.

A peer is one real program on a loopback address. Its directory holds ``peer.json`` (what
it is), its generated config, its pid file and its log; the pid file exists exactly while the
lab means the peer to run, so ``down`` and ``status`` work from any process.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from lab.errors import LabError, PeerFailure
from lab.process import is_ours, log_tail, read_pid, spawn, stop_process

if TYPE_CHECKING:
    from lab.layout import LabLayout

P = TypeVar("P")

RECORD_FILE = "peer.json"


@dataclass(frozen=True)
class Answer:
    """The outcome of one readiness check: did the peer really answer, and what it said."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class PeerRecord:
    """What ``peer.json`` says about a peer, enough for its kind to rebuild it."""

    name: str
    kind: str
    address: str
    port: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PeerRecord:
        """Build a record from parsed ``peer.json``; raise ``LabError`` if a field is wrong."""
        try:
            return cls(
                name=str(data["name"]),
                kind=str(data["kind"]),
                address=str(data["address"]),
                port=int(data["port"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise LabError(f"malformed peer record: {error}") from None


def peer_from_record(peer_class: type[P], layout: LabLayout, record: PeerRecord, peer_dir: Path, **fields: Any) -> P:
    """A peer of ``peer_class`` as a kind's ``load`` rebuilds it: its name, address and port from
    ``record``, its directory and the lab's layout, and the kind's own ``fields``."""
    return peer_class(name=record.name, address=record.address, port=record.port,  # type: ignore[call-arg]
                      peer_dir=peer_dir, layout=layout, **fields)


@dataclass(frozen=True)
class PeerStatus:
    """One peer as ``status`` (and ``up``) sees it: where it is, its pid, and if it answers."""

    name: str
    kind: str
    address: str
    port: int
    pid: int | None
    running: bool
    answering: bool
    detail: str
    log_path: Path

    @property
    def endpoint(self) -> str:
        return f"{self.address}:{self.port}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "address": self.address,
            "port": self.port,
            "pid": self.pid,
            "running": self.running,
            "answering": self.answering,
            "detail": self.detail,
            "log": str(self.log_path),
        }


@runtime_checkable
class Peer(Protocol):
    """One lab peer. ``ready`` must be a real answer (a login, a query), never an open port."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def peer_dir(self) -> Path: ...
    @property
    def log_path(self) -> Path: ...
    @property
    def pid_path(self) -> Path: ...

    def prepare(self) -> None:
        """Write the peer's config, keys and ``peer.json`` (idempotent; keeps existing keys)."""

    def start(self) -> int:
        """Start the program in the background, record and return its pid."""

    def running_pid(self) -> int | None:
        """The recorded pid if that process is still this peer, else None."""

    def ready(self, timeout: float) -> Answer:
        """Ask the peer once for a real answer, within about ``timeout`` seconds."""

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop the recorded process and remove the pid file; True if it was running."""

    def record(self) -> PeerRecord:
        """What ``peer.json`` holds for this peer."""

    def status(self, *, check: bool, timeout: float = 3.0) -> PeerStatus:
        """This peer's status; with ``check``, one real readiness check."""

    def failure(self, detail: str, *, lines: int = 10) -> PeerFailure:
        """A description of this peer's failure with the tail of its log."""


class ProcessPeer(ABC):
    """Base for a peer that is one long-running process started from ``command()``.

    Subclasses supply ``command``, ``marker`` (text unique to this peer's command line, e.g.
    its config path), ``prepare`` and ``ready``; this class starts, finds and stops it.
    """

    name: str
    kind: str
    address: str
    port: int
    peer_dir: Path

    @property
    def log_path(self) -> Path:
        return self.peer_dir / f"{self.kind}.log"

    @property
    def pid_path(self) -> Path:
        """The lab's record of the pid; never the program's own pid file (it may delete that)."""
        return self.peer_dir / "peer.pid"

    @property
    def record_path(self) -> Path:
        return self.peer_dir / RECORD_FILE

    @property
    @abstractmethod
    def marker(self) -> str:
        """Text that appears in this peer's ``/proc/PID/cmdline`` and no other's."""

    @abstractmethod
    def command(self) -> tuple[str, ...]:
        """The argument vector that runs the peer in the foreground."""

    def environment(self) -> dict[str, str] | None:
        """The environment for the program (None: inherit ours)."""
        return None

    @abstractmethod
    def prepare(self) -> None: ...

    @abstractmethod
    def ready(self, timeout: float) -> Answer: ...

    def record(self) -> PeerRecord:
        return PeerRecord(name=self.name, kind=self.kind, address=self.address, port=self.port)

    def write_record(self) -> None:
        """Write ``peer.json`` so ``down`` and ``status`` can rebuild this peer later."""
        self.record_path.write_text(self.record().to_json(), encoding="utf-8")

    def start(self) -> int:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(
                f"--- opsctl lab: starting {self.name} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
            )
        try:
            return spawn(
                self.command(),
                log_path=self.log_path,
                pid_path=self.pid_path,
                env=self.environment(),
            )
        except OSError as error:
            raise LabError(
                f"{self.name}: cannot run {self.command()[0]}: {error.strerror}"
            ) from None

    def running_pid(self) -> int | None:
        pid = read_pid(self.pid_path)
        return pid if pid is not None and is_ours(pid, self.marker) else None

    def stop(self, timeout: float = 5.0) -> bool:
        pid = read_pid(self.pid_path)
        stopped = pid is not None and stop_process(pid, self.marker, timeout=timeout)
        self.pid_path.unlink(missing_ok=True)
        return stopped

    def status(self, *, check: bool, timeout: float = 3.0) -> PeerStatus:
        """Return this peer's status; with ``check``, ask it for a real answer once."""
        pid = self.running_pid()
        if pid is None:
            answer = Answer(False, "not running")
        elif check:
            answer = self.ready(timeout)
        else:
            answer = Answer(False, "not checked")
        return peer_status(self, answer, pid)

    def failure(self, detail: str, *, lines: int = 10) -> PeerFailure:
        """Describe this peer's failure with the tail of its log."""
        return PeerFailure(
            name=self.name,
            kind=self.kind,
            endpoint=f"{self.address}:{self.port}",
            detail=detail,
            log_path=str(self.log_path),
            log_tail=log_tail(self.log_path, lines),
        )


def wait_ready(peer: Peer, *, wait_seconds: float, interval: float = 0.2) -> Answer:
    """Ask ``peer`` until it answers or ``wait_seconds`` pass; give up early if its process died."""
    deadline = time.monotonic() + wait_seconds
    while True:
        if peer.running_pid() is None:
            return Answer(False, "its process exited")
        remaining = deadline - time.monotonic()
        answer = peer.ready(timeout=min(5.0, max(1.0, remaining)))
        if answer.ok:
            return answer
        if time.monotonic() >= deadline:
            return Answer(False, f"no answer within {wait_seconds:g} s: {answer.detail}")
        time.sleep(interval)


def peer_status(peer: Peer, answer: Answer, pid: int | None) -> PeerStatus:
    """The status of ``peer`` running as ``pid`` (None: not running) that gave ``answer``."""
    return PeerStatus(
        name=peer.name,
        kind=peer.kind,
        address=peer.address,
        port=peer.port,
        pid=pid,
        running=pid is not None,
        answering=answer.ok,
        detail=answer.detail,
        log_path=peer.log_path,
    )
