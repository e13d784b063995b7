"""Schedules as systemd timers: one ``.service`` + ``.timer`` pair per job, rendered, checked, installed.

:func:`render_units` is pure: for a backup (full or incremental) or a drill of one policy it
returns the unit files by name. The service is ``Type=oneshot`` and runs ``opsctl [--config
FILE] backup run POLICY [--full]`` or ``opsctl [--config FILE] drill run POLICY``, hardened as
far as the job allows (it must read the sources, reach PostgreSQL and S3, and write only the
state directory, the repositories and the textfile directory). Full and incremental runs of one
policy are two timers; give them calendars that do not fire together, as the policy's lock
refuses the second run (exit 5).

:func:`check_calendar` asks ``systemd-analyze calendar`` (it needs no systemd as PID 1);
:func:`install_units` writes the files atomically and idempotently, checks them with
``systemd-analyze verify`` and rolls back on an error; :func:`remove_units` takes them away.
Where systemd runs (``/run/systemd/system`` exists) both also reload and enable or disable the
timers; elsewhere they say the commands that would.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from opsctl.core.errors import ConfigError, OpsctlError
from opsctl.core.execute import Program, execute

Job = Literal["backup", "drill"]
Kind = Literal["full", "incremental"]

SYSTEMD_UNIT_DIR = Path("/etc/systemd/system")
SYSTEMD_RUNNING_MARKER = Path("/run/systemd/system")  # sd_booted(3)'s test
UNIT_PREFIX = "opsctl"
_UNIT_NAME_MAX = 255  # systemd's UNIT_NAME_MAX less the terminating NUL
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_:][A-Za-z0-9_:.\-]*")
_ESCAPE_KEEP = re.compile(r"[A-Za-z0-9_:.]")
_EXEC_PLAIN = re.compile(r"[A-Za-z0-9_./:=@+,\-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SYSTEMD_TIMEOUT_SECONDS = 60.0

DEFAULT_RANDOMIZED_DELAY = timedelta(minutes=10)
DEFAULT_BACKUP_TIMEOUT = timedelta(hours=6)
DEFAULT_DRILL_TIMEOUT = timedelta(hours=4)


class ScheduleError(OpsctlError, ValueError):
    """A schedule that cannot be rendered, checked, installed or removed; the message names it."""


# -- names ---------------------------------------------------------------------------------------


def systemd_escape(text: str) -> str:
    """``text`` escaped as ``systemd-escape TEXT`` does (not ``--path``): ``/`` becomes ``-``;
    ASCII letters, digits, ``:``, ``_`` and ``.`` (except a leading one) stay; every other byte
    of its UTF-8 form becomes ``\\xNN``."""
    out = []
    for index, char in enumerate(text):
        if char == "/":
            out.append("-")
        elif char.isascii() and _ESCAPE_KEEP.fullmatch(char) and not (index == 0 and char == "."):
            out.append(char)
        else:
            out.extend(f"\\x{byte:02x}" for byte in char.encode("utf-8"))
    return "".join(out)


def unit_name_part(policy: str) -> str:
    """The part of a unit name that names ``policy``: the name itself when it is plain
    (letters, digits, ``_ : . -``, not starting with ``.`` or ``-``), else as
    ``systemd-escape`` writes it, which always holds a backslash, so the two never meet.

    Raise :class:`ScheduleError` for an empty name or one holding ``/`` or a control character
    (systemd-escape would turn ``a/b`` into ``a-b``, another policy's name).
    """
    if not policy:
        raise ScheduleError("a schedule needs a policy name; got an empty one")
    if "/" in policy or _CONTROL.search(policy):
        raise ScheduleError(f"policy {policy!r}: a name with '/' or a control character cannot name a systemd unit")
    return policy if _PLAIN_NAME.fullmatch(policy) else systemd_escape(policy)


def unit_stem(job: Job, policy: str, kind: Kind | None = None) -> str:
    """The unit name without its suffix: ``opsctl-backup-POLICY-full``, ``opsctl-drill-POLICY``."""
    if job == "backup":
        if kind is None:
            raise ScheduleError(f"policy {policy!r}: a backup schedule is full or incremental")
        stem = f"{UNIT_PREFIX}-backup-{unit_name_part(policy)}-{kind}"
    else:
        if kind is not None:
            raise ScheduleError(f"policy {policy!r}: a drill schedule has no kind (got {kind})")
        stem = f"{UNIT_PREFIX}-drill-{unit_name_part(policy)}"
    if len(stem) + len(".service") > _UNIT_NAME_MAX:
        raise ScheduleError(f"policy {policy!r}: its unit name would pass systemd's {_UNIT_NAME_MAX} characters")
    return stem


# -- rendering -----------------------------------------------------------------------------------


def _no_control(what: str, value: str) -> str:
    if _CONTROL.search(value):
        raise ScheduleError(f"{what} {value!r} holds a control character (a line break would add unit settings)")
    return value


def _specifiers(text: str) -> str:
    """``%`` escaped for systemd's specifier expansion."""
    return text.replace("%", "%%")


def exec_word(word: str, *, first: bool = False) -> str:
    """One argument of ``ExecStart=`` as systemd reads it back: plain words as they are, others
    double-quoted with ``\\`` and ``"`` escaped; ``%`` and ``$`` doubled (specifiers, variables).
    ``first``: the program, whose leading ``- @ + ! :`` systemd would read as prefixes."""
    _no_control("an ExecStart argument", word)
    text = _specifiers(word).replace("$", "$$")
    if _EXEC_PLAIN.fullmatch(word) and not (first and word.startswith(("-", "@", "+", "!", ":"))):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _path_value(path: Path) -> str:
    """A path for a ``*Paths=`` list: ``-`` first (a missing path is no start failure), quoted if need be."""
    text = _specifiers(_no_control("a path", str(path)))
    if not path.is_absolute():
        raise ScheduleError(f"{path}: a path given to a schedule must be absolute")
    if re.search(r'[\s"\'\\]', text):
        return '"-' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "-" + text


def timespan(delta: timedelta) -> str:
    """``delta`` as a systemd time span (``6h``, ``15min``, ``90s``), whole seconds."""
    seconds = int(delta.total_seconds())
    if seconds < 0:
        raise ScheduleError(f"a time span cannot be negative: {delta}")
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def job_command(
    job: Job, policy: str, *, opsctl_path: Path, config_path: Path | None, full: bool = False,
    extra_args: Sequence[str] = (),
) -> tuple[str, ...]:
    """The argv a scheduled job runs: ``opsctl [--config FILE] backup run POLICY [--full] [EXTRA...]``."""
    if not opsctl_path.is_absolute():
        raise ScheduleError(f"{opsctl_path}: ExecStart needs the absolute path of the installed opsctl")
    argv: list[str] = [str(opsctl_path)]
    if config_path is not None:
        argv += ["--config", str(config_path)]
    options = ["--full", *extra_args] if full else list(extra_args)
    # a policy named like an option goes after "--", and the options before it
    argv += [job, "run", *options, "--", policy] if policy.startswith("-") else [job, "run", policy, *options]
    return tuple(argv)


def render_units(
    job: Job,
    policy: str,
    *,
    on_calendar: str | Sequence[str],
    opsctl_path: Path,
    config_path: Path | None,
    kind: Kind | None = None,
    extra_args: Sequence[str] = (),
    randomized_delay: timedelta = DEFAULT_RANDOMIZED_DELAY,
    persistent: bool = True,
    user: str | None = None,
    read_write_paths: Sequence[Path] = (),
    timeout: timedelta | None = None,
) -> dict[str, str]:
    """Return the ``.service`` and ``.timer`` of one scheduled job, file name -> content.

    ``job`` ``backup`` needs ``kind`` (``full`` adds ``--full``; the default for a backup is
    ``incremental``); a drill has none. ``on_calendar``: one or more OnCalendar expressions
    (check them with :func:`check_calendar`). ``read_write_paths`` (the state directory,
    local repositories, the textfile directory, a drill's scratch directory): given, the
    service gets ``ProtectSystem=strict`` with only these writable; empty, ``ProtectSystem=full``.
    ``user``: ``User=`` (None: root). Pure; raise :class:`ScheduleError` for a name, path or
    value that cannot go in a unit file.
    """
    if job == "backup" and kind is None:
        kind = "incremental"
    stem = unit_stem(job, policy, kind if job == "backup" else None)
    calendars = (on_calendar,) if isinstance(on_calendar, str) else tuple(on_calendar)
    if not calendars:
        raise ScheduleError(f"policy {policy!r}: a schedule needs at least one OnCalendar expression")
    for expression in calendars:
        _no_control(f"policy {policy!r}: OnCalendar", expression)
        if not expression.strip():
            raise ScheduleError(f"policy {policy!r}: an empty OnCalendar expression")
    argv = job_command(job, policy, opsctl_path=opsctl_path, config_path=config_path,
                       full=kind == "full", extra_args=extra_args)
    what = f"backup of policy {policy} ({kind})" if job == "backup" else f"restore drill of policy {policy}"
    description = _specifiers(_no_control("policy", f"opsctl {what}"))
    if timeout is None:
        timeout = DEFAULT_BACKUP_TIMEOUT if job == "backup" else DEFAULT_DRILL_TIMEOUT

    service = [
        "# written by opsctl; `opsctl " + job + " schedule install` rewrites it",
        "[Unit]",
        f"Description={description}",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=oneshot",
        "ExecStart=" + " ".join(exec_word(word, first=index == 0) for index, word in enumerate(argv)),
        f"TimeoutStartSec={timespan(timeout)}",
    ]
    if user is not None:
        service.append(f"User={_specifiers(_no_control('user', user))}")
    if job == "backup":
        # a backup yields to the clinical workload it protects
        service += ["Nice=10", "IOSchedulingClass=idle"]
    service += [
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        # restic's cache: writable under ProtectSystem=strict, kept between runs
        "CacheDirectory=opsctl",
        "Environment=RESTIC_CACHE_DIR=%C/opsctl/restic",
    ]
    if read_write_paths:
        service.append("ProtectSystem=strict")
        service += [f"ReadWritePaths={_path_value(path)}" for path in read_write_paths]
    else:
        service.append("ProtectSystem=full")
    timer = [
        "# written by opsctl; `opsctl " + job + " schedule install` rewrites it",
        "[Unit]",
        f"Description={description}: schedule",
        "",
        "[Timer]",
        *(f"OnCalendar={_specifiers(expression)}" for expression in calendars),
        f"RandomizedDelaySec={timespan(randomized_delay)}",
        f"Persistent={'true' if persistent else 'false'}",
        "",
        "[Install]",
        "WantedBy=timers.target",
    ]
    return {f"{stem}.service": "\n".join(service) + "\n", f"{stem}.timer": "\n".join(timer) + "\n"}


# -- calendars -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarCheck:
    """One OnCalendar expression as systemd reads it: its normal form and when it next fires."""

    expression: str
    normalized: str
    next_elapse: str


def parse_calendar_output(text: str) -> list[tuple[str, str]]:
    """Pure: ``systemd-analyze calendar`` output -> (normalized form, next elapse) per expression."""
    found: list[tuple[str, str]] = []
    normalized: str | None = None
    for line in text.splitlines():
        key, _, value = line.strip().partition(": ")
        if key == "Normalized form":
            normalized = value.strip()
        elif key == "Next elapse" and normalized is not None:
            found.append((normalized, value.strip()))
            normalized = None
    return found


def check_calendar(policy: str, on_calendar: str | Sequence[str]) -> tuple[CalendarCheck, ...]:
    """Check each expression with ``systemd-analyze calendar``; return how systemd reads them.

    Raise :class:`ConfigError` (exit 2), one line naming the policy and the expression, for
    the first one systemd refuses.
    """
    expressions = (on_calendar,) if isinstance(on_calendar, str) else tuple(on_calendar)
    checks = []
    for expression in expressions:
        if _CONTROL.search(expression) or not expression.strip():
            raise ConfigError(f"policy {policy}: OnCalendar {expression!r} is not a systemd calendar expression")
        result = execute(Program(("systemd-analyze", "calendar", "--", expression)),
                         timeout=_SYSTEMD_TIMEOUT_SECONDS, env=_systemd_env())
        parsed = parse_calendar_output(result.stdout_text)
        if not result.ok or len(parsed) != 1:
            reason = (result.stderr_text.strip().splitlines() or [result.status_name])[-1]
            raise ConfigError(
                f"policy {policy}: OnCalendar {expression!r} is not a systemd calendar expression ({reason})",
                hint="see systemd.time(7), e.g. 'daily', 'Sun *-*-* 01:00:00', 'Mon..Sat 02:30'",
            )
        checks.append(CalendarCheck(expression, *parsed[0]))
    return tuple(checks)


def _systemd_env() -> dict[str, str]:
    # the next elapse in UTC, like the rest of opsctl's times; no pager, no colour
    return {**os.environ, "TZ": "UTC", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0", "LC_ALL": "C.UTF-8"}


# -- installing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstallReport:
    """What :func:`install_units` or :func:`remove_units` did in ``directory``.

    ``written``/``removed``: files changed; ``unchanged``: files already as wanted (or already
    absent). ``commands``: what enables (or disables) the timers; ``ran_commands`` says whether
    opsctl ran them itself (systemd is running) or only says them (it is not).
    """

    directory: Path
    written: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    timers: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    ran_commands: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    def summary(self) -> str:
        """One line for people: what changed, or that nothing did."""
        if not self.changed:
            return f"{len(self.unchanged)} unit file(s) in {self.directory} already as wanted: nothing changed"
        parts = []
        if self.written:
            parts.append(f"wrote {', '.join(self.written)}")
        if self.removed:
            parts.append(f"removed {', '.join(self.removed)}")
        return f"{'; '.join(parts)} in {self.directory}"


def systemd_is_running(marker: Path = SYSTEMD_RUNNING_MARKER) -> bool:
    """Whether systemd is the init system here (sd_booted(3): ``/run/systemd/system`` exists)."""
    return marker.is_dir()


def _write_atomic(path: Path, content: str) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _check_names(units: Mapping[str, str], directory: Path) -> None:
    for name in units:
        if "/" in name or not name.endswith((".service", ".timer")) or name.startswith("."):
            raise ScheduleError(f"{name!r}: not a unit file name opsctl writes (NAME.service or NAME.timer)")
    for name in units:
        if name.endswith(".timer"):
            service = name.removesuffix(".timer") + ".service"
            if service not in units and not (directory / service).exists():
                raise ScheduleError(f"{directory / name}: its service {service} is neither given nor installed")


def parse_verify_output(text: str, names: Sequence[str]) -> list[str]:
    """Pure: the lines of ``systemd-analyze verify`` output that concern the units ``names``.

    verify exits 0 after a misspelt key or an unparsable OnCalendar (it only warns, and the
    timer would then never fire), so every line naming one of our files is a problem.
    """
    return [line.strip() for line in text.splitlines()
            if line.strip() and any(name in line for name in names)]


def verify_units(paths: Sequence[Path]) -> list[str]:
    """Run ``systemd-analyze verify`` on ``paths``; return its complaints about them (empty: clean)."""
    if not paths:
        return []
    result = execute(Program(("systemd-analyze", "verify", "--man=no", *map(str, paths))),
                     timeout=_SYSTEMD_TIMEOUT_SECONDS, env=_systemd_env())
    problems = parse_verify_output(result.stdout_text + "\n" + result.stderr_text, [p.name for p in paths])
    if not result.ok and not problems:
        problems = [line for line in result.stderr_text.splitlines() if line.strip()][-1:] or [
            f"systemd-analyze verify exited {result.exit_status} ({result.status_name})"]
    return problems


def install_units(
    units: Mapping[str, str],
    directory: Path = SYSTEMD_UNIT_DIR,
    *,
    verify: bool = True,
    systemd_running: bool | None = None,
) -> InstallReport:
    """Write ``units`` (file name -> content) into ``directory``; return what changed.

    Each file is written atomically (a temporary file renamed over it) and only when its
    content differs, so a second install changes nothing and says so. With ``verify``, the
    written units are checked with ``systemd-analyze verify``; any complaint about them rolls
    every file back to what it was and raises :class:`ScheduleError` naming the file and the
    complaint. Where systemd runs (``systemd_running``; None: look), opsctl then runs
    ``systemctl daemon-reload`` and ``systemctl enable --now`` for each timer; elsewhere the
    report only says these commands.
    """
    if not directory.is_dir():
        raise ScheduleError(f"{directory}: no such directory for systemd units")
    _check_names(units, directory)
    written: list[str] = []
    unchanged: list[str] = []
    previous: dict[str, str | None] = {}
    for name, content in sorted(units.items()):
        path = directory / name
        old = _read(path)
        if old == content:
            unchanged.append(name)
            continue
        previous[name] = old
    try:
        for name in previous:
            _write_atomic(directory / name, units[name])
            written.append(name)
        if verify and written:
            problems = verify_units([directory / name for name in sorted(units)])
            if problems:
                raise ScheduleError(f"systemd-analyze verify refused the units in {directory}: {problems[0]}"
                                    + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""),
                                    hint="nothing was installed: the files are as they were before")
    except BaseException:
        _roll_back(directory, {name: previous[name] for name in written})
        raise
    timers = tuple(sorted(name for name in units if name.endswith(".timer")))
    commands: list[tuple[str, ...]] = []
    if written:
        commands.append(("systemctl", "daemon-reload"))
    if timers:
        commands.append(("systemctl", "enable", "--now", *timers))
    running = _run_systemctl(commands, systemd_running)
    return InstallReport(directory, written=tuple(written), unchanged=tuple(unchanged), timers=timers,
                         commands=tuple(map(shlex.join, commands)), ran_commands=running and bool(commands))


def _run_systemctl(commands: Sequence[tuple[str, ...]], systemd_running: bool | None) -> bool:
    """Run ``commands`` where systemd runs; return whether it does."""
    running = systemd_is_running() if systemd_running is None else systemd_running
    if running:
        for command in commands:
            execute(Program(command), timeout=_SYSTEMD_TIMEOUT_SECONDS, check=True)
    return running


def _roll_back(directory: Path, previous: Mapping[str, str | None]) -> None:
    for name, old in previous.items():
        if old is None:
            with contextlib.suppress(FileNotFoundError):
                (directory / name).unlink()
        else:
            _write_atomic(directory / name, old)


def remove_units(
    names: Sequence[str],
    directory: Path = SYSTEMD_UNIT_DIR,
    *,
    systemd_running: bool | None = None,
) -> InstallReport:
    """Remove the unit files ``names`` from ``directory``; return what was removed.

    Where systemd runs, each timer is first stopped and disabled (``systemctl disable --now``)
    and the manager reloaded after; elsewhere the report says those commands. Removing files
    that are already gone changes nothing and says so.
    """
    for name in names:
        if "/" in name or not name.endswith((".service", ".timer")) or name.startswith("."):
            raise ScheduleError(f"{name!r}: not a unit file name opsctl writes (NAME.service or NAME.timer)")
    present = [name for name in sorted(set(names)) if (directory / name).exists()]
    absent = [name for name in sorted(set(names)) if name not in present]
    timers = tuple(name for name in present if name.endswith(".timer"))
    disable: list[tuple[str, ...]] = [("systemctl", "disable", "--now", *timers)] if timers else []
    reload: list[tuple[str, ...]] = [("systemctl", "daemon-reload")] if present else []
    running = _run_systemctl(disable, systemd_running)
    for name in present:
        (directory / name).unlink()
    if present:
        _fsync_dir(directory)
    _run_systemctl(reload, running)
    return InstallReport(directory, removed=tuple(present), unchanged=tuple(absent), timers=timers,
                         commands=tuple(map(shlex.join, disable + reload)), ran_commands=running and bool(disable + reload))


__all__ = [
    "CalendarCheck",
    "InstallReport",
    "ScheduleError",
    "check_calendar",
    "install_units",
    "job_command",
    "remove_units",
    "render_units",
    "systemd_escape",
    "systemd_is_running",
    "unit_stem",
    "verify_units",
]
