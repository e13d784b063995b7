"""A device that answers garbage gets the right diagnosis from the real ``opsctl inventory scan``.

A responder on a lab loopback address answers every SNMP request with random bytes, another with
a truncated GetResponse; a third address is silent. The scan's stderr holds no library
traceback (pysnmp raised inside asyncio's callbacks and asyncio printed each one), the garbage
devices are partial with "answers with malformed SNMP (N bad packets)", and the silent one stays
unreachable with the hint about v2c communities. What pysnmp raised is in the debug log.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.integration.conftest import LAB_PREFIX
from tests.integration.fleetcli import Cli
from tests.unit.inventory.snmp.snmp_responders import (
    random_bytes,
    sequence_of_noise,
    silent,
    truncated_response,
    udp_responder,
)

pytestmark = pytest.mark.integration

# addresses of the lab's prefix that the lab itself does not use
NOISY, TRUNCATED, QUIET = (f"{LAB_PREFIX}.251.{number}" for number in (1, 2, 3))


def _inventory(path: Path, hosts: dict[str, tuple[str, int]]) -> Path:
    document = {"all": {"hosts": {
        name: {"ansible_host": address, "opsctl_snmp_version": "2c", "opsctl_snmp_port": port,
               "opsctl_snmp_community": "env:GARBAGE_TEST_COMMUNITY"}
        for name, (address, port) in hosts.items()
    }}}
    with path.open("w", encoding="utf-8") as stream:
        YAML(typ="safe", pure=True).dump(document, stream)
    return path


def test_a_scan_calls_garbage_garbage_and_silence_unreachable_without_tracebacks(tmp_path: Path) -> None:
    with (
        udp_responder(NOISY, lambda request: random_bytes(request) + sequence_of_noise(request)) as noisy,
        udp_responder(TRUNCATED, truncated_response) as truncated,
        udp_responder(QUIET, silent) as quiet,
    ):
        inventory = _inventory(tmp_path / "hosts.yml", {
            "noisy-agent": noisy, "truncating-agent": truncated, "quiet-agent": quiet,
        })
        cli = Cli.create(tmp_path, inventory)
        cli.env["GARBAGE_TEST_COMMUNITY"] = "public"
        done = cli("inventory", "scan", "--json", timeout=180)

    assert "Traceback" not in done.stderr, done.stderr
    assert "Exception in callback" not in done.stderr, done.stderr
    assert "pysnmp" not in done.stderr, done.stderr
    document = json.loads(done.stdout)
    devices = {device["name"]: device for device in document["devices"]}
    for name in ("noisy-agent", "truncating-agent"):
        assert devices[name]["outcome"] == "partial", devices[name]
        assert any(message.startswith("answers with malformed SNMP (") and "bad packet" in message
                   for message in devices[name]["messages"]), devices[name]
        assert not any("stay silent" in message for message in devices[name]["messages"])
    assert devices["quiet-agent"]["outcome"] == "unreachable"
    assert any("stay silent on a wrong community" in message for message in devices["quiet-agent"]["messages"])
    assert "public" not in done.stdout + done.stderr
    # each bad answer is kept for whoever debugs, in the debug log (whether pysnmp raised on the
    # random noise, with its traceback, or dropped it depends on the noise: either is recorded)
    debug_log = (cli.state_dir / "debug.log").read_text(encoding="utf-8")
    assert f"SNMP answer from {NOISY}:" in debug_log
    assert f"undecodable SNMP answer from {TRUNCATED}" in debug_log
