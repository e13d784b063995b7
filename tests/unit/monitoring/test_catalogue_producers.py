"""The one metric catalogue against what opsctl's producers really expose.

(a) A real ``opsctl-agent`` process on the recorded /proc tree, serving the backup and drill
textfiles ``backup/metrics.py`` writes, and the ``monitor serve`` daemon's own registry expose
only catalogued families, each with its catalogued type and labels. (The poller's exposition is
checked the same way in test_poller_exposition.py, ``monitor once`` against the lab in
tests/integration/test_catalogue_lab.py.)

(b) No dead entries: every family the catalogue gives the agent, the daemon or the textfiles is
exposed by them here (the agent over every recorded mdstat layout, a filling filesystem and a
textfile directory); every poller and probe family is named by its producer (a metric profile,
the poller's or NUT's code, a probe module), since those need live devices and services; ``up``
is Prometheus's own. And the README's catalogue table is :func:`markdown_table`'s.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from agents.base import AgentCollector, ErrorCounter
from agents.collectors import FilesystemCollector
from agents.config import AgentConfig
from agents.daemon import build_collectors
from agents.daemon import build_registry as agent_registry
from backup.metrics import DrillMetrics, PolicyMetrics, write_drill_metrics, write_policy_metrics
from monitoring.catalogue import (
    FAMILIES,
    PRODUCERS,
    exposed_families,
    families_of,
    markdown_table,
    mismatches,
)
from monitoring.daemon import SourceRunner, build_registry
from monitoring.sources import Reading

ROOT = Path(__file__).resolve().parents[3]
AGENT_FIXTURES = ROOT / "tests" / "fixtures" / "agent"
PROC = AGENT_FIXTURES / "debian12-vm" / "proc"
LAYOUTS = sorted((AGENT_FIXTURES / "mdstat").glob("*.txt"))


def write_textfiles(directory: Path) -> None:
    """A backup and a drill textfile with every gauge ``backup/metrics.py`` can write, and a broken file."""
    now = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    write_policy_metrics(directory, PolicyMetrics(
        "his", now, True, run_duration_seconds=12.5, added_bytes=4096, files=60, last_success=now,
        repository="local", latest_snapshot=now - timedelta(minutes=1), rpo_seconds=86400, last_check_ok=True,
        pacs_downtime_seconds=3.0, offsite_repository="offsite", offsite_latest_snapshot=now - timedelta(hours=1),
        offsite_last_success=now, offsite_last_copy=now, offsite_last_copy_ok=True))
    write_drill_metrics(directory, DrillMetrics("his", now, True, last_success=now, rto_seconds=5.2, rpo_seconds=18))
    (directory / "broken.prom").write_text("broken{ 1\n")


def _listening(process: subprocess.Popen[str], seconds: float = 15.0) -> str:
    """The address the agent says it listens on (its first JSON log line); fail if it does not say so in time."""
    assert process.stderr is not None
    ready, _, _ = select.select([process.stderr], [], [], seconds)
    assert ready, f"the agent logged nothing within {seconds:g} s"
    line = process.stderr.readline()
    assert line, f"the agent exited with {process.wait(timeout=10)} before listening"
    event = json.loads(line)
    assert event["event"] == "listening", event
    return str(event["address"])


@pytest.fixture
def recorded_agent(tmp_path: Path) -> Iterator[str]:
    """``opsctl-agent`` as a real process on the recorded /proc (a recovering RAID 5) and a textfile
    directory the backups wrote; its /metrics URL."""
    proc = tmp_path / "proc"
    shutil.copytree(PROC, proc)
    shutil.copy(AGENT_FIXTURES / "mdstat" / "raid5-recovering.txt", proc / "mdstat")
    textfiles = tmp_path / "textfile"
    write_textfiles(textfiles)
    with socket.socket() as probe:  # a free port for it
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "agents.daemon", "--listen", f"127.0.0.1:{port}", "--proc-root", str(proc),
         "--textfile-dir", str(textfiles)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        yield f"http://{_listening(process)}/metrics"
    finally:
        process.kill()
        process.wait(timeout=10)


def test_a_running_agent_and_the_textfiles_it_serves_expose_only_catalogued_families(recorded_agent: str) -> None:
    with urllib.request.urlopen(recorded_agent, timeout=10) as response:
        families = exposed_families(response.read().decode())
    backup = {name: value for name, value in families.items() if name.startswith(("opsctl_backup_", "opsctl_drill_"))}
    agent = {name: value for name, value in families.items() if name not in backup}
    assert mismatches(agent, {"agent"}) == []
    assert mismatches(backup, {"backup"}) == []
    assert {"node_md_state", "opsctl_agent_md_sync_progress_ratio", "opsctl_agent_textfile_errors"} <= set(agent)
    assert {entry.name for entry in families_of("backup")} == set(backup)  # every textfile family, none other


class _Quiet:
    """A source with one pass and no families: the daemon's own health is what is checked."""

    name = "quiet"
    interval_seconds = 60.0

    def collect(self) -> list[object]:
        return []

    def readings(self) -> list[Reading]:
        return []


def test_the_daemons_own_families_are_catalogued() -> None:
    runner = SourceRunner(_Quiet(), threading.Event(), log=lambda *_args, **_fields: None)  # type: ignore[arg-type]
    runner.run_once()
    families = exposed_families(generate_latest(build_registry([runner])).decode())
    assert mismatches(families, {"monitor"}) == []
    assert set(families) == {entry.name for entry in families_of("monitor")}


def _agent_families_over_every_layout(tmp_path: Path) -> set[str]:
    """The families the agent's own collectors and registry give on the recorded tree under every
    mdstat layout, with a filesystem filling between two scrapes and a textfile directory."""
    seen: set[str] = set()
    textfiles = tmp_path / "textfile"
    write_textfiles(textfiles)
    now = [0.0]  # a minute passes between scrapes, and every filesystem loses a hundred blocks

    def statvfs(_path: str) -> os.statvfs_result:
        return os.statvfs_result((4096, 4096, 2000, 900 - int(now[0] / 60) * 100, 800, 100, 50, 50, 0, 255))

    for layout in LAYOUTS:
        proc = tmp_path / layout.stem / "proc"
        shutil.copytree(PROC, proc)
        shutil.copy(layout, proc / "mdstat")
        now[0] = 0.0
        errors = ErrorCounter()
        config = AgentConfig(proc_root=str(proc), textfile_dir=str(textfiles))
        collectors = [FilesystemCollector(errors, proc, statvfs=statvfs, clock=lambda: now[0])
                      if collector.name == "filesystem" else collector for collector in build_collectors(config, errors)]
        registry = CollectorRegistry()
        registry.register(AgentCollector(collectors, errors))
        for _ in range(2):
            seen |= set(exposed_families(generate_latest(registry).decode()))
            now[0] += 60.0
        seen |= set(exposed_families(generate_latest(agent_registry(config)).decode()))  # the process, the version
    return seen


def _named_by(paths: list[Path]) -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in paths)


def test_every_catalogued_family_has_a_producer(tmp_path: Path) -> None:
    assert set(PRODUCERS) == {producer for entry in FAMILIES.values() for producer in entry.producers}
    agent = _agent_families_over_every_layout(tmp_path)
    assert {entry.name for entry in families_of("agent")} - agent == set()
    assert {entry.name for entry in families_of("backup")} - agent == set()  # served through the textfile collector
    poller_code = _named_by([*sorted((ROOT / "monitoring" / "profiles").glob("*.yaml")),
                             *sorted((ROOT / "monitoring" / "poller").glob("*.py")), ROOT / "monitoring" / "nut.py"])
    assert [entry.name for entry in families_of("poller") if entry.name not in poller_code] == []
    probe_code = _named_by([*sorted((ROOT / "monitoring").glob("probes_*.py")), ROOT / "monitoring" / "sources.py"])
    assert [entry.name for entry in families_of("probes") if entry.name not in probe_code] == []
    assert [entry.name for entry in families_of("prometheus")] == ["up"]


def test_the_readme_table_is_the_catalogue() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, (
        "README.md's metric catalogue table differs from monitoring/catalogue.py: paste the output of "
        "`.venv/bin/python -c 'from monitoring.catalogue import markdown_table; print(markdown_table())'`")
