"""Linux host facts over SSH: each fact a command plus a pure parser, gathered in one round trip."""

from __future__ import annotations

from inventory.facts.base import (
    Fact,
    FactParseError,
    FactValue,
    HostFacts,
    MissingFact,
    to_jsonable,
)
from inventory.facts.gather import gather_facts
from inventory.facts.linux import (
    ALL_FACTS,
    BootId,
    Cpu,
    Disks,
    DiskUsage,
    Hostname,
    Interfaces,
    Kernel,
    MdRaid,
    Memory,
    OsRelease,
    Packages,
    Updates,
    Uptime,
)

__all__ = [
    "ALL_FACTS",
    "BootId",
    "Cpu",
    "DiskUsage",
    "Disks",
    "Fact",
    "FactParseError",
    "FactValue",
    "HostFacts",
    "Hostname",
    "Interfaces",
    "Kernel",
    "MdRaid",
    "Memory",
    "MissingFact",
    "OsRelease",
    "Packages",
    "Updates",
    "Uptime",
    "gather_facts",
    "to_jsonable",
]
