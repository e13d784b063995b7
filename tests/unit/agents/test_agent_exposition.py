"""The agent's own exposition: the same bytes as prometheus-client's, and the HTTP server around it."""

from __future__ import annotations

import gzip
import http.client
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from agents.base import AgentCollector, ErrorCounter, GaugeFamily
from agents.config import AgentConfig
from agents.daemon import build_collectors
from agents.exposition import TextRenderer, go_float, serve

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "agent"
PROC = FIXTURES / "debian12-vm" / "proc"


class _Families:
    """A registry stand-in for generate_latest: collect() yields the given families."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def _odd_families(scale: float) -> list[Metric]:
    counter = CounterMetricFamily("jobs", "Jobs done.\nSecond line \\ backslash.", labels=["queue"], created=1.7e9)
    counter.add_metric(['a "quoted" \\ back\nslash'], 3 * scale)
    counter.add_metric(["plain"], 2**53 * scale)
    gauge = GaugeMetricFamily("temperature_celsius", "Readings.", labels=["sensor", "room"])
    for index, reading in enumerate((float("nan"), float("inf"), float("-inf"), -0.0, 1e-7, 1234567.0 * scale,
                                     1.7646e9, 1e22, -2.5e9, 0, 0.0, 2**53 + 1, True)):
        gauge.add_metric([f"s{index}", "µ-room"], reading, timestamp=1.7e9 if index == 0 else None)
    histogram = HistogramMetricFamily("latency_seconds", "Latency.", buckets=[("0.1", 1), ("+Inf", 4)],
                                      sum_value=2.5 * scale)
    summary = SummaryMetricFamily("size_bytes", "Sizes.", count_value=3, sum_value=10 * scale)
    gauge_histogram = GaugeHistogramMetricFamily("queue_age_seconds", "Ages.", buckets=[("+Inf", 2)],
                                                 gsum_value=7 * scale)
    info = InfoMetricFamily("build", "Build.", value={"version": "1.2", "commit": "abc"})
    stateset = StateSetMetricFamily("mode", "Mode.", value={"primary": True, "standby": False})
    unknown = UnknownMetricFamily("mystery", "Untyped.", value=42 * scale)
    # the agent's own families, whose values the renderer remembers: 0 and -0.0 are equal keys
    compact = GaugeFamily("readings", "Readings.", labels=["index"])
    for index, reading in enumerate((0, -0.0, 0.0, -0.0, 1, 1.0, True, 2**53, 2**53 + 1, float("nan"), 7 * scale)):
        compact.add_metric([str(index)], reading)
    return [counter, gauge, histogram, summary, gauge_histogram, info, stateset, unknown, compact]


def _recorded_tree_families(tmp_path: Path) -> list[Metric]:
    """Every collector on the recorded tree (no mount point exists under tmp_path: each is a device error)."""
    textfiles = tmp_path / "textfile"
    textfiles.mkdir(exist_ok=True)
    (textfiles / "drill.prom").write_text(
        "# HELP opsctl_drill_rto_seconds RTO.\n# TYPE opsctl_drill_rto_seconds gauge\n"
        'opsctl_drill_rto_seconds{policy="x"} 9\n'
        "# TYPE restores histogram\nrestores_bucket{le=\"1\"} 1\nrestores_bucket{le=\"+Inf\"} 2\n"
        "restores_sum 3\nrestores_count 2\n")
    proc = tmp_path / "proc"
    if not proc.exists():
        shutil.copytree(PROC, proc)
        shutil.copy(FIXTURES / "mdstat" / "raid5-recovering.txt", proc / "mdstat")
    config = AgentConfig(proc_root=str(proc), root_dir=str(tmp_path / "root"), textfile_dir=str(textfiles))
    errors = ErrorCounter()
    return list(AgentCollector(build_collectors(config, errors), errors, clock=lambda: 0.25).collect())


def test_rendering_is_byte_for_byte_prometheus_clients_and_values_are_never_cached(tmp_path: Path) -> None:
    renderer = TextRenderer()
    for scale in (1.0, 2.0, 3.0):  # a second and third scrape reuse the cached prefixes, with new values
        families = _recorded_tree_families(tmp_path) + _odd_families(scale)
        expected = generate_latest(_Families(families))  # type: ignore[arg-type]
        assert renderer.render(families) == expected
    assert 'jobs_total{queue="plain"} 2.7021597764222976e+16' in expected.decode()


def test_a_full_cache_is_dropped_and_the_output_stays_right() -> None:
    renderer = TextRenderer(max_cached=5)
    for round_number in range(4):
        family = GaugeMetricFamily("mount_free_bytes", "Free.", labels=["mountpoint"])
        for index in range(8):
            family.add_metric([f"/srv/{round_number}/{index}"], index)
        assert renderer.render([family]) == generate_latest(_Families([family]))  # type: ignore[arg-type]
        assert len(renderer._prefixes) <= 8


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1.0"), (0, "0.0"), (1.7646e9, "1.7646e+09"), (float("nan"), "NaN"), (float("-inf"), "-Inf"),
    (123456.5, "123456.5"), (-1234567.0, "-1234567.0"),
])
def test_values_are_spelt_as_go_spells_them(value: float, text: str) -> None:
    assert go_float(value) == text


@pytest.fixture
def server() -> Iterator[tuple[str, int, list[int]]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    renders: list[int] = []

    def render() -> bytes:
        renders.append(1)
        return f"# HELP up Up.\n# TYPE up gauge\nup {len(renders)}.0\n".encode()

    running, thread = serve("127.0.0.1", port, render)
    try:
        yield "127.0.0.1", port, renders
    finally:
        running.shutdown()
        thread.join(timeout=10)
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=5):
        pass  # stopped: nothing listens any more


def test_the_server_keeps_the_connection_gzips_on_request_and_skips_the_favicon(
        server: tuple[str, int, list[int]]) -> None:
    host, port, renders = server
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/metrics")
    first = connection.getresponse()
    assert first.status == 200 and first.getheader("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    assert first.read() == b"# HELP up Up.\n# TYPE up gauge\nup 1.0\n"
    local_port = connection.sock.getsockname()[1]
    connection.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
    second = connection.getresponse()
    assert second.getheader("Content-Encoding") == "gzip"
    body = gzip.decompress(second.read()).decode()
    assert [s.value for f in text_string_to_metric_families(body) for s in f.samples] == [2.0]
    assert connection.sock.getsockname()[1] == local_port  # the same TCP connection served both
    connection.request("HEAD", "/metrics")
    head = connection.getresponse()
    assert head.status == 200 and head.read() == b""
    connection.request("GET", "/favicon.ico")
    favicon = connection.getresponse()
    assert favicon.status == 200 and favicon.read() == b""
    assert len(renders) == 3  # GET, GET, HEAD: the favicon runs no scrape
    connection.close()


def test_a_method_other_than_get_or_head_is_refused(server: tuple[str, int, list[int]]) -> None:
    host, port, renders = server
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("POST", "/metrics", body=b"x")
    response = connection.getresponse()
    assert response.status == 405 and response.getheader("Allow") == "GET, HEAD"
    assert renders == []
    connection.close()


def test_an_idle_kept_connection_does_not_hold_up_another_client(server: tuple[str, int, list[int]]) -> None:
    host, port = server[:2]
    idle = socket.create_connection((host, port), timeout=10)
    idle.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")  # a request head never finished
    other = http.client.HTTPConnection(host, port, timeout=10)
    other.request("GET", "/metrics")
    assert other.getresponse().read().startswith(b"# HELP up")
    other.close()
    idle.close()


def test_http_1_0_is_answered_and_closed_and_an_endless_head_refused(server: tuple[str, int, list[int]]) -> None:
    host, port = server[:2]
    with socket.create_connection((host, port), timeout=10) as client:
        client.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        reply = b""
        while chunk := client.recv(65536):  # the server closes its end after the reply
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(b"up 1.0\n")
    with socket.create_connection((host, port), timeout=10) as client:
        client.sendall(b"GET /metrics HTTP/1.1\r\n" + b"X-Padding: " + b"a" * 20_000)
        reply = b""
        while chunk := client.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 431 ")


def test_a_scrape_that_raises_is_a_500_and_the_server_answers_the_next() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    calls: list[int] = []

    def render() -> bytes:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("a family that cannot be written")
        return b"up 1.0\n"

    running, thread = serve("127.0.0.1", port, render)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/metrics")
        failed = connection.getresponse()
        assert failed.status == 500 and b"a family that cannot be written" in failed.read()
        connection.request("GET", "/metrics")
        assert connection.getresponse().read() == b"up 1.0\n"
        connection.close()
    finally:
        running.shutdown()
        thread.join(timeout=10)
