"""Inventory: the model, the Ansible-format inventory file, target patterns, sources and discovery.

The names below are imported on first use, so a command that only needs a module of this
package (the state store's ``inventory.state``, read by every command) does not pay for the
inventory file's loader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsctl.core.lazy import lazy_attributes

if TYPE_CHECKING:
    from inventory.ansible_yaml import inventory_from_data, load_inventory
    from inventory.model import Group, Host, Inventory

__getattr__ = lazy_attributes(__name__, {"inventory.model": ("Group", "Host", "Inventory"),
                                         "inventory.ansible_yaml": ("inventory_from_data", "load_inventory")})

__all__ = ["Group", "Host", "Inventory", "inventory_from_data", "load_inventory"]
