"""Time synchronisation as the kernel sees it: ``adjtimex(2)`` read through ctypes, as
node_exporter's timex collector does.

The kernel's NTP state is what any synchronisation daemon (chrony, ntpd, systemd-timesyncd)
sets, so one read-only ``adjtimex`` call (``modes = 0``, no privilege needed) tells whether
the clock is synchronised and its offset, without asking each daemon in its own protocol.
The clock is synchronised when the kernel's ``STA_UNSYNC`` bit is clear and ``adjtimex``
does not return ``TIME_ERROR``.
"""

from __future__ import annotations

import ctypes
import functools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.metrics_core import Metric

from agents.base import GaugeFamily

STA_UNSYNC = 0x0040
STA_NANO = 0x2000
TIME_ERROR = 5
# freq and ppm are "scaled ppm": parts per million with a 16-bit binary fraction
_PPM_SCALE = 65536 * 1_000_000


class _Timeval(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long))


class _Timex(ctypes.Structure):
    # struct timex from <sys/timex.h>; ctypes pads each int before a long as the C compiler does
    _fields_ = (
        ("modes", ctypes.c_uint), ("offset", ctypes.c_long), ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long), ("esterror", ctypes.c_long), ("status", ctypes.c_int),
        ("constant", ctypes.c_long), ("precision", ctypes.c_long), ("tolerance", ctypes.c_long),
        ("time", _Timeval), ("tick", ctypes.c_long), ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long), ("shift", ctypes.c_int), ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long), ("calcnt", ctypes.c_long), ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long), ("tai", ctypes.c_int), ("_reserved", ctypes.c_int * 11),
    )


@dataclass(frozen=True)
class TimexReading:
    """The raw fields of one ``adjtimex`` read and its return code (the clock state)."""

    return_code: int
    offset: int
    freq: int
    maxerror_us: int
    esterror_us: int
    status: int
    tai: int


@dataclass(frozen=True)
class TimeSync:
    """The clock's synchronisation in base units."""

    synchronised: bool
    offset_seconds: float
    frequency_adjustment_ratio: float
    maxerror_seconds: float
    estimated_error_seconds: float
    status: int
    tai_offset_seconds: int


def interpret_timex(reading: TimexReading) -> TimeSync:
    """Given raw adjtimex fields, return the synchronisation state in seconds and ratios."""
    offset_unit = 1e-9 if reading.status & STA_NANO else 1e-6
    return TimeSync(
        synchronised=not (reading.status & STA_UNSYNC) and reading.return_code != TIME_ERROR,
        offset_seconds=reading.offset * offset_unit,
        frequency_adjustment_ratio=1 + reading.freq / _PPM_SCALE,
        maxerror_seconds=reading.maxerror_us * 1e-6,
        estimated_error_seconds=reading.esterror_us * 1e-6,
        status=reading.status,
        tai_offset_seconds=reading.tai,
    )


@functools.cache
def _adjtimex() -> Callable[[object], int]:
    # loading libc builds a new ctypes class each time: once per agent, not once per scrape
    adjtimex: Callable[[object], int] = ctypes.CDLL(None, use_errno=True).adjtimex
    return adjtimex


def read_adjtimex() -> TimexReading:
    """Call ``adjtimex`` read-only; raise ``OSError`` if the call fails."""
    timex = _Timex()
    timex.modes = 0
    code = _adjtimex()(ctypes.byref(timex))
    if code < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"adjtimex failed: errno {errno}")
    return TimexReading(code, timex.offset, timex.freq, timex.maxerror, timex.esterror, timex.status, timex.tai)


class TimeCollector:
    """``node_time_seconds`` and node_exporter's ``node_timex_*`` from one ``adjtimex`` read per scrape.

    ``adjtimex`` and ``clock`` are injectable so tests give recorded readings.
    """

    name = "timex"

    def __init__(self, adjtimex: Callable[[], TimexReading] = read_adjtimex,
                 clock: Callable[[], float] = time.time) -> None:
        self.adjtimex = adjtimex
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        yield GaugeFamily("node_time_seconds", "System time in seconds since epoch (1970).", value=self.clock())
        sync = interpret_timex(self.adjtimex())
        yield GaugeFamily("node_timex_sync_status",
                          "Is clock synchronized to a reliable server (1 = yes, 0 = no).",
                          value=1 if sync.synchronised else 0)
        yield GaugeFamily("node_timex_offset_seconds", "Time offset in between local system and reference clock.",
                          value=sync.offset_seconds)
        yield GaugeFamily("node_timex_frequency_adjustment_ratio", "Local clock frequency adjustment.",
                          value=sync.frequency_adjustment_ratio)
        yield GaugeFamily("node_timex_maxerror_seconds", "Maximum error in seconds.", value=sync.maxerror_seconds)
        yield GaugeFamily("node_timex_estimated_error_seconds", "Estimated error in seconds.",
                          value=sync.estimated_error_seconds)
        yield GaugeFamily("node_timex_status", "Value of the status array bits.", value=sync.status)
        yield GaugeFamily("node_timex_tai_offset_seconds", "International Atomic Time (TAI) offset.",
                          value=sync.tai_offset_seconds)
