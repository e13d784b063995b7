"""opsctl inventory scan against snmpsim serving devices that misbehave: a sysDescr of kilobytes with control
characters, and an agent that answers what it is but never answers the role probes.

snmpsim serves recordings written here, on ``TEST_LAB_PREFIX.97.1``. The hung agent is snmpsim behind
a small UDP relay on ``TEST_LAB_PREFIX.97.2`` that drops every request naming UPS-MIB
upsIdentModel, as an agent whose UPS subagent hangs does (snmpsim cannot stall one OID without
stalling every request: it answers one at a time). Both are started here and stopped by pid.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory.snmp.client import SnmpClient, SnmpCredentials, SnmpTarget
from opsctl.cli.main import main

pytestmark = pytest.mark.integration

PREFIX = os.environ.get("TEST_LAB_PREFIX", "127.31")
SNMPSIM_ADDRESS = f"{PREFIX}.97.1"
RELAY_ADDRESS = f"{PREFIX}.97.2"
UPS_IDENT_MODEL = "1.3.6.1.2.1.33.1.1.2.0"
ENTRY = "1.3.6.1.2.1.47.1.1.1.1"
# an 8 KB sysDescr that tries to drive the terminal: clear screen, bell, colours, a NUL
NOISY_DESCR = "\x1b[2J\x07Acme EX-2200 Core Router\x00, Version 4.2.1\r\n" + "\x1b[31mlog line \x07" * 700


def _hex(text: str) -> str:
    return text.encode().hex()


RECORDINGS = {
    "noisy": [
        f"1.3.6.1.2.1.1.1.0|4x|{_hex(NOISY_DESCR)}",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99994.1",
        "1.3.6.1.2.1.1.5.0|4|noisy-1",
        f"{ENTRY}.5.1|2|3",
        f"{ENTRY}.11.1|4|EX0000777",
        f"{ENTRY}.13.1|4x|{_hex('EX-2200' + chr(27) + '[5m')}",
    ],
    "hung": [
        "1.3.6.1.2.1.1.1.0|4|Acme Edge Switch Software, Version 3.1.4",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99993.1",
        "1.3.6.1.2.1.1.5.0|4|hung-1",
        "1.3.6.1.2.1.1.7.0|2|2",
        "1.3.6.1.2.1.33.1.1.2.0|4|never answered",
        f"{ENTRY}.5.1|2|3",
        f"{ENTRY}.11.1|4|AES0001234",
        f"{ENTRY}.13.1|4|AES-24",
    ],
    # ifDescr rows out of order: snmpsim answers GETNEXT by position in the file, so the walk
    # of ifDescr goes backwards, as a broken agent's table does
    "looping": [
        "1.3.6.1.2.1.1.1.0|4|Acme Edge Switch Software, Version 3.1.4",
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99993.1",
        "1.3.6.1.2.1.1.5.0|4|looping-1",
        "1.3.6.1.2.1.2.2.1.2.3|4|port 3",
        "1.3.6.1.2.1.2.2.1.2.1|4|port 1",
        "1.3.6.1.2.1.2.2.1.2.2|4|port 2",
        f"{ENTRY}.5.1|2|3",
        f"{ENTRY}.11.1|4|AES0005678",
        f"{ENTRY}.13.1|4|AES-48",
    ],
}


def _ber_oid(oid: str) -> bytes:
    """The BER content of an OBJECT IDENTIFIER (tag and length included), as it appears in a request."""
    parts = [int(part) for part in oid.split(".")]
    body = bytearray([parts[0] * 40 + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.insert(0, 0x80 | (part & 0x7F))
            part >>= 7
        body.extend(chunk)
    return bytes([0x06, len(body)]) + bytes(body)


def _free_udp_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((address, 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def agents() -> Iterator[tuple[SnmpTarget, SnmpTarget]]:
    """(snmpsim serving both recordings, the relay in front of it that drops upsIdentModel requests)."""
    from lab.snmp.snmpsim import responder_for_nobody

    responder = responder_for_nobody()
    folder = Path(tempfile.mkdtemp(prefix="opsctl-test-identity-faults-"))
    served = folder / "data"
    (folder / "cache").mkdir(parents=True)
    served.mkdir()
    for name, lines in RECORDINGS.items():
        (served / f"{name}.snmprec").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for path in (folder, served, folder / "cache", *served.iterdir()):
        path.chmod(0o777 if path.is_dir() else 0o644)
    port = _free_udp_port(SNMPSIM_ADDRESS)
    log = folder / "snmpsim.log"
    command = [
        str(responder), f"--cache-dir={folder / 'cache'}", f"--data-dir={served}",
        f"--agent-udpv4-endpoint={SNMPSIM_ADDRESS}:{port}", f"--logging-method=file:{log}",
    ]
    if os.geteuid() == 0:  # snmpsim refuses to run as root
        command += ["--process-user=nobody", "--process-group=nogroup"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    agent = SnmpTarget(SNMPSIM_ADDRESS, port, timeout=1.0, retries=1)
    relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    relay.bind((RELAY_ADDRESS, 0))
    relay.settimeout(0.2)
    stop = threading.Event()
    dropped = _ber_oid(UPS_IDENT_MODEL)

    def forward() -> None:
        upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        upstream.settimeout(5.0)
        with upstream:
            while not stop.is_set():
                try:
                    request, client = relay.recvfrom(65535)
                except TimeoutError:
                    continue
                if dropped in request:
                    continue  # the hung subagent: no answer at all
                upstream.sendto(request, (SNMPSIM_ADDRESS, port))
                try:
                    relay.sendto(upstream.recv(65535), client)
                except TimeoutError:
                    continue

    thread = threading.Thread(target=forward, daemon=True)
    try:
        deadline = time.monotonic() + 60
        while True:  # a real answer, not an open port: snmpsim indexes the recordings first
            result = asyncio.run(SnmpClient().get(agent, SnmpCredentials.v2c("hung"), ["1.3.6.1.2.1.1.5.0"]))
            if result.values:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                told = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                pytest.fail(f"snmpsim did not answer: {told}")
            time.sleep(0.5)
        thread.start()
        yield agent, SnmpTarget(RELAY_ADDRESS, relay.getsockname()[1], timeout=1.0, retries=1)
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(timeout=5)
        relay.close()
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _inventory(tmp_path: Path, agents: tuple[SnmpTarget, SnmpTarget]) -> Path:
    agent, relay = agents
    hosts = []
    for name, community, target in (
        ("noisy-1", "noisy", agent), ("hung-1", "hung", relay), ("looping-1", "looping", agent),
    ):
        secret = tmp_path / f"{name}.community"
        secret.write_text(community + "\n")
        secret.chmod(0o600)
        hosts.append(
            f"    {name}:\n      ansible_host: {target.host}\n      opsctl_snmp_version: 2c\n"
            f"      opsctl_snmp_port: {target.port}\n      opsctl_snmp_community: file:{secret}\n"
        )
    path = tmp_path / "devices.yaml"
    path.write_text("all:\n  hosts:\n" + "".join(hosts), encoding="utf-8")
    return path


@pytest.fixture()
def scan_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, agents: tuple[SnmpTarget, SnmpTarget]) -> Path:
    for name in list(os.environ):
        if name.startswith("OPSCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "200")
    inventory = _inventory(tmp_path, agents)
    monkeypatch.setenv("OPSCTL_INVENTORY", str(inventory))
    return inventory


def _devices(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {device["name"]: device for device in document["devices"]}


def test_kilobytes_of_control_characters_are_stored_safely_and_shown_escaped(
    scan_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inventory", "scan", "noisy-1", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    device = _devices(document)["noisy-1"]
    assert device["outcome"] == "ok", device
    # what the device said is kept as it said it: JSON carries the escape character escaped
    assert device["model"] == "EX-2200\x1b[5m"
    assert device["os_version"] == "4.2.1"  # read from the sysDescr's text, not its noise
    assert device["role"] == "router"
    assert main(["inventory", "scan", "noisy-1"]) == 0
    shown = capsys.readouterr()
    for stream in (shown.out, shown.err):
        assert "\x1b" not in stream and "\x07" not in stream and "\x00" not in stream
    assert "EX-2200\\x1b[5m" in shown.out  # the table shows the character for what it is
    listed = main(["inventory", "list", "--json"])
    assert listed == 0
    stored = _devices(json.loads(capsys.readouterr().out))
    assert stored["noisy-1"]["model"] == "EX-2200\x1b[5m"


def test_an_agent_that_never_answers_the_probes_keeps_its_identity_and_is_partial(
    scan_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inventory", "scan", "hung-1", "--json"]) == 3
    document = json.loads(capsys.readouterr().out)
    device = _devices(document)["hung-1"]
    assert device["outcome"] == "partial", device
    assert (device["role"], device["model"], device["serial"], device["os_version"], device["sys_name"]) == (
        "switch", "AES-24", "AES0001234", "3.1.4", "hung-1",
    )
    assert any("probes" in message for message in device["messages"]), device["messages"]


def test_a_table_out_of_order_is_reported_for_its_device_and_the_identity_still_read(
    scan_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inventory", "scan", "looping-1", "--json"]) == 3
    device = _devices(json.loads(capsys.readouterr().out))["looping-1"]
    assert device["outcome"] == "partial", device
    assert any(message.startswith("table interfaces partial") for message in device["messages"]), device
    assert (device["role"], device["model"], device["serial"], device["os_version"]) == (
        "switch", "AES-48", "AES0005678", "3.1.4",
    )
