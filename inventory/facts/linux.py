"""Linux host facts: each a command and a pure parser of its output into a frozen dataclass."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any, ClassVar

from inventory.facts.base import Fact, FactParseError

# --- values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OsReleaseInfo:
    """The operating system as /etc/os-release names it."""

    id: str
    name: str
    version_id: str | None
    version: str | None
    version_codename: str | None
    pretty_name: str | None
    id_like: tuple[str, ...] = ()


@dataclass(frozen=True)
class KernelInfo:
    release: str


@dataclass(frozen=True)
class HostnameInfo:
    hostname: str


@dataclass(frozen=True)
class CpuInfo:
    """Logical CPUs, physical packages (when the kernel says) and the model name."""

    count: int
    model: str | None
    sockets: int | None


@dataclass(frozen=True)
class MemoryInfo:
    total_bytes: int
    available_bytes: int | None
    swap_total_bytes: int | None
    swap_free_bytes: int | None


@dataclass(frozen=True)
class BlockDevice:
    """One lsblk row; ``parent`` names the device it sits on (a disk for a partition)."""

    name: str
    type: str
    size_bytes: int | None
    model: str | None
    serial: str | None
    mountpoint: str | None
    fstype: str | None
    parent: str | None = None


@dataclass(frozen=True)
class BlockDevices:
    devices: tuple[BlockDevice, ...]

    @property
    def disks(self) -> tuple[BlockDevice, ...]:
        return tuple(d for d in self.devices if d.type == "disk")


@dataclass(frozen=True)
class Filesystem:
    source: str
    size_bytes: int
    used_bytes: int
    available_bytes: int
    mountpoint: str


@dataclass(frozen=True)
class Filesystems:
    filesystems: tuple[Filesystem, ...]


@dataclass(frozen=True)
class MdMember:
    """A member of an md array; ``role`` is ``active``, ``faulty``, ``spare``, ``write-mostly`` or ``replacement``."""

    name: str
    index: int
    role: str


@dataclass(frozen=True)
class MdArray:
    """One md array from /proc/mdstat; ``degraded`` when fewer members work than it needs."""

    name: str
    state: str
    level: str | None
    members: tuple[MdMember, ...]
    expected_devices: int | None
    working_devices: int | None
    status_map: str | None
    sync_action: str | None
    sync_percent: float | None

    @property
    def degraded(self) -> bool:
        if (self.expected_devices is not None and self.working_devices is not None
                and self.working_devices < self.expected_devices):
            return True
        if self.status_map is not None and "_" in self.status_map:
            return True
        return any(m.role == "faulty" for m in self.members)


@dataclass(frozen=True)
class MdRaidInfo:
    personalities: tuple[str, ...]
    arrays: tuple[MdArray, ...]

    @property
    def degraded(self) -> tuple[MdArray, ...]:
        return tuple(a for a in self.arrays if a.degraded)


@dataclass(frozen=True)
class IpAddress:
    family: str
    address: str
    prefix_length: int
    scope: str | None


@dataclass(frozen=True)
class NetInterface:
    name: str
    mac: str | None
    mtu: int | None
    oper_state: str | None
    flags: tuple[str, ...]
    link_type: str | None
    addresses: tuple[IpAddress, ...]


@dataclass(frozen=True)
class NetInterfaces:
    interfaces: tuple[NetInterface, ...]


@dataclass(frozen=True)
class PackageCount:
    manager: str
    installed: int


@dataclass(frozen=True)
class PendingUpdates:
    """Packages an upgrade would change; ``security`` counts those from a security archive (apt only)."""

    manager: str
    count: int
    security: int | None
    packages: tuple[str, ...]


@dataclass(frozen=True)
class UptimeInfo:
    seconds: float
    idle_seconds: float | None


@dataclass(frozen=True)
class DmiInfo:
    """The machine as its firmware names it (SMBIOS through /sys/class/dmi/id): maker, product, serial.

    A value the firmware left as a placeholder ("To Be Filled By O.E.M.") is None; the serial
    is None as well when it could not be read (root only), and ``serial_readable`` says which.
    """

    vendor: str | None
    product: str | None
    serial: str | None
    serial_readable: bool


@dataclass(frozen=True)
class BootIdInfo:
    boot_id: str


# --- facts --------------------------------------------------------------------------------


class OsRelease(Fact[OsReleaseInfo]):
    name = "os_release"
    shell = "cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release"

    def process(self, output: str) -> OsReleaseInfo:
        fields: dict[str, str] = {}
        for line in output.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, raw = line.partition("=")
            if not sep or not re.fullmatch(r"[A-Z0-9_]+", key):
                raise FactParseError(f"os-release: not a KEY=value line: {line[:60]!r}")
            try:
                words = shlex.split(raw)
            except ValueError:
                raise FactParseError(f"os-release: bad quoting in {key}") from None
            fields[key] = " ".join(words)
        if "ID" not in fields and "NAME" not in fields:
            raise FactParseError("os-release: neither ID nor NAME is set")
        return OsReleaseInfo(
            id=fields.get("ID", "linux"),
            name=fields.get("NAME", "Linux"),
            version_id=fields.get("VERSION_ID"),
            version=fields.get("VERSION"),
            version_codename=fields.get("VERSION_CODENAME"),
            pretty_name=fields.get("PRETTY_NAME"),
            id_like=tuple(fields.get("ID_LIKE", "").split()),
        )


def _one_word(output: str, what: str) -> str:
    words = output.split()
    if len(words) != 1:
        raise FactParseError(f"{what}: expected one word, got {len(words)}")
    return words[0]


class Kernel(Fact[KernelInfo]):
    name = "kernel"
    argv = ("uname", "-r")

    def process(self, output: str) -> KernelInfo:
        return KernelInfo(_one_word(output, "uname -r"))


class Hostname(Fact[HostnameInfo]):
    name = "hostname"
    argv = ("uname", "-n")

    def process(self, output: str) -> HostnameInfo:
        return HostnameInfo(_one_word(output, "uname -n"))


class Cpu(Fact[CpuInfo]):
    name = "cpu"
    argv = ("cat", "/proc/cpuinfo")
    _MODEL_KEYS: ClassVar[tuple[str, ...]] = ("model name", "cpu model", "Processor", "Hardware", "cpu")

    def process(self, output: str) -> CpuInfo:
        count = 0
        models: dict[str, str] = {}
        packages: set[str] = set()
        for line in output.splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = key.strip(), value.strip()
            if key == "processor":
                count += 1
            elif key == "physical id":
                packages.add(value)
            elif key in self._MODEL_KEYS and value and key not in models:
                models[key] = value
        if count == 0:
            raise FactParseError("/proc/cpuinfo: no 'processor' line")
        model = next((models[k] for k in self._MODEL_KEYS if k in models), None)
        return CpuInfo(count=count, model=model, sockets=len(packages) or None)


class Memory(Fact[MemoryInfo]):
    name = "memory"
    argv = ("cat", "/proc/meminfo")
    _UNITS: ClassVar[dict[str, int]] = {"": 1, "kB": 1024}

    def process(self, output: str) -> MemoryInfo:
        values: dict[str, int] = {}
        for line in output.splitlines():
            match = re.fullmatch(r"([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*", line)
            if match:
                values[match[1]] = int(match[2]) * self._UNITS[match[3] or ""]
        if "MemTotal" not in values:
            raise FactParseError("/proc/meminfo: no MemTotal line")
        return MemoryInfo(values["MemTotal"], values.get("MemAvailable"), values.get("SwapTotal"),
                          values.get("SwapFree"))


def _text_or_none(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _size(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if text.isdigit() else None


class Disks(Fact[BlockDevices]):
    name = "block_devices"
    argv = ("lsblk", "-J", "-b", "-o", "NAME,TYPE,SIZE,MODEL,SERIAL,MOUNTPOINT,FSTYPE")

    def process(self, output: str) -> BlockDevices:
        try:
            document = json.loads(output)
        except ValueError:
            raise FactParseError("lsblk: output is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("blockdevices"), list):
            raise FactParseError("lsblk: no 'blockdevices' list")
        devices: list[BlockDevice] = []

        def walk(entries: list[Any], parent: str | None) -> None:
            for entry in entries:
                if not isinstance(entry, dict) or not entry.get("name"):
                    raise FactParseError("lsblk: a device without a name")
                name = str(entry["name"])
                devices.append(BlockDevice(
                    name=name, type=str(entry.get("type") or ""), size_bytes=_size(entry.get("size")),
                    model=_text_or_none(entry.get("model")), serial=_text_or_none(entry.get("serial")),
                    mountpoint=_text_or_none(entry.get("mountpoint")),
                    fstype=_text_or_none(entry.get("fstype")), parent=parent))
                children = entry.get("children") or []
                if isinstance(children, list):
                    walk(children, name)

        walk(document["blockdevices"], None)
        return BlockDevices(tuple(devices))


class DiskUsage(Fact[Filesystems]):
    name = "filesystems"
    argv = ("df", "-P", "-B1")
    # df exits 1 when one mount cannot be read but still reports the others
    ok_exit_statuses = frozenset({0, 1})

    def process(self, output: str) -> Filesystems:
        lines = output.splitlines()
        if not lines or not lines[0].startswith("Filesystem"):
            raise FactParseError("df: no 'Filesystem' header")
        found: list[Filesystem] = []
        for line in lines[1:]:
            if not line.strip():
                continue
            parts = line.split(None, 5)
            if len(parts) != 6 or not all(p.isdigit() for p in parts[1:4]):
                raise FactParseError(f"df: unreadable line {line[:60]!r}")
            found.append(Filesystem(parts[0], int(parts[1]), int(parts[2]), int(parts[3]), parts[5]))
        return Filesystems(tuple(found))


_MD_HEADER = re.compile(
    r"(?P<name>md[\w/]+) : (?P<state>active|inactive)(?: \((?P<ro>[\w-]+)\))?"
    r"(?: (?P<level>raid\d+|linear|multipath|faulty))?(?P<members>(?: \S+\[\d+\](?:\([FSWR]\))*)*)\s*$")
_MD_MEMBER = re.compile(r"(?P<name>\S+)\[(?P<index>\d+)\](?P<flags>(?:\([FSWR]\))*)")
_MD_COUNTS = re.compile(r"\[(?P<expected>\d+)/(?P<working>\d+)\] \[(?P<map>[U_]+)\]")
_MD_SYNC = re.compile(r"(?P<action>resync|recovery|reshape|check|repair)\s*=\s*(?P<percent>[\d.]+)%")
_MD_ROLES = {"F": "faulty", "S": "spare", "W": "write-mostly", "R": "replacement"}


class MdRaid(Fact[MdRaidInfo]):
    name = "md_raid"
    # no /proc/mdstat means the md driver is not loaded: no arrays, which is an answer
    shell = "if [ -e /proc/mdstat ]; then cat /proc/mdstat; fi"

    def process(self, output: str) -> MdRaidInfo:
        if not output.strip():
            return MdRaidInfo((), ())
        lines = output.splitlines()
        if not lines[0].startswith("Personalities :"):
            raise FactParseError("/proc/mdstat: no 'Personalities' line")
        personalities = tuple(p.strip("[]") for p in lines[0].partition(":")[2].split())
        arrays: list[MdArray] = []
        index = 1
        while index < len(lines):
            line = lines[index]
            index += 1
            if not line.startswith("md"):
                continue
            header = _MD_HEADER.match(line)
            if header is None:
                raise FactParseError(f"/proc/mdstat: unreadable array line {line[:60]!r}")
            members = tuple(
                MdMember(m["name"], int(m["index"]),
                         next((_MD_ROLES[f] for f in "FSWR" if f"({f})" in m["flags"]), "active"))
                for m in _MD_MEMBER.finditer(header["members"]))
            expected = working = None
            status_map = sync_action = None
            sync_percent = None
            while index < len(lines) and lines[index].startswith((" ", "\t")):
                detail = lines[index]
                index += 1
                counts = _MD_COUNTS.search(detail)
                if counts:
                    expected, working = int(counts["expected"]), int(counts["working"])
                    status_map = counts["map"]
                sync = _MD_SYNC.search(detail)
                if sync:
                    sync_action, sync_percent = sync["action"], float(sync["percent"])
                elif sync_action is None and re.search(r"\b(resync|recovery)\s*=\s*(DELAYED|PENDING)", detail):
                    sync_action = detail.split("=")[0].strip()
            arrays.append(MdArray(header["name"], header["state"], header["level"], members, expected,
                                  working, status_map, sync_action, sync_percent))
        return MdRaidInfo(personalities, tuple(arrays))


class Interfaces(Fact[NetInterfaces]):
    name = "interfaces"
    argv = ("ip", "-j", "addr", "show")

    def process(self, output: str) -> NetInterfaces:
        try:
            document = json.loads(output)
        except ValueError:
            raise FactParseError("ip -j addr: output is not JSON (iproute2 older than 4.14?)") from None
        if not isinstance(document, list):
            raise FactParseError("ip -j addr: expected a list of interfaces")
        found: list[NetInterface] = []
        for entry in document:
            if not isinstance(entry, dict) or not entry.get("ifname"):
                continue  # ip prints {} for links that vanish while it lists them
            addresses = tuple(
                IpAddress(str(a.get("family", "")), str(a["local"]), int(a.get("prefixlen", 0)),
                          _text_or_none(a.get("scope")))
                for a in entry.get("addr_info") or [] if isinstance(a, dict) and a.get("local"))
            mtu = entry.get("mtu")
            found.append(NetInterface(
                name=str(entry["ifname"]), mac=_text_or_none(entry.get("address")),
                mtu=mtu if isinstance(mtu, int) else None, oper_state=_text_or_none(entry.get("operstate")),
                flags=tuple(str(f) for f in entry.get("flags") or []),
                link_type=_text_or_none(entry.get("link_type")), addresses=addresses))
        return NetInterfaces(tuple(found))


def _manager_line(output: str, what: str) -> tuple[str, list[str]]:
    lines = output.splitlines()
    if not lines or not lines[0].startswith("manager="):
        raise FactParseError(f"{what}: no 'manager=' line")
    return lines[0].partition("=")[2].strip(), lines[1:]


class Packages(Fact[PackageCount]):
    name = "packages"
    shell = ("if command -v dpkg-query >/dev/null 2>&1; then echo manager=dpkg; "
             "exec dpkg-query -W -f '${db:Status-Abbrev}\\n'; "
             "elif command -v rpm >/dev/null 2>&1; then echo manager=rpm; exec rpm -qa; "
             "else echo 'neither dpkg-query nor rpm found' >&2; exit 127; fi")

    def process(self, output: str) -> PackageCount:
        manager, lines = _manager_line(output, "packages")
        if manager == "dpkg":
            return PackageCount("dpkg", sum(1 for line in lines if line.startswith("ii")))
        if manager == "rpm":
            return PackageCount("rpm", sum(1 for line in lines if line.strip()))
        raise FactParseError(f"packages: unknown manager {manager!r}")


_APT_INST = re.compile(r"Inst (?P<name>\S+)(?: \[[^\]]*\])? \((?P<detail>[^)]*)\)")


class Updates(Fact[PendingUpdates]):
    name = "pending_updates"
    # apt-get -s needs no root and takes no lock; dnf check-update exits 100 when updates wait
    shell = ("if command -v apt-get >/dev/null 2>&1; then echo manager=apt; "
             "LC_ALL=C exec apt-get -s -o Debug::NoLocking=1 upgrade; "
             "elif command -v dnf >/dev/null 2>&1; then echo manager=dnf; "
             "dnf -q -C check-update; status=$?; [ $status -eq 100 ] && exit 0; exit $status; "
             "else echo 'neither apt-get nor dnf found' >&2; exit 127; fi")

    def process(self, output: str) -> PendingUpdates:
        manager, lines = _manager_line(output, "pending updates")
        if manager == "apt":
            names: list[str] = []
            security = 0
            for line in lines:
                match = _APT_INST.match(line)
                if match:
                    names.append(match["name"])
                    security += "-security" in match["detail"].lower()
            if not names and not any(re.match(r"\d+ upgraded, \d+ newly installed", line) for line in lines):
                raise FactParseError("apt-get -s upgrade: no summary line")
            return PendingUpdates("apt", len(names), security, tuple(names))
        if manager == "dnf":
            names = []
            for line in lines:
                parts = line.split()
                if not parts or line.startswith((" ", "Obsoleting", "Last metadata")):
                    continue
                if len(parts) == 3 and "." in parts[0]:
                    names.append(parts[0].rsplit(".", 1)[0])
            return PendingUpdates("dnf", len(names), None, tuple(names))
        raise FactParseError(f"pending updates: unknown manager {manager!r}")


class Uptime(Fact[UptimeInfo]):
    name = "uptime"
    argv = ("cat", "/proc/uptime")

    def process(self, output: str) -> UptimeInfo:
        parts = output.split()
        try:
            seconds = float(parts[0])
            idle = float(parts[1]) if len(parts) > 1 else None
        except (IndexError, ValueError):
            raise FactParseError("/proc/uptime: expected two numbers") from None
        return UptimeInfo(seconds, idle)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class BootId(Fact[BootIdInfo]):
    name = "boot_id"
    argv = ("cat", "/proc/sys/kernel/random/boot_id")

    def process(self, output: str) -> BootIdInfo:
        text = output.strip()
        if not _UUID.fullmatch(text):
            raise FactParseError("boot_id: not a UUID")
        return BootIdInfo(text)


DMI_ROOT = "/sys/class/dmi/id"
_DMI_FILES = {"sys_vendor": "vendor", "product_name": "product", "product_serial": "serial"}
# what firmware writes where the board maker left a field for the system builder to fill
_DMI_PLACEHOLDERS = frozenset(text.casefold() for text in (
    "To Be Filled By O.E.M.", "To be filled by O.E.M.", "Default string", "Not Specified", "Not Applicable",
    "System manufacturer", "System Product Name", "System Serial Number", "Unknown", "None", "N/A",
    "0123456789", "1234567890", "Chassis Serial Number", "OEM", "O.E.M.", "Type1ProductConfigId", "xxxxxxxx",
))


class Dmi(Fact[DmiInfo]):
    """sys_vendor, product_name and product_serial from /sys/class/dmi/id (``root`` for recorded trees).

    Prints ``file=value`` for each file it can read and ``file!unreadable`` for one it cannot
    (product_serial is root's only); nothing when there is no DMI (a VM without SMBIOS, ARM boards,
    containers, this project's build machine).
    """

    name = "dmi"

    def __init__(self, root: str = DMI_ROOT) -> None:
        self.root = root

    def command(self) -> str:
        return (f"d={shlex.quote(self.root)}; for f in {' '.join(_DMI_FILES)}; do "
                'if [ -r "$d/$f" ]; then printf \'%s=\' "$f"; head -c 256 "$d/$f" | tr -d \'\\n\\r\'; echo; '
                'elif [ -e "$d/$f" ]; then echo "$f!unreadable"; fi; done')

    def process(self, output: str) -> DmiInfo:
        values: dict[str, str | None] = dict.fromkeys(_DMI_FILES.values())
        unreadable: set[str] = set()
        for line in output.splitlines():
            if not line.strip():
                continue
            key, equals, value = line.partition("=")
            if key.endswith("!unreadable") and key.removesuffix("!unreadable") in _DMI_FILES:
                unreadable.add(_DMI_FILES[key.removesuffix("!unreadable")])
                continue
            if not equals or key not in _DMI_FILES:
                raise FactParseError(f"dmi: not a file=value line: {line[:60]!r}")
            text = " ".join(value.split())
            values[_DMI_FILES[key]] = None if not text or text.casefold() in _DMI_PLACEHOLDERS else text
        return DmiInfo(values["vendor"], values["product"], values["serial"], "serial" not in unreadable)


ALL_FACTS: tuple[Fact[Any], ...] = (
    OsRelease(), Kernel(), Hostname(), Cpu(), Memory(), Disks(), DiskUsage(), MdRaid(), Interfaces(),
    Packages(), Updates(), Uptime(), BootId(), Dmi(),
)
