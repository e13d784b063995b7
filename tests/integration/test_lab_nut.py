"""The lab's NUT peer: upsd with dummy-ups, its readiness, what the lab publishes of it, and its stop.

The session lab's peer is checked as a user finds it; a peer of its own, on
``TEST_SMALL_LAB_PREFIX``, is killed outright to show that its driver and upsd do not outlive it.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lab as lab_api
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.nut.peer import NUT, NutPeer
from lab.peer import wait_ready
from lab.settings import lab_dir
from monitoring.settings import MonitoringSettings
from opsctl.core.settings import Settings

pytestmark = pytest.mark.integration

_PID = re.compile(r"pid=(\d+)")


def _children(pid: int) -> list[int]:
    done = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False)
    return [int(word) for word in done.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _listening(pids: list[int]) -> list[str]:
    done = subprocess.run(["ss", "-H", "-l", "-n", "-p", "-t", "-u"], capture_output=True, text=True, check=True)
    return [line.split()[4] for line in done.stdout.splitlines() if set(_PID.findall(line)) & {str(p) for p in pids}]


def test_the_lab_publishes_its_ups_server_with_the_password_by_reference(lab: Any) -> None:
    statuses = {status.name: status for status in lab_api.status(lab.settings)}
    nut = statuses["lab-nut"]
    assert nut.answering and nut.detail.startswith("lab-ups: ups.status OL"), nut.detail
    service = lab.publication.service("ups")
    assert service is not None and service.kind == "nut"
    details = dict(service.details)
    assert (details["address"], details["port"], details["ups"]) == (f"{lab.prefix}.80.1", 13493, "lab-ups")
    password = Path(str(details["password"]).removeprefix("file:"))
    assert stat.S_IMODE(password.stat().st_mode) == 0o600 and len(password.read_text().strip()) >= 16
    users = lab.lab_dir / "peers" / "lab-nut" / "conf" / "upsd.users"
    assert stat.S_IMODE(users.stat().st_mode) == 0o600
    # the configuration the lab publishes is valid for opsctl's monitoring section
    import yaml

    document = yaml.safe_load(lab.publication.config_path.read_text())
    section = MonitoringSettings.model_validate(document["monitoring"])
    assert section.nut_servers[0].label == "lab-nut" and str(section.nut_servers[0].password) == details["password"]


def test_upsd_listens_on_the_lab_address_only(lab: Any) -> None:
    peer_dir = lab.lab_dir / "peers" / "lab-nut"
    supervisor = int((peer_dir / "peer.pid").read_text())
    sockets = _listening(_children(supervisor))
    assert sockets == [f"{lab.prefix}.80.1:13493"]


@pytest.fixture
def own_nut(tmp_path: Path) -> Iterator[tuple[Settings, NutPeer]]:
    prefix = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")
    settings = Settings(state={"dir": tmp_path}, lab={"prefix": prefix})
    context = LabContext(layout=LabLayout(lab_dir(settings).absolute()), prefix=prefix, ssh_hosts=1)
    (peer,) = NUT.desired_peers(context)
    assert isinstance(peer, NutPeer)
    try:
        yield settings, peer
    finally:
        lab_api.down(settings)


def test_a_killed_supervisor_takes_dummy_ups_and_upsd_with_it(own_nut: tuple[Settings, NutPeer]) -> None:
    _settings, peer = own_nut
    peer.layout.root.mkdir(parents=True, exist_ok=True)
    peer.prepare()
    supervisor = peer.start()
    answer = wait_ready(peer, wait_seconds=30)
    assert answer.ok, peer.failure(answer.detail).describe()
    children = _children(supervisor)
    assert len(children) == 2
    os.kill(supervisor, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children)


def test_lab_down_stops_both_programs(own_nut: tuple[Settings, NutPeer]) -> None:
    settings, peer = own_nut
    peer.layout.root.mkdir(parents=True, exist_ok=True)
    peer.prepare()
    supervisor = peer.start()
    assert wait_ready(peer, wait_seconds=30).ok
    children = _children(supervisor)
    assert lab_api.down(settings) == ["lab-nut"]
    assert not _alive(supervisor) and not any(_alive(pid) for pid in children)
