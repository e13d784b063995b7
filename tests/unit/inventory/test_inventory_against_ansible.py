"""The fixture inventories read by opsctl and by the real Ansible give the same hosts, groups, variables and selections."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inventory import Inventory, load_inventory

FIXTURES = Path(__file__).parents[2] / "fixtures" / "inventories"
INVENTORIES = sorted(path.name for path in FIXTURES.iterdir() if (path / "inventory.yml").is_file())

_ANSIBLE_INVENTORY = shutil.which(
    "ansible-inventory", path=str(Path(sys.executable).parent)
) or shutil.which("ansible-inventory")
needs_ansible = pytest.mark.skipif(
    _ANSIBLE_INVENTORY is None or importlib.util.find_spec("ansible") is None,
    reason="Ansible is not installed here (pip install ansible-core)",
)

PATTERNS = [
    "all",
    "*",
    "webservers",
    "webservers:dbservers",
    "webservers,dbservers",
    "webservers:!phoenix",
    "webservers:&staging",
    "webservers:dbservers:&staging:!phoenix",
    "&staging:!phoenix:webservers:dbservers",
    "!phoenix",
    "*.example.com",
    "one*.com:dbservers",
    "192.0.*",
    "~(web|db).*",
    "~web(b|e)",
    "webservers[0]",
    "webservers[-1]",
    "webservers[0:2]",
    "webservers[1:2]",
    "webservers[1:]",
    "webservers[1-2]",
    "w*[0]",
    "cobweb:host1",
    "atlanta",
    "at*",
    "ungrouped",
    "web*",
    "?ebbing",
    "nosuch:webservers",
    "all:!webservers:!dbservers",
    "staging:&webservers:&phoenix",
]

# Asks Ansible's own inventory manager which hosts each pattern selects.
_ANSIBLE_SELECT = """
import json, sys
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
manager = InventoryManager(loader=DataLoader(), sources=[sys.argv[1]])
print(json.dumps({p: [h.name for h in manager.get_hosts(p)] for p in json.loads(sys.argv[2])}))
"""


def _ansible_environment(tmp_path: Path) -> dict[str, str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")
    }
    environment.update(
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
        ANSIBLE_INVENTORY_ENABLED="yaml",
        ANSIBLE_HOST_PATTERN_MISMATCH="ignore",
    )
    return environment


def _run(arguments: list[str], tmp_path: Path) -> Any:
    completed = subprocess.run(
        arguments,
        cwd=tmp_path,  # so no ansible.cfg of the checkout or the caller applies
        env=_ansible_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def _members(listing: dict[str, Any], group: str) -> set[str]:
    entry = listing.get(group, {})
    members = set(entry.get("hosts", []))
    for child in entry.get("children", []):
        members |= _members(listing, child)
    return members


@needs_ansible
@pytest.mark.parametrize("name", INVENTORIES)
def test_hostvars_and_groups_match_ansible_inventory_list(name: str, tmp_path: Path) -> None:
    assert _ANSIBLE_INVENTORY is not None
    path = FIXTURES / name / "inventory.yml"
    listing = _run([_ANSIBLE_INVENTORY, "-i", str(path), "--list"], tmp_path)
    inventory = load_inventory(path)

    ansible_hostvars = listing["_meta"]["hostvars"]
    ours = {
        host.name: json.loads(json.dumps(host.to_dict()["vars"]))
        for host in inventory.hosts.values()
    }
    # ansible-inventory leaves out hosts that have no variables
    assert ours == {host: ansible_hostvars.get(host, {}) for host in ours}
    assert set(ansible_hostvars) <= set(ours)

    ansible_groups = {group for group in listing if group != "_meta"}
    assert ansible_groups <= set(inventory.groups)
    for group in inventory.groups:
        assert set(inventory.hosts_of(group)) == _members(listing, group), group


@needs_ansible
def test_pattern_selections_match_ansible(tmp_path: Path) -> None:
    path = FIXTURES / "docs_patterns" / "inventory.yml"
    selections = _run(
        [sys.executable, "-c", _ANSIBLE_SELECT, str(path), json.dumps(PATTERNS)], tmp_path
    )
    inventory: Inventory = load_inventory(path)

    for pattern in PATTERNS:
        ours = [host.name for host in inventory.select(pattern)]
        # Ansible lists a union in the order it was written; opsctl in inventory order
        assert sorted(ours) == sorted(selections[pattern]), pattern
        assert len(ours) == len(set(ours)), pattern


UNMATCHED_PATTERNS = [
    "webservers:!cobwebO",
    "webservers:&stagign",
    "webservers:nosuch*",
    "~^zz,webservers,!q?q",
    "webservers:!phoenix",
    "all:!webservers",
    "web*:host1",
]

# Asks Ansible's inventory manager which parts of each pattern it warns about.
_ANSIBLE_UNMATCHED = """
import json, sys
from ansible.inventory import manager as module
from ansible.parsing.dataloader import DataLoader
inventory = module.InventoryManager(loader=DataLoader(), sources=[sys.argv[1]])
heard = []
prefix = "Could not match supplied host pattern, ignoring: "
module.display.debug = lambda message, *a, **k: heard.append(message[len(prefix):]) if message.startswith(prefix) else None
found = {}
for pattern in json.loads(sys.argv[2]):
    heard.clear()
    inventory.clear_pattern_cache()
    inventory.get_hosts(pattern)
    found[pattern] = sorted(set(heard))
print(json.dumps(found))
"""


@needs_ansible
def test_the_parts_that_match_nothing_are_those_ansible_warns_about(tmp_path: Path) -> None:
    from inventory.select import inventory_unmatched_parts

    path = FIXTURES / "docs_patterns" / "inventory.yml"
    warned = _run(
        [sys.executable, "-c", _ANSIBLE_UNMATCHED, str(path), json.dumps(UNMATCHED_PATTERNS)], tmp_path
    )
    inventory = load_inventory(path)
    for pattern in UNMATCHED_PATTERNS:
        # opsctl names a part as written; Ansible without its ! or &
        ours = sorted(part.lstrip("!&") for part in inventory_unmatched_parts(inventory, pattern))
        assert ours == warned[pattern], pattern
    assert warned["webservers:!cobwebO"] == ["cobwebO"]
