"""Ansible host patterns: names, groups, globs, ``~regex``, ``a:b``/``a,b``, ``a:&b``, ``a:!b`` and ``[i]``/``[i:j]``.

Evaluation follows Ansible's inventory manager: unions first, then intersections, then
exclusions, whatever order they are written in; a subscript picks from one part's hosts.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Mapping, Sequence

from opsctl.core.errors import HostNotFound, UsageError

# One part of a ':'-separated pattern: anything but whitespace, ':' and brackets, or a whole
# bracketed expression (so the ':' in a subscript or glob class does not split it).
_COLON_PART = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")

_SUBSCRIPT = re.compile(
    r"""^
        (?P<expression>.+)
        \[(?:
            (?P<index>-?[0-9]+)
            |
            (?P<start>[0-9]*)(?P<separator>[:-])(?P<end>[0-9]*)
        )\]
    $""",
    re.X,
)

# Characters that make a pattern a glob: it then matches host names even when it matched groups.
_GLOB_CHARACTERS = (".", "?", "*", "[")


def split_pattern(pattern: str) -> list[str]:
    """Return the parts of a host pattern, as Ansible splits it; empty parts are dropped.

    With a comma anywhere, the parts are what lies between commas (so ``~regex`` and IPv6
    parts may hold ``:``); otherwise a whole IPv6 address is one part, and anything else is
    split at ``:`` outside brackets (so ``web[1:3]`` stays one part).
    """
    if "," in pattern:
        parts = pattern.split(",")
    elif _is_ipv6(pattern.strip().lstrip("!&")):
        parts = [pattern]
    else:
        parts = _COLON_PART.findall(pattern)
    return [part.strip() for part in parts if part.strip()]


def _is_ipv6(text: str) -> bool:
    if text.count(":") < 2:
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def order_parts(parts: Sequence[str]) -> list[str]:
    """Return ``parts`` with unions first, then ``&`` intersections, then ``!`` exclusions (``all`` if no union)."""
    unions = [part for part in parts if not part.startswith(("&", "!"))]
    intersections = [part for part in parts if part.startswith("&")]
    exclusions = [part for part in parts if part.startswith("!")]
    return (unions or ["all"]) + intersections + exclusions


def select_host_names(
    pattern: str,
    *,
    host_names: Sequence[str],
    group_hosts: Mapping[str, Sequence[str]],
    source: str,
) -> list[str]:
    """Return the host names ``pattern`` selects, in the order of ``host_names``, without duplicates.

    ``group_hosts`` gives every group's hosts (descendants included) in Ansible's order, which
    subscripts index. Raise :class:`HostNotFound` if nothing is selected or a subscript is out
    of range, :class:`UsageError` for an invalid ``~regex`` or an empty pattern.
    """
    parts = split_pattern(pattern)
    if not parts:
        raise UsageError(
            "empty host pattern", hint="give a group, a host, a glob such as web*, or all"
        )
    known_hosts = set(host_names)
    selected: list[str] = []
    for part in order_parts(parts):
        if part.startswith("!"):
            excluded = set(_match_part(part[1:], host_names, group_hosts, pattern))
            selected = [name for name in selected if name not in excluded]
        elif part.startswith("&"):
            required = set(_match_part(part[1:], host_names, group_hosts, pattern))
            selected = [name for name in selected if name in required]
        else:
            # a plain host name is that host, even when a group has the same name (as in Ansible)
            matches = (
                [part]
                if part in known_hosts
                else _match_part(part, host_names, group_hosts, pattern)
            )
            already = set(selected)
            selected.extend(name for name in matches if name not in already)
    if not selected:
        raise HostNotFound(
            f"pattern '{pattern}' matches no host in {source}",
            hint="patterns name groups, hosts, globs (web*), ~regex, a:b, a:&b and a:!b",
        )
    chosen = set(selected)
    return [name for name in host_names if name in chosen]


def unmatched_parts(
    pattern: str,
    *,
    host_names: Sequence[str],
    group_hosts: Mapping[str, Sequence[str]],
) -> tuple[str, ...]:
    """Return the parts of ``pattern`` (as written, ``!`` or ``&`` kept) that name no host and no group, each once.

    As Ansible's "Could not match supplied host pattern": a part is unmatched when no group and
    no host matches its name, glob or ``~regex`` (a subscript aside); an empty group is a match,
    as ``all`` always is. ``a:!typo`` then shows that nothing was excluded. Raise
    :class:`UsageError` for an invalid ``~regex`` or subscript.
    """
    known_hosts = set(host_names)
    unmatched: dict[str, None] = {}
    for part in split_pattern(pattern):
        name = part[1:] if part.startswith(("!", "&")) else part
        expression, _ = _split_subscript(name)
        if expression == "all" or {name, expression} & known_hosts or expression in group_hosts:
            continue
        matcher = _compile(expression)
        if any(matcher.match(group) for group in group_hosts):
            continue
        if not any(matcher.match(host) for host in host_names):
            unmatched[part] = None
    return tuple(unmatched)


def _match_part(
    part: str,
    host_names: Sequence[str],
    group_hosts: Mapping[str, Sequence[str]],
    pattern: str,
) -> list[str]:
    expression, subscript = _split_subscript(part)
    matches = _enumerate(expression, host_names, group_hosts)
    if subscript is None or not matches:
        return matches
    start, end = subscript
    if end is None:
        if not -len(matches) <= start < len(matches):
            raise HostNotFound(
                f"pattern '{pattern}': {expression} has {len(matches)} host(s), so [{start}] selects none"
            )
        return [matches[start]]
    return matches[start : end + 1]


def _split_subscript(part: str) -> tuple[str, tuple[int, int | None] | None]:
    if part.startswith("~"):
        return part, None
    found = _SUBSCRIPT.match(part)
    if found is None:
        return part, None
    if found["index"] is not None:
        return found["expression"], (int(found["index"]), None)
    if not found["start"] and not found["end"]:
        raise UsageError(
            f"host pattern '{part}': a subscript needs a start, an end or both ([0], [1:3], [1:], [:2])"
        )
    start = int(found["start"]) if found["start"] else 0
    end = int(found["end"]) if found["end"] else 2**31
    return found["expression"], (start, end)


def _enumerate(
    expression: str,
    host_names: Sequence[str],
    group_hosts: Mapping[str, Sequence[str]],
) -> list[str]:
    matcher = _compile(expression)
    matches: dict[str, None] = {}
    matched_group = False
    for group, members in group_hosts.items():
        if matcher.match(group):
            matched_group = True
            matches.update(dict.fromkeys(members))
    if (
        not matched_group
        or expression.startswith("~")
        or any(c in expression for c in _GLOB_CHARACTERS)
    ):
        matches.update(dict.fromkeys(name for name in host_names if matcher.match(name)))
    return list(matches)


def _compile(expression: str) -> re.Pattern[str]:
    if not expression.startswith("~"):
        return re.compile(fnmatch.translate(expression))
    try:
        # re.match, as Ansible does: the regex is anchored at the start of the name
        return re.compile(expression[1:])
    except re.error as error:
        raise UsageError(
            f"invalid regular expression in host pattern '{expression}': {error}"
        ) from None
