"""The client and discovery against real agents on loopback: net-snmp snmpd and snmpsim serving recordings.

Each agent is started here on a 127.11.x address, checked with a real answer, and stopped by pid.
"""

from __future__ import annotations

import asyncio
import bz2
import os
import platform
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory.snmp.client import AUTH_FAILED, TIMEOUT, SnmpClient, SnmpCredentials, SnmpTarget
from inventory.snmp.discovery import discover_device, discover_many

pytestmark = pytest.mark.integration

SNMPD_ADDRESS = "127.11.1.1"
SNMPSIM_ADDRESS = "127.11.1.2"
COMMUNITY = "lab-canary-community"
V3_USER = "labops"
AUTH_KEY = "lab-canary-authkey"
PRIV_KEY = "lab-canary-privkey"
SYS_NAME = "1.3.6.1.2.1.1.5.0"


def _free_udp_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


def _answers(target: SnmpTarget, credentials: SnmpCredentials) -> bool:
    client = SnmpClient()
    try:
        result = asyncio.run(client.get(target, credentials, [SYS_NAME, "1.3.6.1.2.1.1.1.0"]))
    finally:
        client.close()
    return result.error is None and bool(result.values)


def _wait_for_answer(process: subprocess.Popen[bytes], target: SnmpTarget, credentials: SnmpCredentials, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if _answers(target, credentials):
            return
        time.sleep(0.2)
    _stop(process)
    shown = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    pytest.skip(f"the agent never answered on {target}; its log ends with:\n{shown}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnmpTarget]:
    binary = shutil.which("snmpd") or ("/usr/sbin/snmpd" if Path("/usr/sbin/snmpd").exists() else None)
    if binary is None:
        pytest.skip("net-snmp snmpd is not installed")
    folder = tmp_path_factory.mktemp("snmpd")
    port = _free_udp_port(SNMPD_ADDRESS)
    config = folder / "snmpd.conf"
    config.write_text(
        f"agentAddress udp:{SNMPD_ADDRESS}:{port}\n"
        f"rocommunity {COMMUNITY} 127.0.0.0/8\n"
        f"createUser {V3_USER} SHA {AUTH_KEY} AES {PRIV_KEY}\n"
        f"rouser {V3_USER} priv\n"
        "sysName opsctl-lab-snmpd\n"
        "sysLocation lab rack 1\n"
        # what a site adds so its hosts say their hardware (LibreNMS's snmpd.conf.example reads the DMI names;
        # this machine has none, so the test's agent echoes a server's)
        "extend manufacturer /bin/echo Dell Inc.\n"
        "extend hardware /bin/echo PowerEdge R750\n"
        "extend serial /bin/echo 7XK2M93\n"
        "extend distro /bin/echo Debian GNU/Linux 12 (bookworm)\n",
        encoding="utf-8",
    )
    log = folder / "snmpd.log"
    environment = {**os.environ, "SNMP_PERSISTENT_DIR": str(folder / "persist"), "MIBS": "", "MIBDIRS": str(folder)}
    process = subprocess.Popen(
        [binary, "-f", "-C", "-c", str(config), "-Lf", str(log)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    target = SnmpTarget(SNMPD_ADDRESS, port, timeout=0.5, retries=1)
    _wait_for_answer(process, target, SnmpCredentials.v2c(COMMUNITY), log)
    yield target
    _stop(process)


@pytest.fixture(scope="module")
def snmpsim() -> Iterator[SnmpTarget]:
    from lab.snmp.snmpsim import responder_for_nobody

    # the responder nobody can run: this environment's, or the lab's own (a private checkout)
    responder = responder_for_nobody()
    data = Path(str(pytest.importorskip("snmpsim_data").__file__)).parent / "data"
    # snmpsim drops to nobody: pytest's tmp_path sits under a 0700 directory it could not read.
    folder = Path(tempfile.mkdtemp(prefix="opsctl-test-snmpsim-"))
    folder.chmod(0o755)
    served = folder / "data"
    served.mkdir()
    # The recording's file name (without .snmprec) is the community / v3 context name.
    shutil.copy(data / "UPS" / "apc-8641.snmprec", served / "apc-8641.snmprec")
    (served / "eaton-93e-80.snmprec").write_bytes(bz2.decompress((data / "UPS" / "eaton-93e-80.snmprec.bz2").read_bytes()))
    (served / "cisco-c3560.snmprec").write_bytes(bz2.decompress((data / "network/switch/cisco-c3560.snmprec.bz2").read_bytes()))
    (folder / "cache").mkdir()
    for path in (folder, served, folder / "cache", *served.iterdir()):
        path.chmod(0o777 if path.is_dir() else 0o644)
    port = _free_udp_port(SNMPSIM_ADDRESS)
    log = folder / "snmpsim.log"
    command = [
        str(responder), f"--cache-dir={folder / 'cache'}", "--v3-engine-id=auto", f"--data-dir={served}",
        f"--v3-user={V3_USER}", f"--v3-auth-key={AUTH_KEY}", "--v3-auth-proto=SHA",
        f"--v3-priv-key={PRIV_KEY}", "--v3-priv-proto=AES",
        f"--agent-udpv4-endpoint={SNMPSIM_ADDRESS}:{port}", f"--logging-method=file:{log}",
    ]
    if os.geteuid() == 0:  # snmpsim refuses to run as root
        command += ["--process-user=nobody", "--process-group=nogroup"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    target = SnmpTarget(SNMPSIM_ADDRESS, port, timeout=1.0, retries=1)
    try:
        _wait_for_answer(process, target, SnmpCredentials.v2c("eaton-93e-80"), log)
        yield target
    finally:
        _stop(process)
        shutil.rmtree(folder, ignore_errors=True)


def test_snmpd_over_v2c_and_v3_authpriv(snmpd: SnmpTarget) -> None:
    v2c = SnmpCredentials.v2c(COMMUNITY)
    v3 = SnmpCredentials.v3(V3_USER, AUTH_KEY, PRIV_KEY)
    snapshots = asyncio.run(discover_many([(snmpd, v2c), (snmpd, v3)], concurrency=2))
    for snapshot in snapshots:
        assert snapshot.outcome == "ok", snapshot.message
        assert snapshot.classification is not None
        assert (snapshot.classification.profile, snapshot.classification.role) == ("net-snmp-linux", "server")
        assert snapshot.system is not None and snapshot.system.name is not None
        assert snapshot.system.name.value == "opsctl-lab-snmpd"
        assert any(interface.name and interface.name.value == "lo" for interface in snapshot.interfaces)
        assert snapshot.host_resources is not None and snapshot.host_resources.memory_bytes is not None
        assert not snapshot.partial
    # The same rows over either version.
    assert [i.name for i in snapshots[0].interfaces] == [i.name for i in snapshots[1].interfaces]


def test_snmpd_extends_give_the_hosts_maker_model_serial_and_distribution(snmpd: SnmpTarget) -> None:
    from inventory.scan_convert import device_from_snapshot
    from inventory.snmp.enterprises import default_registry

    snapshot = asyncio.run(discover_device(snmpd, SnmpCredentials.v2c(COMMUNITY)))
    assert snapshot.outcome == "ok", snapshot.message
    seen = datetime.now(UTC)
    host = device_from_snapshot("lab-snmpd", None, snapshot, seen, registry=default_registry()).device
    assert (host.role, host.manufacturer, host.model, host.serial) == ("server", "Dell", "PowerEdge R750", "7XK2M93")
    assert host.custom_fields.extra["os_distribution"] == "Debian GNU/Linux 12 (bookworm)"
    assert "nsExtendOutput1Line" in host.provenance["model"].origin
    # the kernel net-snmp reports in sysDescr stays the server's version
    assert host.os_version is not None and host.os_version == platform.release()


def test_snmpd_bulk_walk_and_a_tiny_row_limit(snmpd: SnmpTarget) -> None:
    client = SnmpClient()
    try:
        from inventory.snmp.client import WalkLimits

        full = asyncio.run(client.walk(snmpd, SnmpCredentials.v2c(COMMUNITY), "1.3.6.1.2.1.25.2.3.1.3"))
        capped = asyncio.run(
            client.walk(snmpd, SnmpCredentials.v2c(COMMUNITY), "1.3.6.1.2.1.25.2.3.1.3", WalkLimits(max_repetitions=2, max_rows=2))
        )
    finally:
        client.close()
    assert not full.partial and len(full.rows) >= 3
    assert capped.partial and len(capped.rows) == 2


def test_snmpd_wrong_credentials_are_typed_outcomes(snmpd: SnmpTarget) -> None:
    wrong_community = asyncio.run(discover_device(snmpd, SnmpCredentials.v2c("not-the-community")))
    assert wrong_community.outcome == "unreachable" and "v2c" in wrong_community.message
    wrong_key = asyncio.run(discover_device(snmpd, SnmpCredentials.v3(V3_USER, "wrong-auth-key", PRIV_KEY)))
    assert wrong_key.outcome == "auth_failed"
    unknown_user = asyncio.run(discover_device(snmpd, SnmpCredentials.v3("nobody-here", AUTH_KEY, PRIV_KEY)))
    assert unknown_user.outcome == "auth_failed"
    for snapshot in (wrong_community, wrong_key, unknown_user):
        assert snapshot.partial
        for secret in (COMMUNITY, AUTH_KEY, PRIV_KEY, "wrong-auth-key"):
            assert secret not in repr(snapshot)


def test_right_and_wrong_credentials_in_one_scan_keep_their_own_outcomes(snmpd: SnmpTarget) -> None:
    # One engine per credential scope, all alive at once: a wrong key for the same v3 user, or a
    # wrong community, must fail on its own and never spoil (or be rescued by) the right one.
    right_v2c, wrong_v2c = SnmpCredentials.v2c(COMMUNITY), SnmpCredentials.v2c("not-the-community")
    right_v3 = SnmpCredentials.v3(V3_USER, AUTH_KEY, PRIV_KEY)
    wrong_v3 = SnmpCredentials.v3(V3_USER, "wrong-auth-key", PRIV_KEY)
    jobs = [(snmpd, credentials) for credentials in (right_v3, wrong_v3, right_v2c, wrong_v2c, wrong_v3, right_v3, right_v2c)]
    snapshots = asyncio.run(discover_many(jobs, concurrency=len(jobs)))
    outcomes = [snapshot.outcome for snapshot in snapshots]
    assert outcomes == ["ok", "auth_failed", "ok", "unreachable", "auth_failed", "ok", "ok"], [s.message for s in snapshots]
    for snapshot in snapshots:
        if snapshot.outcome == "ok":
            assert snapshot.system is not None and snapshot.system.name is not None
            assert snapshot.system.name.value == "opsctl-lab-snmpd"


def test_snmpsim_recordings_over_v2c_and_v3(snmpsim: SnmpTarget) -> None:
    jobs = [
        (snmpsim, SnmpCredentials.v2c("eaton-93e-80")),
        (snmpsim, SnmpCredentials.v2c("apc-8641")),
        (snmpsim, SnmpCredentials.v3(V3_USER, AUTH_KEY, PRIV_KEY, context_name="apc-8641")),
        (snmpsim, SnmpCredentials.v3(V3_USER, AUTH_KEY, PRIV_KEY, context_name="cisco-c3560")),
    ]
    eaton, apc, apc_v3, cisco = asyncio.run(discover_many(jobs, concurrency=4))
    assert eaton.classification is not None and eaton.classification.role == "ups"
    assert eaton.ups is not None and eaton.ups.model is not None and eaton.ups.model.value == "EATON 93E 80"
    for pdu in (apc, apc_v3):
        assert pdu.outcome == "ok", pdu.message
        assert pdu.classification is not None and pdu.classification.role == "pdu"
        assert pdu.identity.serial is not None and pdu.identity.serial.value == "3F3452A52295"
    assert cisco.outcome == "ok", cisco.message
    assert cisco.identity.serial is not None and cisco.identity.serial.value == "FOC1408Z61U"
    assert len(cisco.interfaces) == 57


def test_snmpsim_wrong_v3_key_and_a_silent_address(snmpsim: SnmpTarget) -> None:
    wrong = asyncio.run(discover_device(snmpsim, SnmpCredentials.v3(V3_USER, "not-the-authkey", PRIV_KEY, context_name="apc-8641")))
    assert wrong.outcome == "auth_failed"
    silent_target = SnmpTarget("127.11.1.3", _free_udp_port("127.11.1.3"), timeout=0.2, retries=0)
    silent = asyncio.run(discover_device(silent_target, SnmpCredentials.v2c("apc-8641")))
    assert silent.outcome == "unreachable"
    client = SnmpClient()
    try:
        result = asyncio.run(client.get(silent_target, SnmpCredentials.v2c("apc-8641"), [SYS_NAME]))
    finally:
        client.close()
    assert result.error == TIMEOUT
    assert AUTH_FAILED == "auth_failed"
