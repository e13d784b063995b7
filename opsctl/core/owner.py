"""Who owns a run or a lock: the host, the process and the boot it runs in.

A pid alone is reused after a process ends and after a reboot, so an owner is the pid together
with that process's start time and the kernel's boot id; on the same host and boot, an owner is
alive exactly while a process with that pid and start time exists.

The start time is counted from boot (``/proc/PID/stat``'s clock ticks), not from the epoch: a
start time in epoch seconds is derived from the boot time the kernel reports *now*, which moves
when the wall clock is stepped (NTP at boot, an operator's ``date -s``), so a live owner would
suddenly look like a different process.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
PROC = Path("/proc")
# two readings of one process's start agree exactly from /proc; psutil's fallback less so
_START_TIME_TOLERANCE_SECONDS = 0.05


@dataclass(frozen=True)
class ProcessIdentity:
    """One process, told apart from any other that ever had its pid, on any host."""

    host: str
    pid: int
    started: float  # the process's start, seconds since boot (see the module's docstring)
    boot_id: str

    @classmethod
    def current(cls) -> ProcessIdentity:
        """This process."""
        return cls.of_pid(os.getpid())

    @classmethod
    def of_pid(cls, pid: int) -> ProcessIdentity:
        """The process ``pid`` on this host; raise ProcessLookupError if there is none."""
        return cls(host=socket.gethostname(), pid=pid, started=process_start(pid), boot_id=boot_id())

    def on_this_host(self) -> bool:
        """Whether this identity was taken on this host in this boot (so its liveness can be told)."""
        return self.host == socket.gethostname() and self.boot_id == boot_id()

    def alive(self) -> bool | None:
        """True or False on this host; None for another host (only that host can tell).

        On this host name but another boot id: False (the host rebooted since, and every
        process of that boot is gone). A caller that must never act on a live owner (a lock)
        asks :meth:`on_this_host` first: two machines may share a host name.
        """
        if self.host != socket.gethostname():
            return None
        if self.boot_id != boot_id():
            return False
        try:
            started = process_start(self.pid)
        except ProcessLookupError:
            return False
        return abs(started - self.started) <= _START_TIME_TOLERANCE_SECONDS

    def describe(self) -> str:
        """``pid 123 on host`` for messages."""
        return f"pid {self.pid} on {self.host}"


def process_start(pid: int, *, proc: Path = PROC) -> float:
    """Seconds from boot to the start of process ``pid``; raise ProcessLookupError if none.

    From ``/proc/PID/stat`` (field 22, clock ticks since boot); where there is no /proc,
    psutil's start time since the epoch minus the boot time.
    """
    try:
        stat_text = (proc / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        if (proc / "self").exists():
            raise ProcessLookupError(pid) from None
        return _process_start_from_psutil(pid)
    except OSError:
        return _process_start_from_psutil(pid)
    # the command name may hold spaces and parentheses: the fields follow the last ')'
    fields = stat_text.rpartition(")")[2].split()
    try:
        if fields[0] in ("Z", "X"):  # a zombie has ended; only its exit status remains
            raise ProcessLookupError(pid)
        return int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError):
        return _process_start_from_psutil(pid)


def _process_start_from_psutil(pid: int) -> float:
    import psutil

    try:
        return float(psutil.Process(pid).create_time()) - float(psutil.boot_time())
    except psutil.NoSuchProcess:
        raise ProcessLookupError(pid) from None


def boot_id() -> str:
    """The kernel's id of this boot; a stable stand-in where /proc does not give one."""
    try:
        return BOOT_ID_PATH.read_text(encoding="ascii").strip()
    except OSError:
        import psutil

        return f"boot-time-{int(psutil.boot_time())}"
