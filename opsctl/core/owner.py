"""Who owns a run or a lock: the host, the process and the boot it runs in.

A pid alone is reused after a process ends and after a reboot, so an owner is the pid together
with that process's start time and the kernel's boot id; on the same host and boot, an owner is
alive exactly while a process with that pid and start time exists.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")
# psutil derives a start time from clock ticks since boot: two readings agree to well within this
_START_TIME_TOLERANCE_SECONDS = 0.05


@dataclass(frozen=True)
class ProcessIdentity:
    """One process, told apart from any other that ever had its pid, on any host."""

    host: str
    pid: int
    started: float  # the process's start time, seconds since the epoch
    boot_id: str

    @classmethod
    def current(cls) -> ProcessIdentity:
        """This process."""
        return cls.of_pid(os.getpid())

    @classmethod
    def of_pid(cls, pid: int) -> ProcessIdentity:
        """The process ``pid`` on this host; raise ProcessLookupError if there is none."""
        import psutil

        try:
            started = float(psutil.Process(pid).create_time())
        except psutil.NoSuchProcess:
            raise ProcessLookupError(pid) from None
        return cls(host=socket.gethostname(), pid=pid, started=started, boot_id=boot_id())

    def on_this_host(self) -> bool:
        """Whether this identity was taken on this host in this boot (so its liveness can be told)."""
        return self.host == socket.gethostname() and self.boot_id == boot_id()

    def alive(self) -> bool | None:
        """True or False on this host and boot; None elsewhere (another host must be asked otherwise)."""
        if self.host != socket.gethostname():
            return None
        if self.boot_id != boot_id():
            return False  # the host rebooted since: every process of that boot is gone
        import psutil

        try:
            started = float(psutil.Process(self.pid).create_time())
        except psutil.NoSuchProcess:
            return False
        return abs(started - self.started) <= _START_TIME_TOLERANCE_SECONDS

    def describe(self) -> str:
        """``pid 123 on host`` for messages."""
        return f"pid {self.pid} on {self.host}"


def boot_id() -> str:
    """The kernel's id of this boot; a stable stand-in where /proc does not give one."""
    try:
        return BOOT_ID_PATH.read_text(encoding="ascii").strip()
    except OSError:
        import psutil

        return f"boot-time-{int(psutil.boot_time())}"
