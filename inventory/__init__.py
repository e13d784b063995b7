"""Inventory: the model, the Ansible-format inventory file, target patterns, sources and discovery.

The names below are imported on first use (PEP 562), so a command that only needs a module of
this package (the state store's ``inventory.state``, read by every command) does not pay for the
inventory file's loader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inventory.ansible_yaml import inventory_from_data, load_inventory
    from inventory.model import Group, Host, Inventory

_HOMES = {"Group": "inventory.model", "Host": "inventory.model", "Inventory": "inventory.model",
          "inventory_from_data": "inventory.ansible_yaml", "load_inventory": "inventory.ansible_yaml"}

__all__ = ["Group", "Host", "Inventory", "inventory_from_data", "load_inventory"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'inventory' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
