"""The daemon as a host runs it: configuration, a real process scraped over HTTP, its resident
memory, its stop on SIGTERM, and its exposition clean under ``promtool check metrics``."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from agents.base import AgentCollector, ErrorCounter
from agents.collectors import (
    CpuCollector,
    DiskCollector,
    FilesystemCollector,
    LoadCollector,
    MdadmCollector,
    MemoryCollector,
    NetworkCollector,
    ProcessesCollector,
)
from agents.config import ALL_COLLECTORS, AgentConfig, parse_config_text
from agents.daemon import SelfCollector, parse_arguments
from agents.textfile import TextfileCollector
from agents.timesync import TimeCollector, TimexReading
from opsctl.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "agent"
PROC = FIXTURES / "debian12-vm" / "proc"
RSS_LIMIT_BYTES = 40 * 1024 * 1024


def test_config_file_keys_apply_over_defaults() -> None:
    config = parse_config_text(
        "# the agent on db1\nlisten = 127.0.0.1:9200\n\ntextfile_dir = /srv/prom\ncollectors = cpu, textfile\n",
        "agent.conf")
    assert config == AgentConfig(listen="127.0.0.1:9200", textfile_dir="/srv/prom", collectors=("cpu", "textfile"))
    assert config.address == ("127.0.0.1", 9200)


@pytest.mark.parametrize(("text", "message"), [
    ("listen = 127.0.0.1:9200\nlisten 9100\n", "agent.conf:2: expected key = value"),
    ("port = 9100\n", "agent.conf:1: unknown key 'port'"),
    ("\n\ncollectors = cpu, smart\n", "agent.conf:3: collectors: unknown collector smart"),
    ("listen = 9100\n", "agent.conf:1: listen: '9100' is not HOST:PORT"),
    ("textfile_dir =\n", "agent.conf:1: textfile_dir: empty value"),
])
def test_a_bad_config_line_is_refused_naming_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config_text(text, "agent.conf")
    assert str(caught.value).startswith(message)


def test_flags_override_the_file_and_a_bad_file_exits_2_in_one_line(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "agent.conf"
    conf.write_text("listen = 127.0.0.1:9200\ntextfile_dir = /srv/prom\n")
    config = parse_arguments(["--config", str(conf), "--listen", "127.0.0.1:9300", "--collectors", "cpu,mdadm"])
    assert (config.listen, config.textfile_dir, config.collectors) == ("127.0.0.1:9300", "/srv/prom", ("cpu", "mdadm"))
    assert parse_arguments([]).collectors == ALL_COLLECTORS
    conf.write_text("listen = 127.0.0.1:9200\nbogus\n")
    with pytest.raises(SystemExit) as caught:
        parse_arguments(["--config", str(conf)])
    assert caught.value.code == 2
    assert f"{conf}:2: expected key = value" in capsys.readouterr().err


def _free_address() -> tuple[str, int]:
    host = "127.0.0.1"
    with socket.socket() as probe:
        probe.bind((host, 0))
        return host, probe.getsockname()[1]


def _scrape(url: str, deadline_seconds: float = 10.0) -> str:
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _promtool(text: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: ./bootstrap installs Debian's prometheus package"
    return subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)


@pytest.fixture
def running_agent(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    (textfiles / "backup.prom").write_text(
        "# TYPE opsctl_backup_last_success_timestamp_seconds gauge\n"
        'opsctl_backup_last_success_timestamp_seconds{policy="his-db"} 1.7646e+09\n')
    (textfiles / "broken.prom").write_text("broken{ 1\n")
    host, port = _free_address()
    process = subprocess.Popen(
        [sys.executable, "-m", "agents.daemon", "--listen", f"{host}:{port}", "--textfile-dir", str(textfiles)],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "agent.log").open("w"), text=True, cwd=ROOT)
    try:
        yield process, f"http://{host}:{port}/metrics", tmp_path / "agent.log"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_the_real_daemon_serves_the_host_stays_under_40_mb_and_stops_on_sigterm(
        running_agent: tuple[subprocess.Popen[str], str, Path]) -> None:
    process, url, log = running_agent
    for _ in range(5):
        text = _scrape(url)
    assert "node_cpu_seconds_total{" in text and "node_load1 " in text
    assert 'opsctl_backup_last_success_timestamp_seconds{policy="his-db"} 1.7646e+09' in text
    assert 'opsctl_agent_textfile_errors_total{file="broken.prom"} 5.0' in text
    assert 'opsctl_agent_scrape_collector_success{collector="cpu"} 1.0' in text
    rss = psutil.Process(process.pid).memory_info().rss
    assert rss < RSS_LIMIT_BYTES, f"resident memory {rss / 2**20:.1f} MiB after 5 scrapes"
    checked = _promtool(text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["event"] for e in events if e["event"] != "collector_error"] == ["listening", "stopped"]
    # the broken file is logged once by name, not once per scrape
    errors = [e for e in events if e["event"] == "collector_error"]
    assert len(errors) == 1 and "broken.prom" in errors[0]["message"]


def test_the_agents_own_process_metrics_match_what_psutil_reads() -> None:
    samples = {s.name: s.value for family in SelfCollector().collect() for s in family.samples}
    me = psutil.Process()
    # psutil lists /proc/self/fd, and the listing's own descriptor is among those it counts
    assert samples["process_open_fds"] == me.num_fds() - 1
    assert samples["process_max_fds"] == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert abs(samples["process_start_time_seconds"] - me.create_time()) < 1.0
    assert 0 < samples["process_resident_memory_bytes"] < samples["process_virtual_memory_bytes"]
    assert 0 < samples["process_cpu_seconds_total"] <= sum(me.cpu_times()[:2]) + 0.01


def test_a_taken_address_is_one_json_line_and_exit_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "agents.daemon", "--listen", f"127.0.0.1:{port}"],
                              capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert json.loads(line)["event"] == "error" and f"127.0.0.1:{port}" in line


@pytest.mark.parametrize("layout", sorted(p.name for p in (FIXTURES / "mdstat").glob("*.txt")))
def test_promtool_accepts_a_scrape_of_the_recorded_tree(tmp_path: Path, layout: str) -> None:
    proc = tmp_path / "proc"
    shutil.copytree(PROC, proc)
    shutil.copy(FIXTURES / "mdstat" / layout, proc / "mdstat")
    textfiles = tmp_path / "textfile"
    textfiles.mkdir()
    (textfiles / "drill.prom").write_text("# TYPE opsctl_drill_rto_seconds gauge\nopsctl_drill_rto_seconds{policy=\"x\"} 9\n")
    errors = ErrorCounter()
    statvfs = lambda path: os.statvfs_result((4096, 4096, 2000, 900, 800, 100, 50, 50, 0, 255))  # noqa: E731
    reading = TimexReading(0, 250_000, -819200, 12_000, 300, 0x2001, 37)
    collectors = [CpuCollector(proc), LoadCollector(proc), MemoryCollector(proc), DiskCollector(proc),
                  NetworkCollector(proc), ProcessesCollector(proc), FilesystemCollector(errors, proc, statvfs=statvfs),
                  TimeCollector(adjtimex=lambda: reading), MdadmCollector(proc), TextfileCollector(errors, textfiles)]
    registry = CollectorRegistry()
    registry.register(AgentCollector(collectors, errors))
    text = generate_latest(registry).decode()
    assert "node_md_state{" in text or layout == "empty.txt"
    checked = _promtool(text)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert errors.counts() == {}
