"""Pure parsers of the /proc files the host collectors read: text in, frozen dataclasses out.

Each parser takes the whole text of one file and returns what it holds; a malformed line is
skipped (the caller counts nothing for it) and a file that holds nothing usable raises
``ValueError`` naming what was missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# /proc/stat's CPU columns in the kernel's order (fs/proc/stat.c); guest time is already in user
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


@dataclass(frozen=True)
class CpuTimes:
    """One CPU's time per mode, in clock ticks (``USER_HZ``) as /proc/stat counts them."""

    cpu: str
    ticks: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class KernelStat:
    """What /proc/stat holds: per-CPU times and the kernel-wide counters."""

    cpus: tuple[CpuTimes, ...]
    boot_time_seconds: int | None
    forks: int | None
    context_switches: int | None
    interrupts: int | None
    procs_running: int | None
    procs_blocked: int | None


def parse_stat(text: str) -> KernelStat:
    """Given /proc/stat, return per-CPU times (``cpuN`` lines, not the ``cpu`` total) and counters."""
    cpus: list[CpuTimes] = []
    counters: dict[str, int] = {}
    for line in text.splitlines():
        # the intr line holds one number per interrupt (thousands on a large server): split no
        # more of a line than is read
        key, _, rest = line.lstrip().partition(" ")
        if key.startswith("cpu") and key != "cpu":
            values = [int(v) for v in rest.split(None, len(CPU_MODES))[: len(CPU_MODES)] if v.isdigit()]
            cpus.append(CpuTimes(key[3:], tuple(zip(CPU_MODES, values, strict=False))))
        elif key in ("btime", "processes", "ctxt", "intr", "procs_running", "procs_blocked"):
            first = rest.split(None, 1)[:1]
            if first and first[0].isdigit():
                counters[key] = int(first[0])
    if not cpus and not counters:
        raise ValueError("no cpuN lines and no counters in /proc/stat")
    return KernelStat(
        cpus=tuple(cpus),
        boot_time_seconds=counters.get("btime"),
        forks=counters.get("processes"),
        context_switches=counters.get("ctxt"),
        interrupts=counters.get("intr"),
        procs_running=counters.get("procs_running"),
        procs_blocked=counters.get("procs_blocked"),
    )


@dataclass(frozen=True)
class LoadAverage:
    """The 1, 5 and 15 minute load averages."""

    one: float
    five: float
    fifteen: float


def parse_loadavg(text: str) -> LoadAverage:
    """Given /proc/loadavg, return its three averages; raise ``ValueError`` if they are not there."""
    fields = text.split()
    if len(fields) < 3:
        raise ValueError(f"/proc/loadavg has {len(fields)} fields, expected at least 3")
    return LoadAverage(float(fields[0]), float(fields[1]), float(fields[2]))


@dataclass(frozen=True)
class MemInfo:
    """/proc/meminfo's fields: sizes in bytes (the kernel's ``kB`` times 1024) and plain counts apart.

    Names keep the kernel's spelling with brackets made underscores, as node_exporter names
    them (``Active(anon)`` becomes ``Active_anon``).
    """

    sizes_bytes: tuple[tuple[str, int], ...]
    counts: tuple[tuple[str, int], ...]


def parse_meminfo(text: str) -> MemInfo:
    """Given /proc/meminfo, return its fields; raise ``ValueError`` if MemTotal is not among them."""
    sizes: list[tuple[str, int]] = []
    counts: list[tuple[str, int]] = []
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if not name or not parts or not parts[0].isdigit():
            continue
        field = name.strip().replace("(", "_").replace(")", "")
        if len(parts) > 1 and parts[1] == "kB":
            sizes.append((field, int(parts[0]) * 1024))
        else:
            counts.append((field, int(parts[0])))
    if not any(name == "MemTotal" for name, _ in sizes):
        raise ValueError("no MemTotal in /proc/meminfo")
    return MemInfo(tuple(sizes), tuple(counts))


@dataclass(frozen=True)
class Mount:
    """One line of /proc/mounts (octal escapes such as ``\\040`` decoded)."""

    device: str
    mountpoint: str
    fstype: str
    options: tuple[str, ...]

    @property
    def read_only(self) -> bool:
        return "ro" in self.options


def _unescape_mount_field(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def parse_mounts(text: str) -> tuple[Mount, ...]:
    """Given /proc/mounts (or /proc/self/mounts), return every mount in order."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        mounts.append(Mount(_unescape_mount_field(fields[0]), _unescape_mount_field(fields[1]),
                            fields[2], tuple(fields[3].split(","))))
    return tuple(mounts)


# node_exporter's defaults (collector/filesystem_linux.go): pseudo and virtual filesystems are not disks
IGNORED_FSTYPES = frozenset((
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
    "devtmpfs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc", "procfs",
    "pstore", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs", "tracefs",
))
IGNORED_MOUNTPOINTS = re.compile(
    r"^/(dev|proc|run/credentials/.+|sys|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)")


# filesystems whose statvfs waits on a server that may hang
NETWORK_FSTYPES = frozenset(("nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "fuse.sshfs", "9p", "afs"))


def is_pseudo_filesystem(mount: Mount) -> bool:
    """True for a mount node_exporter skips by default: a pseudo filesystem type or a system mount point."""
    return mount.fstype in IGNORED_FSTYPES or IGNORED_MOUNTPOINTS.match(mount.mountpoint) is not None


# /proc/diskstats columns after major, minor and name (Documentation/admin-guide/iostats.rst)
DISKSTAT_FIELDS = (
    "reads_completed", "reads_merged", "sectors_read", "read_time_ms",
    "writes_completed", "writes_merged", "sectors_written", "write_time_ms",
    "io_now", "io_time_ms", "io_time_weighted_ms",
    "discards_completed", "discards_merged", "sectors_discarded", "discard_time_ms",
    "flush_requests_completed", "flush_time_ms",
)
# node_exporter's default device exclusion: partitions, RAM and loop devices
IGNORED_DISKS = re.compile(r"^(z?ram|loop|fd|(h|s|v|xv)d[a-z]|nvme\d+n\d+p)\d+$")


@dataclass(frozen=True)
class DiskStats:
    """One block device's counters from /proc/diskstats (only the columns its kernel prints)."""

    device: str
    counters: tuple[tuple[str, int], ...]


def parse_diskstats(text: str) -> tuple[DiskStats, ...]:
    """Given /proc/diskstats, return every device's counters, partitions and loop devices included."""
    disks = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 14 or not all(f.isdigit() for f in fields[3:]):
            continue
        disks.append(DiskStats(fields[2], tuple(zip(DISKSTAT_FIELDS, (int(v) for v in fields[3:]), strict=False))))
    return tuple(disks)


NET_RECEIVE = ("bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast")
NET_TRANSMIT = ("bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed")


@dataclass(frozen=True)
class InterfaceStats:
    """One interface's receive and transmit counters from /proc/net/dev."""

    device: str
    receive: tuple[tuple[str, int], ...]
    transmit: tuple[tuple[str, int], ...]


def parse_net_dev(text: str) -> tuple[InterfaceStats, ...]:
    """Given /proc/net/dev, return every interface's counters (the two header lines skipped)."""
    interfaces = []
    for line in text.splitlines():
        name, colon, rest = line.partition(":")
        fields = rest.split()
        if not colon or len(fields) != 16 or not all(f.isdigit() for f in fields):
            continue
        values = [int(f) for f in fields]
        interfaces.append(InterfaceStats(name.strip(), tuple(zip(NET_RECEIVE, values[:8], strict=True)),
                                         tuple(zip(NET_TRANSMIT, values[8:], strict=True))))
    return tuple(interfaces)


def parse_process_state(data: bytes) -> tuple[str, int]:
    """Given the bytes of /proc/PID/stat, return the process's state letter and thread count.

    The command name is in brackets and may hold spaces and brackets itself, so the fields
    are counted from the last ``)``. Bytes, not text: the agent reads one such file per
    process on every scrape, and decoding would cost more than the parse.
    """
    bracket = data.rfind(b")")
    fields = data[bracket + 1 :].split(None, 19)
    if bracket < 0 or len(fields) < 19:
        raise ValueError("not a /proc/PID/stat line")
    return fields[0].decode("ascii", "replace"), int(fields[17])
