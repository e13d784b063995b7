"""The monitoring daemon as a lab peer: ``lab up`` starts ``opsctl monitor serve`` with the lab's
configuration, ``opsctl health`` with that configuration reads it, a flip of the lab's UPS shows
through it within its interval, and a second ``lab up`` keeps it. A daemon of this module's own
(on ``TEST_SMALL_LAB_PREFIX``) shows that a host marked ``opsctl_agent: true`` after the daemon
started is probed without a restart, against a real ``opsctl-agent``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import lab as lab_api
from lab.nut.peer import set_ups_state
from tests.integration.conftest import LAB_PREFIX, RunningLab
from tests.integration.fleetcli import Cli

pytestmark = pytest.mark.integration

SMALL_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")


def _until(check: Callable[[], Any], seconds: float, what: str) -> Any:
    """``check()`` again until it gives something true, for at most ``seconds``; fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s")
        time.sleep(0.25)


def _health(cli: Cli, config: Path, *args: str) -> dict[str, Any]:
    code, document = cli.json("-c", str(config), "health", *args)
    assert code == 0, document
    return document


@pytest.fixture
def cli(lab: RunningLab, tmp_path: Path) -> Cli:
    return Cli.create(tmp_path, lab.publication.inventory_path)


def test_lab_up_starts_the_daemon_and_health_reads_it(lab: RunningLab, cli: Cli) -> None:
    monitor = next(peer for peer in lab.state.peers if peer.kind == "monitor")
    assert (monitor.name, monitor.endpoint, monitor.answering) == ("lab-monitor", f"{LAB_PREFIX}.90.1:19102", True)
    section = YAML(typ="safe").load(lab.publication.config_path.read_text())["monitoring"]
    endpoint = f"http://{LAB_PREFIX}.90.1:19102"
    assert (section["listen"], section["endpoint"]) == (f"{LAB_PREFIX}.90.1:19102", endpoint)

    document = _health(cli, lab.publication.config_path)

    assert document["origin"] == endpoint
    ups = next(reading for reading in document["readings"] if reading["target"] == "lab-ups@lab-nut")
    assert ups["kind"] == "ups" and ups["since"] is not None
    table = cli("-c", str(lab.publication.config_path), "health")
    assert f"health ({endpoint}," in table.stdout, table.stdout + table.stderr


def test_a_ups_flip_shows_in_health_through_the_daemon(lab: RunningLab, cli: Cli) -> None:
    config = lab.publication.config_path

    def ups_reading() -> dict[str, Any]:
        readings = _health(cli, config, "lab-ups@*")["readings"]
        return dict(readings[0])

    try:
        set_ups_state(lab.settings, "on-battery")
        on_battery = _until(lambda: (r := ups_reading())["state"] == "warning" and r, 15, "OB in health")
        assert on_battery["summary"].startswith("OB")
        set_ups_state(lab.settings, "online")
        online = _until(lambda: (r := ups_reading())["state"] == "ok" and r, 15, "OL in health")
        assert online["summary"].startswith("OL")
    finally:
        set_ups_state(lab.settings, "online")


def test_a_second_lab_up_keeps_the_running_daemon(lab: RunningLab) -> None:
    before = next(peer for peer in lab_api.status(lab.settings) if peer.kind == "monitor")

    state = lab_api.up(lab.settings)

    assert "lab-monitor" in state.kept and "lab-monitor" not in state.started
    after = next(peer for peer in state.peers if peer.kind == "monitor")
    assert after.pid == before.pid and after.answering


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[str]:
    """A real ``opsctl-agent`` on ``SMALL_PREFIX.91.2:19101`` (away from the small labs' hosts); its address:port."""
    listen = f"{SMALL_PREFIX}.91.2:19101"
    process = subprocess.Popen([str(Path(sys.executable).with_name("opsctl-agent")), "--listen", listen,
                                "--textfile-dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _until(lambda: _answers(f"http://{listen}/metrics"), 20, "the agent answering")
        yield listen
    finally:
        process.terminate()
        process.wait(10)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _readings(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/readings", timeout=5) as response:
        return dict(json.load(response))


def test_the_daemon_probes_an_agent_marked_in_the_inventory_after_it_started(agent: str, tmp_path: Path) -> None:
    address, _, port = agent.partition(":")
    inventory = tmp_path / "inventory.yaml"

    def write_inventory(runs_agent: bool) -> None:
        variables = {"ansible_host": address, "opsctl_agent_port": int(port),
                     **({"opsctl_agent": True} if runs_agent else {})}
        inventory.write_text(json.dumps({"all": {"hosts": {"server-1": variables}}}))

    write_inventory(False)
    listen = f"{SMALL_PREFIX}.91.1:19102"
    config = tmp_path / "opsctl.yaml"
    config.write_text(json.dumps({"inventory": str(inventory), "monitoring": {
        "listen": listen, "reload_seconds": 1, "probe_interval_seconds": 1}}))
    cli = Cli.create(tmp_path, inventory)
    daemon = cli.popen("-c", str(config), "monitor", "serve")
    try:
        url = f"http://{listen}"
        first = _until(lambda: _answers(f"{url}/metrics") and _readings(url), 20, "the daemon answering")
        assert first["readings"] == []

        write_inventory(True)
        # its CPU share needs two scrapes of the agent: the first probed reading may have none yet
        reading = _until(lambda: next((r for r in _readings(url)["readings"]
                                       if r["target"] == "server-1"
                                       and "opsctl_probe_agent_cpu_busy_ratio" in r.get("values", {})), None),
                         15, "server-1's agent probed twice")
    finally:
        daemon.terminate()
        _, stderr = daemon.communicate(timeout=15)
    # the server's reading from the agent's own families: CPU between two scrapes, memory, fullest filesystem, RAID.
    # An agent that serves no filesystem (it served none in a freshly debootstrapped chroot) makes the reading
    # say so rather than leave it out.
    with urllib.request.urlopen(f"http://{agent}/metrics", timeout=5) as response:
        filesystems = "\nnode_filesystem_size_bytes{" in response.read().decode()
    assert reading["kind"] == "agent" and reading["state"] in ("ok", "warning", "critical"), reading
    disk = r"/\S* \d+%.*" if filesystems else "no filesystem reported"
    assert re.match(rf"CPU \d+%, load [\d.]+/CPU, memory \d+%, {disk}, no md RAID", reading["summary"]), reading
    assert {"opsctl_probe_agent_cpu_busy_ratio", "opsctl_probe_agent_memory_used_ratio",
            "opsctl_probe_agent_md_arrays"} <= set(reading["values"])
    assert ("opsctl_probe_agent_fullest_filesystem_used_ratio" in reading["values"]) == filesystems
    assert '"event": "reloaded", "started": ["server-1"]' in stderr
