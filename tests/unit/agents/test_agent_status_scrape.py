"""``opsctl agent status``'s one GET: the version from the build-info line, and what each kind of
silence or wrong answer reads as (a real HTTP server on loopback; a port nothing listens on)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.installer.status import AgentStatus, ask_agent, parse_metrics

SCRAPE = (Path(__file__).resolve().parents[2] / "fixtures" / "agent_install" / "scrape-excerpt.prom").read_text()


def test_agent_status_reads_the_version_from_build_info() -> None:
    scrape = parse_metrics(SCRAPE)

    assert (scrape.version, scrape.series) == ("0.1.0", 3)
    assert parse_metrics('node_load1 1\nnot_opsctl_agent_build_info{version="9"} 1\n').version is None


@pytest.fixture
def http_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    bodies: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", bodies
    finally:
        server.shutdown()
        server.server_close()


def test_agent_status_an_agent_answers_with_its_version(http_server: tuple[str, dict[str, bytes]]) -> None:
    base, bodies = http_server
    bodies["/metrics"] = SCRAPE.encode()

    status = AgentStatus("db-1", ask_agent(f"{base}/metrics", timeout=5))

    assert (str(status.outcome), status.answer.version, status.answer.series) == ("ok", "0.1.0", 3)


def test_agent_status_another_exporter_on_the_port_is_failed_not_ok(http_server: tuple[str, dict[str, bytes]]) -> None:
    base, bodies = http_server
    bodies["/metrics"] = b"node_load1 3.5\n"

    status = AgentStatus("db-1", ask_agent(f"{base}/metrics", timeout=5))

    assert str(status.outcome) == "failed"
    assert status.answer.reason == "answers, but is not an opsctl agent (no opsctl_agent_build_info)"
    assert str(AgentStatus("db-1", ask_agent(f"{base}/nothing", timeout=5)).outcome) == "failed"


def test_agent_status_nothing_listening_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed; nothing listens there

    status = AgentStatus("db-1", ask_agent(f"http://127.0.0.1:{port}/metrics", timeout=2))

    assert str(status.outcome) == "unreachable"
    assert status.answer.reason == "connection refused"
