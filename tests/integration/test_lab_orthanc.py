"""The lab's Orthanc against Debian's real Orthanc 1.10: a C-ECHO and its REST API through the
forwarders, its password required, its sample studies counted, nothing of it listening outside
its own network namespace, and ``lab down`` leaving nothing behind.

Tests that stop Orthanc run one of their own (``TEST_SMALL_LAB_PREFIX``) in a lab directory of
their own, so the session lab stays intact.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

import lab as lab_api
from lab.orthanc.dicom import DicomError, c_echo, rest_get
from lab.orthanc.peer import OrthancPeer, orthanc_peer
from lab.peer import wait_ready
from lab.publish import PublishedService
from opsctl.core.secrets import SecretRef
from opsctl.core.settings import Settings

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

SMALL_LAB_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")


def _pacs(lab: RunningLab) -> PublishedService:
    pacs = lab.publication.service("pacs")
    assert pacs is not None, "the lab publishes no PACS"
    return pacs


def _get(url: str, *, user: str | None = None, password: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if user is not None:
        import base64

        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_orthanc_answers_c_echo_and_its_rest_api_only_with_its_password(lab: RunningLab) -> None:
    pacs = _pacs(lab).to_dict()
    password = SecretRef.parse(pacs["password"]).resolve()
    dicom = pacs["dicom"]
    assert (dicom["host"], dicom["port"]) == (f"{lab.prefix}.60.1", 14242)

    c_echo(dicom["host"], dicom["port"], called_aet=dicom["aet"], calling_aet="TEST_SCU", timeout=10)

    status, body = _get(f"{pacs['rest_url']}/system", user=pacs["user"], password=password)
    assert status == 200
    system = json.loads(body)
    assert system["DicomAet"] == dicom["aet"] and system["Version"].startswith("1.10")
    assert _get(f"{pacs['rest_url']}/system")[0] == 401
    assert _get(f"{pacs['rest_url']}/system", user=pacs["user"], password="wrong")[0] == 401
    assert _get(f"{pacs['rest_url']}/statistics", user="admin", password=password)[0] == 401


def test_the_sample_studies_are_loaded_and_counted(lab: RunningLab) -> None:
    pacs = _pacs(lab).to_dict()
    password = SecretRef.parse(pacs["password"]).resolve()
    statistics = rest_get(pacs["rest_url"], "/statistics", user=pacs["user"], password=password,
                          timeout=10)  # fmt: skip
    studies: list[dict[str, Any]] = rest_get(
        pacs["rest_url"], "/studies?expand", user=pacs["user"], password=password, timeout=10
    )

    assert pacs["samples_at_load"] == {"studies": 3, "series": 4, "instances": 4}
    assert statistics["CountStudies"] >= 3 and statistics["CountInstances"] >= 4
    samples = json.loads((Path(pacs["storage_dir"]).parent / "samples.json").read_text())
    loaded = {study["MainDicomTags"]["StudyInstanceUID"] for study in studies}
    assert {entry["study"] for entry in samples["loaded"]} <= loaded
    (status,) = [peer for peer in lab_api.status(lab.settings) if peer.kind == "orthanc"]
    assert status.answering, status.detail
    assert f"{statistics['CountStudies']} studies, {statistics['CountInstances']} instances" in status.detail
    assert "C-ECHO and REST answered" in status.detail


def _machine_listeners() -> dict[str, int | None]:
    """Every listening TCP endpoint of the machine's namespace and the pid behind it."""
    return {
        f"{connection.laddr.ip}:{connection.laddr.port}": connection.pid
        for connection in psutil.net_connections(kind="tcp")
        if connection.status == psutil.CONN_LISTEN
    }


def _peer(lab: RunningLab) -> OrthancPeer:
    return orthanc_peer(lab_api.LabLayout(lab.lab_dir.absolute()), lab.prefix)


def test_nothing_of_orthanc_listens_outside_its_namespace_but_the_forwarders(lab: RunningLab) -> None:
    peer = _peer(lab)
    pid = peer.running_pid()
    assert pid is not None
    ns = Path(f"/proc/{pid}/ns/net")
    assert os.readlink(ns) != os.readlink("/proc/self/ns/net")

    listeners = _machine_listeners()
    ours = {endpoint for endpoint in listeners if endpoint.endswith((":18042", ":14242"))}
    assert {f"{lab.prefix}.60.1:18042", f"{lab.prefix}.60.1:14242"} <= ours
    forwarders = {handle.pid for handle in peer.forwarders()}
    assert {listeners[f"{lab.prefix}.60.1:{port}"] for port in (18042, 14242)} == forwarders
    assert pid not in set(listeners.values())  # Orthanc itself listens on the machine nowhere
    for endpoint in ours:
        assert endpoint.startswith("127."), f"{endpoint} is not loopback"
    inside = subprocess.run(("nsenter", f"--net={ns}", "ip", "-o", "link"), capture_output=True,
                            text=True, check=True).stdout  # fmt: skip
    assert [line.split(":")[1].strip() for line in inside.splitlines()] == ["lo"]


@pytest.fixture
def own_orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, OrthancPeer]]:
    """An Orthanc peer alone in a lab directory of its own (the small lab's prefix), downed after."""
    settings = Settings(
        state={"dir": tmp_path_factory.mktemp("orthanc-lab")}, lab={"prefix": SMALL_LAB_PREFIX}
    )
    peer = orthanc_peer(lab_api.LabLayout(lab_api.lab_dir(settings).absolute()), SMALL_LAB_PREFIX)
    try:
        yield settings, peer
    finally:
        lab_api.down(settings)


def _start(peer: OrthancPeer) -> None:
    peer.prepare()
    peer.start()
    answer = wait_ready(peer, wait_seconds=60)
    assert answer.ok, peer.failure(answer.detail).describe()


def _holders_of(namespace: str) -> list[str]:
    holders = []
    for path in Path("/proc").glob("[0-9]*/ns/net"):
        try:
            if os.readlink(path) == namespace:
                holders.append(str(path))
        except OSError:
            continue
    return holders


def test_lab_down_leaves_nothing_behind(own_orthanc: tuple[Settings, OrthancPeer]) -> None:
    settings, peer = own_orthanc
    _start(peer)
    pid = peer.running_pid()
    assert pid is not None
    namespace = os.readlink(f"/proc/{pid}/ns/net")
    forwarders = peer.forwarders()
    assert len(forwarders) == 2 and all(handle.running() for handle in forwarders)

    assert lab_api.down(settings) == ["lab-orthanc"]

    assert peer.running_pid() is None and not peer.pid_path.exists()
    assert not any(handle.running() for handle in forwarders)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
                   for p in (pid, *(handle.pid for handle in forwarders)))  # fmt: skip
    assert [endpoint for endpoint in _machine_listeners()
            if endpoint.startswith(f"{SMALL_LAB_PREFIX}.60.")] == []  # fmt: skip
    assert _holders_of(namespace) == []  # the namespace is gone with its last process
    marker = str(peer.config_dir).encode()
    assert [process.pid for process in psutil.process_iter(["cmdline"])
            if marker in "\0".join(process.info["cmdline"] or []).encode()] == []  # fmt: skip


def test_the_published_stop_and_start_commands_keep_the_studies(
    own_orthanc: tuple[Settings, OrthancPeer],
) -> None:
    _, peer = own_orthanc
    _start(peer)
    (service,) = peer.published_services()
    details = service.to_dict()
    password = SecretRef.parse(details["password"]).resolve()
    before = rest_get(details["rest_url"], "/statistics", user=details["user"], password=password,
                      timeout=10)  # fmt: skip

    stopped = subprocess.run(details["stop_command"], capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert peer.running_pid() is None
    with pytest.raises(DicomError):
        rest_get(details["rest_url"], "/system", user=details["user"], password=password, timeout=3)

    started = subprocess.run(details["start_command"], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    assert "C-ECHO and REST answered" in started.stdout
    after = rest_get(details["rest_url"], "/statistics", user=details["user"], password=password,
                     timeout=10)  # fmt: skip
    assert (after["CountStudies"], after["CountInstances"]) == (
        before["CountStudies"], before["CountInstances"],
    ) == (3, 4)  # fmt: skip
    assert sys.executable == details["start_command"][0]


def test_after_orthanc_is_killed_the_start_command_brings_it_back_with_its_studies(
    own_orthanc: tuple[Settings, OrthancPeer],
) -> None:
    _, peer = own_orthanc
    _start(peer)
    pid, forwarders = peer.running_pid(), peer.forwarders()
    assert pid is not None

    os.kill(pid, 9)  # a crash, or opsctl killed in the middle of a backup hook
    for _ in range(200):  # the kill is delivered asynchronously: wait until it is gone
        if peer.running_pid() is None:
            break
        time.sleep(0.05)
    status = peer.status(check=True, timeout=3)
    assert not status.answering and not status.running

    (service,) = peer.published_services()
    started = subprocess.run(service.to_dict()["start_command"], capture_output=True, text=True,
                             timeout=120)  # fmt: skip
    assert started.returncode == 0, started.stderr
    assert "3 studies, 4 instances" in started.stdout  # the storage kept them; none loaded twice
    assert not any(handle.running() for handle in forwarders)  # the old forwarders were stopped
    new_pid = peer.running_pid()
    assert new_pid not in (None, pid)
    # a namespace of its own again (the kernel may give it the freed one's number)
    assert os.readlink(f"/proc/{new_pid}/ns/net") != os.readlink("/proc/self/ns/net")
