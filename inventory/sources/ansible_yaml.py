"""Ansible's YAML inventory format as a source: :func:`inventory.load_inventory` behind the source Protocol."""

from __future__ import annotations

from pathlib import Path

from inventory.ansible_yaml import load_inventory
from inventory.model import Inventory

_YAML_SUFFIXES = (".yml", ".yaml")


class AnsibleYamlSource:
    """Ansible's YAML inventory (``all:`` → ``hosts``, ``children``, ``vars``) with ``group_vars/`` and ``host_vars/``."""

    name = "ansible-yaml"

    def claims(self, path: Path) -> bool:
        """Return whether ``path`` is a ``.yml``/``.yaml`` file or a directory holding one."""
        if path.is_dir():
            return any(
                child.suffix in _YAML_SUFFIXES for child in path.iterdir() if child.is_file()
            )
        return path.suffix in _YAML_SUFFIXES

    def load(self, path: Path) -> Inventory:
        """Load the YAML inventory at ``path``; see :func:`inventory.load_inventory`."""
        return load_inventory(path)
