"""How a scan runs: SSH and CLI reads on the fleet executor within fleet.forks, Ctrl-C, and the command's request."""

from __future__ import annotations

import _thread
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from inventory import Host
from inventory.history import list_scans
from inventory.readers import DeviceReaders, DeviceReport, ScanJob, device_report, error_report
from inventory.scan import ScanReport, ScanRequest, ScanRun, fleet_outcome, run_scan, scan
from inventory.scan_convert import unreachable_device
from inventory.sweep import SweepResult
from opsctl.core.errors import ExitCode, Interrupted, UsageError
from opsctl.core.fleet import Outcome
from opsctl.core.settings import Settings
from opsctl.core.ssh import SshPool
from opsctl.core.state import open_state


class MemoryRecorder:
    """A recorder that keeps what the scan records (action, targets, outcome, details)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, list[str], str, dict[str, Any]]] = []

    def record(self, action: str, targets: Sequence[str], outcome: str,
               details: Mapping[str, Any] | None = None) -> Any:
        self.entries.append((action, list(targets), outcome, dict(details or {})))

    def check(self) -> None:
        """A memory has no tail to break."""


def _no_snmp(jobs: Sequence[ScanJob], _workers: int, _done: Callable[[DeviceReport], None],
             _cancel: threading.Event) -> dict[str, DeviceReport]:
    return {job.host.name: error_report(job, TimeoutError("no answer")) for job in jobs}


def _unreachable(job: ScanJob) -> DeviceReport:
    return device_report(job, unreachable_device(job.host.name, job.host.address, "server", "down"), "unreachable")


def _hosts(count: int) -> list[Host]:
    return [Host(f"web-{n}", {"ansible_host": f"192.0.2.{n}"}) for n in range(1, count + 1)]


def _settings(tmp_path: Path, forks: int = 50) -> Settings:
    return Settings(state={"dir": tmp_path / "state"}, ssh={"use_agent": False}, fleet={"forks": forks})


class _Gauge:
    """Counts the reads running at once; each read waits (up to 5 s) until ``target`` reads ran at once."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0

    def read(self, _settings: Settings, _pool: SshPool, job: ScanJob) -> DeviceReport:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        deadline = time.monotonic() + 5
        while self.most < self.target and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.05)  # long enough for reads beyond the bound to show, were they allowed to start
        with self.lock:
            self.running -= 1
        return _unreachable(job)


@pytest.mark.parametrize(("forks", "concurrency", "most"), [(2, 32, 2), (50, 3, 3)])
def test_ssh_reads_run_at_most_fleet_forks_and_concurrency_at_once(
        tmp_path: Path, forks: int, concurrency: int, most: int) -> None:
    gauge = _Gauge(most)
    recorder = MemoryRecorder()
    report = scan(_settings(tmp_path, forks), _hosts(8), recorder=recorder, concurrency=concurrency,
                  readers=DeviceReaders(snmp=_no_snmp, linux=gauge.read))
    assert gauge.most == most
    assert [device.outcome for device in report.devices] == ["unreachable"] * 8
    assert [(action, outcome) for action, _targets, outcome, _details in recorder.entries] == [
        ("inventory scan", "unreachable")]


def test_a_reader_that_raises_fails_its_device_only(tmp_path: Path) -> None:
    def broken(_settings: Settings, _pool: SshPool, job: ScanJob) -> DeviceReport:
        if job.host.name == "web-2":
            raise ValueError("the model refuses this device")
        return _unreachable(job)

    done: list[str] = []
    report = scan(_settings(tmp_path), _hosts(3), recorder=MemoryRecorder(), on_done=lambda d: done.append(d.name),
                  readers=DeviceReaders(snmp=_no_snmp, linux=broken))
    outcomes = {device.name: (device.outcome, device.message) for device in report.devices}
    assert outcomes["web-2"] == ("failed", "ValueError: the model refuses this device")
    assert sorted(done) == ["web-1", "web-2", "web-3"]


def test_ctrl_c_leaves_a_hung_read_records_the_interruption_and_stores_nothing(tmp_path: Path) -> None:
    release = threading.Event()

    def hung(_settings: Settings, _pool: SshPool, job: ScanJob) -> DeviceReport:
        if job.host.name == "web-1":
            return _unreachable(job)
        _thread.interrupt_main()  # Ctrl-C while this host never answers
        release.wait(30)
        return _unreachable(job)

    settings = _settings(tmp_path)
    recorder = MemoryRecorder()
    started = time.monotonic()
    try:
        with pytest.raises(Interrupted, match=r"inventory scan of all interrupted after [01] of 2 devices; "
                                              "nothing was recorded") as caught:
            scan(settings, _hosts(2), recorder=recorder, concurrency=1, readers=DeviceReaders(snmp=_no_snmp, linux=hung))
        assert time.monotonic() - started < 20  # the hung read was left behind, not waited for
    finally:
        release.set()
    assert caught.value.exit_code == ExitCode.INTERRUPTED
    ((action, targets, outcome, details),) = recorder.entries
    assert (action, targets, outcome, details["recorded"]) == ("inventory scan", ["web-1", "web-2"], "interrupted", False)
    with open_state(settings) as store:
        assert list_scans(store) == []


def test_a_device_outcome_is_the_fleet_outcome_of_the_same_name() -> None:
    assert [fleet_outcome(o) for o in ("ok", "failed", "unreachable")] == [
        Outcome.OK, Outcome.FAILED, Outcome.UNREACHABLE]
    # a partly read device was read: ok for the executor until its outcomes hold partial themselves
    assert fleet_outcome("partial") in {Outcome.OK, *(o for o in Outcome if o.value == "partial")}


@pytest.mark.parametrize(("request_options", "problem"), [
    ({"pattern": "web", "subnet": "10.0.0.0/24"}, "not both"),
    ({"snmp_port": 1161}, "--snmp-port goes with --subnet"),
])
def test_options_that_do_not_go_together_are_refused(request_options: dict[str, Any], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        ScanRequest(**request_options)


def test_a_sweep_where_no_agent_answers_exits_4_and_records_an_empty_scan(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWEEP_COMMUNITY", "c0mmunity")
    settings = Settings(state={"dir": tmp_path / "state"}, ssh={"use_agent": False}, discovery={
        "snmp": [{"community": "env:SWEEP_COMMUNITY"}], "snmp_timeout": 0.2, "snmp_retries": 0})
    heard: list[str] = []

    class Progress:
        def sweeping(self, addresses: int) -> None:
            heard.append(f"sweeping {addresses}")

        def probed(self, address: str, answered: bool) -> None:
            heard.append(f"probed {address} {answered}")

        def swept(self, result: SweepResult) -> None:
            heard.append(f"swept {len(result.answered)}")

        def scanning(self, devices: int) -> None:
            heard.append(f"scanning {devices}")

        def scanned(self, device: DeviceReport) -> None:
            heard.append(f"scanned {device.name}")

    recorder = MemoryRecorder()
    # port 1 on loopback: nothing answers SNMP there
    run = run_scan(settings, ScanRequest(subnet="127.0.0.1/32", snmp_port=1), recorder=recorder, progress=Progress())
    assert heard == ["sweeping 1", "probed 127.0.0.1 False", "swept 0", "scanning 0"]
    assert run.exit_code == ExitCode.UNREACHABLE and run.report.devices == ()
    assert run.to_dict()["sweep"]["subnet"] == "127.0.0.1/32"
    assert [(action, outcome, details["scope"]) for action, _t, outcome, details in recorder.entries] == [
        ("inventory scan", "ok", "subnet 127.0.0.1/32")]
    assert "c0mmunity" not in repr(run) + repr(recorder.entries)


def test_a_scan_run_without_a_sweep_exits_as_its_scan() -> None:
    now = datetime.now(UTC)
    report = ScanReport("scan-1", "all", now, now, (), 0, 0, 0, 0, 0)
    assert ScanRun(report).exit_code == ExitCode.OK
    assert ScanRun(report, SweepResult("10.0.0.0/30", 161, 2, ())).exit_code == ExitCode.UNREACHABLE
    assert "sweep" not in ScanRun(report).to_dict()
