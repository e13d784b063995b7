"""opsctl inventory scan against the session lab: every device found and classified as the lab says, then drift.

The lab's SSH hosts and fake switches are trusted first against the fingerprints the lab
published; the SNMP agents' credentials are the ``file:`` references in devices.yaml. Between
scans an extra SSH host appears, goes down and is taken out of the inventory, and ``diff``
says so each time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from inventory import Host, load_inventory
from inventory.queries import changes_since, list_devices
from inventory.scan import ScanReport, scan
from inventory.select import select_hosts
from inventory.snmp import build_snapshot, read_snmprec
from opsctl.core.recorder import AuditRecorder
from opsctl.core.settings import Settings
from opsctl.core.ssh import target_from_host
from opsctl.core.trust import trust_hosts

pytestmark = pytest.mark.integration

# the lab calls a server management controller a "bmc"; the inventory's role for it is server
ROLE_OF_LAB_ROLE = {"bmc": "server"}
EXTRA = "scan-extra"
OPSCTL = str(Path(sys.executable).with_name("opsctl"))


def _devices_json(lab: Any) -> dict[str, dict[str, Any]]:
    path = lab.lab_dir / "devices.json"
    return {device["name"]: device for device in json.loads(path.read_text())["devices"]}


def _settings(lab: Any, state_dir: Path) -> Settings:
    return Settings(inventory=lab.publication.inventory_path, state={"dir": state_dir},
                    ssh={"use_agent": False, "connect_timeout": 15})


def _extra_inventory(lab: Any, path: Path, address: str) -> Path:
    """An inventory with one extra SSH host that logs in like the lab's own hosts."""
    lab_vars = load_inventory(lab.publication.inventory_path).select("ssh_hosts")[0].vars
    host_vars = {name: lab_vars[name] for name in (
        "ansible_user", "ansible_ssh_private_key_file", "opsctl_ssh_key_passphrase")}
    document = {"all": {"hosts": {EXTRA: {"ansible_host": address, "ansible_port": 2222, **host_vars}}}}
    yaml = YAML(typ="safe", pure=True)
    with path.open("w", encoding="utf-8") as stream:
        yaml.dump(document, stream)
    return path


@pytest.fixture(scope="module")
def trusted(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose known_hosts holds the lab's SSH hosts and switches, enrolled against the published fingerprints."""
    settings = _settings(lab, tmp_path_factory.mktemp("scan-state"))
    expected = dict(lab.publication.fingerprints)
    expected.update({name: device["ssh_fingerprints"] for name, device in _devices_json(lab).items()
                     if device.get("ssh_fingerprints")})
    hosts = select_hosts(settings, "all", [lab.lab_dir / "devices.yaml"])
    targets = [target_from_host(host, settings.ssh) for host in hosts if "opsctl_snmp_version" not in host.vars]
    with closing(AuditRecorder.for_settings(lambda: settings)) as recorder:
        outcomes = trust_hosts(settings, targets, recorder=recorder, expected=expected).outcomes
    assert {o.status for o in outcomes} == {"enrolled"}, [o.message for o in outcomes]
    return settings


def _lab_hosts(lab: Any, settings: Settings, *extra: Path) -> list[Host]:
    return select_hosts(settings, "all", [lab.lab_dir / "devices.yaml", *extra])


def _recorded(device: dict[str, Any]) -> tuple[str | None, str | None]:
    """The model and serial the device's recording itself holds, read without the network."""
    import snmpsim_data

    source = device["recording_source"]
    # a recording written for the lab lives in the checkout, the others in the snmpsim-data package
    path = (Path(__file__).resolve().parents[2] / source if source.startswith("lab/")
            else Path(snmpsim_data.__file__).parent / source.removeprefix("snmpsim_data/"))
    identity = build_snapshot(device["name"], read_snmprec(path).rows).identity
    return (identity.model.value if identity.model else None, identity.serial.value if identity.serial else None)


def test_every_lab_device_is_found_and_classified_then_drift_shows_in_diff(
        lab: Any, trusted: Settings, tmp_path: Path) -> None:
    published = _devices_json(lab)
    recorder = AuditRecorder.for_settings(lambda: trusted)  # the one recorder a command opens
    first = scan(trusted, _lab_hosts(lab, trusted), scope="all", recorder=recorder)
    by_name = {device.name: device for device in first.devices}
    ssh_hosts = set(lab.publication.fingerprints)
    assert set(by_name) == set(published) | ssh_hosts
    for name in ssh_hosts:
        report = by_name[name]
        assert (report.method, report.outcome, report.device.role) == ("ssh", "ok", "server"), report.message
        assert report.device.os_version and "Debian" in report.device.os_version
        assert report.device.interfaces and report.device.provenance["os_version"].source == "ssh"
        # what the inventory declares rides along, marked as manual
        assert report.device.site == "lab" and report.device.provenance_of("site").source == "manual"  # type: ignore[union-attr]
        in_db = name in {host.name for host in select_hosts(trusted, "db")}
        assert report.device.custom_fields.backup_policy == ("postgres-nightly" if in_db else None)
    for name, expected in published.items():
        report = by_name[name]
        device = report.device
        assert report.outcome in ("ok", "partial"), (name, report.message)
        assert device.role == ROLE_OF_LAB_ROLE.get(expected["role"], expected["role"]), name
        if expected["vendor"] == "net-snmp":  # the agent, not a maker: no manufacturer over SNMP (issue 10)
            assert device.manufacturer is None and report.outcome == "ok", (name, device.manufacturer)
        else:
            assert expected["vendor"].lower() in (device.manufacturer or "").lower(), (name, device.manufacturer)
        assert device.management_address == expected["address"]
        if expected["kind"] == "snmpsim":
            assert report.method == "snmp" and report.outcome == "ok", report.message
            assert (device.model, device.serial) == _recorded(expected), name
            assert device.provenance_of("role").source == "snmp"  # type: ignore[union-attr]
        elif expected["kind"] == "fake-switch":
            assert report.method == "cli"
            assert device.model and device.serial and device.os_version, name
            assert device.provenance["serial"].source == "cli"
        else:
            assert report.method == "snmp" and report.outcome == "ok", report.message
    # the fake switches share one serial: flagged, never merged
    switches = sorted(name for name, device in published.items() if device["kind"] == "fake-switch")
    if len(switches) > 1 and len({by_name[name].device.serial for name in switches}) == 1:
        assert any(all(name in warning for name in switches) for warning in first.warnings)
    assert first.found == len(by_name) and first.unreachable == 0
    assert {device.name for device in list_devices(trusted, site="lab")} == ssh_hosts

    from lab import start_ssh_host

    address = lab.prefix + ".10.91"
    extra = _extra_inventory(lab, tmp_path / "extra.yaml", address)
    peer = start_ssh_host(lab.settings, EXTRA, address, 2222, fresh_host_key=True)
    try:
        outcome = trust_hosts(trusted, [target_from_host(load_inventory(extra).get(EXTRA), trusted.ssh)],
                              recorder=recorder, expected={EXTRA: [peer.public_key.fingerprint]})
        assert [o.status for o in outcome.outcomes] == ["enrolled"]
        second = scan(trusted, _lab_hosts(lab, trusted, extra), scope="all", recorder=recorder)
        assert {d.name: d.outcome for d in second.devices}[EXTRA] == "ok"
        appeared = [(c.device, c.kind) for c in changes_since(trusted).changes if c.kind != "changed"]
        assert appeared == [(EXTRA, "appeared")]
    finally:
        peer.stop()

    third = scan(trusted, _lab_hosts(lab, trusted, extra), scope="all", recorder=recorder)
    recorder.close()
    down = {d.name: d for d in third.devices}[EXTRA]
    assert down.outcome == "unreachable" and third.unreachable == 1
    assert _exit_code(third) in (3, 4)
    assert EXTRA not in {c.device for c in changes_since(trusted).changes}  # unreachable is not gone
    assert EXTRA in {device.name for device in list_devices(trusted)}

    # taken out of the inventory: the next scan of the same scope says it vanished, through the CLI
    env = {"OPSCTL_STATE__DIR": str(trusted.state_dir), "OPSCTL_INVENTORY": str(lab.publication.inventory_path),
           "OPSCTL_SSH__USE_AGENT": "false", "OPSCTL_SSH__CONNECT_TIMEOUT": "15", "PATH": "/usr/bin:/bin",
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = _opsctl(env, "inventory", "scan", "--devices", str(lab.lab_dir / "devices.yaml"), "--json")
    assert done.returncode in (0, 3), done.stderr  # 3 when the fake switches answer only part of the commands
    fourth = json.loads(done.stdout)
    assert fourth["schema"] == "opsctl.inventory.scan/v1" and fourth["summary"]["vanished"] == 1
    diff = _opsctl(env, "inventory", "diff", "--json")
    assert diff.returncode == 0, diff.stderr
    changes = json.loads(diff.stdout)["changes"]
    assert {(c["device"], c["kind"]) for c in changes if c["kind"] != "changed"} == {(EXTRA, "vanished")}
    shown = _opsctl(env, "inventory", "show", "sim-cisco-c3750", "--json")
    values = {row["path"]: row for row in json.loads(shown.stdout)["values"]}
    assert values["serial"]["source"] == "snmp" and values["serial"]["origin"].startswith("1.3.6.1.")
    # the random secrets (snmpsim's communities are its recordings' names, which output rightly shows)
    for secret_file in (lab.lab_dir / "secrets").glob("*"):
        if secret_file.is_file():
            secret = secret_file.read_text().strip()
            assert secret not in shown.stdout + diff.stdout + done.stdout + done.stderr


def _exit_code(report: ScanReport) -> int:
    return int(report.exit_code)


def _opsctl(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPSCTL, *args], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
