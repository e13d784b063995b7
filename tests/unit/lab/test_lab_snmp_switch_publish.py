"""Pure parts of the fake switches, and how devices of the new kinds are published."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from lab.kinds import peer_kinds
from lab.layout import LabLayout
from lab.publish import PublishedDevice, device_groups, devices_document, publish
from lab.snmp.snmpsim import OWNER_FILE, remove_orphaned_runtime_dirs
from lab.switch.config import (
    LauncherConfig,
    launcher_command,
    launcher_config,
    switch_address,
    switch_name,
)
from lab.switch.peer import builtin_host_key


def test_switch_names_and_addresses() -> None:
    assert switch_name(1) == "lab-switch-01"
    assert switch_address("127.8", 2) == "127.8.30.2"
    with pytest.raises(ValueError):
        switch_address("127.8", 0)
    with pytest.raises(ValueError):
        switch_address("192.168", 1)


def test_launcher_config_round_trips_and_never_holds_the_password(tmp_path: Path) -> None:
    password_file = tmp_path / "switch-password"
    config = launcher_config(
        name="lab-switch-01", address="127.8.30.1", port=22022, username="opsctl",
        password_file=password_file,
    )  # fmt: skip
    assert LauncherConfig.from_json(config.to_json()) == config
    assert config.model == "cisco_2960_24TT_L"
    assert json.loads(config.to_json())["password_file"] == str(password_file)
    with pytest.raises(ValueError):
        launcher_config(
            name="x", address="0.0.0.0", port=22022, username="u", password_file=password_file
        )


def test_launcher_command_runs_our_module() -> None:
    argv = launcher_command(python="/venv/bin/python", config=Path("/lab/peers/sw/switch.json"))
    assert argv == ("/venv/bin/python", "-m", "lab.switch.launcher", "/lab/peers/sw/switch.json")


def test_builtin_host_key_is_fake_switches_rsa_key() -> None:
    key = builtin_host_key()
    assert key.algorithm == "ssh-rsa"
    assert key.fingerprint.startswith("SHA256:")


def test_new_kinds_are_registered_after_the_ssh_hosts() -> None:
    names = [kind.kind for kind in peer_kinds()]
    assert names[0] == "ssh"
    assert {"snmpd", "snmpsim", "fake-switch"} <= set(names)


def _device(group: str, name: str, **group_vars: Any) -> PublishedDevice:
    return PublishedDevice(
        group=group,
        name=name,
        host_vars={"ansible_host": f"127.8.20.{len(name)}"},
        device={"name": name},
        group_vars=group_vars,
        known_hosts_lines=(f"[{name}]:22022 ssh-rsa AAAA",),
    )


def test_device_groups_merge_hosts_and_keep_the_first_group_vars() -> None:
    devices = [
        _device("snmp_agents", "a", opsctl_snmp_v3_user="u1"),
        _device("snmp_agents", "bb", opsctl_snmp_v3_user="u2"),
        _device("switches", "sw"),
    ]
    groups = device_groups(devices)
    assert list(groups) == ["snmp_agents", "switches"]
    assert list(groups["snmp_agents"]["hosts"]) == ["a", "bb"]
    assert groups["snmp_agents"]["vars"] == {"opsctl_snmp_v3_user": "u1"}
    assert "vars" not in groups["switches"]
    assert devices_document(devices) == {"devices": [{"name": "a"}, {"name": "bb"}, {"name": "sw"}]}


def test_publish_without_new_peers_keeps_the_ssh_inventory_and_writes_empty_devices(
    tmp_path: Path,
) -> None:
    layout = LabLayout(tmp_path / "lab")
    layout.root.mkdir()
    publication = publish(layout, [], user="opsctl-lab")
    inventory = YAML(typ="safe", pure=True).load(io.StringIO(layout.inventory.read_text()))
    assert list(inventory["all"]["children"]) == ["ssh_hosts"]
    assert json.loads(layout.devices.read_text()) == {"devices": []}
    assert publication.devices_path == layout.devices
    assert publication.devices_inventory_path == layout.devices_inventory


def test_orphaned_runtime_dirs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    live_lab = tmp_path / "live-lab"
    live_lab.mkdir()
    for name, owner in (("snmpsim-live", live_lab), ("snmpsim-gone", tmp_path / "gone")):
        (tmp_path / name).mkdir()
        (tmp_path / name / OWNER_FILE).write_text(f"{owner}\n")
    (tmp_path / "snmpsim-unknown").mkdir()
    assert remove_orphaned_runtime_dirs(tmp_path) == [tmp_path / "snmpsim-gone"]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "live-lab", "snmpsim-live", "snmpsim-unknown",
    ]  # fmt: skip


def test_kinds_place_their_peers_under_the_prefix(tmp_path: Path) -> None:
    from lab.kinds import LabContext, peer_kind
    from lab.snmp.snmpsim import SnmpsimPeer

    context = LabContext(layout=LabLayout(tmp_path / "lab"), prefix="127.8", ssh_hosts=1)
    endpoints = {
        name: [(peer.name, peer.address, peer.port) for peer in peer_kind(name).desired_peers(context)]
        for name in ("snmpd", "snmpsim", "fake-switch")
    }
    assert endpoints["snmpd"] == [("lab-snmpd", "127.8.20.1", 11161)]
    assert endpoints["snmpsim"] == [("lab-snmpsim", "127.8.20.2", 11161)]
    assert endpoints["fake-switch"] == [
        ("lab-switch-01", "127.8.30.1", 22022), ("lab-switch-02", "127.8.30.2", 22022),
    ]  # fmt: skip
    (snmpsim,) = peer_kind("snmpsim").desired_peers(context)
    assert isinstance(snmpsim, SnmpsimPeer)
    engines = snmpsim.engines()
    assert [engine.address for engine in engines] == [f"127.8.20.{n}" for n in range(2, 11)]  # nine recordings
    assert len({engine.data_dir for engine in engines}) == len(engines)
    assert snmpsim.marker in snmpsim.command()[-1]
