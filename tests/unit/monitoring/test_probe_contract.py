"""The shared contract every registered probe passes: a target that is down is a failed result in time, never an exception.

Every registered probe (the built-ins of monitoring/probes_*.py, and third parties' entry points
in ``opsctl.probes``) is picked up here, each with its options in ``OPTIONS``; the target's port
is a closed one, and a ``{port}`` in an option is that port.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator, Mapping

import pytest

from monitoring.probes import PROBES, Probe, ProbeResult, ProbeTarget
from opsctl.core.errors import UsageError

PROBE_NAMES = list(PROBES.names())
CANARY = "s3cret-probe-canary"
# each probe's options for a target that is down; secrets as references to OPSCTL_TEST_PROBE_SECRET
OPTIONS: dict[str, Mapping[str, str]] = {
    "postgres": {"database": "his", "user": "monitor", "password": "env:OPSCTL_TEST_PROBE_SECRET"},
    "orthanc": {"url": "http://127.0.0.1:{port}", "username": "monitor", "password": "env:OPSCTL_TEST_PROBE_SECRET",
                "dicom_port": "{port}"},
    "http": {"url": "https://127.0.0.1:{port}/"},
    "agent": {},
}


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


def test_the_kind_is_declared_under_its_entry_point_group() -> None:
    assert (PROBES.kind, PROBES.group, PROBES.protocol) == ("probe", "opsctl.probes", Probe)


@pytest.fixture
def down_probe() -> Iterator[Probe]:
    class AlwaysDown:
        name = "test-always-down"

        def probe(self, target: ProbeTarget, timeout: float) -> ProbeResult:
            return ProbeResult(success=False, duration_seconds=0.0, detail="down")

    probe = AlwaysDown()
    PROBES.register(probe)
    yield probe
    PROBES.deregister(probe.name)


def test_a_probe_registers_like_any_plugin(down_probe: Probe) -> None:
    assert PROBES.get("test-always-down") is down_probe
    with pytest.raises(UsageError, match="does not satisfy Probe"):
        PROBES.register(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("name", PROBE_NAMES)
def test_satisfies_the_protocol_and_is_found_by_name(name: str) -> None:
    probe = PROBES.get(name)
    assert isinstance(probe, Probe)
    assert probe.name == name


@pytest.mark.parametrize("name", PROBE_NAMES)
def test_a_target_that_is_down_is_a_failed_result_in_time_without_secrets(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if name not in OPTIONS:
        pytest.fail(f"probe {name} has no contract case: add its options to OPTIONS")
    monkeypatch.setenv("OPSCTL_TEST_PROBE_SECRET", CANARY)
    port = _closed_port()
    options = {key: value.replace("{port}", str(port)) for key, value in OPTIONS[name].items()}
    target = ProbeTarget(host="nowhere", address="127.0.0.1", port=port, options=options)
    began = time.monotonic()
    result = PROBES.get(name).probe(target, timeout=2.0)
    assert time.monotonic() - began < 4.0
    assert result.success is False
    assert result.detail and CANARY not in result.detail
