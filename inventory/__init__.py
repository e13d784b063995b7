"""Inventory: the model, the Ansible-format inventory file, target patterns, sources and discovery."""
