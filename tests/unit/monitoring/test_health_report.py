"""``opsctl health``: worst first, the Nagios line and codes, the exit codes, a target chosen by
name or pattern, and readings taken from a running daemon's /readings."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.metrics_core import Metric

from monitoring.daemon import serve
from monitoring.health import HealthReport, fleet_health, select_readings, worst_first
from monitoring.sources import Reading
from opsctl.core.errors import UsageError
from opsctl.core.settings import Settings

READINGS = [
    Reading("lab-ssh-01", "agent", "ok", "load 0.20/CPU, memory 40%, / 61%"),
    Reading("portal", "http", "warning", "HTTP 200 in 12 ms, certificate 12 d left"),
    Reading("pacs", "orthanc", "critical", "orthanc http://pacs:8042: Connection refused"),
    Reading("ups-basement", "ups", "unknown", "not polled yet"),
    Reading("his-db", "postgres", "ok", "12/100 connections, primary, 25 MiB"),
]


def test_worst_first_puts_critical_then_warning_then_unknown_then_ok() -> None:
    assert [reading.target for reading in worst_first(READINGS)] == [
        "pacs", "portal", "ups-basement", "his-db", "lab-ssh-01"]


def test_a_target_is_a_name_or_a_shell_pattern() -> None:
    assert [reading.target for reading in select_readings(READINGS, "lab-ssh-*")] == ["lab-ssh-01"]
    assert [reading.target for reading in select_readings(READINGS, "pacs")] == ["pacs"]


def test_the_nagios_line_names_the_worst_readings_and_exits_critical() -> None:
    report = HealthReport(worst_first(READINGS), "collected once", 0.0)
    assert report.nagios_code == 2
    assert report.nagios_line() == (
        "OPSCTL HEALTH CRITICAL - 1 critical, 1 warning, 1 unknown, 2 ok: pacs: orthanc http://pacs:8042: "
        "Connection refused; portal: HTTP 200 in 12 ms, certificate 12 d left; ups-basement: not polled yet"
        " | critical=1 warning=1 unknown=1 ok=2")
    # a critical reading is what the command reports, not a failure of the command
    assert report.exit_code == 0 and report.exit_code_for(nagios=True) == 2


def test_all_ok_is_nagios_ok_and_an_empty_fleet_is_unknown() -> None:
    healthy = HealthReport([READINGS[0], READINGS[4]], "collected once", 0.0)
    assert (healthy.nagios_code, healthy.nagios_line()) == (0, "OPSCTL HEALTH OK - 2 ok | critical=0 warning=0 unknown=0 ok=2")
    assert HealthReport([], "collected once", 0.0).nagios_code == 3


def test_a_source_that_raised_makes_it_partial_and_nagios_unknown_at_worst() -> None:
    report = HealthReport([READINGS[0]], "collected once", 0.0, {"snmp": "RuntimeError: walk ended early"})
    assert (report.exit_code, report.nagios_code) == (3, 3)
    assert "source snmp: RuntimeError: walk ended early" in report.nagios_line()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_endpoint_that_does_not_answer_exits_4_or_nagios_unknown() -> None:
    settings = Settings(monitoring={"endpoint": f"http://127.0.0.1:{_free_port()}"})
    report = fleet_health(settings, timeout=2.0)
    assert report.unreachable and "did not answer: Connection refused" in report.unreachable
    assert (report.exit_code, report.nagios_code) == (4, 3)
    assert report.nagios_line().startswith("OPSCTL HEALTH UNKNOWN - nothing read: monitoring endpoint")


class _Fixed:
    interval_seconds = 60.0

    def __init__(self, reading: Reading) -> None:
        self.name = reading.target
        self.reading = reading

    def collect(self) -> list[Metric]:
        return []

    def readings(self) -> list[Reading]:
        return [self.reading]


@pytest.fixture
def daemon() -> Iterator[str]:
    stop = threading.Event()
    port = _free_port()
    thread = threading.Thread(target=serve, args=(None, f"127.0.0.1:{port}"), daemon=True,
                              kwargs={"stop": stop, "sources": [_Fixed(reading) for reading in READINGS],
                                      "log": lambda *a, **k: None})
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(10)


def test_health_reads_the_running_daemon_when_an_endpoint_is_configured(daemon: str) -> None:
    settings = Settings(monitoring={"endpoint": daemon})
    deadline = time.monotonic() + 15
    report = fleet_health(settings, timeout=2.0)
    while report.unreachable or len(report.readings) < len(READINGS):
        assert time.monotonic() < deadline, report
        time.sleep(0.1)
        report = fleet_health(settings, timeout=2.0)
    assert report.origin == daemon
    assert report.readings == worst_first(READINGS)
    # the daemon says since when each target is in its state: here, since its one pass
    assert set(report.since) == {reading.target for reading in READINGS}
    assert all(since <= report.generated_at for since in report.since.values())
    assert [reading.target for reading in fleet_health(settings, "his-*").readings] == ["his-db"]
    with pytest.raises(UsageError, match="no probe, host or device called 'nope'"):
        fleet_health(settings, "nope")


def test_the_command_exits_4_or_nagios_3_when_the_endpoint_is_down(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from opsctl.cli.main import main

    config = tmp_path / "opsctl.yaml"
    config.write_text(f"monitoring:\n  endpoint: http://127.0.0.1:{_free_port()}\n")
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert main(["-c", str(config), "health", "--nagios"]) == 3
    assert capsys.readouterr().out.startswith("OPSCTL HEALTH UNKNOWN - nothing read: monitoring endpoint http://127.0.0.1:")
    assert main(["-c", str(config), "health"]) == 4
    assert "did not answer: Connection refused" in " ".join(capsys.readouterr().err.split())
    assert main(["-c", str(config), "health", "--json"]) == 4
    document = json.loads(capsys.readouterr().out)
    assert (document["schema"], document["worst"], document["readings"]) == ("opsctl.health/v1", "unknown", [])
