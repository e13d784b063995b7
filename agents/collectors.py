"""The host collectors: CPU, load, memory, filesystems, disks, network, processes and md RAID.

Each reads its files under an injectable root (``proc_root``, like client_python's
``ProcessCollector(procfs=...)``) on every scrape, and names its metrics as node_exporter does
where node_exporter has the same metric (``node_*``), else ``opsctl_agent_*``. A file that
cannot be read raises (the ``AgentCollector`` drops that collector for the scrape and counts
it); a part that cannot be read (one mount's statvfs) is left out and counted, the rest served.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import resource
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from itertools import filterfalse, islice, repeat
from operator import itemgetter
from pathlib import Path

from prometheus_client.metrics_core import Metric

from agents.base import CounterFamily, ErrorCounter, GaugeFamily, read_text
from agents.mdstat import parse_mdstat
from agents.procfs import (
    IGNORED_DISKS,
    NETWORK_FSTYPES,
    Mount,
    is_pseudo_filesystem,
    parse_diskstats,
    parse_loadavg,
    parse_meminfo,
    parse_mounts,
    parse_net_dev,
    parse_stat,
)

SECTOR_BYTES = 512  # /proc/diskstats counts 512-byte sectors whatever the device's sector size


class CpuCollector:
    """``node_cpu_seconds_total{cpu,mode}`` from /proc/stat, ticks divided by ``USER_HZ``."""

    name = "cpu"

    def __init__(self, proc_root: str | Path = "/proc", clock_ticks: int | None = None) -> None:
        self.proc_root = Path(proc_root)
        self.clock_ticks = clock_ticks or os.sysconf("SC_CLK_TCK")

    def collect(self) -> Iterator[Metric]:
        stat = parse_stat(read_text(f"{self.proc_root}/stat"))
        seconds = CounterFamily("node_cpu_seconds", "Seconds each CPU spent in each mode.",
                                labels=["cpu", "mode"])
        for cpu in stat.cpus:
            for mode, ticks in cpu.ticks:
                seconds.add_metric([cpu.cpu, mode], ticks / self.clock_ticks)
        yield seconds


class LoadCollector:
    """``node_load1``, ``node_load5``, ``node_load15`` from /proc/loadavg."""

    name = "loadavg"

    def __init__(self, proc_root: str | Path = "/proc") -> None:
        self.proc_root = Path(proc_root)

    def collect(self) -> Iterator[Metric]:
        load = parse_loadavg(read_text(f"{self.proc_root}/loadavg"))
        for suffix, value in (("1", load.one), ("5", load.five), ("15", load.fifteen)):
            yield GaugeFamily(f"node_load{suffix}", f"{suffix}m load average.", value=value)


# names promtool would refuse: "sec" reads as an abbreviated unit, "_total" as a counter
_MEMINFO_NAMES = {"SecPageTables": "secondary_page_tables", "HugePages_Total": "huge_pages"}


@functools.lru_cache(maxsize=512)  # the same few dozen fields on every scrape
def snake_case(field: str) -> str:
    """A /proc/meminfo field name in snake_case (``MemTotal`` -> ``mem_total``, ``HugePages_Total`` ->
    ``huge_pages_total``, ``Active_anon`` -> ``active_anon``)."""
    if field in _MEMINFO_NAMES:
        return _MEMINFO_NAMES[field]
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", field).lower()
    return re.sub(r"_+", "_", words)


class MemoryCollector:
    """Every /proc/meminfo field, swap included, as ``opsctl_agent_memory_<field>_bytes`` (counts
    without ``_bytes``). Not node_exporter's ``node_memory_MemTotal_bytes``: promtool refuses
    camelCase names, so the fields are snake_cased under our own prefix."""

    name = "meminfo"

    def __init__(self, proc_root: str | Path = "/proc") -> None:
        self.proc_root = Path(proc_root)

    def collect(self) -> Iterator[Metric]:
        info = parse_meminfo(read_text(f"{self.proc_root}/meminfo"))
        for field, value in info.sizes_bytes:
            yield GaugeFamily(f"opsctl_agent_memory_{snake_case(field)}_bytes",
                              f"/proc/meminfo {field}, in bytes.", value=value)
        for field, value in info.counts:
            yield GaugeFamily(f"opsctl_agent_memory_{snake_case(field)}", f"/proc/meminfo {field}.", value=value)


class FillRate:
    """Recent free-space readings of one filesystem, for a time-to-full estimate.

    Keeps at most ``samples`` readings over the last ``window_seconds`` (one every
    window/samples seconds, however often it is scraped).
    """

    def __init__(self, window_seconds: float, samples: int) -> None:
        self.window_seconds = window_seconds
        self.spacing_seconds = window_seconds / samples
        self.readings: deque[tuple[float, int]] = deque(maxlen=samples + 1)

    def time_to_full_seconds(self, now: float, available_bytes: int, min_span_seconds: float) -> float | None:
        """Record this reading; return seconds until ``available_bytes`` reaches 0 at the rate
        since the oldest reading in the window, or None when not filling or too soon to say."""
        while self.readings and now - self.readings[0][0] > self.window_seconds:
            self.readings.popleft()
        estimate = None
        if self.readings:
            oldest_time, oldest_available = self.readings[0]
            span = now - oldest_time
            consumed = oldest_available - available_bytes
            if span >= min_span_seconds and consumed > 0:
                estimate = available_bytes / (consumed / span)
        if not self.readings or now - self.readings[-1][0] >= self.spacing_seconds:
            self.readings.append((now, available_bytes))
        return estimate


class FilesystemCollector:
    """Size, free, available, inodes and read-only per mounted filesystem, pseudo filesystems skipped.

    Mounts come from ``proc_root/mounts``; each is measured by ``statvfs(root_dir + mountpoint)``.
    A mount whose statvfs fails gets ``node_filesystem_device_error 1`` and a counted error. On a
    network filesystem (NFS, CIFS, ...) statvfs runs in a thread bounded by
    ``network_timeout_seconds``, as node_exporter bounds it: a hung server makes that mount an
    error, not the scrape hang, and the mount is skipped (an error again) until the hung call
    returns, so hung calls never pile up.
    ``opsctl_agent_filesystem_time_to_full_seconds`` is the space available divided by the
    rate it shrank over the last ``fill_window_seconds`` (kept in this object across scrapes);
    it is absent for a filesystem that is not filling or was first seen under
    ``min_span_seconds`` ago.
    """

    name = "filesystem"

    def __init__(self, errors: ErrorCounter, proc_root: str | Path = "/proc", root_dir: str = "/",
                 statvfs: Callable[[str], os.statvfs_result] = os.statvfs,
                 clock: Callable[[], float] = time.monotonic,
                 fill_window_seconds: float = 3600.0, min_span_seconds: float = 300.0,
                 network_timeout_seconds: float = 5.0) -> None:
        self.errors = errors
        self.network_timeout_seconds = network_timeout_seconds
        self._hung: set[str] = set()
        self._hung_lock = threading.Lock()
        self.proc_root = Path(proc_root)
        self.root_dir = root_dir
        self.statvfs = statvfs
        self.clock = clock
        self.fill_window_seconds = fill_window_seconds
        self.min_span_seconds = min_span_seconds
        self._fill_rates: dict[str, FillRate] = {}
        self._mounts_text = ""
        self._mounts: dict[str, Mount] = {}

    def collect(self) -> Iterator[Metric]:
        text = read_text(f"{self.proc_root}/mounts")
        if text != self._mounts_text:  # mounts rarely change: parse them again only when they do
            self._mounts = {m.mountpoint: m for m in parse_mounts(text) if not is_pseudo_filesystem(m)}
            self._mounts_text = text
        mounts = self._mounts
        labels = ["device", "fstype", "mountpoint"]
        families = {
            name: GaugeFamily(f"node_filesystem_{name}", text, labels=labels)
            for name, text in (
                ("size_bytes", "Filesystem size in bytes."),
                ("free_bytes", "Filesystem free space in bytes."),
                ("avail_bytes", "Filesystem space available to non-root users in bytes."),
                ("files", "Filesystem total file nodes."),
                ("files_free", "Filesystem total free file nodes."),
                ("readonly", "1 if the filesystem is mounted read-only."),
                ("device_error", "1 if there was an error getting information for the filesystem."),
            )
        }
        time_to_full = GaugeFamily(
            "opsctl_agent_filesystem_time_to_full_seconds",
            "Seconds until the filesystem's available space runs out at its recent fill rate; absent when not filling.",
            labels=labels)
        now = self.clock()
        for mountpoint, mount in sorted(mounts.items()):
            values = [mount.device, mount.fstype, mountpoint]
            try:
                path = os.path.join(self.root_dir, mountpoint.lstrip("/"))
                if mount.fstype in NETWORK_FSTYPES:
                    stats = self._bounded_statvfs(path, mountpoint)
                else:
                    stats = self.statvfs(path)
            except OSError as error:
                self.errors.count(self.name, f"statvfs {mountpoint}: {error.strerror or error}")
                families["device_error"].add_metric(values, 1)
                continue
            available = stats.f_bavail * stats.f_frsize
            families["size_bytes"].add_metric(values, stats.f_blocks * stats.f_frsize)
            families["free_bytes"].add_metric(values, stats.f_bfree * stats.f_frsize)
            families["avail_bytes"].add_metric(values, available)
            families["files"].add_metric(values, stats.f_files)
            families["files_free"].add_metric(values, stats.f_ffree)
            families["readonly"].add_metric(values, 1 if mount.read_only else 0)
            families["device_error"].add_metric(values, 0)
            rate = self._fill_rates.setdefault(mountpoint, FillRate(self.fill_window_seconds, 120))
            estimate = rate.time_to_full_seconds(now, available, self.min_span_seconds)
            if estimate is not None:
                time_to_full.add_metric(values, estimate)
        for gone in set(self._fill_rates) - set(mounts):
            del self._fill_rates[gone]
        yield from families.values()
        yield time_to_full


    def _bounded_statvfs(self, path: str, mountpoint: str) -> os.statvfs_result:
        with self._hung_lock:
            if mountpoint in self._hung:
                raise TimeoutError(f"an earlier statvfs has not returned in over {self.network_timeout_seconds:g} s")
            self._hung.add(mountpoint)
        outcome: list[os.statvfs_result | OSError] = []

        def call() -> None:
            try:
                outcome.append(self.statvfs(path))
            except OSError as error:
                outcome.append(error)
            finally:
                with self._hung_lock:
                    self._hung.discard(mountpoint)

        worker = threading.Thread(target=call, name=f"statvfs {mountpoint}", daemon=True)
        worker.start()
        worker.join(self.network_timeout_seconds)
        if not outcome:
            raise TimeoutError(f"no answer in {self.network_timeout_seconds:g} s")
        result = outcome[0]
        if isinstance(result, OSError):
            raise result
        return result


# (diskstats column, name after node_disk_ and before _total, factor to base units, help)
_DISK_METRICS: tuple[tuple[str, str, float, str], ...] = (
    ("reads_completed", "reads_completed", 1, "The total number of reads completed successfully."),
    ("reads_merged", "reads_merged", 1, "The total number of reads merged."),
    ("sectors_read", "read_bytes", SECTOR_BYTES, "The total number of bytes read successfully."),
    ("read_time_ms", "read_time_seconds", 0.001, "The total number of seconds spent by all reads."),
    ("writes_completed", "writes_completed", 1, "The total number of writes completed successfully."),
    ("writes_merged", "writes_merged", 1, "The number of writes merged."),
    ("sectors_written", "written_bytes", SECTOR_BYTES, "The total number of bytes written successfully."),
    ("write_time_ms", "write_time_seconds", 0.001, "This is the total number of seconds spent by all writes."),
    ("io_time_ms", "io_time_seconds", 0.001, "Total seconds spent doing I/Os."),
    ("io_time_weighted_ms", "io_time_weighted_seconds", 0.001, "The weighted number of seconds spent doing I/Os."),
    ("discards_completed", "discards_completed", 1, "The total number of discards completed successfully."),
    ("discards_merged", "discards_merged", 1, "The total number of discards merged."),
    ("sectors_discarded", "discarded_sectors", 1, "The total number of sectors discarded successfully."),
    ("discard_time_ms", "discard_time_seconds", 0.001, "This is the total number of seconds spent by all discards."),
    ("flush_requests_completed", "flush_requests", 1, "The total number of flush requests completed successfully"),
    ("flush_time_ms", "flush_requests_time_seconds", 0.001, "This is the total number of seconds spent by all flush requests."),
)


class DiskCollector:
    """``node_disk_*`` per block device from /proc/diskstats, partitions, loop and RAM disks skipped."""

    name = "diskstats"

    def __init__(self, proc_root: str | Path = "/proc") -> None:
        self.proc_root = Path(proc_root)

    def collect(self) -> Iterator[Metric]:
        disks = [d for d in parse_diskstats(read_text(f"{self.proc_root}/diskstats"))
                 if not IGNORED_DISKS.match(d.device)]
        io_now = GaugeFamily("node_disk_io_now", "The number of I/Os currently in progress.",
                             labels=["device"])
        families = {column: CounterFamily(f"node_disk_{name}", text, labels=["device"])
                    for column, name, _, text in _DISK_METRICS}
        scales = {column: scale for column, _, scale, _ in _DISK_METRICS}
        for disk in disks:
            for column, value in disk.counters:
                if column == "io_now":
                    io_now.add_metric([disk.device], value)
                elif column in families:
                    families[column].add_metric([disk.device], value * scales[column])
        yield io_now
        yield from (family for family in families.values() if family.series)


class NetworkCollector:
    """``node_network_{receive,transmit}_*_total{device}`` from /proc/net/dev."""

    name = "netdev"

    def __init__(self, proc_root: str | Path = "/proc") -> None:
        self.proc_root = Path(proc_root)

    def collect(self) -> Iterator[Metric]:
        interfaces = parse_net_dev(read_text(f"{self.proc_root}/net/dev"))
        families: dict[str, CounterFamily] = {}
        for interface in interfaces:
            for direction, counters in (("receive", interface.receive), ("transmit", interface.transmit)):
                for counter, value in counters:
                    name = f"node_network_{direction}_{counter}"
                    family = families.get(name)
                    if family is None:
                        family = families[name] = CounterFamily(
                            name, f"Network device statistic {direction}_{counter}.", labels=["device"])
                    family.add_metric([interface.device], value)
        yield from families.values()


class ProcessesCollector:
    """Processes by state, threads and pids from /proc/PID/stat; forks, context switches and
    running/blocked counts from /proc/stat. A process that ends during the walk is skipped.

    Each process's stat file is opened once and kept open, and re-read from offset 0 on every
    scrape (procfs writes the file afresh on each read): one ``pread`` per process instead of
    open, read and close. A descriptor whose process has ended (ESRCH, or its pid no longer
    listed) is closed; a reused pid gets a new one. At most ``max_open`` are kept (at most half
    the soft open-file limit), the rest are opened and closed per scrape.
    """

    name = "processes"

    def __init__(self, proc_root: str | Path = "/proc", max_open: int | None = None) -> None:
        self.proc_root = Path(proc_root)
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.max_open = max_open if max_open is not None else min(
            4096, soft_limit // 2 if soft_limit != resource.RLIM_INFINITY else 4096)
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the kept stat files (the next scrape opens them again)."""
        with self._lock:
            descriptors, self._open = self._open, {}
        for descriptor in descriptors.values():
            os.close(descriptor)

    def __del__(self) -> None:
        for descriptor in getattr(self, "_open", {}).values():
            os.close(descriptor)

    def _read_all(self, directory: int, names: list[str]) -> list[bytes]:
        """The stat line of each process in ``names`` that is still there, through kept descriptors."""
        kept = self._open
        listed = set(names)
        for gone in kept.keys() - listed:
            os.close(kept.pop(gone))
        for name in listed - kept.keys():  # set operations in C: the Python loop sees new processes only
            if len(kept) >= self.max_open:
                break
            with contextlib.suppress(OSError):  # it may have ended since the listing
                kept[name] = os.open(f"{name}/stat", os.O_RDONLY, dir_fd=directory)
        readable = list(filter(kept.__contains__, names))
        # beyond max_open: opened and closed on every scrape
        overflow = list(filterfalse(kept.__contains__, names)) if len(readable) < len(names) else []
        lines: list[bytes] = []
        while True:
            try:  # one pread per process, the loop in C; a process that ended raises ESRCH
                lines.extend(map(os.pread, map(kept.__getitem__, islice(readable, len(lines), None)),
                                 repeat(4096), repeat(0)))
                break
            except OSError:  # that process ended; its pid may already be another's
                name = readable[len(lines)]
                os.close(kept.pop(name))
                lines.append(self._read_once(directory, name))
        lines.extend(self._read_once(directory, name) for name in overflow)
        return lines

    @staticmethod
    def _read_once(directory: int, name: str) -> bytes:
        try:
            descriptor = os.open(f"{name}/stat", os.O_RDONLY, dir_fd=directory)
        except OSError:
            return b""
        try:
            return os.pread(descriptor, 4096, 0)
        except OSError:
            return b""
        finally:
            os.close(descriptor)

    def _walk(self) -> tuple[dict[str, int], int, int]:
        directory = os.open(self.proc_root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            names = list(filter(str.isdigit, os.listdir(directory)))
            lines = self._read_all(directory, names)
        finally:
            os.close(directory)
        # what parse_process_state does, inlined: this runs once per process on every scrape
        found = [fields for fields in (line[line.rfind(b")") + 2 :].split(None, 18) for line in lines if b")" in line)
                 if len(fields) > 17 and fields[17].isdigit()]
        states = {state.decode("ascii", "replace"): count for state, count in Counter(map(itemgetter(0), found)).items()}
        return states, sum(map(int, map(itemgetter(17), found))), len(found)

    def collect(self) -> Iterator[Metric]:
        stat = parse_stat(read_text(f"{self.proc_root}/stat"))
        with self._lock:
            states, threads, pids = self._walk()
        by_state = GaugeFamily("node_processes_state", "Number of processes in each state.", labels=["state"])
        for state, count in sorted(states.items()):
            by_state.add_metric([state], count)
        yield by_state
        yield GaugeFamily("node_processes_pids", "Number of PIDs.", value=pids)
        yield GaugeFamily("node_processes_threads", "Allocated threads in system.", value=threads)
        if stat.forks is not None:
            yield CounterFamily("node_forks", "Total number of forks.", value=stat.forks)
        if stat.context_switches is not None:
            yield CounterFamily("node_context_switches", "Total number of context switches.",
                                value=stat.context_switches)
        if stat.interrupts is not None:
            yield CounterFamily("node_intr", "Total number of interrupts serviced.", value=stat.interrupts)
        if stat.boot_time_seconds is not None:
            yield GaugeFamily("node_boot_time_seconds", "Node boot time, in unixtime.",
                              value=stat.boot_time_seconds)
        if stat.procs_running is not None:
            yield GaugeFamily("node_procs_running", "Number of processes in runnable state.",
                              value=stat.procs_running)
        if stat.procs_blocked is not None:
            yield GaugeFamily("node_procs_blocked", "Number of processes blocked waiting for I/O to complete.",
                              value=stat.procs_blocked)


class MdadmCollector:
    """md RAID arrays from ``proc_root/mdstat``; no file (no md driver loaded) means no arrays, not an error.

    node_exporter's names (``node_md_state{device,state}``, ``node_md_disks{device,state}``,
    ``node_md_disks_required``, ``node_md_blocks``, ``node_md_blocks_synced``) plus
    ``opsctl_agent_md_degraded{device}`` and
    ``opsctl_agent_md_sync_progress_ratio{device,action}`` while an action runs.
    """

    name = "mdadm"

    def __init__(self, proc_root: str | Path = "/proc") -> None:
        self.proc_root = Path(proc_root)

    def collect(self) -> Iterator[Metric]:
        try:
            text = read_text(f"{self.proc_root}/mdstat")
        except FileNotFoundError:
            return
        arrays = parse_mdstat(text)
        state = GaugeFamily("node_md_state", "Indicates the state of md-device.", labels=["device", "state"])
        disks = GaugeFamily("node_md_disks", "Number of active/failed/spare/missing disks of device.",
                            labels=["device", "state"])
        required = GaugeFamily("node_md_disks_required", "Total number of disks of device.", labels=["device"])
        blocks = GaugeFamily("node_md_blocks", "Total number of blocks on device.", labels=["device"])
        synced = GaugeFamily("node_md_blocks_synced", "Number of blocks synced on device.", labels=["device"])
        degraded = GaugeFamily("opsctl_agent_md_degraded",
                               "1 if the active array runs with fewer disks than it needs.", labels=["device"])
        progress = GaugeFamily("opsctl_agent_md_sync_progress_ratio",
                               "Progress of the running recovery, resync, reshape, check or repair (0 to 1).",
                               labels=["device", "action"])
        for array in arrays:
            current = "inactive" if not array.active else (
                "recovering" if array.action == "recovery" else
                "resync" if array.action in ("resync", "reshape", "check", "repair") else "active")
            for name in ("active", "inactive", "recovering", "resync"):
                state.add_metric([array.name, name], 1 if name == current else 0)
            for name, count in (("active", array.disks_active), ("failed", array.disks_failed),
                                ("spare", array.disks_spare), ("missing", array.disks_missing)):
                disks.add_metric([array.name, name], count)
            if array.disks_required is not None:
                required.add_metric([array.name], array.disks_required)
            if array.blocks is not None:
                blocks.add_metric([array.name], array.blocks)
            if array.blocks_synced is not None:
                synced.add_metric([array.name], array.blocks_synced)
            degraded.add_metric([array.name], 1 if array.degraded else 0)
            if array.action != "idle" and array.progress_ratio is not None and not math.isnan(array.progress_ratio):
                progress.add_metric([array.name, array.action], array.progress_ratio)
        yield from (state, disks, required, blocks, synced, degraded, progress)
