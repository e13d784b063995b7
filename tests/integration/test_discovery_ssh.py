"""SSH discovery against the lab's real sshd hosts (Linux facts) and fake Cisco switches (netmiko).

Host keys are enrolled first with the lab's published fingerprints; every connection then checks
them strictly, for paramiko (facts) and netmiko (switches) alike.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from inventory import Host, load_inventory
from inventory.facts import Disks, Kernel, gather_facts
from inventory.netcli import gather_switch, switch_target_from_host
from opsctl.core.errors import HostKeyUnknown
from opsctl.core.recorder import AuditRecorder
from opsctl.core.settings import Settings
from opsctl.core.ssh import SshPool, open_pool, target_from_host
from opsctl.core.trust import trust_hosts

pytestmark = pytest.mark.integration

SWITCH_GROUP = "switches"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _settings(lab: Any, state_dir: Path) -> Settings:
    return Settings(inventory=lab.publication.inventory_path, state={"dir": state_dir},
                    ssh={"use_agent": False, "connect_timeout": 15})


def _ssh_hosts(lab: Any) -> list[Host]:
    return load_inventory(lab.publication.inventory_path).select("ssh_hosts")


def _switches(lab: Any) -> list[Host]:
    """The lab's switches: in devices.yaml (the SNMP agents and switches), or in inventory.yaml."""
    for path in (lab.publication.lab_dir / "devices.yaml", lab.publication.inventory_path):
        if not path.exists():
            continue
        inventory = load_inventory(path)
        if SWITCH_GROUP in inventory.groups and inventory.hosts_of(SWITCH_GROUP):
            return inventory.select(SWITCH_GROUP)
    return []


@pytest.fixture(scope="module")
def trusted(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose known_hosts holds the lab SSH hosts' keys, enrolled against the published fingerprints."""
    settings = _settings(lab, tmp_path_factory.mktemp("discovery-state"))
    targets = [target_from_host(host, settings.ssh) for host in _ssh_hosts(lab)]
    with closing(AuditRecorder.for_settings(lambda: settings)) as recorder:
        outcomes = trust_hosts(settings, targets, recorder=recorder, expected=lab.publication.fingerprints).outcomes
    assert {o.status for o in outcomes} == {"enrolled"}, [o.message for o in outcomes]
    return settings


@pytest.fixture
def pool(trusted: Settings) -> Iterator[SshPool]:
    with open_pool(trusted) as opened:
        yield opened


def test_facts_from_every_lab_host_say_what_the_host_is(lab: Any, trusted: Settings, pool: SshPool) -> None:
    hosts = _ssh_hosts(lab)
    assert len(hosts) >= 2
    local_boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    for host in hosts:
        facts = gather_facts(pool.connection(target_from_host(host, trusted.ssh)), timeout=120)
        assert not facts.partial, facts.notes
        os_release = facts.values["os_release"]
        assert (os_release.value.id, os_release.value.version_id) == ("debian", "12")
        assert os_release.source == "ssh" and "/etc/os-release" in os_release.command
        assert facts.values["hostname"].value.hostname == host.name  # each lab host has its own UTS name
        boot_id = facts.values["boot_id"].value.boot_id
        assert UUID.fullmatch(boot_id) and boot_id == local_boot_id  # the lab's hosts share this kernel
        assert facts.values["kernel"].value.release == os.uname().release
        assert facts.values["memory"].value.total_bytes > 0
        assert facts.values["cpu"].value.count >= 1
        assert facts.values["uptime"].value.seconds > 0
        assert facts.values["packages"].value.installed > 100
        assert facts.values["pending_updates"].value.manager == "apt"
        # the lab's hosts share this machine's mounts (in a chroot "/" need not be one of them)
        local_df = subprocess.run(["df", "-P", "-B1"], capture_output=True, text=True).stdout
        local_mounts = {line.split()[-1] for line in local_df.splitlines()[1:] if line.strip()}
        remote_mounts = {f.mountpoint for f in facts.values["filesystems"].value.filesystems}
        assert remote_mounts and remote_mounts <= local_mounts
        assert any(i.name == "lo" for i in facts.values["interfaces"].value.interfaces)
        document = json.loads(json.dumps(facts.to_dict()))
        assert document["facts"]["kernel"] == {"value": {"release": os.uname().release},
                                               "source": "ssh", "command": "uname -r"}


class LsblkNotInstalled(Disks):
    """The block-device fact on a host where lsblk is not installed."""

    argv = ("/usr/local/bin/opsctl-test-no-lsblk", "-J", "-b", "-o", "NAME")


def test_a_host_without_lsblk_gives_a_partial_result_not_a_failure(lab: Any, trusted: Settings,
                                                                   pool: SshPool) -> None:
    host = _ssh_hosts(lab)[0]
    facts = gather_facts(pool.connection(target_from_host(host, trusted.ssh)),
                         (Kernel(), LsblkNotInstalled()), timeout=60)
    assert facts.partial
    assert facts.get(Kernel) is not None
    missing = facts.missing["block_devices"]
    assert missing.exit_status == 127
    assert "command not found" in missing.reason and "opsctl-test-no-lsblk" in missing.reason


def test_an_unenrolled_host_is_refused_before_any_fact_is_read(lab: Any, tmp_path: Path) -> None:
    settings = _settings(lab, tmp_path)  # an empty known_hosts
    host = _ssh_hosts(lab)[0]
    with open_pool(settings) as fresh, pytest.raises(HostKeyUnknown, match="unknown host key"):
        fresh.connection(target_from_host(host, settings.ssh))


def _switch_fingerprints(lab: Any) -> dict[str, list[str]]:
    devices_path = getattr(lab.publication, "devices_path", None)
    if devices_path is None or not Path(devices_path).exists():
        return {}
    document = json.loads(Path(devices_path).read_text(encoding="utf-8"))
    return {d["name"]: list(d.get("ssh_fingerprints", [])) for d in document.get("devices", [])
            if d.get("role") == "switch"}


@pytest.fixture(scope="module")
def switches(lab: Any) -> list[Host]:
    found = _switches(lab)
    if not found:
        pytest.skip("the lab publishes no 'switches' group yet (the fake Cisco switch peer is not in this lab)")
    return found


@pytest.fixture(scope="module")
def trusted_switches(lab: Any, switches: list[Host], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = _settings(lab, tmp_path_factory.mktemp("switch-state"))
    targets = [target_from_host(host, settings.ssh) for host in switches]
    fingerprints = _switch_fingerprints(lab)
    with closing(AuditRecorder.for_settings(lambda: settings)) as recorder:
        outcomes = trust_hosts(settings, targets, recorder=recorder, expected=fingerprints or None).outcomes
    assert {o.status for o in outcomes} == {"enrolled"}, [o.message for o in outcomes]
    return settings


def test_netmiko_reads_each_fake_switch_with_strict_host_keys(switches: list[Host],
                                                              trusted_switches: Settings) -> None:
    for host in switches:
        target = switch_target_from_host(host)
        assert target.device_type == "cisco_ios" and target.password is not None
        enable = target.enable_password.resolve() if target.enable_password else None
        facts = gather_switch(target, known_hosts_path=trusted_switches.known_hosts_path,
                              password=target.password.resolve(), enable_secret=enable, timeout=30,
                              command_timeout=30)
        assert facts.identity.hostname == host.name, facts.notes
        assert facts.identity.os_version, facts.notes
        assert facts.provenance["os_version"] == "show version"
        assert facts.source == "cli"
        # the fake switch answers few commands: what it cannot answer is a note, not a failure
        if not facts.modules:
            assert facts.partial and any(n.startswith("show inventory: ") for n in facts.notes)


def test_netmiko_refuses_a_switch_whose_key_is_not_enrolled(switches: list[Host], tmp_path: Path) -> None:
    target = switch_target_from_host(switches[0])
    assert target.password is not None
    with pytest.raises(HostKeyUnknown, match="unknown host key"):
        gather_switch(target, known_hosts_path=tmp_path / "known_hosts", password=target.password.resolve(),
                      timeout=15)
