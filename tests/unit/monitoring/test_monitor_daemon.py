"""The monitoring daemon: one source that raises never stops the others, is counted, and the
endpoint stays clean under ``promtool check metrics``; the real ``opsctl monitor serve`` process
serves /metrics and /readings and stops on SIGTERM; ``monitor once`` prints all three formats."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from monitoring.daemon import (
    DaemonCollector,
    SourceRunner,
    collect_once,
    exposition,
    merge_families,
    serve,
)
from monitoring.sources import PROBE_FAMILIES, MetricSource, Reading

OPSCTL = str(Path(sys.executable).parent / "opsctl")
SCRAPE = (Path(__file__).resolve().parents[2] / "fixtures" / "monitoring" / "agent-scrape.prom").read_bytes()


class _Good:
    name = "good"
    interval_seconds = 0.05

    def __init__(self) -> None:
        self.passes = 0

    def collect(self) -> list[Metric]:
        self.passes += 1
        family = GaugeMetricFamily("opsctl_probe_success", "1 if up.", labels=["probe", "type", "host"])
        family.add_metric(["good", "test", "good"], 1)
        return [family]

    def readings(self) -> list[Reading]:
        return [Reading("good", "test", "ok", "fine", {"success": 1.0})]


class _Broken:
    name = "broken"
    interval_seconds = 0.05

    def collect(self) -> list[Metric]:
        raise RuntimeError("device table walk ended early")

    def readings(self) -> list[Reading]:
        return []


def _promtool(text: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: ./bootstrap installs Debian's prometheus package"
    return subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)


def test_a_raising_source_is_counted_and_the_others_are_still_served() -> None:
    good, broken = _Good(), _Broken()
    assert isinstance(good, MetricSource) and isinstance(broken, MetricSource)
    stop = threading.Event()
    logged: list[dict[str, object]] = []
    runners = [SourceRunner(source, stop, log=lambda event, **fields: logged.append({"event": event, **fields}))
               for source in (broken, good)]
    for _ in range(3):
        for runner in runners:
            runner.run_once()
    text = exposition(list(DaemonCollector(runners).collect()))
    assert 'opsctl_monitor_source_errors_total{source="broken"} 3.0' in text
    assert 'opsctl_monitor_source_errors_total{source="good"} 0.0' in text
    assert 'opsctl_monitor_source_up{source="broken"} 0.0' in text
    assert 'opsctl_probe_success{host="good",probe="good",type="test"} 1.0' in text
    # the same error is logged once, not on every pass
    assert logged == [{"event": "source_error", "source": "broken",
                       "message": "RuntimeError: device table walk ended early"}]
    assert runners[0].snapshot().readings[0].state == "unknown"
    checked = _promtool(text)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr


def test_collect_once_runs_every_source_and_names_the_one_that_raised() -> None:
    result = collect_once([_Broken(), _Good()])
    assert [reading.target for reading in result.readings] == ["broken", "good"]
    assert result.source_errors == {"broken": "RuntimeError: device table walk ended early"}
    assert result.exit_code == 3


def test_families_of_one_name_from_two_sources_become_one() -> None:
    first, second = _Good().collect()[0], _Good().collect()[0]
    second.samples[0] = second.samples[0]._replace(labels={"probe": "other", "type": "test", "host": "other"})
    merged = merge_families([first, second])
    assert len(merged) == 1 and len(merged[0].samples) == 2


def test_serve_answers_metrics_and_readings_until_stopped() -> None:
    stop = threading.Event()
    port = _free_port()
    thread = threading.Thread(target=serve, args=(None, f"127.0.0.1:{port}"),
                              kwargs={"stop": stop, "sources": [_Good(), _Broken()], "log": lambda *a, **k: None},
                              daemon=True)
    thread.start()
    try:
        readings = json.loads(_get(f"http://127.0.0.1:{port}/readings"))
        deadline = time.monotonic() + 15
        while not all(source["passes"] for source in readings["sources"]) and time.monotonic() < deadline:
            readings = json.loads(_get(f"http://127.0.0.1:{port}/readings"))  # until each source's first pass
        assert readings["schema"] == "opsctl.monitor-readings/v1"
        assert {source["name"]: source["up"] for source in readings["sources"]}["good"] is True
        assert "opsctl_monitor_build_info" in _get(f"http://127.0.0.1:{port}/metrics")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str, deadline_seconds: float = 15.0) -> str:
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class _AgentHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(SCRAPE)))
        self.end_headers()
        self.wfile.write(SCRAPE)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def configured(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A configuration with an agent probe (a recorded scrape served over HTTP) and a database that is down."""
    agent = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AgentHandler)
    threading.Thread(target=agent.serve_forever, daemon=True).start()
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "opsctl.yaml").write_text("monitoring:\n  probe_interval_seconds: 1\n  probe_timeout_seconds: 2\n")
    (tmp_path / "conf.d" / "probes.yaml").write_text(
        "monitoring:\n  probes:\n"
        f"    db1: {{type: agent, url: 'http://127.0.0.1:{agent.server_address[1]}/metrics'}}\n"
        f"    his-db: {{type: postgres, address: 127.0.0.1, port: {_free_port()}, database: his, user: monitor,"
        " password: env:TEST_MONITOR_DB_PASSWORD}\n")
    environment = {name: value for name, value in os.environ.items() if not name.startswith("OPSCTL_")}
    environment.update({"OPSCTL_STATE__DIR": str(tmp_path / "state"), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
                        "TEST_MONITOR_DB_PASSWORD": "canary-db-password", "CONFIG": str(tmp_path / "opsctl.yaml")})
    try:
        yield environment
    finally:
        agent.shutdown()
        agent.server_close()


def _opsctl(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([OPSCTL, "-c", environment["CONFIG"], *arguments],
                          capture_output=True, text=True, env=environment, timeout=120)


def test_the_serve_process_serves_probes_lint_clean_and_stops_on_sigterm(configured: dict[str, str]) -> None:
    port = _free_port()
    process = subprocess.Popen([OPSCTL, "-c", configured["CONFIG"], "monitor", "serve",
                                "--listen", f"127.0.0.1:{port}"], env=configured, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        text = ""
        while 'probe="his-db"' not in text or 'probe="db1"' not in text:
            assert time.monotonic() < deadline, text
            text = _get(f"http://127.0.0.1:{port}/metrics")
            time.sleep(0.2)
        assert 'opsctl_probe_success{host="db1",probe="db1",type="agent"} 1.0' in text
        assert 'opsctl_probe_success{host="his-db",probe="his-db",type="postgres"} 0.0' in text
        checked = _promtool(text)
        assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr
        served = {family.name for family in text_string_to_metric_families(text) if family.name.startswith("opsctl_probe")}
        assert served and served <= set(PROBE_FAMILIES), served - set(PROBE_FAMILIES)  # the probes' catalogue
        readings = {entry["target"]: entry for entry in json.loads(_get(f"http://127.0.0.1:{port}/readings"))["readings"]}
        assert readings["his-db"]["state"] == "critical"
        assert "Connection refused" in readings["his-db"]["summary"]
        assert readings["db1"]["state"] in ("ok", "warning")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 143
    events = [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]
    assert events[0] == "listening" and events[-1] == "stopped"
    assert "canary-db-password" not in stderr


def test_monitor_once_prints_a_table_json_and_the_exposition_format(configured: dict[str, str]) -> None:
    table = _opsctl(configured, "monitor", "once")
    assert table.returncode == 0, table.stderr
    assert "his-db" in table.stdout and "critical" in table.stdout
    document = json.loads(_opsctl(configured, "monitor", "once", "--json").stdout)
    assert document["schema"] == "opsctl.monitor-once/v1"
    assert {reading["target"] for reading in document["readings"]} == {"db1", "his-db"}
    one = _opsctl(configured, "monitor", "once", "db1", "--prometheus")
    assert 'probe="db1"' in one.stdout and 'probe="his-db"' not in one.stdout
    checked = _promtool(one.stdout)
    assert checked.returncode == 0 and not checked.stdout.strip(), checked.stdout + checked.stderr
    unknown = _opsctl(configured, "monitor", "once", "no-such-probe")
    assert unknown.returncode == 2 and "no probe, host or device called 'no-such-probe'" in unknown.stderr
    for output in (table.stdout, table.stderr, one.stdout):
        assert "canary-db-password" not in output


class _Flipping:
    name = "pacs"
    interval_seconds = 60.0

    def __init__(self, states: list[str]) -> None:
        self.states = states

    def collect(self) -> list[Metric]:
        return []

    def readings(self) -> list[Reading]:
        return [Reading("pacs", "orthanc", self.states[0], self.states[0])]


def test_since_is_when_a_target_entered_its_state() -> None:
    source = _Flipping(["ok"])
    clock = iter([100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0])
    runner = SourceRunner(source, threading.Event(), log=lambda *a, **k: None, clock=lambda: next(clock))
    runner.run_once()
    runner.run_once()
    assert runner.snapshot().since == {"pacs": 100.0}  # still ok: since the first pass
    source.states[0] = "critical"
    runner.run_once()
    runner.run_once()
    # each pass reads the clock for its readings, then for its success: the third pass's readings read 500
    assert runner.snapshot().readings[0].state == "critical"
    assert runner.snapshot().since == {"pacs": 500.0}
