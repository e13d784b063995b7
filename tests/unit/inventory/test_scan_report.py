"""scan() without the network: per-method readers replaced by recorded results; recording, counts, flags, audit."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory import Host, inventory_from_data
from inventory.history import device_history, list_scans
from inventory.netcli import facts_from_outputs, platform_for
from inventory.readers import (
    DeviceReaders,
    DeviceReport,
    ScanJob,
    device_report,
    error_report,
    method_of,
)
from inventory.scan import scan
from inventory.scan_convert import device_from_switch
from inventory.snmp.credentials import snmp_access
from opsctl.core.audit import open_audit
from opsctl.core.errors import ConfigError, ExitCode
from opsctl.core.recorder import AuditRecorder
from opsctl.core.settings import Settings
from opsctl.core.ssh import SshPool
from opsctl.core.state import open_state

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "cli"
SEEN = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _inventory(tmp_path: Path) -> list[Host]:
    community = tmp_path / "community"
    community.write_text("c0mmunity-secret\n")
    data = {"all": {"children": {
        "switches": {"hosts": {"sw-1": {"ansible_host": "192.0.2.1"}, "sw-2": {"ansible_host": "192.0.2.2"}},
                     "vars": {"ansible_network_os": "cisco_ios"}},
        "snmp": {"hosts": {"ups-1": {"ansible_host": "192.0.2.3", "opsctl_snmp_version": "2c",
                                     "opsctl_snmp_port": 1161,
                                     "opsctl_snmp_community": f"file:{community}"}}},
        "servers": {"hosts": {"web-1": {"ansible_host": "192.0.2.4"}}},
    }}}
    return inventory_from_data(data).select("all")


def test_hosts_are_read_by_the_method_their_variables_name(tmp_path: Path) -> None:
    hosts = {host.name: host for host in _inventory(tmp_path)}
    assert {name: method_of(host) for name, host in hosts.items()} == {
        "sw-1": "cli", "sw-2": "cli", "ups-1": "snmp", "web-1": "ssh"}
    target, credentials = snmp_access(hosts["ups-1"])
    assert (target.host, target.port, credentials.version) == ("192.0.2.3", 1161, "2c")
    assert credentials.community == "c0mmunity-secret"  # resolved at use ...
    assert "c0mmunity-secret" not in repr(credentials)  # ... and never shown
    with pytest.raises(ConfigError, match="opsctl_snmp_version"):
        snmp_access(hosts["ups-1"].__class__("bad", {"opsctl_snmp_version": "1"}))


def _switch(_settings: Settings, job: ScanJob) -> DeviceReport:
    version = (FIXTURES / "lab_fake_switch" / "show_version.raw").read_text()
    facts = facts_from_outputs(job.host.name, platform_for("cisco_ios"), {"show version": version})
    return device_report(job, device_from_switch(job.host.name, job.host.address, facts, SEEN))


def _no_snmp(jobs: Sequence[ScanJob], _workers: int, _done: Callable[[DeviceReport], None],
             _cancel: threading.Event) -> dict[str, DeviceReport]:
    return {job.host.name: error_report(job, TimeoutError("no answer within 2 s")) for job in jobs}


def _refused(_settings: Settings, _pool: SshPool, job: ScanJob) -> DeviceReport:
    return error_report(job, ConnectionRefusedError("refused"))


RECORDED = DeviceReaders(snmp=_no_snmp, linux=_refused, switch=_switch)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(state={"dir": tmp_path / "state"}, ssh={"use_agent": False})


@pytest.fixture
def recorder(settings: Settings) -> Iterator[AuditRecorder]:
    """The command's one recorder, as the CLI opens it."""
    opened = AuditRecorder.for_settings(lambda: settings)
    yield opened
    opened.close()


def test_a_scan_records_flags_shared_serials_counts_changes_and_audits(
        tmp_path: Path, settings: Settings, recorder: AuditRecorder) -> None:
    seen: list[str] = []
    first = scan(settings, _inventory(tmp_path), recorder=recorder, readers=RECORDED,
                 on_done=lambda report: seen.append(report.name))
    assert sorted(seen) == ["sw-1", "sw-2", "web-1"]  # the replaced SNMP reader reports nothing itself
    outcomes = {device.name: device.outcome for device in first.devices}
    assert outcomes == {"sw-1": "ok", "sw-2": "ok", "ups-1": "unreachable", "web-1": "unreachable"}
    assert (first.found, first.changed, first.partial, first.unreachable) == (2, 2, 0, 2)
    assert first.exit_code == ExitCode.UNREACHABLE  # a shared serial is flagged, not a failure
    assert len(first.warnings) == 1 and "FOC1530X2F7" in first.warnings[0]
    sw1 = next(device for device in first.devices if device.name == "sw-1")
    assert sw1.messages[-1] == first.warnings[0]
    with open_state(settings) as store:
        assert [s.scan_id for s in list_scans(store)] == [first.scan_id]
        stored = device_history(store, "sw-1")[-1]
        assert stored.messages[-1] == first.warnings[0] and stored.device.serial == "FOC1530X2F7"
    second = scan(settings, _inventory(tmp_path), recorder=recorder, readers=RECORDED)
    assert (second.found, second.changed) == (2, 0)
    assert not any(device.changed for device in second.devices)
    entries = [e for e in open_audit(settings).entries() if e.command == "inventory scan"]
    assert len(entries) == 2
    assert list(entries[0].targets) == ["sw-1", "sw-2", "ups-1", "web-1"]
    assert (entries[0].outcome, entries[1].outcome) == ("unreachable", "unreachable")
    assert "c0mmunity-secret" not in settings.audit_path.read_text()
