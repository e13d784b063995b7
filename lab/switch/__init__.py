"""Fake Cisco IOS switches of the lab (fake-switches over SSH, through our launcher)."""
