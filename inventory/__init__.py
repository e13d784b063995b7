"""Inventory: the model, the Ansible-format inventory file, target patterns, sources and discovery."""

from __future__ import annotations

from inventory.ansible_yaml import inventory_from_data, load_inventory
from inventory.model import Group, Host, Inventory

__all__ = ["Group", "Host", "Inventory", "inventory_from_data", "load_inventory"]
