"""Set a host's variables in ``host_vars/`` beside the inventory, as Ansible reads them, keeping the inventory file as written.

Where the variables go follows the loader (:mod:`inventory.ansible_yaml`), which reads the
first of ``host_vars/NAME`` (a file, or a directory of files), ``NAME.yml``, ``NAME.yaml``,
``NAME.json``: a directory gets (or keeps) one file of its own, ``FILE_NAME``; an existing
YAML file is updated round-trip (its comments and order kept); when there is none, the
directory ``host_vars/NAME/`` is made with that one file in it.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from inventory.exports.prometheus import AGENT_VARIABLE, runs_agent
from inventory.model import Host
from opsctl.core.errors import ConfigError

_EXTENSIONS = ("", ".yml", ".yaml", ".json")


def host_vars_directory(inventory_path: Path) -> Path:
    """``host_vars/`` beside an inventory file, or inside an inventory directory."""
    return (inventory_path if inventory_path.is_dir() else inventory_path.parent) / "host_vars"


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _update_yaml(path: Path, variables: Mapping[str, Any]) -> bool:
    from ruamel.yaml import YAML

    yaml = YAML()  # round trip: comments and key order stay
    yaml.preserve_quotes = True
    document = yaml.load(path.read_text(encoding="utf-8"))
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError("a variables file must be a mapping", path=str(path))
    if all(key in document and document[key] == value for key, value in variables.items()):
        return False
    for key, value in variables.items():
        document[key] = value
    stream = io.StringIO()
    yaml.dump(document, stream)
    _write(path, stream.getvalue())
    return True


def _update_json(path: Path, variables: Mapping[str, Any]) -> bool:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ConfigError(f"not JSON: {error}", path=str(path)) from None
    if not isinstance(document, dict):
        raise ConfigError("a variables file must be a mapping", path=str(path))
    if all(document.get(key) == value for key, value in variables.items()):
        return False
    _write(path, json.dumps({**document, **variables}, indent=2) + "\n")
    return True


def set_host_variables(inventory_path: Path, host: str, variables: Mapping[str, Any], *, file_name: str,
                       written_by: str) -> Path | None:
    """Set ``variables`` for ``host``; return the file written, or None when it already held them.

    Raise :class:`ConfigError` naming the file when an existing variables file is not a mapping.
    """
    if "/" in host or host in (".", "..") or not host:
        raise ConfigError(f"host {host!r}: not a name a host_vars file can have")
    directory = host_vars_directory(inventory_path)
    existing = next((directory / (host + extension) for extension in _EXTENSIONS
                     if (directory / (host + extension)).exists()), None)
    if existing is not None and not existing.is_dir():
        changed = _update_json(existing, variables) if existing.suffix == ".json" else _update_yaml(existing, variables)
        return existing if changed else None
    target = (existing or directory / host) / file_name
    text = f"# written by `{written_by}`\n" + "".join(
        f"{key}: {json.dumps(value)}\n" for key, value in variables.items())
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    _write(target, text)
    return target


def mark_runs_agent(inventory_path: Path, host: Host) -> str | None:
    """Make the inventory say ``host`` runs the opsctl agent; return what was written, or None if it already did."""
    if runs_agent(host):
        return None
    written = set_host_variables(inventory_path, host.name, {AGENT_VARIABLE: True},
                                 file_name="opsctl_agent.yml", written_by="opsctl agent install")
    return None if written is None else f"{AGENT_VARIABLE}: true in {written}"
