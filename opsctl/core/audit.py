"""The audit log: an append-only file of JSON lines, each chained to the one before by hash.

Each line holds ``seq``, ``time`` (UTC), ``operator``, ``command``, ``targets``, ``outcome``,
``details``, ``prev`` (the previous line's hash, 64 zeros for the first) and ``hash`` =
sha256(prev + canonical JSON of the line without ``hash``). The newest line's seq and hash
are also kept in the state store (the *anchor*), so a cut-off tail is detected too.

The anchor is keyed by the log's identity: a random id written once into ``<log>.id`` beside
the log, so several controllers sharing one state store (PostgreSQL) keep a chain each. The id
file travels with the log: move, copy and back up the two together. A log restored from a
backup keeps its id, so its anchor (newer than the restored tail) reports the lost lines; a
log moved without its id file gets a new id and no anchor, and is refused until acknowledged;
a store written before anchors were keyed gives its one (``legacy``) anchor to the first log
that appends without one. A copy of the log and its id file set up on a second controller
shares the first one's anchor, so each refuses the other's appends: give every controller a
log of its own. Deleting the log and its id file together starts a new chain (the old anchor
stays in the store, no longer claimed): keep the state directory's permissions tight.

An append checks the file's tail against the anchor before it writes, so a line forged or
edited at the end, or a cut-off tail, is never chained over: the append is refused (the log
untouched) until ``opsctl audit acknowledge`` records the break in the log and re-anchors. An
append records a *pending* anchor (the line's seq and hash) before writing the line and moves
the anchor after, so a process killed in between (SIGKILL, the OOM killer) is told from
forgery: the next append finds the tail equal to the pending anchor and completes the move.

Nothing secret may go into an entry: callers pass commands, targets and details that are
already free of secrets (secret references are fine, their values never).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.core.errors import AuditError, ExitCode, StateError, UsageError

if TYPE_CHECKING:
    from opsctl.core.settings import Settings
    from opsctl.core.state import AuditAnchor, StateStore, UnfinishedRun

GENESIS_HASH = "0" * 64
FIELDS = ("seq", "time", "operator", "command", "targets", "outcome", "details", "prev", "hash")
# the command of the entry ``opsctl audit acknowledge`` writes; verify reads its details back
ACKNOWLEDGE_COMMAND = "audit acknowledge"
# the outcome a run gets when acknowledge ends it because its owner died without ending it
KILLED_RUN_OUTCOME = "killed"
ID_SUFFIX = ".id"
# the key of ``details`` that holds who ran the command (:class:`Actor`); entries written before
# it existed lack it and still verify, since it lives inside the hashed ``details``
ACTOR_KEY = "actor"
_ID_PATTERN = re.compile(r"[0-9a-f]{32}")
_TAIL_CHUNK_BYTES = 64 * 1024
_FIX_HINT = (
    "run `opsctl audit verify` to see every problem, then `opsctl audit acknowledge "
    "--reason TEXT` to record the break in the log and go on"
)


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

    @property
    def actor(self) -> Mapping[str, Any] | None:
        """Who ran the command (``details["actor"]``), None for entries written before it."""
        actor = self.details.get(ACTOR_KEY)
        return actor if isinstance(actor, dict) else None

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
class AcknowledgedProblem:
    """A problem an ``audit acknowledge`` entry (at ``seq``) recorded; no longer a failure."""

    line: int
    message: str
    seq: int

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message, "acknowledged_at_seq": self.seq}


@dataclass(frozen=True)
class RunStatus:
    """A run that began and has not ended, and whether its owner lives.

    ``alive`` is True or False for an owner on this host (a reboot since counts as dead), None
    when that cannot be told here (another host, or no owner recorded).
    """

    run: UnfinishedRun
    alive: bool | None

    @property
    def state(self) -> str:
        """``running``, ``dead`` or ``unknown``."""
        return {True: "running", False: "dead", None: "unknown"}[self.alive]

    def describe(self) -> str:
        """One line: which run, since when, and what is known of its owner."""
        run = self.run
        began = (
            f"run {run.run_id} ({run.kind} {run.target} -- {run.command}) began "
            f"{run.started_at.strftime('%Y-%m-%d %H:%M:%SZ')} by {run.operator} and has not ended"
        )
        owner = run.owner
        if owner is None:
            return f"{began}: no owner was recorded (an older opsctl), so whether it runs cannot be told"
        if self.alive:
            return f"{began}: it is still running ({owner.describe()})"
        if self.alive is False:
            return (
                f"{began}: its owner ({owner.describe()}) is dead: it was killed (SIGKILL, the OOM "
                "killer, a reboot) before it could record its end"
            )
        return f"{began}: its owner ({owner.describe()}) is on another host, so whether it runs cannot be told here"

    def to_dict(self) -> dict[str, Any]:
        run, owner = self.run, self.run.owner
        return {
            "run_id": run.run_id,
            "kind": run.kind,
            "command": run.command,
            "target": run.target,
            "operator": run.operator,
            "started_at": run.started_at.isoformat().replace("+00:00", "Z"),
            "owner": None
            if owner is None
            else {
                "host": owner.host,
                "pid": owner.pid,
                "process_started": owner.started,
                "boot_id": owner.boot_id,
            },
            "state": self.state,
        }


def run_statuses(store: StateStore) -> list[RunStatus]:
    """Every run in ``store`` that began and has not ended, with what is known of its owner."""
    return [
        RunStatus(run, None if run.owner is None else run.owner.alive())
        for run in store.unfinished_runs()
    ]


@dataclass(frozen=True)
class AuditReport:
    """The result of :meth:`AuditLog.verify`: ``ok`` when ``problems`` is empty.

    ``acknowledged`` holds problems an ``audit acknowledge`` entry recorded (reported, not
    failures); ``notes`` what is worth knowing but wrong with nothing; ``unfinished_runs`` the
    runs that began and never ended (a dead owner is a warning, not a failure: the chain is
    intact, and the run's start and end are the state store's record, not the log's).
    """

    ok: bool
    entries: int
    problems: list[AuditProblem] = field(default_factory=list)
    anchor_seq: int | None = None
    acknowledged: list[AcknowledgedProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unfinished_runs: list[RunStatus] = field(default_factory=list)

    @property
    def exit_code(self) -> ExitCode:
        """1 when the log failed verification, else 0 (unfinished runs are only warned about)."""
        return ExitCode.OK if self.ok else ExitCode.FAILED

    @property
    def warnings(self) -> list[str]:
        """What an operator should look at though the log is intact: runs whose owner died."""
        return [status.describe() for status in self.unfinished_runs if status.alive is False]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "anchor_seq": self.anchor_seq,
            "problems": [problem.to_dict() for problem in self.problems],
            "acknowledged": [problem.to_dict() for problem in self.acknowledged],
            "notes": list(self.notes),
            "warnings": self.warnings,
            "unfinished_runs": [status.to_dict() for status in self.unfinished_runs],
        }


@dataclass(frozen=True)
class AuditListing:
    """The newest entries of the log, and the runs that began and have not ended."""

    entries: list[AuditEntry]
    unfinished_runs: list[RunStatus]

    def to_dict(self) -> dict[str, Any]:
        return {
            "entries": [entry.to_dict() for entry in self.entries],
            "unfinished_runs": [status.to_dict() for status in self.unfinished_runs],
        }


@dataclass(frozen=True)
class Acknowledgement:
    """What ``audit acknowledge`` found and recorded: its entry, the break, the runs it ended."""

    entry: AuditEntry
    found: str | None
    problems: list[AuditProblem]
    runs_ended: list[RunStatus]

    def to_dict(self) -> dict[str, Any]:
        return {
            "entry": self.entry.to_dict(),
            "found": self.found,
            "problems": [problem.to_dict() for problem in self.problems],
            "runs_ended": [status.to_dict() for status in self.runs_ended],
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


# getpass.getuser() reads these, in this order, before it falls back to the uid's passwd name
_LOGIN_NAME_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")
_OPERATOR_VARIABLE = "OPSCTL_AUDIT__OPERATOR"
_LOGINUID_PATH = Path("/proc/self/loginuid")
_UNSET_LOGINUID = 4294967295  # (uid_t) -1: no login session (a container, a daemon, early boot)


@dataclass(frozen=True)
class Actor:
    """Who ran a command: the operator as named, and what the kernel says about the process.

    ``operator`` is the name entries carry; ``declared_by`` names where it came from when it was
    given rather than derived from the process (``SUDO_USER``, ``OPSCTL_AUDIT__OPERATOR``, the
    ``audit.operator`` setting, or a login variable such as ``USER``), None when it is the real
    uid's own name. ``uid``/``user`` are the real uid and its passwd name; ``login`` is the name
    of the kernel's login uid (``/proc/self/loginuid``, set at login and kept across sudo and su,
    so not settable by the process), else ``os.getlogin()`` (the terminal's utmp record), else None.
    """

    operator: str
    declared_by: str | None
    uid: int
    user: str | None
    login: str | None
    login_source: str | None

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as stored in an entry's ``details["actor"]``."""
        return {
            "uid": self.uid,
            "user": self.user,
            "login": self.login,
            "login_source": self.login_source,
            "operator_declared_by": self.declared_by,
        }


def _passwd_name(uid: int) -> str | None:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # no passwd entry for this uid (a bare container)
        return None


def _login_name(loginuid_path: Path) -> tuple[str | None, str | None]:
    """Return (login name, where it came from): the kernel's login uid first, then utmp."""
    try:
        loginuid = int(loginuid_path.read_text().strip())
    except (OSError, ValueError):
        loginuid = _UNSET_LOGINUID
    if loginuid != _UNSET_LOGINUID:
        return _passwd_name(loginuid) or f"uid {loginuid}", "loginuid"
    try:
        return os.getlogin(), "getlogin"
    except OSError:  # no controlling terminal, no utmp record (cron, CI, a service)
        return None, None


def current_actor(
    configured_operator: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    loginuid_path: Path = _LOGINUID_PATH,
) -> Actor:
    """Return who is acting: the operator (``configured_operator``, else ``SUDO_USER``, else the
    login name, else the uid) with where it was declared, and the real uid, user and login."""
    env = os.environ if environ is None else environ
    uid = os.getuid()
    user = _passwd_name(uid)
    login, login_source = _login_name(loginuid_path)
    operator: str | None = None
    declared_by: str | None = None
    if configured_operator:
        operator = configured_operator
        from_variable = env.get(_OPERATOR_VARIABLE) == configured_operator
        declared_by = _OPERATOR_VARIABLE if from_variable else "audit.operator"
    elif env.get("SUDO_USER"):
        operator, declared_by = env["SUDO_USER"], "SUDO_USER"
    else:
        for variable in _LOGIN_NAME_VARIABLES:
            if env.get(variable):
                operator = env[variable]
                declared_by = None if operator == user else variable
                break
    if operator is None:
        operator = user or f"uid {uid}"
    return Actor(operator, declared_by, uid, user, login, login_source)


def default_operator() -> str:
    """Return who is acting: ``SUDO_USER`` if set, else the login name (or the uid)."""
    return current_actor().operator


def open_audit(settings: Settings) -> AuditLog:
    """Open the audit log the settings name, anchored in the settings' state store."""
    from opsctl.core.state import open_state

    return AuditLog(
        settings.audit_path, open_state(settings), actor=current_actor(settings.audit.operator)
    )


@dataclass(frozen=True)
class _Tail:
    """The end of the log file as an append sees it: its last entry and what follows that."""

    seq: int = 0  # of the last well-formed entry; 0 and the genesis hash for none
    hash: str = GENESIS_HASH
    prev: str | None = None
    intact: bool = True  # the last entry's stored hash matches its content
    offset: int | None = None  # where the last entry's line starts
    junk: str | None = None  # what is wrong with the first complete line after it, if any
    junk_offset: int | None = None


class AuditLog:
    """The audit log at ``path``, its anchor kept in ``store``; safe across processes (flock)."""

    def __init__(
        self,
        path: Path,
        store: StateStore,
        operator: str | None = None,
        *,
        actor: Actor | None = None,
    ) -> None:
        """``actor`` is who acts (default :func:`current_actor`); ``operator`` names a caller's
        choice of operator (tests, a second controller) and is recorded as declared."""
        self.path = path
        self.store = store
        self.actor = actor or current_actor(operator)
        self.operator = self.actor.operator
        self._log_id: str | None = None

    @property
    def id_path(self) -> Path:
        """The file beside the log that holds its identity (``audit.jsonl.id``)."""
        return self.path.with_name(self.path.name + ID_SUFFIX)

    @property
    def log_id(self) -> str | None:
        """The log's identity, the key of its anchor; None until its first append."""
        return self._identity(create=False)

    # -- writing

    def append(
        self,
        command: str,
        targets: Sequence[str],
        outcome: str,
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Append one entry (fsync'd) and move the anchor to it; raise AuditError if not written.

        The tail must match the anchor (or the pending anchor of an append killed after its
        write, which is then completed); otherwise the append is refused and the log left as
        it is. ``details`` must be JSON-serialisable and must not contain secrets.
        """
        if isinstance(targets, str):
            raise TypeError("targets is a sequence of names, not one string")
        body = self._body(command, targets, outcome, details)
        self._refuse_if_missing()
        with self._locked_for_append() as fd:
            log_id = self._ensure_identity()
            tail = self._checked_tail(fd, log_id)
            return self._write_entry(fd, log_id, tail, body)

    def check_appendable(self) -> None:
        """Raise AuditError now if an append would be refused; complete an interrupted append.

        For work that must not start unless its end can be recorded (a fleet run).
        """
        self._refuse_if_missing()
        with self._locked_for_append() as fd:
            self._checked_tail(fd, self._ensure_identity())

    def acknowledge(self, reason: str | None = None) -> Acknowledgement:
        """Record what is wrong with the log (and runs whose owner died) in one entry; re-anchor.

        The entry (command ``audit acknowledge``) chains onto the last entry in the file and
        says what was found: the anchor and the tail seen, every problem verify reports (which
        verify then lists as acknowledged, not failed), and the runs ended as ``killed``. It
        never rewrites a line. Raise UsageError when there is nothing to acknowledge.
        """
        with self._locked_for_append() as fd:
            log_id = self._ensure_identity()
            anchor = self._anchor_of(log_id)
            tail = _read_tail(fd)
            found = _tail_problem(self, fd, tail, anchor)
            if found is None and _completes_pending(tail, anchor):
                anchor = self._complete_pending(log_id, tail)
            data = _read_all(fd)
            if data and not data.endswith(b"\n"):
                data += b"\n"  # a partial last line, as it reads once our line follows it
            report = _verify_lines(data, anchor)
            dead = [status for status in run_statuses(self.store) if status.alive is False]
            if found is None and report.ok and not dead:
                raise UsageError(
                    f"nothing to acknowledge: the audit log {self.path} is intact (seq "
                    f"{tail.seq}, as its anchor says) and no run was left unended by a dead owner"
                )
            details: dict[str, Any] = {
                "reason": reason,
                "log_id": log_id,
                "found": found,
                "anchor": None if anchor is None else {"seq": anchor.seq, "hash": anchor.hash},
                "tail": {
                    "line": None if tail.offset is None else _line_number(fd, tail.offset),
                    "seq": tail.seq,
                    "hash": tail.hash,
                },
                "problems": [problem.to_dict() for problem in report.problems],
                "runs": [status.to_dict() for status in dead],
            }
            body = self._body(ACKNOWLEDGE_COMMAND, [str(self.path)], "ok", details)
            entry = self._write_entry(fd, log_id, tail, body)
        for status in dead:
            self.store.end_unfinished_run(status.run.run_id, KILLED_RUN_OUTCOME)
        return Acknowledgement(entry, found, list(report.problems), dead)

    # -- reading

    def entries(self) -> list[AuditEntry]:
        """Return every well-formed entry in file order (verify reports the others)."""
        with self._locked_for_reading() as data:
            pass
        parsed = (_parse_line(raw) for raw, _complete in _split_lines(data))
        return [_entry_from(body) for body, problem in parsed if problem is None and body]

    def listing(self, limit: int) -> AuditListing:
        """The newest ``limit`` entries (oldest first) and the runs begun and not ended."""
        return AuditListing(self.entries()[-limit:], run_statuses(self.store))

    def verify(self) -> AuditReport:
        """Check every line's hash, seq and link, and the last line against the anchor.

        Also lists the runs that began and have not ended (a dead owner is a warning only).
        """
        with self._locked_for_reading() as data:
            log_id = self._identity(create=False)
            anchor = None if log_id is None else self.store.get_anchor(log_id)
            if anchor is None:
                # a store from before anchors were keyed: the first append gives it to this log
                from opsctl.core.state import LEGACY_AUDIT_LOG_ID

                anchor = self.store.get_anchor(LEGACY_AUDIT_LOG_ID)
        runs = run_statuses(self.store)
        if data is None:
            if anchor is None or anchor.seq == 0:
                return AuditReport(ok=True, entries=0, unfinished_runs=runs)
            problem = AuditProblem(
                1,
                f"the audit log {self.path} is missing but the state store's anchor is "
                f"seq {anchor.seq}: the file was deleted or moved",
            )
            return AuditReport(
                ok=False, entries=0, problems=[problem], anchor_seq=anchor.seq, unfinished_runs=runs
            )
        report = _verify_lines(data, anchor, self.store.anchored_logs() if anchor is None else ())
        return AuditReport(
            ok=report.ok,
            entries=report.entries,
            problems=report.problems,
            anchor_seq=report.anchor_seq,
            acknowledged=report.acknowledged,
            notes=report.notes,
            unfinished_runs=runs,
        )

    # -- the anchor and the tail

    def _ensure_identity(self) -> str:
        """The log's id, written into the file beside the log if it has none yet."""
        log_id = self._identity(create=True)
        if log_id is None:  # pragma: no cover - _identity creates one
            raise AuditError(f"no identity for the audit log {self.path}")
        return log_id

    def _identity(self, *, create: bool) -> str | None:
        """The id in the file beside the log; with ``create``, write a new one if there is none."""
        if self._log_id is not None:
            return self._log_id
        try:
            text: str | None = self.id_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            text = None
        except (OSError, UnicodeDecodeError) as error:
            raise AuditError(
                f"cannot read the audit log's identity {self.id_path}: {error}"
            ) from None
        if text is not None:
            if not _ID_PATTERN.fullmatch(text):
                raise AuditError(
                    f"the audit log's identity file {self.id_path} does not hold an id "
                    "(32 hexadecimal digits): it was changed outside opsctl",
                    hint="restore it from a backup with the log, or move it aside and run "
                    "`opsctl audit acknowledge` to give the log a new identity",
                )
            self._log_id = text
            return text
        if not create:
            return None
        self._log_id = self._create_identity()
        return self._log_id

    def _create_identity(self) -> str:
        new_id = uuid.uuid4().hex
        scratch = self.id_path.with_name(f"{self.id_path.name}.{os.getpid()}.new")
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, (new_id + "\n").encode("ascii"))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(scratch, self.id_path)  # never replaces an id another process wrote
            except FileExistsError:
                new_id = self.id_path.read_text(encoding="ascii").strip()
            _fsync_directory(self.id_path.parent)
        except OSError as error:
            raise AuditError(
                f"cannot write the audit log's identity {self.id_path}: {error.strerror or error}"
            ) from None
        finally:
            with contextlib.suppress(OSError):
                scratch.unlink()
        return new_id

    def _refuse_if_missing(self) -> None:
        """Refuse before creating a log file whose anchor says it had lines (it was deleted)."""
        if self.path.exists():
            return
        anchor = self._anchor_of(self._ensure_identity())
        if anchor is not None and anchor.seq > 0:
            raise AuditError(
                f"audit log {self.path}: the log is missing but its anchor is seq {anchor.seq}: "
                "it was deleted or moved outside opsctl",
                hint=_FIX_HINT,
            )

    def _anchor_of(self, log_id: str) -> AuditAnchor | None:
        """The log's anchor; a store's anchor from before anchors were keyed is claimed first."""
        try:
            anchor = self.store.get_anchor(log_id)
            if anchor is None:
                anchor = self.store.claim_legacy_anchor(log_id)
        except StateError as error:
            raise AuditError(f"cannot read the anchor of the audit log {self.path}: {error}") from None
        return anchor

    def _checked_tail(self, fd: int, log_id: str) -> _Tail:
        """The tail an append may chain onto; raise AuditError (log untouched) when it is not."""
        anchor = self._anchor_of(log_id)
        tail = _read_tail(fd)
        problem = _tail_problem(self, fd, tail, anchor)
        if problem is not None:
            raise AuditError(f"audit log {self.path}: {problem}", hint=_FIX_HINT)
        if _completes_pending(tail, anchor):
            self._complete_pending(log_id, tail)
        return tail

    def _complete_pending(self, log_id: str, tail: _Tail) -> AuditAnchor | None:
        """Move the anchor onto a line an append wrote before it was killed."""
        try:
            self.store.set_anchor(tail.seq, tail.hash, log_id)
            return self.store.get_anchor(log_id)
        except StateError as error:
            raise AuditError(
                f"cannot complete the interrupted append of seq {tail.seq} to {self.path}: {error}"
            ) from None

    def _body(
        self,
        command: str,
        targets: Sequence[str],
        outcome: str,
        details: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "operator": self.operator,
            "command": command,
            "targets": list(targets),
            "outcome": outcome,
            "details": {**dict(details or {}), ACTOR_KEY: self.actor.to_dict()},
        }
        if details and ACTOR_KEY in details:
            raise AuditError(f"audit entry details may not set {ACTOR_KEY!r}: opsctl records it")
        try:
            # hash exactly what a reader will parse back (tuples become lists, and so on)
            parsed: dict[str, Any] = json.loads(canonical_json(body))
        except (TypeError, ValueError) as error:
            raise AuditError(f"audit entry details are not JSON-serialisable: {error}") from None
        return parsed

    def _write_entry(self, fd: int, log_id: str, tail: _Tail, fields: Mapping[str, Any]) -> AuditEntry:
        """Chain ``fields`` onto ``tail``: pending anchor, the line (fsync'd), then the anchor."""
        body: dict[str, Any] = {**fields, "seq": tail.seq + 1, "prev": tail.hash}
        body["hash"] = entry_hash(body)
        line = (canonical_json(body) + "\n").encode("utf-8")
        try:
            self.store.set_pending_anchor(body["seq"], body["hash"], log_id)
        except StateError as error:
            raise AuditError(
                f"nothing was written to {self.path}: cannot record the pending anchor: {error}"
            ) from None
        try:
            _write_all(fd, _separator_needed(fd) + line)
            os.fsync(fd)
        except OSError as error:
            raise AuditError(
                f"cannot write the audit log {self.path}: {error.strerror or error}"
            ) from None
        try:
            self.store.set_anchor(body["seq"], body["hash"], log_id)
        except StateError as error:
            raise AuditError(
                f"audit line {body['seq']} was written to {self.path} but its anchor was not "
                f"moved: {error}",
                hint="the next append completes it (the line matches the pending anchor)",
            ) from None
        return _entry_from(body)

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


# ----------------------------------------------------------------------------- the tail check


def _completes_pending(tail: _Tail, anchor: AuditAnchor | None) -> bool:
    """Whether the tail is the line an append wrote and was killed before moving the anchor."""
    return (
        anchor is not None
        and anchor.pending_seq is not None
        and tail.offset is not None
        and tail.intact
        and tail.junk is None
        and (tail.seq, tail.hash) == (anchor.pending_seq, anchor.pending_hash)
        and tail.seq == anchor.seq + 1
        and tail.prev == anchor.hash
    )


def _tail_problem(log: AuditLog, fd: int, tail: _Tail, anchor: AuditAnchor | None) -> str | None:
    """What keeps an append from chaining onto ``tail`` (one line, saying where), or None."""
    if tail.junk is not None and tail.junk_offset is not None:
        line = _line_number(fd, tail.junk_offset)
        what = tail.junk.removeprefix("not an audit entry: ")
        return f"line {line} is not an audit entry ({what}): it was written outside opsctl"
    where = "" if tail.offset is None else f"line {_line_number(fd, tail.offset)} (seq {tail.seq})"
    if anchor is None:
        if tail.offset is None:
            return None  # a new log
        others = log.store.anchored_logs()
        if others:
            return (
                f"{where} has no anchor in the state store {log.store.location}, which anchors "
                f"other audit logs only ({_log_ids(others)}): the log (id {log.log_id}) is paired "
                "with the wrong state store (check state.url and state.dir), or its id file was lost"
            )
        return (
            f"{where} has no anchor in the state store {log.store.location} (log id "
            f"{log.log_id}): the store was reset, is not this log's, or the log's id file "
            "was lost"
        )
    if tail.offset is not None and not tail.intact:
        return f"{where} was edited: its hash does not match its content"
    if (tail.seq, tail.hash) == (anchor.seq, anchor.hash) or _completes_pending(tail, anchor):
        return None
    if tail.offset is None:
        return (
            f"the log has no entries but its anchor is seq {anchor.seq}: it was emptied or "
            "replaced outside opsctl"
        )
    if tail.seq > anchor.seq:
        why = "lines were added outside opsctl"
    elif tail.seq == anchor.seq:
        why = "the line was replaced outside opsctl"
    else:
        why = "lines were removed from the end"
    return f"{where} does not match the anchor seq {anchor.seq}: {why}"


def _read_tail(fd: int) -> _Tail:
    """The last well-formed entry of the file and what follows it (a partial line is allowed)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return _Tail()
    chunk = _TAIL_CHUNK_BYTES
    while True:
        start = max(0, size - chunk)
        data = os.pread(fd, size - start, start)
        end = data.rfind(b"\n")  # what follows the last newline is a partial line: a crashed write
        lines = data[:end].split(b"\n") if end >= 0 else []
        offsets, position = [], start
        for raw in lines:
            offsets.append(position)
            position += len(raw) + 1
        first = 1 if start > 0 else 0  # the first piece may be the end of a longer line
        junk: str | None = None
        junk_offset: int | None = None
        for index in range(len(lines) - 1, first - 1, -1):
            body, problem = _parse_line(lines[index])
            if problem is None:
                return _Tail(
                    seq=int(body["seq"]),
                    hash=str(body["hash"]),
                    prev=str(body["prev"]),
                    intact=entry_hash(body) == body["hash"],
                    offset=offsets[index],
                    junk=junk,
                    junk_offset=junk_offset,
                )
            junk, junk_offset = problem, offsets[index]
        if start == 0:
            return _Tail(junk=junk, junk_offset=junk_offset)
        chunk *= 4


def _line_number(fd: int, offset: int) -> int:
    """The 1-based line that starts at byte ``offset``."""
    newlines, position = 0, 0
    while position < offset:
        piece = os.pread(fd, min(1 << 20, offset - position), position)
        if not piece:
            break
        newlines += piece.count(b"\n")
        position += len(piece)
    return newlines + 1


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    pieces, position = [], 0
    while position < size:
        piece = os.pread(fd, min(1 << 20, size - position), position)
        if not piece:
            break
        pieces.append(piece)
        position += len(piece)
    return b"".join(pieces)


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


def _acknowledged_in(details: object) -> set[tuple[int, str]]:
    """The (line, message) problems an ``audit acknowledge`` entry's details recorded."""
    listed = details.get("problems") if isinstance(details, dict) else None
    if not isinstance(listed, list):
        return set()
    return {
        (item["line"], item["message"])
        for item in listed
        if isinstance(item, dict)
        and isinstance(item.get("line"), int)
        and isinstance(item.get("message"), str)
    }


def _log_ids(log_ids: Sequence[str]) -> str:
    shown = ", ".join(log_ids[:3])
    return shown + (f" and {len(log_ids) - 3} more" if len(log_ids) > 3 else "")


def _verify_lines(
    data: bytes, anchor: AuditAnchor | None, other_logs: Sequence[str] = ()
) -> AuditReport:
    """Check every line's hash, seq and link, and the last one against ``anchor``.

    ``other_logs``: the logs the store anchors when it has no anchor for this one, so a log
    paired with the wrong store is told from a store that was reset.
    """
    problems: list[AuditProblem] = []
    notes: list[str] = []
    # (line, seq, problems it recorded) of each acknowledgement
    acknowledgements: list[tuple[int, int, set[tuple[int, str]]]] = []
    last_seq, last_hash = 0, GENESIS_HASH
    tail: tuple[int, str, str] | None = None  # seq, hash, prev of the last well-formed line
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
        tail = (seq, stored_hash, prev)
        if body["command"] == ACKNOWLEDGE_COMMAND:
            acknowledgements.append((number, seq, _acknowledged_in(body["details"])))
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

    if (
        anchor is not None
        and anchor.pending_seq is not None
        and tail is not None
        and tail == (anchor.pending_seq, anchor.pending_hash, anchor.hash)
        and anchor.pending_seq == anchor.seq + 1
    ):
        notes.append(
            f"seq {anchor.pending_seq} was written by an append stopped before it moved the "
            "anchor (the process was killed): the next append completes it"
        )
        anchor = replace(anchor, seq=anchor.pending_seq, hash=tail[1])
    tail_line = len(lines) + 1
    if anchor is None:
        if entries and other_logs:
            problems.append(
                AuditProblem(
                    len(lines),
                    f"no anchor in the state store, but the log ends at seq {last_seq}, and the "
                    f"store anchors other audit logs only ({_log_ids(other_logs)}): the log is "
                    "paired with the wrong state store (check state.url and state.dir)",
                )
            )
        elif entries:
            problems.append(
                AuditProblem(
                    len(lines),
                    f"no anchor in the state store, but the log ends at seq {last_seq}: the "
                    "state store was reset, or is not the one this log belongs to",
                )
            )
    elif entries == 0:
        if anchor.seq > 0:
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
                f"{anchor.seq}: lines were added without moving the anchor (lines added "
                "outside opsctl)",
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
    problems, acknowledged = _set_acknowledged_apart(problems, acknowledgements)
    return AuditReport(
        ok=not problems,
        entries=entries,
        problems=problems,
        anchor_seq=anchor.seq if anchor is not None else None,
        acknowledged=acknowledged,
        notes=notes,
    )


def _set_acknowledged_apart(
    problems: list[AuditProblem], acknowledgements: list[tuple[int, int, set[tuple[int, str]]]]
) -> tuple[list[AuditProblem], list[AcknowledgedProblem]]:
    """Set apart what acknowledgements recorded: those problems are reported, no longer failures.

    An acknowledgement counts only while nothing at or after its own line is wrong: a forged
    one is itself a line the anchor does not cover, so it can never hide anything. Everything
    it recorded is listed, found again now or not (a forged tail it covered now chains on).
    """
    acknowledged: dict[tuple[int, str], int] = {}
    for line, seq, listed in reversed(acknowledgements):
        if any(problem.line >= line for problem in problems):
            continue
        problems = [problem for problem in problems if (problem.line, problem.message) not in listed]
        for key in listed:
            acknowledged[key] = min(seq, acknowledged.get(key, seq))
    return problems, [
        AcknowledgedProblem(line, message, seq)
        for (line, message), seq in sorted(acknowledged.items())
    ]


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
