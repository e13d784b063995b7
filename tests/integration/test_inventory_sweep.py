"""opsctl inventory scan --subnet, --jsonl and Ctrl-C, run as the real program against the session lab.

The sweep uses the configuration the lab published (``opsctl.yaml``: the lab's communities and
v3 user by reference, port 11161) and finds the lab's SNMP agents on ``PREFIX.20.0/28``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from inventory.snmp.identity import says_nothing
from tests.integration.fleetcli import Cli

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(lab: Any, tmp_path: Path) -> Cli:
    """opsctl with its own state, reading the lab's published configuration (inventory and discovery)."""
    made = Cli.create(tmp_path, lab.publication.inventory_path)
    made.env.pop("OPSCTL_INVENTORY")
    made.env["OPSCTL_SSH__USE_AGENT"] = "false"
    return made


def _dmi(name: str) -> str | None:
    """What this machine's firmware says in DMI's ``name`` (the lab snmpd's extends read it), None without DMI."""
    try:
        return (Path("/sys/devices/virtual/dmi/id") / name).read_text(errors="replace").strip()
    except OSError:
        return None


DMI_VENDOR = _dmi("sys_vendor")


def _snmp_devices(lab: Any) -> dict[str, dict[str, Any]]:
    devices = json.loads((lab.lab_dir / "devices.json").read_text())["devices"]
    return {device["address"]: device for device in devices if device["kind"] in ("snmpd", "snmpsim")}


def test_a_subnet_sweep_finds_every_snmp_agent_of_the_lab_then_inventory_names_replace_addresses(
        cli: Cli, lab: Any, tmp_path: Path) -> None:
    yaml = YAML(typ="safe", pure=True)
    published = yaml.load(lab.lab_dir / "opsctl.yaml")
    sweep_only = tmp_path / "sweep-only.yaml"  # the lab's discovery credentials, and no inventory
    with sweep_only.open("w") as stream:
        yaml.dump({"discovery": published["discovery"]}, stream)
    subnet = f"{lab.prefix}.20.0/28"
    expected = _snmp_devices(lab)
    done = cli("--config", str(sweep_only), "inventory", "scan", "--subnet", subnet, "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["scope"] == f"subnet {subnet}"
    assert report["sweep"]["addresses"] == 14 and report["sweep"]["port"] == 11161
    assert {answer["address"] for answer in report["sweep"]["answered"]} == set(expected)
    assert {device["name"] for device in report["devices"]} == set(expected)  # identity: the address
    for device in report["devices"]:
        lab_device = expected[device["name"]]
        assert device["outcome"] == "ok", device["message"]
        # the agent, not a maker: no maker from net-snmp's sysObjectID (issue 10); the lab's snmpd reads this
        # machine's DMI names for its extends: without DMI the commands fail, their errors are no maker, and
        # the device's messages say what the extend answered
        if lab_device["vendor"] == "net-snmp":
            if DMI_VENDOR is None:
                assert device["manufacturer"] is None, device
                assert any(message.startswith('extend "manufacturer"') and "exited" in message
                           and "sys_vendor" in message for message in device["messages"]), device
            else:
                assert device["manufacturer"] or says_nothing(DMI_VENDOR), device
            assert device["sys_name"] == lab_device["sys_name"], device
        else:
            assert lab_device["vendor"].lower() in (device["manufacturer"] or "").lower(), device
        assert device["management_address"] == device["name"]
    assert report["summary"]["found"] == len(expected) and report["summary"]["vanished"] == 0

    # with the lab's inventory, an agent at a known address and port takes its inventory name
    again = cli("--config", str(lab.lab_dir / "opsctl.yaml"), "inventory", "scan", "--subnet", subnet,
                "--json", timeout=300)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert {device["name"] for device in second["devices"]} == {device["name"] for device in expected.values()}
    assert second["summary"]["vanished"] == len(expected)  # the address-named devices of this scope are gone
    listed = json.loads(cli("inventory", "list", "--json").stdout)["devices"]
    assert {device["name"] for device in listed} == {device["name"] for device in expected.values()}

    # what the scans found, as NetBox's device import: net-snmp reports no maker and no model, so it is left out
    exported = cli("--config", str(lab.lab_dir / "opsctl.yaml"), "inventory", "export", "netbox-devices-csv",
                   "--scanned", "--site", "lab")
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(exported.stdout))}
    snmpsim = {device["name"] for device in expected.values() if device["kind"] == "snmpsim"}
    # a machine whose DMI names a maker and a model gives them to the lab's snmpd too
    named_snmpd = {device["name"] for device in second["devices"]
                   if device["name"] not in snmpsim and device["manufacturer"] and device["model"]}
    assert set(rows) == snmpsim | named_snmpd  # the AKCP sensorProbe too: its model comes from AKCP's own MIB
    # the lab's AKCP recording (written for the poller) carries no serial; every other device has one
    no_serial = {device["name"] for device in expected.values() if device.get("recording") == "opsctl-akcp-sensorprobe"}
    for name, row in rows.items():
        assert row["site"] == "lab" and row["status"] == "active" and row["device_type"]
        assert bool(row["serial"]) == (name not in no_serial), row
    if not named_snmpd:  # a device left out of the export: partial
        assert exported.returncode == 3, exported.stderr
        assert "lab-snmpd: no manufacturer, no model" in exported.stderr


def test_an_empty_subnet_finds_nothing_and_exits_unreachable(cli: Cli, lab: Any) -> None:
    done = cli("--config", str(lab.lab_dir / "opsctl.yaml"), "inventory", "scan",
               "--subnet", f"{lab.prefix}.21.0/30", timeout=120)
    assert done.returncode == 4, done.stderr
    assert f"swept 2 addresses of {lab.prefix}.21.0/30 (port 11161): 0 answered SNMP" in done.stderr


def test_a_sweep_without_configured_credentials_is_refused_in_one_line(cli: Cli, lab: Any) -> None:
    done = cli("inventory", "scan", "--subnet", f"{lab.prefix}.20.0/28", "--snmp-port", "11161")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == (
        "opsctl: error: a subnet sweep needs SNMP credentials, and discovery.snmp has none")
    assert done.stdout == ""


def test_jsonl_streams_the_sweep_each_device_and_the_summary(cli: Cli, lab: Any) -> None:
    done = cli("--config", str(lab.lab_dir / "opsctl.yaml"), "inventory", "scan",
               "--subnet", f"{lab.prefix}.20.0/29", "--jsonl", timeout=300)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [event["schema"] for event in events]
    answered = [a["address"] for a in events[0]["answered"]]
    assert kinds == ["opsctl.inventory.sweep/v1",
                     *["opsctl.inventory.scan.device/v1"] * len(answered),
                     "opsctl.inventory.scan.summary/v1"]
    names = sorted(_snmp_devices(lab)[address]["name"] for address in answered)  # the inventory's names
    assert sorted(event["name"] for event in events[1:-1]) == names
    assert sorted(event["management_address"] for event in events[1:-1]) == sorted(answered)
    summary = events[-1]
    assert summary["summary"]["found"] == len(answered)
    assert sorted(summary["changed_devices"]) == names  # a first scan: everything is new


class _SilentSshServer:
    """A TCP listener that accepts and never says a word: an SSH host hung before its banner."""

    def __init__(self, address: str) -> None:
        self.socket = socket.create_server((address, 2222))
        self.accepted = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.accepted.set()

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.socket.close()


def test_ctrl_c_stops_a_scan_records_nothing_and_audits_the_interruption(
        cli: Cli, lab: Any, tmp_path: Path) -> None:
    address = f"{lab.prefix}.22.1"
    hung = _SilentSshServer(address)
    inventory = tmp_path / "hung.yaml"
    ssh_vars = dict(YAML(typ="safe", pure=True).load(lab.publication.inventory_path.read_text())
                    ["all"]["children"]["ssh_hosts"]["vars"])
    document = {"all": {"hosts": {
        "hung": {"ansible_host": address, "ansible_port": 2222, **ssh_vars},
        # an SNMP agent that never answers keeps the SNMP side busy too
        "silent-agent": {"ansible_host": f"{lab.prefix}.22.2", "opsctl_snmp_port": 11161,
                         "opsctl_snmp_version": "2c",
                         "opsctl_snmp_community": f"file:{lab.lab_dir / 'secrets' / 'snmp-community'}"},
    }}}
    with inventory.open("w") as stream:
        YAML(typ="safe", pure=True).dump(document, stream)
    cli.env["OPSCTL_SSH__CONNECT_TIMEOUT"] = "600"  # only Ctrl-C ends this scan early
    cli.env["PYTHONFAULTHANDLER"] = "1"  # SIGABRT then prints every thread's stack, should it hang
    process = cli.popen("inventory", "scan", "--devices", str(inventory))
    try:
        assert hung.accepted.wait(60), "the scan never connected to the hung host"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)
        _, stacks = process.communicate(timeout=30)
        raise AssertionError(f"the scan did not stop on Ctrl-C within 60 s:\n{stacks}") from None
    finally:
        hung.close()
    assert process.returncode == 130, stderr
    assert re.search(r"inventory scan of all interrupted after [01] of 2 devices; nothing was recorded", stderr)
    assert stdout == ""
    code, log = cli.json("audit", "log")
    assert code == 0
    scans = [entry for entry in log["entries"] if entry["command"] == "inventory scan"]
    assert [entry["outcome"] for entry in scans] == ["interrupted"]
    listed = cli("inventory", "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["devices"] == []
