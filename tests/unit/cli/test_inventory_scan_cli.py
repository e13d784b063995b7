"""opsctl inventory list/show/diff over a store holding two recorded scans, and scan's exit codes, in-process."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from inventory.devices import DeviceScan, ScanResult
from inventory.history import record_scan
from inventory.queries import parse_when
from inventory.scan_convert import device_from_snapshot
from inventory.snmp import build_snapshot, read_snmprec
from opsctl.cli.main import main
from opsctl.core.errors import UsageError
from opsctl.core.settings import Settings
from opsctl.core.state import StateStore

snmpsim_data = pytest.importorskip("snmpsim_data")
DATA = Path(snmpsim_data.__file__).parent / "data"
FIRST = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SECOND = FIRST + timedelta(hours=3)


@pytest.fixture(autouse=True)
def _state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("OPSCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("COLUMNS", "250")  # the tables print whole values, not cut to 80 columns


def _scanned(name: str, recording: str, when: datetime) -> DeviceScan:
    snapshot = build_snapshot(name, read_snmprec(DATA / recording).rows)
    return device_from_snapshot(name, f"192.0.2.{len(name)}", snapshot, when)


@pytest.fixture
def two_scans(tmp_path: Path) -> None:
    """First scan: a switch, a UPS and a PDU. Second: the UPS has a new serial, the PDU is gone, a sensor appeared."""
    settings = Settings(state={"dir": tmp_path / "state"})
    switch = _scanned("core-sw", "network/switch/cisco-c3750.snmprec.bz2", FIRST)
    ups = _scanned("ups-a", "UPS/eaton-93e-80.snmprec.bz2", FIRST)
    pdu = _scanned("pdu-a", "UPS/apc-8641.snmprec", FIRST)
    sensor = _scanned("temp-1", "iot/geist-temperature-sensor.snmprec", SECOND)
    swapped = replace(ups, device=replace(_scanned("ups-a", "UPS/eaton-93e-80.snmprec.bz2", SECOND).device,
                                          serial="4K999NEW01"))
    with StateStore(settings.state.database_url) as store:
        record_scan(store, ScanResult("all", "tester", FIRST, FIRST + timedelta(seconds=5), (switch, ups, pdu)))
        record_scan(store, ScanResult("all", "tester", SECOND, SECOND + timedelta(seconds=5),
                                      (_scanned("core-sw", "network/switch/cisco-c3750.snmprec.bz2", SECOND),
                                       swapped, sensor)))


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> Any:
    assert main(argv) == code
    document = json.loads(capsys.readouterr().out)
    assert isinstance(document, dict)
    return document


def test_list_shows_the_latest_devices_and_filters_by_role(two_scans: None, capsys: pytest.CaptureFixture[str]) -> None:
    document = _json(capsys, ["inventory", "list", "--json"])
    assert document["schema"] == "opsctl.inventory.devices/v1"
    devices = document["devices"]
    assert isinstance(devices, list)
    assert [d["name"] for d in devices] == ["core-sw", "temp-1", "ups-a"]  # pdu-a vanished
    assert next(d for d in devices if d["name"] == "ups-a")["serial"] == "4K999NEW01"
    ups_only = _json(capsys, ["inventory", "list", "--role", "ups", "--json"])["devices"]
    assert [d["name"] for d in ups_only] == ["ups-a"]
    assert main(["inventory", "list", "--role", "switch"]) == 0
    printed = capsys.readouterr()
    assert "core-sw" in printed.out and "ups-a" not in printed.out and "1 devices" in printed.err


def test_list_shows_the_columns_asked_for_so_the_identity_fits_80_columns(
        two_scans: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["inventory", "list", "--columns", "serial,version,sysname"]) == 0
    printed = capsys.readouterr()
    header = next(line for line in printed.out.splitlines() if "device" in line)
    assert [word for word in header.split() if word.isalpha() or word == "sysName"][:5] == [
        "device", "serial", "os", "version", "sysName"]
    assert "4K999NEW01" in printed.out and "FDO1622Y10H" in printed.out  # the serials, whole
    assert "not shown at 80 columns" not in printed.out
    # without --columns, the same 80 columns drop what does not fit, and the table's caption says so
    assert main(["inventory", "list"]) == 0
    assert "not shown at 80 columns" in capsys.readouterr().out


def test_list_shows_the_kind_of_a_device_the_roles_have_no_name_for(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "snmp-identity" / "appliances" / "axis-camera.snmprec"
    camera = device_from_snapshot("cam-lobby", "192.0.2.9", build_snapshot("cam-lobby", read_snmprec(fixture).rows), FIRST)
    settings = Settings(state={"dir": tmp_path / "state"})
    with StateStore(settings.state.database_url) as store:
        record_scan(store, ScanResult("all", "tester", FIRST, FIRST + timedelta(seconds=1), (camera,)))
    assert main(["inventory", "list", "--columns", "role,kind"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "cam-lobby" in line)
    assert [cell.strip() for cell in row.split("│")[1:4]] == ["cam-lobby", "unknown", "camera"]


def test_list_refuses_a_column_it_does_not_have_and_names_the_ones_it_has(
        two_scans: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "list", "--columns", "serial,firmware"]) == 2
    error = capsys.readouterr().err
    assert "--columns 'serial,firmware': firmware: expected names among role, manufacturer, model" in error


def test_show_gives_each_value_with_its_source_origin_and_time(two_scans: None,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    document = _json(capsys, ["inventory", "show", "core-sw", "--json"])
    assert document["schema"] == "opsctl.inventory.device/v1"
    assert document["scans"] == 2 and document["last_status"] == "ok"
    values = {row["path"]: row for row in document["values"]}
    serial = values["serial"]
    assert serial["value"] == "FDO1622Y10H"
    assert serial["source"] == "snmp" and serial["origin"].startswith("1.3.6.1.2.1.47.1.1.1.1.11.")
    assert serial["seen_at"] == SECOND.isoformat()
    assert any(path.startswith("interfaces/") for path in values)
    assert main(["inventory", "show", "core-sw"]) == 0
    assert "FDO1622Y10H" in capsys.readouterr().out


def test_show_of_an_unknown_device_is_an_error_with_a_hint(two_scans: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inventory", "show", "nope"]) != 0
    assert "nope" in capsys.readouterr().err


def test_diff_by_default_shows_what_the_newest_scan_changed(two_scans: None,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    document = _json(capsys, ["inventory", "diff", "--json"])
    assert document["schema"] == "opsctl.inventory.diff/v1"
    changes = {(c["device"], c["kind"], c["path"]): c for c in document["changes"]}
    assert ("pdu-a", "vanished", "") in changes
    assert ("temp-1", "appeared", "") in changes
    serial = changes[("ups-a", "changed", "serial")]
    assert (serial["old"], serial["new"]) == ("4K234LXX06", "4K999NEW01")
    assert serial["provenance"]["source"] == "snmp"
    assert not any(device == "core-sw" for device, _kind, _path in changes)
    assert main(["inventory", "diff"]) == 0
    printed = capsys.readouterr()
    assert "4K234LXX06 → 4K999NEW01" in printed.out and "changes since" in printed.err


def test_diff_since_a_time_before_every_scan_shows_every_device_appearing(
        two_scans: None, capsys: pytest.CaptureFixture[str]) -> None:
    since = (FIRST - timedelta(minutes=1)).isoformat()
    changes = _json(capsys, ["inventory", "diff", "--since", since, "--json"])["changes"]
    assert {(c["device"], c["kind"]) for c in changes} == {
        ("core-sw", "appeared"), ("temp-1", "appeared"), ("ups-a", "appeared")}
    assert main(["inventory", "diff", "--since", "yesterday-ish"]) == 2


def test_parse_when_reads_ages_and_iso_times() -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_when("2h", now=now) == now - timedelta(hours=2)
    assert parse_when("1d", now=now) == now - timedelta(days=1)
    assert parse_when("2026-11-28T10:00:00", now=now) == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    with pytest.raises(UsageError):
        parse_when("soon", now=now)


def test_scan_of_unreachable_hosts_exits_4_records_and_audits_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "hosts.yaml"
    # port 1 on loopback refuses at once: an unreachable SSH host without waiting for a timeout
    inventory.write_text("all:\n  hosts:\n    gone-1:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n")
    monkeypatch.setenv("OPSCTL_INVENTORY", str(inventory))
    document = _json(capsys, ["inventory", "scan", "--json"], code=4)
    assert document["schema"] == "opsctl.inventory.scan/v1"
    assert document["summary"]["unreachable"] == 1
    assert [d["outcome"] for d in document["devices"]] == ["unreachable"]
    entries = _json(capsys, ["audit", "log", "--json"])["entries"]
    assert [e["command"] for e in entries] == ["inventory scan"]
    assert entries[0]["targets"] == ["gone-1"] and entries[0]["outcome"] == "unreachable"


def test_a_bad_snmp_credential_fails_that_device_only_and_never_shows_the_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    short_key = tmp_path / "auth-key"
    short_key.write_text("s3cr\n")
    short_key.chmod(0o600)
    devices = tmp_path / "devices.yaml"
    devices.write_text(
        "all:\n  hosts:\n    snmp-1:\n      ansible_host: 127.0.0.1\n      opsctl_snmp_version: '3'\n"
        "      opsctl_snmp_v3_user: ops\n"
        f"      opsctl_snmp_v3_auth_key: file:{short_key}\n"
        "    ssh-1:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n")
    assert main(["inventory", "scan", "--devices", str(devices)]) == 1  # nothing found, nothing ok
    printed = capsys.readouterr()
    assert "s3cr" not in printed.out + printed.err
    assert "failed: snmp-1" in printed.err and "shorter than 8 characters" in printed.err
    assert "unreachable: ssh-1" in printed.err
    assert "2 devices: 0 found, 0 changed, 0 partial, 2 unreachable" in printed.err


def test_an_snmp_secret_reference_that_does_not_resolve_is_a_configuration_error_and_nothing_is_scanned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPSCTL_TEST_UNSET_COMMUNITY", raising=False)
    devices = tmp_path / "devices.yaml"
    devices.write_text(
        "all:\n  hosts:\n    snmp-2:\n      ansible_host: 127.0.0.1\n      opsctl_snmp_version: 2c\n"
        f"      opsctl_snmp_community: file:{tmp_path / 'missing'}\n"
        "    snmp-3:\n      ansible_host: 127.0.0.1\n      opsctl_snmp_version: 2c\n"
        "      opsctl_snmp_community: env:OPSCTL_TEST_UNSET_COMMUNITY\n"
        "    ssh-1:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n")
    assert main(["inventory", "scan", "--devices", str(devices)]) == 2
    printed = capsys.readouterr()
    assert f"snmp-2: secret file:{tmp_path / 'missing'}: cannot read" in printed.err
    assert "snmp-3: secret env:OPSCTL_TEST_UNSET_COMMUNITY: environment variable" in printed.err
    assert "ssh-1" not in printed.err  # nothing was scanned, the reachable host included


def test_an_ssh_key_or_switch_password_that_cannot_be_read_is_a_configuration_error_too(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("OPSCTL_TEST_UNSET_SWITCH_PASSWORD", raising=False)
    devices = tmp_path / "devices.yaml"
    devices.write_text(
        "all:\n  hosts:\n    ssh-2:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n"
        f"      ansible_ssh_private_key_file: {tmp_path / 'no-such-key'}\n"
        "    sw-1:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n      ansible_network_os: cisco_ios\n"
        "      ansible_password: env:OPSCTL_TEST_UNSET_SWITCH_PASSWORD\n"
        "    ssh-3:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n")
    assert main(["inventory", "scan", "--devices", str(devices)]) == 2
    printed = capsys.readouterr()
    assert f"ssh-2: private key cannot read {tmp_path / 'no-such-key'}" in printed.err
    assert "sw-1: secret env:OPSCTL_TEST_UNSET_SWITCH_PASSWORD: environment variable" in printed.err
    assert "unreachable" not in printed.err and "ssh-3" not in printed.err  # nothing was scanned
    assert _json(capsys, ["audit", "log", "--json"])["entries"] == []
    assert _json(capsys, ["inventory", "list", "--json"])["devices"] == []


def test_an_snmp_secret_of_a_device_the_pattern_leaves_out_is_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text(
        "all:\n  hosts:\n    snmp-2:\n      ansible_host: 127.0.0.1\n      opsctl_snmp_version: 2c\n"
        f"      opsctl_snmp_community: file:{tmp_path / 'missing'}\n"
        "    gone-1:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n")
    monkeypatch.setenv("OPSCTL_INVENTORY", str(inventory))
    document = _json(capsys, ["inventory", "scan", "gone-1", "--json"], code=4)
    assert [d["name"] for d in document["devices"]] == ["gone-1"]


def test_export_of_the_scanned_devices_names_rows_netbox_would_refuse_exits_3_and_audits_the_file(
        two_scans: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "devices.csv"
    assert main(["inventory", "export", "netbox-devices-csv", "--scanned", "--output", str(target)]) == 3
    printed = capsys.readouterr()
    assert printed.out == ""
    assert "not exported, NetBox would refuse the row: core-sw: no site" in printed.err
    assert "0 of 3 devices exported" in printed.err
    assert main(["inventory", "export", "netbox-devices-csv", "--scanned", "--site", "main", "--output",
                 str(target)]) == 0
    assert "core-sw" in target.read_text() and capsys.readouterr().err == ""
    entries = _json(capsys, ["audit", "log", "--json"])["entries"]
    assert [(e["command"], e["targets"], e["outcome"]) for e in entries] == [
        ("inventory export", [str(target)], "partial"), ("inventory export", [str(target)], "ok")]
    assert [e["details"]["left_out"] for e in entries] == [3, 0]


def test_scan_warns_about_a_pattern_part_that_matches_nothing_and_strict_refuses_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    inventory = tmp_path / "hosts.yaml"
    inventory.write_text("all:\n  hosts:\n    gone-1:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n"
                         "    gone-2:\n      ansible_host: 127.0.0.1\n      ansible_port: 1\n")
    monkeypatch.setenv("OPSCTL_INVENTORY", str(inventory))
    assert main(["inventory", "scan", "all:!gone-O2", "--strict-patterns"]) == 2
    refused = capsys.readouterr()
    assert "!gone-O2 matches no host or group" in refused.err
    assert _json(capsys, ["audit", "log", "--json"])["entries"] == []
    assert main(["inventory", "scan", "all:!gone-O2", "--json"]) == 4
    scanned = capsys.readouterr()
    assert sorted(d["name"] for d in json.loads(scanned.out)["devices"]) == ["gone-1", "gone-2"]
    assert "could not match supplied host pattern, ignoring: !gone-O2" in scanned.err
