"""The exports read by the real ``ansible-inventory``: the same hosts, groups and merged variables as opsctl's inventory.

The dynamic-inventory JSON is served by a tiny executable script in the test's directory (the
``script`` plugin), the INI and YAML exports are files (the ``ini`` and ``yaml`` plugins); the
INI twins of the docs fixtures are read by both ``ansible-inventory`` and opsctl's INI source.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inventory import Inventory, load_inventory
from inventory.exports import get_exporter
from inventory.exports.ansible_json import host_output
from inventory.sources import get_source

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"
YAML_FIXTURES = sorted(
    path.name for path in FIXTURES.iterdir() if (path / "inventory.yml").is_file()
)
INI_TWINS = sorted(path.stem for path in (FIXTURES / "ini_docs").glob("*.ini"))

_ANSIBLE_INVENTORY = shutil.which(
    "ansible-inventory", path=str(Path(sys.executable).parent)
) or shutil.which("ansible-inventory")
pytestmark = pytest.mark.skipif(
    _ANSIBLE_INVENTORY is None or importlib.util.find_spec("ansible") is None,
    reason="ansible-inventory is not installed here (pip install ansible-core)",
)


def _run_ansible_inventory(arguments: list[str], plugin: str, tmp_path: Path) -> Any:
    assert _ANSIBLE_INVENTORY is not None
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")
    }
    environment.update(
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"),
        ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true",
        ANSIBLE_INVENTORY_ENABLED=plugin,
    )
    completed = subprocess.run(
        [_ANSIBLE_INVENTORY, *arguments],
        cwd=tmp_path,  # so no ansible.cfg of the checkout or the caller applies
        env=environment,
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


def assert_same_as_ansible(listing: dict[str, Any], inventory: Inventory) -> None:
    """Assert ``ansible-inventory --list`` output holds the hosts, merged variables and group members of ``inventory``."""
    hostvars = listing["_meta"]["hostvars"]
    ours = {
        name: json.loads(json.dumps(host.to_dict()["vars"]))
        for name, host in inventory.hosts.items()
    }
    # ansible-inventory leaves out hosts without variables
    assert ours == {name: hostvars.get(name, {}) for name in ours}
    assert set(hostvars) <= set(ours)
    ansible_groups = {group for group in listing if group != "_meta"}
    assert ansible_groups <= set(inventory.groups)
    for group in inventory.groups:
        assert set(inventory.hosts_of(group)) == _members(listing, group), group
    assert _members(listing, "all") == set(inventory.hosts)


def _script(tmp_path: Path, inventory: Inventory) -> Path:
    (tmp_path / "list.json").write_text(
        get_exporter("ansible-json").export(inventory), encoding="utf-8"
    )
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    for name in inventory.hosts:
        (hosts / f"{name}.json").write_text(host_output(inventory, name), encoding="utf-8")
    script = tmp_path / "inventory.sh"
    script.write_text(
        '#!/bin/sh\nhere=$(dirname "$0")\n'
        'if [ "$1" = "--host" ]; then cat "$here/hosts/$2.json"; else cat "$here/list.json"; fi\n',
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.parametrize("fixture", YAML_FIXTURES)
def test_dynamic_json_script_satisfies_ansible_inventory(fixture: str, tmp_path: Path) -> None:
    inventory = load_inventory(FIXTURES / fixture / "inventory.yml")
    script = _script(tmp_path, inventory)
    listing = _run_ansible_inventory(["-i", str(script), "--list"], "script", tmp_path)
    assert_same_as_ansible(listing, inventory)
    first = next(iter(inventory.hosts))
    answer = _run_ansible_inventory(["-i", str(script), "--host", first], "script", tmp_path)
    assert answer == json.loads(host_output(inventory, first))


@pytest.mark.parametrize("exporter_name", ["ansible-ini", "ansible-yaml"])
@pytest.mark.parametrize("fixture", YAML_FIXTURES)
def test_exported_file_reads_the_same_in_ansible_inventory(
    exporter_name: str, fixture: str, tmp_path: Path
) -> None:
    inventory = load_inventory(FIXTURES / fixture / "inventory.yml")
    suffix, plugin = {"ansible-ini": (".ini", "ini"), "ansible-yaml": (".yml", "yaml")}[
        exporter_name
    ]
    path = tmp_path / f"exported{suffix}"
    text = get_exporter(exporter_name).export(inventory)
    assert isinstance(text, str)
    path.write_text(text, encoding="utf-8")
    listing = _run_ansible_inventory(["-i", str(path), "--list"], plugin, tmp_path)
    assert_same_as_ansible(listing, inventory)


@pytest.mark.parametrize("twin", INI_TWINS)
def test_ini_twin_reads_the_same_in_opsctl_and_ansible_inventory(twin: str, tmp_path: Path) -> None:
    yaml_fixture = FIXTURES / ("hospital" if twin == "hospital" else f"docs_{twin}")
    for vars_directory in ("group_vars", "host_vars"):
        if (yaml_fixture / vars_directory).is_dir():
            shutil.copytree(yaml_fixture / vars_directory, tmp_path / vars_directory)
    path = tmp_path / "inventory.ini"
    shutil.copy(FIXTURES / "ini_docs" / f"{twin}.ini", path)
    listing = _run_ansible_inventory(["-i", str(path), "--list"], "ini", tmp_path)
    assert_same_as_ansible(listing, get_source("ansible-ini").load(path))


def test_the_docs_usa_example_without_declarations_is_refused_by_both(tmp_path: Path) -> None:
    path = tmp_path / "usa.ini"
    path.write_text(
        "[southeast]\nhost1\n\n[usa:children]\nsoutheast\nnortheast\n", encoding="utf-8"
    )
    from opsctl.core.errors import ConfigError

    with pytest.raises(ConfigError) as raised:
        get_source("ansible-ini").load(path)
    assert f"{path}:6" in str(raised.value)
    assert "northeast" in str(raised.value)
    assert _ANSIBLE_INVENTORY is not None
    completed = subprocess.run(
        [_ANSIBLE_INVENTORY, "-i", str(path), "--list"],
        cwd=tmp_path,
        env={
            **os.environ,
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
            "ANSIBLE_HOME": str(tmp_path / "h"),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode != 0
    assert "northeast" in completed.stderr


TRICKY_VALUES: dict[str, Any] = {
    "text_number": "42",
    "text_true": "True",
    "text_yes": "yes",
    "text_time": "1:00",
    "text_octal": "0755",
    "text_list": "[1, 2]",
    "padded": "  x  ",
    "multiline": "a\nb",
    "hash": "a # b",
    "semicolon": "; x",
    "quote": 'it\'s "quoted"',
    "equals": "a=b",
    "unicode": "Zürich",
    "empty": "",
    "number": 42,
    "float": 1.5,
    "boolean": False,
    "nothing": None,
    "list": [1, "2", True, None],
    "mapping": {"k": "v", "n": 3},
}


def tricky_inventory() -> Inventory:
    """Return an inventory whose values are easy to get wrong: text that looks like another type, spaces, quotes."""
    from inventory import inventory_from_data

    return inventory_from_data(
        {
            "all": {"vars": {"site_" + key: value for key, value in TRICKY_VALUES.items()}},
            "web": {
                "hosts": {"w1": dict(TRICKY_VALUES), "w2": None},
                "vars": {"group_" + key: value for key, value in TRICKY_VALUES.items()},
            },
        },
        source="tricky",
    )


@pytest.mark.parametrize("exporter_name", ["ansible-ini", "ansible-yaml"])
def test_tricky_values_keep_value_and_type_in_ansible_inventory(
    exporter_name: str, tmp_path: Path
) -> None:
    inventory = tricky_inventory()
    suffix, plugin = {"ansible-ini": (".ini", "ini"), "ansible-yaml": (".yml", "yaml")}[
        exporter_name
    ]
    path = tmp_path / f"exported{suffix}"
    path.write_text(str(get_exporter(exporter_name).export(inventory)), encoding="utf-8")
    listing = _run_ansible_inventory(["-i", str(path), "--list"], plugin, tmp_path)
    assert_same_as_ansible(listing, inventory)
    for name, value in TRICKY_VALUES.items():
        got = listing["_meta"]["hostvars"]["w1"][name]
        assert got == value and type(got) is type(value), name


def test_tricky_values_keep_value_and_type_through_the_script(tmp_path: Path) -> None:
    inventory = tricky_inventory()
    listing = _run_ansible_inventory(
        ["-i", str(_script(tmp_path, inventory)), "--list"], "script", tmp_path
    )
    assert_same_as_ansible(listing, inventory)
