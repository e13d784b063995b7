"""The shared contract every registered settings section passes: defaults, unknown keys refused with file:line, a light module."""

from __future__ import annotations

import ast
import importlib
import re
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from opsctl.core.config import load_settings
from opsctl.core.errors import ConfigError
from opsctl.core.settings import CORE_SECTIONS, SETTINGS_SECTIONS, Settings, SettingsModel

SECTION_NAMES = list(SETTINGS_SECTIONS.names())


def test_the_lab_and_discovery_sections_are_registered_by_their_packages() -> None:
    assert {"lab", "discovery"} <= set(SECTION_NAMES)
    assert SETTINGS_SECTIONS.get("lab").__module__ == "lab.settings"
    assert SETTINGS_SECTIONS.get("discovery").__module__ == "inventory.settings"
    assert not set(SECTION_NAMES) & set(CORE_SECTIONS)


@pytest.mark.parametrize("name", SECTION_NAMES)
def test_its_name_can_be_set_from_the_environment(name: str) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name), "OPSCTL_SECTION__KEY needs a lower-case name"


@pytest.mark.parametrize("name", SECTION_NAMES)
def test_an_absent_section_is_its_models_defaults(name: str) -> None:
    model = SETTINGS_SECTIONS.get(name)
    assert issubclass(model, SettingsModel)
    assert Settings().section(name, model) == model()  # every field has a default


@pytest.mark.parametrize("name", SECTION_NAMES)
def test_it_is_frozen_and_refuses_unknown_keys_with_file_and_line(name: str, tmp_path: Path) -> None:
    model = SETTINGS_SECTIONS.get(name)
    with pytest.raises(ValidationError):
        model().__setattr__(next(iter(model.model_fields)), None)
    path = tmp_path / "opsctl.yaml"
    path.write_text(f"{name}:\n  no_such_key: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, environ={}, system_file=tmp_path / "none", user_file=tmp_path / "none")
    assert str(raised.value).startswith(f"{path}:2: {name}.no_such_key: unknown key; expected one of: ")


@pytest.mark.parametrize("name", SECTION_NAMES)
def test_its_module_imports_only_pydantic_and_the_core(name: str) -> None:
    module = importlib.import_module(SETTINGS_SECTIONS.get(name).__module__)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {
        "." * node.level + (node.module or "") for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    heavy = {
        module_name
        for module_name in imported
        if module_name.split(".")[0] not in {"__future__", "pydantic", *sys.stdlib_module_names}
        and not module_name.startswith("opsctl.core")
    }
    assert heavy == set()
