"""A pure parser of /proc/mdstat, as the Linux md driver prints it (drivers/md/md.c, md_seq_show).

::

    md0 : active raid5 sdh1[6](S) sdd1[5] sdf1[3](F) sdc1[0]
          19534428160 blocks super 1.2 level 5, 512k chunk, algorithm 2 [4/3] [UU_U]
          [==>..................]  recovery = 12.6% (494242968/3906885632) finish=391.3min speed=145350K/sec

An array's first line gives its state (``active``, ``inactive``, with ``(auto-read-only)`` or
``(read-only)`` after it), its level and its members (``(F)`` failed, ``(S)`` spare, ``(W)``
write-mostly, ``(J)`` journal, ``(R)`` replacement); the indented lines give the block count,
the ``[n/m] [UU_]`` map of raid levels with redundancy, and a running action with its progress.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HEAD = re.compile(r"^(?P<name>md\S*)\s*:\s*(?P<rest>.*)$")
_MEMBER = re.compile(r"^(?P<device>\S+?)\[(?P<slot>\d+)\](?P<flags>(?:\([A-Z]\))*)$")
_MAP = re.compile(r"\[(?P<wanted>\d+)/(?P<present>\d+)\]\s*\[(?P<map>[U_]+)\]")
_BLOCKS = re.compile(r"^(?P<blocks>\d+)\s+blocks")
_PROGRESS = re.compile(
    r"(?P<action>recovery|resync|reshape|check|repair)\s*=\s*(?P<percent>[\d.]+)%"
    r"(?:\s*\((?P<done>\d+)/(?P<total>\d+)\))?")
_PENDING = re.compile(r"(?P<action>resync|recovery|reshape|check|repair)\s*=\s*(?P<what>PENDING|DELAYED)")


@dataclass(frozen=True)
class MdArray:
    """One md array: its state, its members by role, and the action running on it.

    ``disks_required`` is the ``n`` of ``[n/m]`` (None for raid0/linear, which have no map);
    ``disks_active`` counts the ``U`` in the map, or the members neither failed nor spare
    when there is no map. ``missing`` is required minus active (members removed or never
    added). ``action`` is ``recovery``/``resync``/``reshape``/``check``/``repair`` or
    ``idle``; ``progress_ratio`` is 0..1 while one runs (0 when it is PENDING or DELAYED).
    """

    name: str
    active: bool
    read_only: bool
    level: str
    disks_required: int | None
    disks_active: int
    disks_failed: int
    disks_spare: int
    blocks: int | None
    blocks_synced: int | None
    action: str
    progress_ratio: float | None

    @property
    def disks_missing(self) -> int:
        """Members the map wants but that are not there and active (removed, failed or never added)."""
        if self.disks_required is None:
            return 0
        return max(self.disks_required - self.disks_active, 0)

    @property
    def degraded(self) -> bool:
        """An active array running with fewer active members than it needs."""
        return self.active and self.disks_missing > 0


def _parse_head(name: str, rest: str) -> tuple[bool, bool, str, int, int, int]:
    words = rest.split()
    active = bool(words) and words[0] == "active"
    index = 1
    read_only = False
    while index < len(words) and words[index].startswith("("):
        read_only = read_only or "read-only" in words[index]
        index += 1
    level = ""
    if active and index < len(words) and _MEMBER.match(words[index]) is None:
        level = words[index]
        index += 1
    members = failed = spare = 0
    for word in words[index:]:
        member = _MEMBER.match(word)
        if member is None:
            continue
        members += 1
        flags = member.group("flags")
        if "(F)" in flags:
            failed += 1
        elif "(S)" in flags:
            spare += 1
    return active, read_only, level, members, failed, spare


def parse_mdstat(text: str) -> tuple[MdArray, ...]:
    """Given the text of /proc/mdstat, return its arrays in order; an empty file or none listed gives ()."""
    arrays: list[MdArray] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        head = _HEAD.match(lines[index])
        index += 1
        if head is None or head.group("name") == "md":
            continue
        detail: list[str] = []
        while index < len(lines) and not _HEAD.match(lines[index]) and not lines[index].startswith("unused devices"):
            detail.append(lines[index].strip())
            index += 1
        arrays.append(_array(head.group("name"), head.group("rest"), " ".join(detail)))
    return tuple(arrays)


def _array(name: str, rest: str, detail: str) -> MdArray:
    active, read_only, level, members, failed, spare = _parse_head(name, rest)
    required: int | None = None
    in_map: int | None = None
    disk_map = _MAP.search(detail)
    if disk_map is not None:
        required = int(disk_map.group("wanted"))
        in_map = disk_map.group("map").count("U")
    blocks_match = _BLOCKS.match(detail)
    blocks = int(blocks_match.group("blocks")) if blocks_match else None
    action, ratio, synced = "idle", None, blocks
    progress = _PROGRESS.search(detail)
    pending = _PENDING.search(detail)
    if progress is not None:
        action = progress.group("action")
        if progress.group("done") and progress.group("total") and int(progress.group("total")) > 0:
            ratio = int(progress.group("done")) / int(progress.group("total"))
            synced = int(progress.group("done"))
        else:
            ratio = float(progress.group("percent")) / 100
    elif pending is not None:
        action, ratio = pending.group("action"), 0.0
    if not active:
        # an inactive array lists its members as spares; none of them serves data
        active_disks = 0
    elif in_map is not None:
        active_disks = in_map
    else:
        active_disks = members - failed - spare
    # a member being rebuilt onto is listed without a flag but shows as "_" in the map: it is
    # counted as neither active nor spare, so the counts add up to the map
    return MdArray(
        name=name, active=active, read_only=read_only, level=level,
        disks_required=required, disks_active=active_disks, disks_failed=failed,
        disks_spare=spare if active else members - failed,
        blocks=blocks, blocks_synced=synced, action=action, progress_ratio=ratio,
    )
