"""The lab's SNMP agents and fake switches against real snmpd, snmpsim and fake-switches.

Credentials come from what the lab published (``file:`` references in inventory.yaml and
devices.json); ``snmpget`` reads them from a 0600 ``snmp.conf`` (``SNMPCONFPATH``), never
from its command line. Destructive checks use a small lab of their own on
``TEST_SMALL_LAB_PREFIX``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko
import psutil
import pytest
from ruamel.yaml import YAML

import lab as lab_api
from lab.ssh.keys import parse_public_key
from lab.switch.peer import cli_session
from opsctl.core.settings import Settings

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

SMALL_LAB_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
NEW_PEERS = ("lab-snmpd", "lab-snmpsim", "lab-switch-01", "lab-switch-02")
# what each recording's sysObjectID starts with: the vendor's enterprise number
ENTERPRISES = {
    "cisco-c3750": "1.3.6.1.4.1.9.",
    "eaton-93e-80": "1.3.6.1.4.1.705.",
    "apc-8641": "1.3.6.1.4.1.318.",
    "isilon-onefs": "1.3.6.1.4.1.12124.",
    "hp-onboard-administrator": "1.3.6.1.4.1.11.",
    "geist-temperature-sensor": "1.3.6.1.4.1.21239.",
    "paloalto-pa-5000": "1.3.6.1.4.1.25461.",
    "opsctl-apc-smart-ups": "1.3.6.1.4.1.318.",
    "opsctl-akcp-sensorprobe": "1.3.6.1.4.1.3854.",
}


def _secret(reference: str) -> str:
    assert reference.startswith("file:"), reference
    path = Path(reference.removeprefix("file:"))
    assert path.stat().st_mode & 0o777 == 0o600
    return path.read_text(encoding="utf-8").strip()


def _inventory(lab: RunningLab) -> dict[str, Any]:
    """devices.yaml: the SNMP agents and switches (inventory.yaml keeps the SSH hosts)."""
    assert lab.publication.devices_inventory_path == lab.lab_dir / "devices.yaml"
    text = lab.publication.devices_inventory_path.read_text(encoding="utf-8")
    document = YAML(typ="safe", pure=True).load(io.StringIO(text))
    assert isinstance(document, dict)
    return document


def _devices(lab: RunningLab) -> dict[str, dict[str, Any]]:
    path = lab.lab_dir / "devices.json"
    return {device["name"]: device for device in json.loads(path.read_text())["devices"]}


def _snmpget(
    directory: Path,
    address: str,
    oid: str,
    *,
    conf: str,
    community: str | None = None,
    context: str | None = None,
    timeout: float = 1.0,
) -> subprocess.CompletedProcess[str]:
    """One snmpget try with credentials from ``conf`` (written 0600 as ``snmp.conf``)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "snmp.conf"
    config.write_text(conf, encoding="utf-8")
    config.chmod(0o600)
    argv = ["snmpget", "-On", "-t", str(timeout), "-r", "0"]
    if community is not None:
        argv += ["-v2c", "-c", community]
    if context is not None:
        argv += ["-n", context]
    argv += [f"udp:{address}:11161", oid]
    environment = {"PATH": os.environ["PATH"], "SNMPCONFPATH": str(directory),
                   "HOME": str(directory), "MIBS": ""}  # fmt: skip
    return subprocess.run(
        argv, capture_output=True, text=True, env=environment, timeout=30, check=False
    )


def _v2c(community: str) -> str:
    return f"defVersion 2c\ndefCommunity {community}\n"


def _v3(user: str, auth: str, priv: str) -> str:
    return (
        f"defVersion 3\ndefSecurityName {user}\ndefSecurityLevel authPriv\n"
        f"defAuthType SHA\ndefPrivType AES\ndefAuthPassphrase {auth}\ndefPrivPassphrase {priv}\n"
    )


def _value(result: subprocess.CompletedProcess[str], oid: str) -> str:
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith(f".{oid} = "), line
    return line.partition(": ")[2].strip().strip('"').lstrip(".")


def _snmp_vars(lab: RunningLab, name: str) -> dict[str, Any]:
    group = _inventory(lab)["all"]["children"]["snmp_agents"]
    return {**group["vars"], **group["hosts"][name]}


def _v3_conf(variables: dict[str, Any], *, auth: str | None = None, priv: str | None = None) -> str:
    assert variables["opsctl_snmp_v3_auth_protocol"] == "SHA"
    assert variables["opsctl_snmp_v3_priv_protocol"] == "AES"
    return _v3(
        variables["opsctl_snmp_v3_user"],
        auth or _secret(variables["opsctl_snmp_v3_auth_key"]),
        priv or _secret(variables["opsctl_snmp_v3_priv_key"]),
    )


# --- net-snmp snmpd ---------------------------------------------------------------------


def test_snmpd_answers_v2c_and_v3_with_the_published_secrets(
    lab: RunningLab, tmp_path: Path
) -> None:
    variables = _snmp_vars(lab, "lab-snmpd")
    address = variables["ansible_host"]
    assert address == f"{lab.prefix}.20.1" and variables["opsctl_snmp_port"] == 11161
    community = _secret(variables["opsctl_snmp_community"])
    v2c = _snmpget(tmp_path / "v2c", address, SYS_DESCR, conf=_v2c(community))
    assert _value(v2c, SYS_DESCR).startswith("Linux")
    v3 = _snmpget(tmp_path / "v3", address, SYS_OBJECT_ID, conf=_v3_conf(variables))
    assert _value(v3, SYS_OBJECT_ID) == "1.3.6.1.4.1.8072.3.2.10"
    assert _devices(lab)["lab-snmpd"]["sys_object_id"] == "1.3.6.1.4.1.8072.3.2.10"


def test_snmpd_says_the_machines_distribution_through_its_distro_extend(lab: RunningLab, tmp_path: Path) -> None:
    from inventory.snmp.extend import extend_oid

    variables = _snmp_vars(lab, "lab-snmpd")
    community = _secret(variables["opsctl_snmp_community"])
    oid = extend_oid("distro")
    answer = _snmpget(tmp_path / "v2c", variables["ansible_host"], oid, conf=_v2c(community))
    pretty = next(
        line.split("=", 1)[1].strip('"') for line in Path("/etc/os-release").read_text().splitlines()
        if line.startswith("PRETTY_NAME=")
    )
    assert _value(answer, oid) == pretty


def test_wrong_community_or_v3_keys_get_no_answer(lab: RunningLab, tmp_path: Path) -> None:
    variables = _snmp_vars(lab, "lab-snmpd")
    address = variables["ansible_host"]
    wrong_community = _snmpget(
        tmp_path / "c", address, SYS_DESCR, conf=_v2c("not-the-community"), timeout=0.5
    )
    assert wrong_community.returncode != 0 and wrong_community.stdout == ""
    assert "Timeout" in wrong_community.stderr
    wrong_auth = _snmpget(
        tmp_path / "a", address, SYS_DESCR, conf=_v3_conf(variables, auth="wrong-auth-key-1"),
        timeout=0.5,
    )  # fmt: skip
    assert wrong_auth.returncode != 0 and wrong_auth.stdout == ""
    wrong_priv = _snmpget(
        tmp_path / "p", address, SYS_DESCR, conf=_v3_conf(variables, priv="wrong-priv-key-1"),
        timeout=0.5,
    )  # fmt: skip
    assert wrong_priv.returncode != 0 and wrong_priv.stdout == ""


# --- snmpsim recordings -----------------------------------------------------------------


def test_each_recording_answers_its_sys_object_id_over_v2c_and_v3(
    lab: RunningLab, tmp_path: Path
) -> None:
    devices = {name: device for name, device in _devices(lab).items() if device["recording"]}
    assert len(devices) >= 6
    for name, device in devices.items():
        variables = _snmp_vars(lab, name)
        assert variables["ansible_host"] == device["address"]
        assert variables["opsctl_snmp_version"] == "2c"
        expected = device["sys_object_id"]
        assert expected.startswith(ENTERPRISES[device["recording"]]), (name, expected)
        community = _secret(variables["opsctl_snmp_community"])
        v2c = _snmpget(
            tmp_path / name / "v2c", device["address"], SYS_OBJECT_ID, conf="defVersion 2c\n",
            community=community,
        )  # fmt: skip
        assert _value(v2c, SYS_OBJECT_ID) == expected, name
        v3 = _snmpget(
            tmp_path / name / "v3", device["address"], SYS_OBJECT_ID, conf=_v3_conf(variables),
            context=variables["opsctl_snmp_context"],
        )  # fmt: skip
        assert _value(v3, SYS_OBJECT_ID) == expected, name


def test_each_address_serves_only_its_own_recording(lab: RunningLab, tmp_path: Path) -> None:
    devices = [device for device in _devices(lab).values() if device["recording"]]
    first, second = devices[0], devices[1]
    crossed = _snmpget(
        tmp_path, first["address"], SYS_OBJECT_ID, conf="defVersion 2c\n",
        community=second["recording"], timeout=0.5,
    )  # fmt: skip
    assert crossed.returncode != 0 and crossed.stdout == ""


def test_devices_json_covers_every_role_with_facts_from_the_recordings(lab: RunningLab) -> None:
    devices = _devices(lab)
    roles = {device["role"] for device in devices.values()}
    assert roles >= {"server", "switch", "ups", "pdu", "storage", "bmc", "sensor"}
    ups = {name: device for name, device in devices.items() if device["role"] == "ups"}
    assert set(ups) == {"sim-eaton-93e-80", "sim-opsctl-apc-smart-ups"}
    assert ups["sim-eaton-93e-80"]["ups_mib"]  # RFC 1628, from snmpsim-data
    assert not ups["sim-opsctl-apc-smart-ups"]["ups_mib"]  # an APC card serves PowerNet-MIB only
    pdu = [device for device in devices.values() if device["role"] == "pdu"]
    assert pdu and not any(device["ups_mib"] for device in pdu)
    cisco = devices["sim-cisco-c3750"]
    assert cisco["sys_descr"].startswith("Cisco IOS Software")
    assert cisco["snmp"]["context"] == "cisco-c3750"


# --- fake Cisco switches ----------------------------------------------------------------


def _switches(lab: RunningLab) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    group = _inventory(lab)["all"]["children"]["switches"]
    return group["vars"], group["hosts"]


def _published_switch_key(lab: RunningLab, address: str, port: int) -> paramiko.PKey:
    name = f"[{address}]:{port}"  # one of the names (the switch's own, its address) the line files the key under
    lines = lab.publication.known_hosts_path.read_text(encoding="utf-8").splitlines()
    (line,) = [line for line in lines if name in line.split(" ", 1)[0].split(",")]
    _, algorithm, blob = line.split()
    assert algorithm == "ssh-rsa"
    return paramiko.RSAKey(data=base64.b64decode(blob))


def test_switch_login_with_the_published_password_answers_show_version(lab: RunningLab) -> None:
    variables, hosts = _switches(lab)
    assert variables["ansible_network_os"] == "cisco_ios"
    password = _secret(variables["ansible_password"])
    assert _secret(variables["ansible_become_password"]) == password
    assert len(hosts) >= 1
    devices = _devices(lab)
    for name, host in hosts.items():
        assert host["ansible_port"] == 22022
        key = _published_switch_key(lab, host["ansible_host"], host["ansible_port"])
        public = parse_public_key(f"ssh-rsa {key.get_base64()}")
        assert devices[name]["ssh_fingerprints"] == [public.fingerprint]
        output = cli_session(
            address=host["ansible_host"], port=host["ansible_port"],
            user=variables["ansible_user"], password=password, host_key=public,
            commands=("show version",), timeout=15,
        )  # fmt: skip
        assert "Cisco IOS Software" in output
        assert f"{name}#" in output  # enable worked: the privileged prompt


def test_netmiko_cisco_ios_logs_in_with_strict_host_keys(lab: RunningLab) -> None:
    netmiko = pytest.importorskip("netmiko")
    variables, hosts = _switches(lab)
    password = _secret(variables["ansible_password"])
    name, host = next(iter(hosts.items()))
    connection = netmiko.ConnectHandler(
        device_type=variables["ansible_network_os"], host=host["ansible_host"],
        port=host["ansible_port"], username=variables["ansible_user"], password=password,
        secret=_secret(variables["ansible_become_password"]), ssh_strict=True,
        system_host_keys=False, alt_host_keys=True,
        alt_key_file=str(lab.publication.known_hosts_path),
    )  # fmt: skip
    try:
        connection.enable()
        assert connection.find_prompt() == f"{name}#"
        assert "Cisco IOS Software" in connection.send_command("show version")
    finally:
        connection.disconnect()


def test_switch_refuses_a_wrong_password(lab: RunningLab) -> None:
    variables, hosts = _switches(lab)
    host = next(iter(hosts.values()))
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.get_host_keys().add(
        f"[{host['ansible_host']}]:{host['ansible_port']}", "ssh-rsa",
        _published_switch_key(lab, host["ansible_host"], host["ansible_port"]),
    )  # fmt: skip
    with pytest.raises(paramiko.AuthenticationException):
        client.connect(
            host["ansible_host"], port=host["ansible_port"], username=variables["ansible_user"],
            password="not-the-password", timeout=10, look_for_keys=False, allow_agent=False,
        )  # fmt: skip
    client.close()


def test_switch_fingerprint_matches_ssh_keyscan(lab: RunningLab) -> None:
    for name, device in _devices(lab).items():
        if device["kind"] != "fake-switch":
            continue
        scan = subprocess.run(
            ("ssh-keyscan", "-t", "rsa", "-p", str(device["port"]), device["address"]),
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        (line,) = [line for line in scan.stdout.splitlines() if line and not line.startswith("#")]
        blob = line.split()[2]
        digest = base64.b64encode(hashlib.sha256(base64.b64decode(blob)).digest()).decode()
        assert device["ssh_fingerprints"] == ["SHA256:" + digest.rstrip("=")], name


# --- status and publication -------------------------------------------------------------


def test_status_lists_every_new_peer_answering(lab: RunningLab) -> None:
    statuses = {peer.name: peer for peer in lab_api.status(lab.settings)}
    for name in NEW_PEERS:
        assert statuses[name].answering and statuses[name].running, statuses[name]
    assert statuses["lab-snmpd"].kind == "snmpd"
    assert statuses["lab-snmpd"].endpoint == f"{lab.prefix}.20.1:11161"
    assert statuses["lab-snmpsim"].kind == "snmpsim"
    assert statuses["lab-snmpsim"].endpoint == f"{lab.prefix}.20.2:11161"
    assert statuses["lab-switch-01"].kind == "fake-switch"
    assert statuses["lab-switch-01"].endpoint == f"{lab.prefix}.30.1:22022"
    assert lab_api.up(lab.settings).started == ()  # idempotent: everything kept


def test_published_files_and_logs_hold_no_secret_values(lab: RunningLab) -> None:
    secrets_dir = lab.lab_dir / "secrets"
    secrets = [
        (secrets_dir / name).read_text(encoding="utf-8").strip()
        for name in ("snmp-community", "snmp-v3-auth-key", "snmp-v3-priv-key", "switch-password")
    ]
    assert all(len(secret) >= 16 for secret in secrets)
    published = [path for path in lab.lab_dir.glob("*") if path.is_file()]
    logs = list((lab.lab_dir / "peers").glob("*/*.log"))
    assert lab.lab_dir / "devices.json" in published and logs
    assert lab.lab_dir / "devices.yaml" in published
    main = YAML(typ="safe", pure=True).load(lab.publication.inventory_path)
    devices_only = YAML(typ="safe", pure=True).load(lab.lab_dir / "devices.yaml")
    assert list(main["all"]["children"]) == ["ssh_hosts", *devices_only["all"]["children"]]
    for group, content in devices_only["all"]["children"].items():
        assert main["all"]["children"][group] == content
    for path in published + logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not any(secret in text for secret in secrets), path
    for process in psutil.process_iter(["cmdline"]):
        command_line = " ".join(process.info["cmdline"] or ())
        assert not any(secret in command_line for secret in secrets), process.pid


# --- a small lab of our own, for the tests that break it -------------------------------


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings(
        state={"dir": tmp_path_factory.mktemp("small-snmp-lab")},
        lab={"prefix": SMALL_LAB_PREFIX, "ssh_hosts": 1},
    )
    try:
        yield settings
    finally:
        lab_api.down(settings)


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_killed_snmpsim_is_silent_and_up_restarts_only_it(small_lab: Settings) -> None:
    lab_api.up(small_lab)
    pids = {peer.name: peer.pid for peer in lab_api.status(small_lab)}
    victim = pids["lab-snmpsim"]
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    statuses = {peer.name: peer for peer in lab_api.status(small_lab)}
    assert not statuses["lab-snmpsim"].answering
    assert statuses["lab-snmpd"].answering
    state = lab_api.up(small_lab)
    assert state.started == ("lab-snmpsim",)
    after = {peer.name: peer.pid for peer in lab_api.status(small_lab)}
    assert after["lab-snmpsim"] not in (None, victim)
    assert all(after[name] == pids[name] for name in pids if name != "lab-snmpsim")


def test_down_stops_the_new_peers(small_lab: Settings) -> None:
    lab_api.up(small_lab)
    pids = {peer.name: peer.pid for peer in lab_api.status(small_lab)}
    assert set(NEW_PEERS) <= set(pids)
    assert sorted(lab_api.down(small_lab)) == sorted(pids)
    assert all(pid is not None and _gone(pid) for pid in pids.values())
    assert lab_api.status(small_lab) == []
