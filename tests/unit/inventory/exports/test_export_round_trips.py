"""Import, export, import again: the same hosts, groups and merged variables.

Normalisation, per format: the order of hosts in ``all`` follows each format's first mention
(groups' own host order is kept, except in Nornir, where a group's hosts are in ``hosts.yaml``
order, so membership is compared as a set); group priorities survive every format but Nornir's, which has
none (a Nornir host then carries what its groups' order would get wrong); Nornir and the
dynamic JSON have no group-level ``ungrouped`` variables or empty ``ungrouped`` group to keep.
Values are compared by type as well (``1`` is not ``True``, ``"1"`` is not ``1``).
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from inventory import Inventory, load_inventory
from inventory.exports import get_exporter
from inventory.sources import get_source

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"
YAML_FIXTURES = sorted(
    path.name for path in FIXTURES.iterdir() if (path / "inventory.yml").is_file()
)
# exporter name -> (source name, file name the export is written to, or None for a directory)
FORMATS: dict[str, tuple[str, str | None]] = {
    "ansible-yaml": ("ansible-yaml", "exported.yml"),
    "ansible-ini": ("ansible-ini", "exported.ini"),
    "ansible-json": ("ansible-json", "exported.json"),
    "nornir": ("nornir", None),
    "opsctl-json": ("opsctl-json", "exported.json"),
}


def signature(inventory: Inventory, *, group_order: bool = True) -> dict[str, Any]:
    """Return what a round trip must keep: each host's groups and merged variables, each group's hosts."""
    return {
        "hosts": {
            name: {"groups": sorted(host.groups), "vars": _typed(dict(host.vars))}
            for name, host in sorted(inventory.hosts.items())
        },
        "groups": {
            name: list(inventory.hosts_of(name))
            if name != "all" and group_order
            else sorted(inventory.hosts_of(name))
            for name in sorted(inventory.groups)
            if inventory.hosts_of(name)
            or inventory.groups[name].vars
            or inventory.groups[name].children
        },
    }


def _typed(value: Any) -> Any:
    # the type goes with each scalar, so True and 1 differ
    if isinstance(value, Mapping):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_typed(item) for item in value]
    return (type(value).__name__, value)


def write_export(exporter_name: str, inventory: Inventory, directory: Path) -> Path:
    """Write the export of ``inventory`` under ``directory`` and return the path its source reads."""
    output = get_exporter(exporter_name).export(inventory)
    file_name = FORMATS[exporter_name][1]
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(output, Mapping):
        for name, text in output.items():
            (directory / name).write_text(text, encoding="utf-8")
        return directory
    assert file_name is not None
    path = directory / file_name
    path.write_text(output, encoding="utf-8")
    return path


@pytest.mark.parametrize("exporter_name", sorted(FORMATS))
@pytest.mark.parametrize("fixture", YAML_FIXTURES)
def test_yaml_fixture_survives_export_and_import(
    exporter_name: str, fixture: str, tmp_path: Path
) -> None:
    original = load_inventory(FIXTURES / fixture / "inventory.yml")
    path = write_export(exporter_name, original, tmp_path / "export")
    reloaded = get_source(FORMATS[exporter_name][0]).load(path)
    ordered = exporter_name != "nornir"
    assert signature(reloaded, group_order=ordered) == signature(original, group_order=ordered)
    if exporter_name != "nornir":
        for name, group in original.groups.items():
            assert reloaded.groups[name].priority == group.priority, name


@pytest.mark.parametrize("exporter_name", sorted(FORMATS))
@pytest.mark.parametrize("fixture", YAML_FIXTURES)
def test_a_second_round_trip_gives_the_same_text(
    exporter_name: str, fixture: str, tmp_path: Path
) -> None:
    original = load_inventory(FIXTURES / fixture / "inventory.yml")
    once = get_source(FORMATS[exporter_name][0]).load(
        write_export(exporter_name, original, tmp_path / "once")
    )
    twice = get_source(FORMATS[exporter_name][0]).load(
        write_export(exporter_name, once, tmp_path / "twice")
    )
    assert signature(twice) == signature(once)
    if exporter_name != "opsctl-json":  # which carries the source path
        assert get_exporter(exporter_name).export(twice) == get_exporter(exporter_name).export(once)


@pytest.mark.parametrize("fixture", YAML_FIXTURES)
def test_the_ini_twin_of_each_docs_fixture_reads_as_its_yaml(fixture: str, tmp_path: Path) -> None:
    twin = FIXTURES / "ini_docs" / f"{fixture.removeprefix('docs_')}.ini"
    if not twin.exists():
        pytest.skip(f"no INI twin of {fixture}")
    for vars_directory in ("group_vars", "host_vars"):
        if (FIXTURES / fixture / vars_directory).is_dir():
            shutil.copytree(FIXTURES / fixture / vars_directory, tmp_path / vars_directory)
    shutil.copy(twin, tmp_path / "inventory.ini")
    from_ini = get_source("ansible-ini").load(tmp_path / "inventory.ini")
    from_yaml = load_inventory(FIXTURES / fixture / "inventory.yml")
    expected = signature(from_yaml)
    if fixture == "hospital":
        # the INI says `true` where the YAML says true: Ansible's INI plugin keeps it as text
        for host in expected["hosts"].values():
            if "ansible_become" in host["vars"]:
                host["vars"]["ansible_become"] = ("str", "true")
    assert signature(from_ini) == expected


@pytest.mark.parametrize("exporter_name", sorted(FORMATS))
def test_values_easy_to_get_wrong_survive(exporter_name: str, tmp_path: Path) -> None:
    from inventory import inventory_from_data

    values: dict[str, Any] = {
        "text_number": "42",
        "text_true": "True",
        "text_yes": "yes",
        "text_time": "1:00",
        "padded": "  x  ",
        "multiline": "a\nb",
        "hash": "a # b",
        "quote": 'it\'s "quoted"',
        "unicode": "Zürich",
        "empty": "",
        "number": 42,
        "boolean": False,
        "nothing": None,
        "list": [1, "2", True, None],
        "mapping": {"k": "v", "n": 3},
    }
    original = inventory_from_data(
        {
            "all": {"vars": {"site_" + key: value for key, value in values.items()}},
            "web": {
                "hosts": {"w1": dict(values), "w2": None},
                "vars": {"ansible_group_priority": 5},
            },
        }
    )
    reloaded = get_source(FORMATS[exporter_name][0]).load(
        write_export(exporter_name, original, tmp_path / "export")
    )
    assert signature(reloaded) == signature(original)


OTHER_SOURCES = {
    "ini_docs/hospital.ini": "ansible-ini",
    "ini_docs/patterns.ini": "ansible-ini",
    "dynamic_docs/list.json": "ansible-json",
    "nornir_docs": "nornir",
    "opsctl_json_docs/inventory.json": "opsctl-json",
}


@pytest.mark.parametrize("exporter_name", sorted(FORMATS))
@pytest.mark.parametrize("example", sorted(OTHER_SOURCES))
def test_every_source_example_survives_every_format(
    exporter_name: str, example: str, tmp_path: Path
) -> None:
    original = get_source(OTHER_SOURCES[example]).load(FIXTURES / example)
    reloaded = get_source(FORMATS[exporter_name][0]).load(
        write_export(exporter_name, original, tmp_path / "export")
    )
    ordered = exporter_name != "nornir"
    assert signature(reloaded, group_order=ordered) == signature(original, group_order=ordered)
