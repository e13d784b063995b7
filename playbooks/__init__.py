"""Playbooks: ad-hoc commands now; the playbook engine and patch campaigns later."""
