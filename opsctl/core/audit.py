"""The audit log: an append-only file of JSON lines, each chained to the one before by hash.

Each line holds ``seq``, ``time`` (UTC), ``operator``, ``command``, ``targets``, ``outcome``,
``details``, ``prev`` (the previous line's hash, 64 zeros for the first) and ``hash`` =
sha256(prev + canonical JSON of the line without ``hash``). The newest line's seq and hash
are also kept in the state store (the *anchor*), so a cut-off tail is detected too.

Nothing secret may go into an entry: callers pass commands, targets and details that are
already free of secrets (secret references are fine, their values never).
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.core.errors import AuditError, StateError

if TYPE_CHECKING:
    from opsctl.core.settings import Settings
    from opsctl.core.state import AuditAnchor, StateStore

GENESIS_HASH = "0" * 64
FIELDS = ("seq", "time", "operator", "command", "targets", "outcome", "details", "prev", "hash")
_TAIL_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    seq: int
    time: str
    operator: str
    command: str
    targets: tuple[str, ...]
    outcome: str
    details: Mapping[str, Any]
    prev: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """Return the entry as the JSON object it is stored as."""
        return {
            "seq": self.seq,
            "time": self.time,
            "operator": self.operator,
            "command": self.command,
            "targets": list(self.targets),
            "outcome": self.outcome,
            "details": dict(self.details),
            "prev": self.prev,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class AuditProblem:
    """One integrity problem, at a 1-based line of the log file."""

    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


@dataclass(frozen=True)
class AuditReport:
    """The result of :meth:`AuditLog.verify`: ``ok`` when ``problems`` is empty."""

    ok: bool
    entries: int
    problems: list[AuditProblem] = field(default_factory=list)
    anchor_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "anchor_seq": self.anchor_seq,
            "problems": [problem.to_dict() for problem in self.problems],
        }


def canonical_json(value: Mapping[str, Any]) -> str:
    """Return the canonical JSON text the hash is computed over."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(body: Mapping[str, Any]) -> str:
    """Return sha256(prev + canonical JSON of ``body``); ``body`` holds every field but ``hash``."""
    text = str(body["prev"]) + canonical_json({k: v for k, v in body.items() if k != "hash"})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_operator() -> str:
    """Return who is acting: ``SUDO_USER`` if set, else the login name (or the uid)."""
    sudo_user = os.environ.get("SUDO_USER")
    if sudo_user:
        return sudo_user
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a bare container): the uid still identifies
        return f"uid {os.getuid()}"


def open_audit(settings: Settings) -> AuditLog:
    """Open the audit log the settings name, anchored in the settings' state store."""
    from opsctl.core.state import open_state

    return AuditLog(settings.audit_path, open_state(settings), operator=settings.audit.operator)


class AuditLog:
    """The audit log at ``path``, its anchor kept in ``store``; safe across processes (flock)."""

    def __init__(self, path: Path, store: StateStore, operator: str | None = None) -> None:
        self.path = path
        self.store = store
        self.operator = operator or default_operator()

    def append(
        self,
        command: str,
        targets: Sequence[str],
        outcome: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry (fsync'd) and move the anchor to it; raise AuditError if not written.

        ``details`` must be JSON-serialisable and must not contain secrets.
        """
        if isinstance(targets, str):
            raise TypeError("targets is a sequence of names, not one string")
        with self._locked_for_append() as fd:
            last_seq, last_hash = _last_entry(fd)
            anchor = self.store.get_anchor()
            seq = last_seq + 1
            if anchor is not None and anchor.seq > last_seq:
                # lines were cut off the end: keep numbering after the anchor, so the gap
                # stays visible to verify instead of being papered over by new lines
                seq = anchor.seq + 1
            body: dict[str, Any] = {
                "seq": seq,
                "time": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
                "operator": self.operator,
                "command": command,
                "targets": list(targets),
                "outcome": outcome,
                "details": dict(details or {}),
                "prev": last_hash,
            }
            try:
                # hash exactly what a reader will parse back (tuples become lists, and so on)
                body = json.loads(canonical_json(body))
            except (TypeError, ValueError) as error:
                raise AuditError(
                    f"audit entry details are not JSON-serialisable: {error}"
                ) from None
            body["hash"] = entry_hash(body)
            line = (canonical_json(body) + "\n").encode("utf-8")
            try:
                _write_all(fd, _separator_needed(fd) + line)
                os.fsync(fd)
            except OSError as error:
                raise AuditError(
                    f"cannot write the audit log {self.path}: {error.strerror or error}"
                ) from None
            try:
                self.store.set_anchor(body["seq"], body["hash"])
            except StateError as error:
                raise AuditError(
                    f"audit line {body['seq']} was written to {self.path} but its anchor was not "
                    f"stored: {error}",
                    hint="opsctl audit verify will report the anchor behind the log",
                ) from None
        return _entry_from(body)

    def entries(self) -> list[AuditEntry]:
        """Return every well-formed entry in file order (verify reports the others)."""
        with self._locked_for_reading() as data:
            pass
        parsed = (_parse_line(raw) for raw, _complete in _split_lines(data))
        return [_entry_from(body) for body, problem in parsed if problem is None and body]

    def verify(self) -> AuditReport:
        """Check every line's hash, seq and link, and the last line against the anchor."""
        with self._locked_for_reading() as data:
            anchor = self.store.get_anchor()
        if data is None:
            if anchor is None:
                return AuditReport(ok=True, entries=0)
            problem = AuditProblem(
                1,
                f"the audit log {self.path} is missing but the state store's anchor is "
                f"seq {anchor.seq}: the file was deleted or moved",
            )
            return AuditReport(ok=False, entries=0, problems=[problem], anchor_seq=anchor.seq)
        return _verify_lines(data, anchor)

    # -- file access

    @contextlib.contextmanager
    def _locked_for_append(self) -> Iterator[int]:
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as error:
            raise AuditError(
                f"cannot open the audit log {self.path}: {error.strerror or error}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if created:
                _fsync_directory(self.path.parent)
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    @contextlib.contextmanager
    def _locked_for_reading(self) -> Iterator[bytes | None]:
        """Yield the file's bytes (None if missing) while holding a shared lock on it."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            yield None
            return
        except OSError as error:
            raise AuditError(
                f"cannot read the audit log {self.path}: {error.strerror or error}"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            with os.fdopen(os.dup(fd), "rb") as stream:
                data = stream.read()
            yield data
        finally:
            os.close(fd)


# ----------------------------------------------------------------------------- writing helpers


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsync'd
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _separator_needed(fd: int) -> bytes:
    """Return a newline if the file ends in a partial line, so it stays apart from ours."""
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        return b"\n"
    return b""


def _last_entry(fd: int) -> tuple[int, str]:
    """Return (seq, hash) of the last well-formed entry in the file, (0, zeros) for none."""
    size = os.fstat(fd).st_size
    chunk = _TAIL_CHUNK_BYTES
    while True:
        start = max(0, size - chunk)
        data = os.pread(fd, size - start, start)
        lines = data.split(b"\n")
        if start > 0:
            lines = lines[1:]  # the first piece may be the end of a longer line
        for raw in reversed(lines):
            body, problem = _parse_line(raw)
            if problem is None and body:
                return int(body["seq"]), str(body["hash"])
        if start == 0:
            return 0, GENESIS_HASH
        chunk *= 4


# ----------------------------------------------------------------------------- reading helpers


def _split_lines(data: bytes | None) -> list[tuple[bytes, bool]]:
    """Split on newlines only; return (line, complete) pairs, the last maybe incomplete."""
    if not data:
        return []
    pieces = data.split(b"\n")
    lines = [(piece, True) for piece in pieces[:-1]]
    if pieces[-1]:
        lines.append((pieces[-1], False))
    return lines


def _parse_line(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """Return (body, None) for a well-formed entry, else ({}, what is wrong with it)."""
    if not raw.strip():
        return {}, "empty line"
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return {}, "not UTF-8 text"
    except ValueError:
        return {}, "malformed JSON"
    if not isinstance(body, dict):
        return {}, "not a JSON object"
    missing = [name for name in FIELDS if name not in body]
    if missing:
        return {}, f"not an audit entry: missing {', '.join(missing)}"
    wrong = [
        name
        for name, kind in (("seq", int), ("prev", str), ("hash", str), ("targets", list))
        if not isinstance(body[name], kind) or isinstance(body[name], bool)
    ]
    extra = sorted(set(body) - set(FIELDS))
    if wrong:
        return {}, f"not an audit entry: wrong type of {', '.join(wrong)}"
    if extra:
        return {}, f"not an audit entry: unexpected {', '.join(extra)}"
    return body, None


def _entry_from(body: Mapping[str, Any]) -> AuditEntry:
    details = body["details"]
    return AuditEntry(
        seq=int(body["seq"]),
        time=str(body["time"]),
        operator=str(body["operator"]),
        command=str(body["command"]),
        targets=tuple(str(target) for target in body["targets"]),
        outcome=str(body["outcome"]),
        details=details if isinstance(details, dict) else {"value": details},
        prev=str(body["prev"]),
        hash=str(body["hash"]),
    )


def _verify_lines(data: bytes, anchor: AuditAnchor | None) -> AuditReport:
    problems: list[AuditProblem] = []
    last_seq, last_hash = 0, GENESIS_HASH
    after_bad_line = False
    entries = 0
    lines = _split_lines(data)
    for number, (raw, complete) in enumerate(lines, start=1):
        if not complete:
            problems.append(
                AuditProblem(
                    number,
                    "partial last line (no newline at the end): a write was interrupted",
                )
            )
            break
        body, problem = _parse_line(raw)
        if problem is not None:
            problems.append(AuditProblem(number, problem))
            after_bad_line = True
            continue
        entries += 1
        seq, prev, stored_hash = body["seq"], body["prev"], body["hash"]
        if entry_hash(body) != stored_hash:
            problems.append(AuditProblem(number, f"seq {seq}: hash mismatch: the line was edited"))
        if not after_bad_line:
            link = _link_problem(seq, prev, last_seq, last_hash)
            if link is not None:
                problems.append(AuditProblem(number, link))
        if seq > last_seq:
            # a line that came back out of order does not move the chain on, so only the
            # misplaced lines are reported, not every line after them
            last_seq, last_hash = seq, stored_hash
        after_bad_line = False

    tail_line = len(lines) + 1
    if anchor is None:
        if entries:
            problems.append(
                AuditProblem(
                    len(lines),
                    f"no anchor in the state store, but the log ends at seq {last_seq}: the "
                    "state store was reset, or is not the one this log belongs to",
                )
            )
    elif entries == 0:
        problems.append(
            AuditProblem(
                tail_line,
                f"the log has no entries but the state store's anchor is seq {anchor.seq}: "
                "lines were removed",
            )
        )
    elif anchor.seq > last_seq:
        problems.append(
            AuditProblem(
                tail_line,
                f"the log ends at seq {last_seq} but the state store's anchor is seq "
                f"{anchor.seq}: lines were removed from the end",
            )
        )
    elif anchor.seq < last_seq:
        problems.append(
            AuditProblem(
                len(lines),
                f"the log ends at seq {last_seq} but the state store's anchor is seq "
                f"{anchor.seq}: lines were added without moving the anchor (an interrupted "
                "append, or lines added by hand)",
            )
        )
    elif anchor.hash != last_hash:
        problems.append(
            AuditProblem(
                len(lines),
                f"the last line (seq {last_seq}) does not match the state store's anchor: "
                "the end of the log was rewritten",
            )
        )
    return AuditReport(
        ok=not problems,
        entries=entries,
        problems=problems,
        anchor_seq=anchor.seq if anchor is not None else None,
    )


def _link_problem(seq: int, prev: str, last_seq: int, last_hash: str) -> str | None:
    """Describe how a line fails to follow the one before it, or return None."""
    expected = last_seq + 1
    if seq > expected:
        missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected}-{seq - 1}"
        if last_seq == 0:
            return f"the log starts at seq {seq}: {missing} missing (lines removed from the start)"
        return f"seq jumps from {last_seq} to {seq}: {missing} missing or out of order"
    if seq < expected:
        return f"seq {seq} follows seq {last_seq}: lines are out of order or repeated"
    if prev != last_hash:
        before = "the start of the log" if last_seq == 0 else f"the line of seq {last_seq}"
        return (
            f"seq {seq}: prev does not match the hash of {before}: "
            "a line before it was edited, removed or reordered"
        )
    return None
