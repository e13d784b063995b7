"""``opsctl agent install`` and ``status`` against real OpenSSH hosts of a small lab of this module's own.

Two extra lab hosts (``start_ssh_host``: real sshd, the lab's login user and sudo password) on
``TEST_SMALL_LAB_PREFIX``, placed as the lab places its hosts' agents (``lab.agents``), in an
inventory written as ``opsctl lab up`` writes it. These hosts have no systemd as PID 1, so every
agent runs under its supervisor; ``lab down`` stops them.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agents.installer.status import ask_agent, wait_for_agent
from lab.layout import LabLayout
from lab.publish import HostKeys, inventory_document, render_yaml
from lab.runtime import down
from lab.ssh.host import RunningPeer, start_ssh_host
from lab.ssh.login_user import LOGIN_USER
from opsctl import __version__
from opsctl.core.recorder import AuditRecorder
from opsctl.core.settings import Settings
from opsctl.core.ssh import target_from_host
from opsctl.core.trust import trust_hosts
from tests.integration.fleetcli import Cli

pytestmark = pytest.mark.integration

PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")
NAMES = ("agent-host-1", "agent-host-2")
SEEN = datetime.datetime(2026, 12, 5, tzinfo=datetime.UTC)


@dataclass(frozen=True)
class AgentLab:
    settings: Settings
    layout: LabLayout
    hosts: tuple[RunningPeer, ...]
    inventory: Path
    cli: Cli

    def url(self, number: int) -> str:
        return f"http://{PREFIX}.10.{number}:{19100 + number}/metrics"

    def audit_entries(self, action: str) -> list[dict[str, Any]]:
        path = self.settings.state_dir / "audit.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [entry for entry in map(json.loads, lines) if entry.get("command") == action]


def _write_inventory(layout: LabLayout, hosts: tuple[RunningPeer, ...], path: Path, **extra: Any) -> None:
    document = inventory_document([HostKeys(h.name, h.address, h.port, (h.public_key,)) for h in hosts],
                                  user=LOGIN_USER, layout=layout)
    for name, variables in extra.items():
        document["all"]["children"]["ssh_hosts"]["hosts"][name].update(variables)
    path.write_text(render_yaml(document, header="the agent tests' lab"), encoding="utf-8")


@pytest.fixture(scope="module")
def agent_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AgentLab]:
    from inventory import load_inventory

    root = tmp_path_factory.mktemp("agent-lab")
    settings = Settings(inventory=root / "inventory.yaml", state={"dir": root / "state"},
                        lab={"prefix": PREFIX, "dir": root / "lab"}, ssh={"use_agent": False})
    layout = LabLayout((root / "lab").absolute())
    hosts: list[RunningPeer] = []
    try:
        for number, name in enumerate(NAMES, start=1):
            hosts.append(start_ssh_host(layout, name, f"{PREFIX}.10.{number}"))
        _write_inventory(layout, tuple(hosts), root / "inventory.yaml")
        recorder = AuditRecorder.for_settings(lambda: settings)
        try:
            targets = [target_from_host(h, settings.ssh) for h in load_inventory(root / "inventory.yaml").hosts.values()
                       if h.name in NAMES]
            trust_hosts(settings, targets, recorder=recorder,
                        expected={h.name: [h.fingerprint] for h in hosts})
        finally:
            recorder.close()
        cli = Cli.create(root, root / "inventory.yaml")
        cli.env["OPSCTL_LAB__DIR"] = str(layout.root)
        yield AgentLab(settings, layout, tuple(hosts), root / "inventory.yaml", cli)
    finally:
        down(settings)


def test_agent_install_starts_a_supervised_agent_on_each_host_and_marks_the_inventory(agent_lab: AgentLab) -> None:
    code, document = agent_lab.cli.json("agent", "install", "ssh_hosts")

    assert code == 0, [(h["host"], h["error"]) for h in document["hosts"]]
    assert document["schema"] == "opsctl.agent-install/v1"
    assert {h["host"]: h["outcome"] for h in document["hosts"]} == dict.fromkeys(NAMES, "changed")
    for host in document["hosts"]:
        steps = {step["name"]: step for step in host["steps"]}
        assert "supervised (no systemd as PID 1)" in steps["check"]["stdout"]
        assert "supervised: pid" in steps["install"]["stdout"]
    for number, name in enumerate(NAMES, start=1):
        answer = ask_agent(agent_lab.url(number), timeout=5)
        assert answer.answering and answer.version == __version__, answer
        root = agent_lab.layout.root / "agents" / name
        assert (root / "run" / "supervisor.pid").read_text().strip().isdigit()
        assert (root / "current" / "lib" / "agents" / "daemon.py").is_file()
        assert not (root / "current" / "lib" / "paramiko").exists()
        assert not (root / "current" / "lib" / "agents" / "installer").exists()
        assert "listening" in (root / "log" / "agent.log").read_text()
    code, exported = agent_lab.cli.json("inventory", "export", "prometheus-file-sd")
    targets = json.loads(exported["files"][""])
    assert [group["targets"] for group in targets] == [[f"{PREFIX}.10.1:19101"], [f"{PREFIX}.10.2:19102"]]
    entries = agent_lab.audit_entries("agent install")
    assert sorted(entry["targets"] for entry in entries) == [[name] for name in NAMES]  # one per changed host


def test_agent_install_a_second_time_changes_nothing(agent_lab: AgentLab) -> None:
    pids = [(agent_lab.layout.root / "agents" / name / "run" / "supervisor.pid").read_text() for name in NAMES]
    entries_before = len(agent_lab.audit_entries("agent install"))

    code, document = agent_lab.cli.json("agent", "install", "ssh_hosts")

    assert code == 0, document
    assert {h["host"]: h["outcome"] for h in document["hosts"]} == dict.fromkeys(NAMES, "ok")
    assert [(agent_lab.layout.root / "agents" / name / "run" / "supervisor.pid").read_text()
            for name in NAMES] == pids
    assert len(agent_lab.audit_entries("agent install")) == entries_before


def test_agent_status_shows_each_agents_version_and_that_it_answers(agent_lab: AgentLab) -> None:
    code, document = agent_lab.cli.json("agent", "status", "ssh_hosts")

    assert code == 0, document
    assert document["schema"] == "opsctl.agent-status/v1"
    assert [(a["host"], a["outcome"], a["version"]) for a in document["agents"]] == \
        [(name, "ok", __version__) for name in NAMES]
    assert all(a["series"] > 50 for a in document["agents"])
    table = agent_lab.cli("agent", "status", "ssh_hosts")
    assert table.returncode == 0
    assert all(name in table.stdout for name in NAMES) and "answers" in table.stdout


def test_agent_install_refuses_a_host_without_python_3_11(agent_lab: AgentLab, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    _write_inventory(agent_lab.layout, agent_lab.hosts, inventory,
                     **{NAMES[1]: {"ansible_python_interpreter": "/nonexistent/python3"}})
    cli = Cli(agent_lab.cli.state_dir, inventory, {**agent_lab.cli.env, "OPSCTL_INVENTORY": str(inventory)})

    done = cli("agent", "install", NAMES[1])

    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{NAMES[1]}: needs Python 3.11 or newer; /nonexistent/python3 was not found" in done.stderr
    assert not (tmp_path / "host_vars").exists()


def test_the_supervisor_restarts_an_agent_that_dies(agent_lab: AgentLab) -> None:
    root = agent_lab.layout.root / "agents" / NAMES[0]
    supervisor = int((root / "run" / "supervisor.pid").read_text())
    children = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True).stdout.split()
    assert len(children) == 1
    os.kill(int(children[0]), signal.SIGKILL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not ask_agent(agent_lab.url(1), timeout=1).reached:
        time.sleep(0.1)  # until the kill shows (the port closes), so the wait below sees the new agent

    answer = wait_for_agent(agent_lab.url(1), seconds=30)

    assert answer.answering, answer
    again = subprocess.run(["pgrep", "-P", str(supervisor)], capture_output=True, text=True).stdout.split()
    assert again and again != children
    assert '"event": "exited"' in (root / "log" / "agent.log").read_text()


def test_dmi_facts_over_ssh_leave_a_lab_host_without_a_manufacturer(agent_lab: AgentLab) -> None:
    from inventory import load_inventory
    from inventory.facts.gather import gather_facts
    from inventory.facts.linux import DmiInfo
    from inventory.scan_convert import device_from_facts
    from opsctl.core.ssh import open_pool

    host = load_inventory(agent_lab.inventory).get(NAMES[0])
    with open_pool(agent_lab.settings) as pool:
        facts = gather_facts(pool.connection(target_from_host(host, agent_lab.settings.ssh)), timeout=120)

    # the lab's hosts are this machine, which has no /sys/class/dmi/id
    assert facts.values["dmi"].value == DmiInfo(None, None, None, True)
    device = device_from_facts(host.name, host.address, facts, facts.collected_at or SEEN).device
    assert (device.manufacturer, device.model, device.serial) == (None, None, None)


def test_lab_down_stops_the_agents_it_started(agent_lab: AgentLab) -> None:
    pids = [int((agent_lab.layout.root / "agents" / name / "run" / "supervisor.pid").read_text()) for name in NAMES]

    stopped = down(agent_lab.settings)

    assert {f"agent@{name}" for name in NAMES} <= set(stopped)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not ask_agent(agent_lab.url(1), timeout=2).reached
    code, document = agent_lab.cli.json("agent", "status", "ssh_hosts")
    assert code == 4
    assert {a["outcome"] for a in document["agents"]} == {"unreachable"}
