"""opsctl run (being written)."""

from __future__ import annotations


def run() -> None:
    """Run one command across the hosts a pattern matches."""
