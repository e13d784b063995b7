"""``detect`` picks the source for a path; third-party sources register like the built-ins."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory import Inventory, inventory_from_data
from inventory.sources import SOURCES, detect, get_source, load_any, register_source, sources
from opsctl.core.errors import ConfigError, UsageError

FIXTURES = Path(__file__).parents[3] / "fixtures" / "inventories"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (FIXTURES / "hospital" / "inventory.yml", "ansible-yaml"),
        (FIXTURES / "hospital", "ansible-yaml"),
        (FIXTURES / "ini_docs" / "hospital.ini", "ansible-ini"),
        (FIXTURES / "dynamic_docs" / "list.json", "ansible-json"),
        (FIXTURES / "nornir_docs", "nornir"),
        (FIXTURES / "nornir_docs" / "hosts.yaml", "nornir"),
        (FIXTURES / "opsctl_json_docs" / "inventory.json", "opsctl-json"),
    ],
)
def test_detect_names_the_format(path: Path, name: str) -> None:
    assert detect(path).name == name


def test_an_ansible_yaml_file_called_hosts_yaml_is_not_taken_for_nornir(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text("web:\n  hosts:\n    w1:\n", encoding="utf-8")
    assert detect(path).name == "ansible-yaml"
    assert list(load_any(path).hosts) == ["w1"]


def test_an_extensionless_ini_file_is_detected_by_its_sections(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("# site\n[web]\nw1\n", encoding="utf-8")
    assert detect(path).name == "ansible-ini"


def test_an_unrecognised_path_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot tell"):
        detect(path)
    with pytest.raises(ConfigError, match="no such file"):
        detect(tmp_path / "missing.yml")


class _CsvSource:
    """A third-party source: one host name a line in a ``.hosts`` file."""

    name = "test-hosts-list"

    def claims(self, path: Path) -> bool:
        return path.suffix == ".hosts"

    def load(self, path: Path) -> Inventory:
        names = path.read_text(encoding="utf-8").split()
        return inventory_from_data({"all": {"hosts": dict.fromkeys(names)}}, source=str(path))


@pytest.fixture
def third_party() -> Iterator[_CsvSource]:
    source = _CsvSource()
    register_source(source)
    yield source
    SOURCES.deregister(source.name)


def test_a_third_party_source_registers_like_a_built_in(
    third_party: _CsvSource, tmp_path: Path
) -> None:
    path = tmp_path / "site.hosts"
    path.write_text("a\nb\n", encoding="utf-8")
    assert get_source(third_party.name) is third_party
    assert sources()[-1] is third_party
    assert detect(path) is third_party
    assert list(load_any(path).hosts) == ["a", "b"]


def test_a_name_taken_by_another_source_is_refused() -> None:
    class Impostor(_CsvSource):
        name = "ansible-ini"

    with pytest.raises(UsageError, match="already registered"):
        register_source(Impostor())
