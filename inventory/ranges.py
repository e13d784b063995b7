"""Host ranges in inventory host names (``web[01:20]``, ``db-[a:f]``, ``[1:10:2]``), as Ansible expands them.

A name may hold several ranges; each is inclusive, numeric ranges keep the zero padding of their
start, and an optional third part is the step.
"""

from __future__ import annotations

import string


class HostRangeError(ValueError):
    """A host name whose ``[...]`` range cannot be expanded; the message says why."""


def has_range(name: str) -> bool:
    """Return whether ``name`` holds a ``[...]`` range to expand."""
    return "[" in name or "]" in name


def expand_host_range(name: str) -> list[str]:
    """Return the host names ``name`` stands for, in order (``[name]`` when it holds no range).

    Raise :class:`HostRangeError` for a malformed range: an unclosed bracket, missing bounds,
    start after end, a letter paired with a number, padded bounds of different lengths, or a
    step that is not a positive number.
    """
    if not has_range(name):
        return [name]
    start_bracket = name.find("[")
    end_bracket = name.find("]", start_bracket + 1)
    if start_bracket < 0 or end_bracket < 0:
        raise HostRangeError(f"unbalanced brackets in host range {name!r}")
    head, body, tail = (
        name[:start_bracket],
        name[start_bracket + 1 : end_bracket],
        name[end_bracket + 1 :],
    )
    names: list[str] = []
    for item in _range_items(body, name):
        names.extend(expand_host_range(f"{head}{item}{tail}"))
    return names


def _range_items(body: str, name: str) -> list[str]:
    bounds = body.split(":")
    if len(bounds) not in (2, 3):
        raise HostRangeError(
            f"host range [{body}] in {name!r} must be [start:end] or [start:end:step]"
        )
    first, last = bounds[0] or "0", bounds[1]
    if not last:
        raise HostRangeError(f"host range [{body}] in {name!r} has no end")
    step = _step(bounds[2] if len(bounds) == 3 else "1", body, name)

    if first.isalpha() or last.isalpha():
        if not (
            len(first) == len(last) == 1
            and first in string.ascii_letters
            and last in string.ascii_letters
        ):
            raise HostRangeError(
                f"host range [{body}] in {name!r} mixes letters and numbers or spans several letters; "
                "use [a:f] or [1:9]"
            )
        first_index, last_index = (
            string.ascii_letters.index(first),
            string.ascii_letters.index(last),
        )
        if first_index > last_index:
            raise HostRangeError(f"host range [{body}] in {name!r} starts after it ends")
        return list(string.ascii_letters[first_index : last_index + 1 : step])

    if not (first.isdigit() and last.isdigit() and first.isascii() and last.isascii()):
        raise HostRangeError(f"host range [{body}] in {name!r} is neither numeric nor alphabetic")
    width = 0
    if first.startswith("0") and len(first) > 1:
        if len(first) != len(last):
            raise HostRangeError(
                f"host range [{body}] in {name!r} is zero-padded, so start and end need the same width"
            )
        width = len(first)
    first_number, last_number = int(first), int(last)
    if first_number > last_number:
        raise HostRangeError(f"host range [{body}] in {name!r} starts after it ends")
    return [str(number).zfill(width) for number in range(first_number, last_number + 1, step)]


def _step(text: str, body: str, name: str) -> int:
    if not (text.isdigit() and text.isascii()) or int(text) < 1:
        raise HostRangeError(f"host range [{body}] in {name!r} needs a positive whole step")
    return int(text)
