"""A device that answers unreadable SNMP: told from a silent one, and no library traceback on stderr."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from inventory.snmp.client import MALFORMED, TIMEOUT, SnmpClient, SnmpCredentials, SnmpTarget
from inventory.snmp.discovery import GARBAGE_OUTCOME, discover_device, discover_many
from tests.unit.inventory.snmp.snmp_responders import (
    random_bytes,
    sequence_of_noise,
    silent,
    truncated_response,
    udp_responder,
)

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
COMMUNITY = "canary-community-garbage"
Answer = Callable[[bytes], list[bytes]]


def get(port: int) -> tuple[str | None, str]:
    client = SnmpClient()
    try:
        target = SnmpTarget("127.0.0.1", port, timeout=0.2, retries=2)
        result = asyncio.run(client.get(target, SnmpCredentials.v2c(COMMUNITY), [SYS_DESCR]))
    finally:
        client.close()
    return result.error, result.message


@pytest.mark.parametrize("answer", [random_bytes, truncated_response, sequence_of_noise])
def test_an_agent_answering_garbage_is_garbage_not_a_timeout(
    answer: Answer, capfd: pytest.CaptureFixture[str]
) -> None:
    with udp_responder("127.0.0.1", answer) as (_address, port):
        error, message = get(port)
    assert error == MALFORMED
    assert message.startswith("answers with malformed SNMP (")
    assert " bad packet" in message and "(0 bad" not in message
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err and "Exception in callback" not in captured.err
    assert captured.err == ""


def test_a_silent_agent_stays_a_timeout(capfd: pytest.CaptureFixture[str]) -> None:
    with udp_responder("127.0.0.1", silent) as (_address, port):
        error, _message = get(port)
    assert error == TIMEOUT
    assert capfd.readouterr().err == ""


def test_discovery_calls_a_garbage_device_garbage_and_a_silent_one_unreachable(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with (
        udp_responder("127.0.0.1", sequence_of_noise) as (_a, noisy_port),
        udp_responder("127.0.0.1", silent) as (_b, silent_port),
    ):
        jobs = [
            (SnmpTarget("127.0.0.1", noisy_port, timeout=0.2, retries=2), SnmpCredentials.v2c(COMMUNITY)),
            (SnmpTarget("127.0.0.1", silent_port, timeout=0.2, retries=2), SnmpCredentials.v2c(COMMUNITY)),
        ]
        noisy, quiet = asyncio.run(discover_many(jobs))
    assert noisy.outcome == GARBAGE_OUTCOME
    assert noisy.message.startswith("answers with malformed SNMP (")
    assert "stay silent" not in noisy.message and COMMUNITY not in noisy.message
    assert quiet.outcome == "unreachable" and "stay silent on a wrong community" in quiet.message
    assert capfd.readouterr().err == ""


def test_a_garbage_device_alone_is_garbage_too() -> None:
    with udp_responder("127.0.0.1", random_bytes) as (_address, port):
        snapshot = asyncio.run(
            discover_device(SnmpTarget("127.0.0.1", port, timeout=0.2, retries=1), SnmpCredentials.v2c(COMMUNITY))
        )
    assert snapshot.outcome == GARBAGE_OUTCOME and "bad packet" in snapshot.message


def test_the_scan_reports_a_garbage_device_as_partial_and_a_silent_one_as_unreachable() -> None:
    from datetime import UTC, datetime

    from inventory import Host
    from inventory.readers import SNMP, ScanJob, _snmp_report
    from inventory.snmp.snapshot import failed_snapshot

    now = datetime.now(UTC)
    job = ScanJob(Host("ups-9", {"ansible_host": "192.0.2.9", "opsctl_snmp_version": "2c"}), SNMP, None, now)
    message = "answers with malformed SNMP (3 bad packets); the device ... (asked with v2c)"
    garbage = _snmp_report(job, failed_snapshot("192.0.2.9", GARBAGE_OUTCOME, message), now)
    assert (garbage.outcome, garbage.messages) == ("partial", (message,))
    assert garbage.device.management_address == "192.0.2.9"
    quiet = _snmp_report(job, failed_snapshot("192.0.2.9", "unreachable", "v2c: timeout: no answer"), now)
    assert quiet.outcome == "unreachable"
