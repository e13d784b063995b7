"""The lab against real sshd processes: logins, idempotence, status, failures and cleanup.

Tests that break peers use their own small lab on another prefix
(``TEST_SMALL_LAB_PREFIX``, default 127.4) so the session lab stays intact.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
from ruamel.yaml import YAML

import lab as lab_api
from lab import LabPublication, PeerStartError, PublishedHost
from opsctl.core.settings import Settings

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

SMALL_LAB_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")


def _askpass(publication: LabPublication, directory: Path) -> Path:
    script = directory / "askpass"
    script.write_text(f"#!/bin/sh\nexec cat '{publication.passphrase_path}'\n", encoding="utf-8")
    script.chmod(0o700)
    return script


def _ssh(
    publication: LabPublication,
    host: PublishedHost,
    command: str,
    directory: Path,
    *,
    known_hosts: Path | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Log in as the published user with the published key and known_hosts, run ``command``."""
    environment = {key: value for key, value in os.environ.items() if key != "SSH_AUTH_SOCK"}
    environment.update(
        SSH_ASKPASS=str(_askpass(publication, directory)), SSH_ASKPASS_REQUIRE="force"
    )
    argv = (
        "ssh", "-F", "/dev/null", "-T",
        "-o", f"UserKnownHostsFile={known_hosts or publication.known_hosts_path}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "BatchMode=no",
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", "ConnectTimeout=5",
        "-i", str(publication.key_path),
        "-p", str(host.port), "-l", publication.user, host.address, command,
    )  # fmt: skip
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=environment, timeout=30, check=False
    )


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _pids(settings: Settings) -> dict[str, int | None]:
    return {peer.name: peer.pid for peer in lab_api.status(settings)}


# --- the session lab -------------------------------------------------------------------


def test_each_host_answers_hostname_with_its_own_name(lab: RunningLab, tmp_path: Path) -> None:
    assert [host.name for host in lab.publication.hosts] == [f"lab-ssh-0{n}" for n in range(1, 6)]
    for host in lab.publication.hosts:
        result = _ssh(lab.publication, host, "hostname", tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == host.name


def test_client_key_is_protected_by_its_passphrase(lab: RunningLab) -> None:
    result = subprocess.run(
        ("ssh-keygen", "-y", "-P", "", "-f", str(lab.publication.key_path)),
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    for secret in (lab.publication.passphrase_path, lab.publication.sudo_password_path):
        assert secret.stat().st_mode & 0o777 == 0o600


def test_sudo_needs_the_published_password(lab: RunningLab, tmp_path: Path) -> None:
    host = lab.publication.hosts[0]
    without = _ssh(lab.publication, host, "sudo -n true", tmp_path)
    assert without.returncode != 0
    password = lab.publication.sudo_password_path.read_text(encoding="utf-8")
    with_password = _ssh(
        lab.publication, host, "sudo -S -p '' id -u", tmp_path, stdin=password + "\n"
    )
    assert with_password.returncode == 0, with_password.stderr
    assert with_password.stdout.strip() == "0"
    assert "unable to resolve host" not in with_password.stderr  # each host resolves its own name


def test_second_up_leaves_running_hosts_alone(lab: RunningLab) -> None:
    before = _pids(lab.settings)
    state = lab_api.up(lab.settings)
    assert state.started == ()
    assert set(state.kept) == set(before)
    assert _pids(lab.settings) == before
    assert lab_api.published(lab.settings).fingerprints == lab.publication.fingerprints


def test_status_shows_every_host_answering(lab: RunningLab) -> None:
    statuses = [peer for peer in lab_api.status(lab.settings) if peer.kind == "ssh"]
    assert [peer.name for peer in statuses] == [host.name for host in lab.publication.hosts]
    assert all(peer.answering and peer.running and peer.pid for peer in statuses), statuses
    assert statuses[0].endpoint == f"{lab.prefix}.10.1:2222"


def test_cli_status_json_reports_every_host(lab_env: dict[str, str]) -> None:
    opsctl = Path(sys.executable).with_name("opsctl")
    result = subprocess.run(
        (str(opsctl), "lab", "status", "--json"),
        env=lab_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["schema"] == "opsctl.lab.status/v1"
    assert [peer["answering"] for peer in document["peers"] if peer["kind"] == "ssh"] == [True] * 5
    assert document["answering"] is True


def test_fingerprints_and_known_hosts_match_ssh_keyscan(lab: RunningLab, tmp_path: Path) -> None:
    # each published line files a key under the host's name and its address: one line per name here
    published_lines = {
        f"{name} {rest}"
        for line in lab.publication.known_hosts_path.read_text(encoding="utf-8").splitlines()
        for names, rest in [line.split(" ", 1)] for name in names.split(",")
    }
    on_disk = json.loads(lab.publication.fingerprints_path.read_text(encoding="utf-8"))
    for host in lab.publication.hosts:
        scan = subprocess.run(
            ("ssh-keyscan", "-p", str(host.port), "-t", "ed25519,ecdsa", host.address),
            capture_output=True, text=True, timeout=30, check=True,
        )  # fmt: skip
        scanned = [line for line in scan.stdout.splitlines() if line and not line.startswith("#")]
        assert len(scanned) == 2
        assert set(scanned) <= published_lines
        assert {line.replace(f"[{host.address}]:", f"[{host.name}]:", 1) for line in scanned} <= published_lines
        keys = tmp_path / f"{host.name}.keys"
        keys.write_text(scan.stdout, encoding="utf-8")
        listing = subprocess.run(
            ("ssh-keygen", "-lf", str(keys)), capture_output=True, text=True, check=True
        )
        fingerprints = {line.split()[1] for line in listing.stdout.splitlines()}
        assert fingerprints == set(on_disk[host.name]["fingerprints"]) == set(host.fingerprints)
        assert on_disk[host.name]["address"] == host.address


def test_inventory_lists_the_hosts_and_only_refers_to_secrets(lab: RunningLab) -> None:
    inventory = YAML(typ="safe", pure=True).load(lab.publication.inventory_path)
    group = inventory["all"]["children"]["ssh_hosts"]
    assert {name: entry["ansible_host"] for name, entry in group["hosts"].items()} == {
        host.name: host.address for host in lab.publication.hosts
    }
    assert group["vars"]["ansible_become_password"] == f"file:{lab.publication.sudo_password_path}"
    assert group["vars"]["opsctl_ssh_key_passphrase"] == f"file:{lab.publication.passphrase_path}"
    secrets = [
        path.read_text(encoding="utf-8")
        for path in (lab.publication.passphrase_path, lab.publication.sudo_password_path)
    ]
    for path in lab.lab_dir.glob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not any(secret in text for secret in secrets), path
    config = YAML(typ="safe", pure=True).load(lab.publication.config_path)
    assert Settings.model_validate(config).inventory == lab.publication.inventory_path


def test_extra_host_keeps_its_key_or_takes_a_fresh_or_given_one(
    lab: RunningLab, tmp_path: Path
) -> None:
    address = f"{lab.prefix}.11.1"
    started: list[lab_api.RunningPeer] = []
    try:
        first = lab_api.start_ssh_host(lab.settings, "changing-key", address, fresh_host_key=True)
        started.append(first)
        restarted = lab_api.start_ssh_host(lab.settings, "changing-key", address)
        started.append(restarted)
        assert _gone(first.pid)
        assert restarted.fingerprint == first.fingerprint
        changed = lab_api.start_ssh_host(lab.settings, "changing-key", address, fresh_host_key=True)
        started.append(changed)
        assert changed.fingerprint != first.fingerprint
        host = PublishedHost("changing-key", address, changed.port, (changed.fingerprint,))
        old_known_hosts = tmp_path / "old_known_hosts"
        old_known_hosts.write_text(first.known_hosts_line + "\n", encoding="utf-8")
        refused = _ssh(lab.publication, host, "hostname", tmp_path, known_hosts=old_known_hosts)
        assert refused.returncode != 0
        assert "HOST IDENTIFICATION HAS CHANGED" in refused.stderr
        # a host presenting lab-ssh-01's own key (an impostor, or a host that moved)
        lab_ssh_01_key = lab.lab_dir / "peers" / "lab-ssh-01" / "ssh_host_ed25519_key"
        impostor = lab_api.start_ssh_host(
            lab.settings, "changing-key", address, host_key=lab_ssh_01_key
        )
        started.append(impostor)
        assert impostor.fingerprint == lab.publication.fingerprints["lab-ssh-01"][0]
        assert impostor.ready().ok
        # extra hosts are the test's own: the lab's status does not list them
        statuses = [peer for peer in lab_api.status(lab.settings) if peer.kind == "ssh"]
        assert [peer.name for peer in statuses] == [h.name for h in lab.publication.hosts]
        assert impostor.stop()
        assert not impostor.ready(timeout=2).ok
    finally:
        for peer in started:
            peer.stop()


# --- a small lab of our own, for the tests that break it -------------------------------


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = Settings(
        state={"dir": tmp_path_factory.mktemp("small-lab")},
        lab={"prefix": SMALL_LAB_PREFIX, "ssh_hosts": 2, "object_store": False},
    )
    try:
        yield settings
    finally:
        lab_api.down(settings)


def test_killed_sshd_is_not_answering_and_up_restarts_it(small_lab: Settings) -> None:
    lab_api.up(small_lab)
    pids = _pids(small_lab)
    victim = pids["lab-ssh-02"]
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    statuses = {peer.name: peer for peer in lab_api.status(small_lab)}
    assert not statuses["lab-ssh-02"].answering
    assert not statuses["lab-ssh-02"].running
    assert statuses["lab-ssh-01"].answering
    state = lab_api.up(small_lab)
    assert state.started == ("lab-ssh-02",)
    assert [name for name in state.kept if name.startswith("lab-ssh-")] == ["lab-ssh-01"]
    after = _pids(small_lab)
    assert after["lab-ssh-01"] == pids["lab-ssh-01"]
    assert after["lab-ssh-02"] not in (None, victim)
    assert all(peer.answering for peer in lab_api.status(small_lab))


def test_peer_that_cannot_bind_is_named_with_its_log_tail(small_lab: Settings) -> None:
    lab_api.down(small_lab)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        squatter.bind((f"{SMALL_LAB_PREFIX}.10.2", 2222))
        squatter.listen()
        with pytest.raises(PeerStartError) as caught:
            lab_api.up(small_lab)
    finally:
        squatter.close()
    assert [failure.name for failure in caught.value.failures] == ["lab-ssh-02"]
    assert "Address already in use" in caught.value.failures[0].log_tail
    assert "lab-ssh-02" in str(caught.value) and "Address already in use" in str(caught.value)
    assert [peer.name for peer in lab_api.status(small_lab) if peer.kind == "ssh"] == ["lab-ssh-01"]
    state = lab_api.up(small_lab)
    # the monitoring daemon, stopped by the down above, starts after the others answer
    assert state.started == ("lab-ssh-02", "lab-monitor")


def test_up_with_fewer_hosts_stops_the_extras(small_lab: Settings) -> None:
    lab_api.up(small_lab)
    extra_pid = _pids(small_lab)["lab-ssh-02"]
    state = lab_api.up(small_lab, ssh_hosts=1)
    assert state.stopped == ("lab-ssh-02",)
    assert extra_pid is not None and _gone(extra_pid)
    assert [host.name for host in state.publication.hosts] == ["lab-ssh-01"]
    assert lab_api.up(small_lab).started == ("lab-ssh-02",)


def test_down_stops_exactly_what_was_started(small_lab: Settings) -> None:
    fingerprints = lab_api.up(small_lab).publication.fingerprints
    pids = _pids(small_lab)
    assert sorted(lab_api.down(small_lab)) == sorted(pids)
    assert all(pid is not None and _gone(pid) for pid in pids.values())
    assert lab_api.status(small_lab) == []
    # a pid file that now names somebody else's process: down must leave that process alone
    stranger = subprocess.Popen((sys.executable, "-c", "import time; time.sleep(60)"))
    try:
        pid_file = lab_api.lab_dir(small_lab) / "peers" / "lab-ssh-01" / "peer.pid"
        pid_file.write_text(f"{stranger.pid}\n", encoding="utf-8")
        assert lab_api.down(small_lab) == []
        assert stranger.poll() is None
        assert not pid_file.exists()
    finally:
        stranger.kill()
        stranger.wait()
    assert lab_api.up(small_lab).publication.fingerprints == fingerprints
