"""Host selection: patterns over the configured inventory and other files, and what SSH work can reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.select import (
    host_targets,
    inventory_hosts,
    reachable_hosts,
    select_hosts,
    ssh_targets,
)
from opsctl.core.errors import ConfigError, HostNotFound, UsageError
from opsctl.core.settings import Settings

INVENTORY = """\
all:
  children:
    servers:
      hosts:
        web-1: {ansible_host: 192.0.2.1}
        web-2: {ansible_host: 192.0.2.2}
    switches:
      hosts:
        sw-1: {ansible_host: 192.0.2.11, ansible_network_os: cisco_ios}
    agents:
      hosts:
""" + "".join(f"        ups-{n}: {{ansible_host: 192.0.2.{20 + n}, opsctl_ssh: false}}\n" for n in range(1, 11))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    return Settings(inventory=path, state={"dir": tmp_path / "state"})


def test_hosts_without_ssh_are_left_out_and_named_in_one_message(settings: Settings) -> None:
    selection = reachable_hosts(settings, "all", need="ssh")
    assert [host.name for host in selection.hosts] == ["web-1", "web-2", "sw-1"]
    assert selection.left_out == tuple(f"ups-{n}" for n in range(1, 11))
    assert selection.message == ("skipping 10 hosts without SSH (opsctl_ssh: false): "
                                 "ups-1, ups-2, ups-3, ups-4, ups-5, ups-6, ups-7, ups-8 and 2 more")


def test_commands_also_leave_out_network_devices(settings: Settings) -> None:
    selection = reachable_hosts(settings, "servers:switches", need="shell")
    assert [host.name for host in selection.hosts] == ["web-1", "web-2"]
    assert selection.message == ("skipping 1 hosts without a shell over SSH "
                                 "(opsctl_ssh: false, or a network device's ansible_network_os): sw-1")
    assert reachable_hosts(settings, "servers", need="shell").message is None


def test_a_pattern_that_leaves_nothing_reachable_is_refused(settings: Settings) -> None:
    with pytest.raises(HostNotFound, match=r"pattern 'agents' matches no host with SSH \(10 without"):
        reachable_hosts(settings, "agents", need="ssh")


def test_ssh_targets_take_each_host_once_in_pattern_order(settings: Settings) -> None:
    selection = ssh_targets(settings, ["web-2", "servers:agents"])
    assert [target.name for target in selection.targets] == ["web-2", "web-1"]
    assert [target.address for target in selection.targets] == ["192.0.2.2", "192.0.2.1"]
    assert len(selection.messages) == 1 and selection.messages[0].startswith("skipping 10 hosts without SSH")
    assert [target.name for target in host_targets(settings, ["sw-1"])] == ["sw-1"]
    with pytest.raises(HostNotFound):
        host_targets(settings, ["web-*"])  # names, never patterns


def test_other_inventory_files_add_hosts_and_may_not_contradict(settings: Settings, tmp_path: Path) -> None:
    extra = tmp_path / "devices.yaml"
    extra.write_text("all:\n  hosts:\n    pdu-1: {ansible_host: 192.0.2.40}\n    web-1: {ansible_host: 192.0.2.1}\n")
    assert [h.name for h in select_hosts(settings, "web-1:pdu-1", [extra])] == ["web-1", "pdu-1"]
    assert len(inventory_hosts(settings, [extra])) == 14
    extra.write_text("all:\n  hosts:\n    web-1: {ansible_host: 192.0.2.99}\n")
    with pytest.raises(UsageError, match="web-1 is in more than one of the inventories"):
        select_hosts(settings, "all", [extra])


def test_without_any_inventory_selection_says_where_to_configure_one(tmp_path: Path) -> None:
    bare = Settings(state={"dir": tmp_path / "state"})
    with pytest.raises(ConfigError, match="no inventory configured"):
        select_hosts(bare, "all")
    with pytest.raises(ConfigError, match="no inventory configured"):
        reachable_hosts(bare, "all", need="ssh")
    assert inventory_hosts(bare) == []


def test_parts_that_match_nothing_are_data_of_the_selection(settings: Settings) -> None:
    selection = reachable_hosts(settings, "servers:!web-O1:nosuch*", need="shell")
    # nothing was excluded, as in Ansible; the selection says which parts were ignored
    assert [host.name for host in selection.hosts] == ["web-1", "web-2"]
    assert selection.unmatched == ("!web-O1", "nosuch*")
    assert selection.unmatched_warnings == (
        "could not match supplied host pattern, ignoring: !web-O1",
        "could not match supplied host pattern, ignoring: nosuch*",
    )
    assert reachable_hosts(settings, "servers:!web-1", need="shell").unmatched == ()


def test_strict_refuses_an_unmatched_part_before_anything_is_chosen(settings: Settings) -> None:
    with pytest.raises(UsageError, match=r"'servers:!web-O1': !web-O1 matches no host or group"):
        reachable_hosts(settings, "servers:!web-O1", need="shell", strict=True)
    with pytest.raises(UsageError, match="!web-O1"):
        ssh_targets(settings, ["servers", "servers:!web-O1"], strict=True)
    assert len(reachable_hosts(settings, "servers:!web-1", need="shell", strict=True).hosts) == 1


def test_ssh_targets_warn_once_per_part_over_several_patterns(settings: Settings) -> None:
    selection = ssh_targets(settings, ["servers:!web-O1", "web-*:!web-O1", "servers:~^zz"])
    assert selection.unmatched_warnings == (
        "could not match supplied host pattern, ignoring: !web-O1",
        "could not match supplied host pattern, ignoring: ~^zz",
    )


def test_a_pattern_that_selects_nothing_names_its_unmatched_parts(settings: Settings) -> None:
    with pytest.raises(HostNotFound, match="&prodd matches no host or group"):
        reachable_hosts(settings, "servers:&prodd", need="shell")


def test_over_several_inventories_a_part_is_unmatched_only_when_no_file_has_it(
        settings: Settings, tmp_path: Path) -> None:
    from inventory.select import unmatched_in_inventories

    devices = tmp_path / "devices.yaml"
    devices.write_text("all:\n  children:\n    pdus:\n      hosts:\n        pdu-1: {opsctl_ssh: false}\n")
    assert unmatched_in_inventories(settings, "servers:pdus:!typo") == ("pdus", "!typo")
    assert unmatched_in_inventories(settings, "servers:pdus:!typo", [devices]) == ("!typo",)
    with pytest.raises(UsageError, match="!typo"):
        unmatched_in_inventories(settings, "servers:pdus:!typo", [devices], strict=True)
