"""The pure /proc and /proc/mdstat parsers, on files recorded from a Debian 12 VM and real mdstat layouts.

This machine has no /proc/mdstat (no md driver): every md layout is tested on the recordings in
tests/fixtures/agent/mdstat/ only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.mdstat import parse_mdstat
from agents.procfs import (
    IGNORED_DISKS,
    is_pseudo_filesystem,
    parse_diskstats,
    parse_loadavg,
    parse_meminfo,
    parse_mounts,
    parse_net_dev,
    parse_process_state,
    parse_stat,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agent"
PROC = FIXTURES / "debian12-vm" / "proc"
MDSTAT = FIXTURES / "mdstat"


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_stat_gives_each_cpu_by_mode_and_the_kernel_counters() -> None:
    stat = parse_stat(_read(PROC / "stat"))
    assert [cpu.cpu for cpu in stat.cpus] == ["0", "1"]
    assert [mode for mode, _ in stat.cpus[0].ticks] == ["user", "nice", "system", "idle", "iowait", "irq",
                                                       "softirq", "steal"]
    first_line = next(line for line in _read(PROC / "stat").splitlines() if line.startswith("cpu0 "))
    assert dict(stat.cpus[0].ticks)["idle"] == int(first_line.split()[4])
    assert stat.forks and stat.context_switches and stat.boot_time_seconds and stat.interrupts
    assert stat.procs_running is not None and stat.procs_running >= 1


def test_stat_without_anything_known_is_refused() -> None:
    with pytest.raises(ValueError, match="/proc/stat"):
        parse_stat("garbage here\n")


def test_loadavg_and_a_truncated_one() -> None:
    load = parse_loadavg(_read(PROC / "loadavg"))
    assert load.one >= 0 and load.fifteen >= 0
    assert parse_loadavg("0.50 1.25 2.00 1/123 4567\n").five == 1.25
    with pytest.raises(ValueError, match="fields"):
        parse_loadavg("0.5\n")


def test_meminfo_in_bytes_and_counts_apart() -> None:
    info = parse_meminfo(_read(PROC / "meminfo"))
    sizes = dict(info.sizes_bytes)
    counts = dict(info.counts)
    total_kb = int(next(line for line in _read(PROC / "meminfo").splitlines()
                        if line.startswith("MemTotal:")).split()[1])
    assert sizes["MemTotal"] == total_kb * 1024
    assert "SwapTotal" in sizes and "SwapFree" in sizes and "Active_anon" in sizes
    assert "HugePages_Total" in counts and "HugePages_Total" not in sizes
    with pytest.raises(ValueError, match="MemTotal"):
        parse_meminfo("Buffers: 1 kB\n")


def test_mounts_decode_octal_escapes_and_pseudo_filesystems_are_skipped() -> None:
    mounts = parse_mounts(_read(PROC / "mounts"))
    by_point = {m.mountpoint: m for m in mounts}
    assert "/var/lib/orthanc/db store" in by_point
    assert by_point["/srv/archive"].read_only and not by_point["/"].read_only
    kept = [m.mountpoint for m in mounts if not is_pseudo_filesystem(m)]
    # sysfs, proc, devtmpfs, cgroup2, debugfs, iso9660, binfmt_misc, and anything under /dev, /proc, /sys go
    assert kept == ["/run", "/", "/boot", "/var/lib/postgresql",
                    "/var/lib/orthanc/db store", "/srv/archive", "/mnt/pacs-backup"]


def test_diskstats_keep_whole_disks_and_name_every_column() -> None:
    disks = parse_diskstats(_read(PROC / "diskstats"))
    names = [d.device for d in disks]
    assert "vda" in names
    assert all(IGNORED_DISKS.match(name) for name in names if name.startswith("loop"))
    assert not IGNORED_DISKS.match("vda") and not IGNORED_DISKS.match("nvme0n1")
    assert IGNORED_DISKS.match("sda1") and IGNORED_DISKS.match("nvme0n1p2")
    vda = dict(next(d for d in disks if d.device == "vda").counters)
    line = next(line for line in _read(PROC / "diskstats").splitlines() if line.split()[2] == "vda").split()
    assert vda["reads_completed"] == int(line[3]) and vda["sectors_written"] == int(line[9])


def test_net_dev_skips_its_headers() -> None:
    interfaces = parse_net_dev(_read(PROC / "net" / "dev"))
    assert "lo" in [i.device for i in interfaces]
    lo = next(i for i in interfaces if i.device == "lo")
    assert dict(lo.receive)["bytes"] == dict(lo.transmit)["bytes"]  # loopback sends what it receives
    assert len(lo.receive) == 8 and len(lo.transmit) == 8


@pytest.mark.parametrize(("pid", "state"), [("412", "R"), ("7", "I")])
def test_process_state_survives_brackets_and_spaces_in_the_name(pid: str, state: str) -> None:
    found_state, threads = parse_process_state((PROC / pid / "stat").read_bytes())
    assert found_state == state
    assert threads == (4 if pid == "412" else 1)
    with pytest.raises(ValueError):
        parse_process_state(b"12 (truncated) S 1 2")


def test_a_command_named_like_a_state_cannot_pass_for_one() -> None:
    # a user can name a process anything up to 15 bytes, brackets and letters included
    line = (PROC / "412" / "stat").read_bytes()
    command = line[line.index(b"(") : line.rindex(b")") + 1]
    spoofed = line.replace(command, b"(x) Z 1 2 3 4 5)")
    assert parse_process_state(spoofed) == ("R", 4)


def test_mdstat_raid1_normal() -> None:
    md1, md0 = parse_mdstat(_read(MDSTAT / "raid1-normal.txt"))
    assert (md1.name, md0.name, md0.degraded) == ("md1", "md0", False)
    assert (md1.active, md1.level, md1.disks_required, md1.disks_active, md1.disks_failed, md1.disks_spare,
            md1.disks_missing, md1.degraded, md1.action, md1.blocks) == (
        True, "raid1", 2, 2, 0, 0, 0, False, "idle", 975540224)


def test_mdstat_raid1_degraded_one_failed_one_removed() -> None:
    md1, md0 = parse_mdstat(_read(MDSTAT / "raid1-degraded.txt"))
    assert (md1.disks_active, md1.disks_failed, md1.disks_missing, md1.degraded) == (1, 1, 1, True)
    # md0's second member is gone altogether (removed): nothing failed, one missing
    assert (md0.disks_active, md0.disks_failed, md0.disks_missing, md0.degraded) == (1, 0, 1, True)


def test_mdstat_raid5_recovering_with_progress() -> None:
    (md0,) = parse_mdstat(_read(MDSTAT / "raid5-recovering.txt"))
    assert (md0.level, md0.disks_required, md0.disks_active, md0.degraded, md0.action) == (
        "raid5", 6, 5, True, "recovery")
    assert md0.progress_ratio == pytest.approx(494242968 / 3906885632)
    assert md0.blocks_synced == 494242968


def test_mdstat_resync_running_and_pending() -> None:
    md2, md3 = parse_mdstat(_read(MDSTAT / "raid1-resync.txt"))
    assert (md2.action, md2.degraded) == ("resync", False)
    assert md2.progress_ratio == pytest.approx(328392896 / 3906886464)
    assert (md3.action, md3.progress_ratio, md3.read_only) == ("resync", 0.0, True)


def test_mdstat_raid6_with_spare_and_raid10_check() -> None:
    md127, md5 = parse_mdstat(_read(MDSTAT / "raid6-raid10-spare.txt"))
    assert (md127.level, md127.disks_active, md127.disks_spare, md127.degraded) == ("raid6", 6, 1, False)
    assert (md5.level, md5.disks_required, md5.action) == ("raid10", 4, "check")
    assert md5.progress_ratio == pytest.approx(336109440 / 1953259520)


def test_mdstat_raid5_one_failed_one_removed() -> None:
    (md0,) = parse_mdstat(_read(MDSTAT / "raid5-failed-removed.txt"))
    assert (md0.disks_required, md0.disks_active, md0.disks_failed, md0.disks_missing, md0.degraded) == (
        4, 2, 1, 2, True)


def test_mdstat_inactive_array_and_raid0_without_a_map() -> None:
    md127, md0 = parse_mdstat(_read(MDSTAT / "inactive.txt"))
    assert (md127.active, md127.disks_active, md127.disks_spare, md127.degraded) == (False, 0, 2, False)
    assert (md0.active, md0.level, md0.disks_required, md0.disks_active, md0.degraded) == (True, "raid0", None, 2, False)


def test_mdstat_without_arrays() -> None:
    assert parse_mdstat(_read(MDSTAT / "empty.txt")) == ()
    assert parse_mdstat("") == ()
