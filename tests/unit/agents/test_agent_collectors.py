"""The host collectors on the recorded tree: what a scrape exposes, fresh each time, and how a
collector that cannot read something reports less without failing the scrape.

The md RAID and filesystem paths run on recorded trees only (this machine has no /proc/mdstat).
"""

from __future__ import annotations

import math
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from agents.base import AgentCollector, ErrorCounter
from agents.collectors import (
    CpuCollector,
    DiskCollector,
    FilesystemCollector,
    LoadCollector,
    MdadmCollector,
    MemoryCollector,
    NetworkCollector,
    ProcessesCollector,
)
from agents.timesync import TimeCollector, TimexReading

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agent"
PROC = FIXTURES / "debian12-vm" / "proc"
MDSTAT = FIXTURES / "mdstat"


def scrape(*collectors: object, errors: ErrorCounter | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Expose ``collectors`` through a registry as a scrape would and parse it back: {(sample, labels): value}."""
    registry = CollectorRegistry()
    registry.register(AgentCollector(collectors, errors or ErrorCounter()))  # type: ignore[arg-type]
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_cpu_seconds_are_ticks_over_user_hz() -> None:
    samples = scrape(CpuCollector(PROC, clock_ticks=100))
    cpu0 = next(line for line in (PROC / "stat").read_text().splitlines() if line.startswith("cpu0 ")).split()
    assert value(samples, "node_cpu_seconds_total", cpu="0", mode="user") == int(cpu0[1]) / 100
    assert value(samples, "node_cpu_seconds_total", cpu="1", mode="steal") >= 0


def test_load_memory_network_disks_and_processes_from_the_tree() -> None:
    samples = scrape(LoadCollector(PROC), MemoryCollector(PROC), NetworkCollector(PROC), DiskCollector(PROC),
                     ProcessesCollector(PROC))
    assert ("node_load1", ()) in samples and ("node_load15", ()) in samples
    assert value(samples, "opsctl_agent_memory_mem_total_bytes") > 1e9
    assert ("opsctl_agent_memory_swap_free_bytes", ()) in samples
    assert value(samples, "node_network_receive_bytes_total", device="lo") > 0
    assert ("node_disk_read_bytes_total", (("device", "vda"),)) in samples
    assert not any(name.startswith("node_disk") and dict(labels).get("device", "").startswith("loop")
                   for name, labels in samples)
    # three recorded processes: a bash (S), a command named "my (odd) name" (R), a kernel worker (I)
    assert value(samples, "node_processes_state", state="S") == 1
    assert value(samples, "node_processes_state", state="R") == 1
    assert value(samples, "node_processes_pids") == 3
    assert value(samples, "node_processes_threads") == 6
    assert value(samples, "node_forks_total") > 0


def test_each_scrape_reads_fresh_values(tmp_path: Path) -> None:
    (tmp_path / "loadavg").write_text("0.10 0.20 0.30 1/100 200\n")
    collector = LoadCollector(tmp_path)
    assert value(scrape(collector), "node_load1") == 0.10
    (tmp_path / "loadavg").write_text("4.00 0.20 0.30 1/100 200\n")
    assert value(scrape(collector), "node_load1") == 4.00


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_processes_are_read_fresh_through_kept_stat_files_and_ended_ones_let_go(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    shutil.copytree(PROC, proc)
    collector = ProcessesCollector(proc)
    baseline = _open_descriptors()
    assert value(scrape(collector), "node_processes_pids") == 3
    bash = next(p for p in proc.iterdir() if p.name.isdigit() and b" (bash) S " in (p / "stat").read_bytes())
    # the same file rewritten in place, as procfs writes it afresh on each read
    with open(bash / "stat", "r+b") as handle:
        line = handle.read()
        handle.seek(0)
        handle.write(line.replace(b" (bash) S ", b" (bash) D "))
    samples = scrape(collector)
    assert value(samples, "node_processes_state", state="D") == 1
    assert ("node_processes_state", (("state", "S"),)) not in samples
    # processes that come and go leave no descriptor behind
    for round_number in range(30):
        born = proc / str(90000 + round_number)
        born.mkdir()
        (born / "stat").write_bytes((bash / "stat").read_bytes())
        assert value(scrape(collector), "node_processes_pids") == 4
        shutil.rmtree(born)
    assert value(scrape(collector), "node_processes_pids") == 3
    assert _open_descriptors() - baseline <= 3
    collector.close()
    assert _open_descriptors() <= baseline


def test_processes_beyond_the_kept_limit_are_still_counted(tmp_path: Path) -> None:
    collector = ProcessesCollector(PROC, max_open=1)
    baseline = _open_descriptors()
    for _ in range(3):
        samples = scrape(collector)
        assert value(samples, "node_processes_pids") == 3 and value(samples, "node_processes_threads") == 6
    assert _open_descriptors() - baseline <= 1


def test_a_stopped_process_shows_in_the_next_scrape_through_its_kept_real_stat_file(tmp_path: Path) -> None:
    """On real procfs files: a tree whose only process links to a child's /proc/PID (and whose
    stat links to /proc/stat), so the counts are the child's alone. Stopped after the first
    scrape, when its stat file is already kept open, it is counted as stopped (T) in the next,
    and no longer once it runs on."""
    child = subprocess.Popen(["sleep", "60"])
    (tmp_path / "stat").symlink_to("/proc/stat")
    (tmp_path / str(child.pid)).symlink_to(f"/proc/{child.pid}")
    collector = ProcessesCollector(tmp_path)
    try:
        def state_of_child() -> bytes:
            data = Path(f"/proc/{child.pid}/stat").read_bytes()
            return data[data.rfind(b")") + 2 : data.rfind(b")") + 3]

        def states() -> dict[str, float]:
            return {dict(labels)["state"]: count for (name, labels), count in scrape(collector).items()
                    if name == "node_processes_state"}

        while state_of_child() != b"S":  # asleep in sleep(1), no longer starting
            time.sleep(0.01)
        assert states() == {"S": 1}
        assert list(collector._open) == [str(child.pid)]
        os.kill(child.pid, signal.SIGSTOP)
        while state_of_child() != b"T":
            time.sleep(0.01)
        assert states() == {"T": 1}
        os.kill(child.pid, signal.SIGCONT)
        while state_of_child() != b"S":  # running on, and back asleep
            time.sleep(0.01)
        assert states() == {"S": 1}
    finally:
        child.kill()
        child.wait()
        collector.close()


def test_a_process_that_ends_while_still_listed_is_dropped_and_a_reused_pid_read_afresh(tmp_path: Path) -> None:
    """Real procfs files behind a listed name that outlives its process: the kept descriptor then
    fails with ESRCH, as one does when a process ends between the listing and the read, or when
    its pid goes to another process between scrapes."""
    first, second = subprocess.Popen(["sleep", "60"]), subprocess.Popen(["sleep", "60"])
    (tmp_path / "stat").symlink_to("/proc/stat")
    listed = tmp_path / "4242"
    listed.symlink_to(f"/proc/{first.pid}")
    collector = ProcessesCollector(tmp_path)
    try:
        assert value(scrape(collector), "node_processes_pids") == 1
        assert list(collector._open) == ["4242"]
        first.kill()
        first.wait()
        assert value(scrape(collector), "node_processes_pids") == 0  # listed, but its process is gone
        assert collector._open == {}
        assert value(scrape(collector), "node_processes_pids") == 0
        listed.unlink()
        listed.symlink_to(f"/proc/{second.pid}")
        assert value(scrape(collector), "node_processes_pids") == 1
        second.kill()
        second.wait()
        listed.unlink()
        listed.symlink_to(f"/proc/{os.getpid()}")  # the same name, another process, with no scrape between
        samples = scrape(collector)
        assert value(samples, "node_processes_pids") == 1
        assert value(samples, "node_processes_state", state="R") == 1  # this test's process, reading
    finally:
        for child in (first, second):
            child.kill()
            child.wait()
        collector.close()


class FakeStatvfs:
    """statvfs results by mount point, with an available block count the test moves."""

    def __init__(self) -> None:
        self.available_blocks = {"/": 1000, "/boot": 500}
        self.failing = {"/mnt/pacs-backup"}

    def __call__(self, path: str) -> os.statvfs_result:
        mountpoint = "/" + path.removeprefix("/").rstrip("/")
        if mountpoint in self.failing:
            raise OSError(116, "Stale file handle")
        available = self.available_blocks.get(mountpoint, 700)
        # (bsize, frsize, blocks, bfree, bavail, files, ffree, favail, flag, namemax)
        return os.statvfs_result((4096, 4096, 2000, available + 10, available, 100, 50, 50, 0, 255))


def test_filesystems_skip_pseudo_ones_report_sizes_and_count_a_failed_statvfs() -> None:
    errors = ErrorCounter()
    fake = FakeStatvfs()
    samples = scrape(FilesystemCollector(errors, PROC, statvfs=fake), errors=errors)
    mountpoints = {dict(labels)["mountpoint"] for name, labels in samples if name == "node_filesystem_size_bytes"}
    assert mountpoints == {"/", "/run", "/boot", "/var/lib/postgresql", "/var/lib/orthanc/db store",
                           "/srv/archive"}
    root = {"device": "/dev/md1", "fstype": "ext4", "mountpoint": "/"}
    assert value(samples, "node_filesystem_size_bytes", **root) == 2000 * 4096
    assert value(samples, "node_filesystem_avail_bytes", **root) == 1000 * 4096
    assert value(samples, "node_filesystem_free_bytes", **root) == 1010 * 4096
    assert value(samples, "node_filesystem_files", **root) == 100
    assert value(samples, "node_filesystem_readonly", device="/dev/mapper/vg0-archive", fstype="ext4",
                 mountpoint="/srv/archive") == 1
    nfs = {"device": "backup1:/export/pacs", "fstype": "nfs4", "mountpoint": "/mnt/pacs-backup"}
    assert value(samples, "node_filesystem_device_error", **nfs) == 1
    assert value(samples, "opsctl_agent_collector_errors_total", collector="filesystem") == 1
    assert value(samples, "opsctl_agent_scrape_collector_success", collector="filesystem") == 1


def test_a_filesystem_mounted_or_unmounted_between_scrapes_shows_in_the_next(tmp_path: Path) -> None:
    (tmp_path / "mounts").write_text("/dev/vda1 / ext4 rw,relatime 0 0\n")
    collector = FilesystemCollector(ErrorCounter(), tmp_path, statvfs=FakeStatvfs())

    def mountpoints() -> set[str]:
        return {dict(labels)["mountpoint"] for name, labels in scrape(collector) if name == "node_filesystem_size_bytes"}

    assert mountpoints() == {"/"}
    (tmp_path / "mounts").write_text("/dev/vda1 / ext4 rw,relatime 0 0\n/dev/vdb1 /boot ext4 ro 0 0\n")
    assert mountpoints() == {"/", "/boot"}
    (tmp_path / "mounts").write_text("/dev/vdb1 /boot ext4 ro 0 0\n")
    assert mountpoints() == {"/boot"}


def test_a_hung_nfs_server_makes_its_mount_an_error_not_the_scrape_hang() -> None:
    released = threading.Event()
    calls: list[str] = []
    fake = FakeStatvfs()
    fake.failing = set()

    def statvfs(path: str) -> os.statvfs_result:
        if path.rstrip("/").endswith("pacs-backup"):
            calls.append(path)
            released.wait(30)
        return fake(path)

    errors = ErrorCounter()
    collector = FilesystemCollector(errors, PROC, statvfs=statvfs, network_timeout_seconds=0.05)
    nfs = {"device": "backup1:/export/pacs", "fstype": "nfs4", "mountpoint": "/mnt/pacs-backup"}
    try:
        started = time.monotonic()
        samples = scrape(collector, errors=errors)
        samples = scrape(collector, errors=errors)
        assert time.monotonic() - started < 5
        assert value(samples, "node_filesystem_device_error", **nfs) == 1
        assert value(samples, "node_filesystem_device_error", device="/dev/md1", fstype="ext4", mountpoint="/") == 0
        assert len(calls) == 1  # the second scrape did not start another call on the hung mount
        assert errors.counts() == {"filesystem": 2}
    finally:
        released.set()
    # the server answers again: once the hung call has returned, the mount is read again
    deadline = time.monotonic() + 5
    while value(samples := scrape(collector, errors=errors), "node_filesystem_device_error", **nfs) == 1:
        assert time.monotonic() < deadline, "the mount stayed an error after its statvfs returned"
        time.sleep(0.01)
    assert value(samples, "node_filesystem_avail_bytes", **nfs) == 700 * 4096


def test_time_to_full_from_the_recent_fill_rate_absent_when_not_filling() -> None:
    now = [1000.0]
    fake = FakeStatvfs()
    collector = FilesystemCollector(ErrorCounter(), PROC, statvfs=fake, clock=lambda: now[0],
                                    fill_window_seconds=3600, min_span_seconds=300)
    root = {"device": "/dev/md1", "fstype": "ext4", "mountpoint": "/"}
    samples = scrape(collector)
    assert ("opsctl_agent_filesystem_time_to_full_seconds", tuple(sorted(root.items()))) not in samples
    now[0] += 100
    fake.available_blocks["/"] = 990
    samples = scrape(collector)  # filling, but seen for under min_span_seconds
    assert ("opsctl_agent_filesystem_time_to_full_seconds", tuple(sorted(root.items()))) not in samples
    now[0] += 500
    fake.available_blocks["/"] = 940  # 60 blocks in 600 s: 0.1 block/s, 940 blocks left
    samples = scrape(collector)
    assert value(samples, "opsctl_agent_filesystem_time_to_full_seconds", **root) == pytest.approx(9400)
    boot = {"device": "/dev/md0", "fstype": "ext4", "mountpoint": "/boot"}
    assert ("opsctl_agent_filesystem_time_to_full_seconds", tuple(sorted(boot.items()))) not in samples
    # space freed: no longer filling since the oldest reading in the window
    now[0] += 60
    fake.available_blocks["/"] = 1500
    samples = scrape(collector)
    assert ("opsctl_agent_filesystem_time_to_full_seconds", tuple(sorted(root.items()))) not in samples


@pytest.mark.parametrize(("layout", "device", "expected"), [
    ("raid1-normal.txt", "md1", {"state": "active", "active": 2, "failed": 0, "missing": 0, "degraded": 0}),
    ("raid1-degraded.txt", "md1", {"state": "active", "active": 1, "failed": 1, "missing": 1, "degraded": 1}),
    ("raid5-recovering.txt", "md0", {"state": "recovering", "active": 5, "failed": 0, "missing": 1, "degraded": 1,
                                     "progress": 494242968 / 3906885632}),
    ("raid1-resync.txt", "md2", {"state": "resync", "active": 2, "failed": 0, "missing": 0, "degraded": 0,
                                 "progress": 328392896 / 3906886464}),
    ("raid6-raid10-spare.txt", "md127", {"state": "active", "active": 6, "spare": 1, "failed": 0, "missing": 0,
                                         "degraded": 0}),
    ("raid5-failed-removed.txt", "md0", {"state": "active", "active": 2, "failed": 1, "missing": 2, "degraded": 1}),
    ("inactive.txt", "md127", {"state": "inactive", "active": 0, "spare": 2, "failed": 0, "degraded": 0}),
])
def test_md_arrays_on_recorded_layouts(tmp_path: Path, layout: str, device: str, expected: dict[str, float]) -> None:
    shutil.copy(MDSTAT / layout, tmp_path / "mdstat")
    samples = scrape(MdadmCollector(tmp_path))
    for state in ("active", "inactive", "recovering", "resync"):
        assert value(samples, "node_md_state", device=device, state=state) == (state == expected["state"])
    for role in ("active", "failed", "spare", "missing"):
        if role in expected:
            assert value(samples, "node_md_disks", device=device, state=role) == expected[role]
    assert value(samples, "opsctl_agent_md_degraded", device=device) == expected["degraded"]
    progress = [v for (name, labels), v in samples.items()
                if name == "opsctl_agent_md_sync_progress_ratio" and dict(labels)["device"] == device]
    assert progress == ([pytest.approx(expected["progress"])] if "progress" in expected else [])


def test_no_mdstat_means_no_arrays_and_no_error(tmp_path: Path) -> None:
    errors = ErrorCounter()
    samples = scrape(MdadmCollector(tmp_path), errors=errors)
    assert not any(name.startswith("node_md") for name, _ in samples)
    assert value(samples, "opsctl_agent_collector_errors_total", collector="mdadm") == 0


def test_time_sync_from_recorded_adjtimex_readings() -> None:
    # chrony-synchronised host: STA_PLL|STA_NANO, offset 250 µs in ns, freq -12.5 ppm (scaled by 2^16)
    synced = TimexReading(return_code=0, offset=250_000, freq=-819200, maxerror_us=12_000, esterror_us=300,
                          status=0x2001, tai=37)
    samples = scrape(TimeCollector(adjtimex=lambda: synced, clock=lambda: 1.7e9))
    assert value(samples, "node_timex_sync_status") == 1
    assert value(samples, "node_timex_offset_seconds") == pytest.approx(0.00025)
    assert value(samples, "node_timex_frequency_adjustment_ratio") == pytest.approx(1 - 12.5e-6)
    assert value(samples, "node_timex_maxerror_seconds") == pytest.approx(0.012)
    assert value(samples, "node_timex_tai_offset_seconds") == 37
    assert value(samples, "node_time_seconds") == 1.7e9
    # this VM as read here: STA_UNSYNC and TIME_ERROR, offset in µs
    unsynced = TimexReading(return_code=5, offset=-40, freq=0, maxerror_us=16_000_000, esterror_us=16_000_000,
                            status=0x0040, tai=0)
    samples = scrape(TimeCollector(adjtimex=lambda: unsynced))
    assert value(samples, "node_timex_sync_status") == 0
    assert value(samples, "node_timex_offset_seconds") == pytest.approx(-40e-6)


class Raising:
    name = "broken"

    def collect(self) -> Iterator[Metric]:
        raise RuntimeError("cannot parse what it read")


def test_a_collector_that_raises_is_dropped_counted_and_the_rest_served() -> None:
    errors = ErrorCounter()
    collectors = (Raising(), LoadCollector(PROC))
    samples = scrape(*collectors, errors=errors)
    assert ("node_load1", ()) in samples
    assert value(samples, "opsctl_agent_collector_errors_total", collector="broken") == 1
    assert value(samples, "opsctl_agent_collector_errors_total", collector="loadavg") == 0
    assert value(samples, "opsctl_agent_scrape_collector_success", collector="broken") == 0
    assert value(samples, "opsctl_agent_scrape_collector_success", collector="loadavg") == 1
    assert value(samples, "opsctl_agent_scrape_collector_duration_seconds", collector="broken") >= 0
    samples = scrape(*collectors, errors=errors)
    assert value(samples, "opsctl_agent_collector_errors_total", collector="broken") == 2


def test_a_missing_proc_root_fails_only_the_collectors_that_read_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-proc"
    errors = ErrorCounter()
    collectors = [CpuCollector(missing), LoadCollector(missing), MemoryCollector(missing), DiskCollector(missing),
                  NetworkCollector(missing), ProcessesCollector(missing), FilesystemCollector(errors, missing),
                  MdadmCollector(missing), LoadCollector(PROC)]
    samples = scrape(*collectors, errors=errors)
    assert ("node_load1", ()) in samples
    counts = errors.counts()
    assert counts == {"cpu": 1, "loadavg": 1, "meminfo": 1, "diskstats": 1, "netdev": 1, "processes": 1,
                      "filesystem": 1}
    assert not any(math.isnan(v) for v in samples.values())
