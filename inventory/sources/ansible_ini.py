"""Ansible's INI inventory format, read as Ansible's ``ini`` inventory plugin reads it.

Hosts before the first section are ungrouped; ``[group]`` lists hosts (with ranges, a ``:port``
and ``key=value`` variables), ``[group:vars]`` sets group variables and ``[group:children]``
names subgroups. Values are parsed as the plugin does: ``ast.literal_eval`` where it succeeds
(numbers, ``True``/``False``, quoted text, lists, dicts), else the text as written. The result
goes through the YAML loader's builder, so credentials must be secret references and
``group_vars/``/``host_vars/`` beside the file apply as for a YAML inventory.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory.model import Inventory
from inventory.sources._build import DocumentSource, build_inventory
from opsctl.core.errors import ConfigError
from opsctl.core.files import read_head, read_text

# as in Ansible's ini plugin: a group name, an optional :tag, then only whitespace or a comment
_SECTION = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:\#.*)?$")
_GROUP_NAME = re.compile(r"^([^:\]\s]+)\s*(?:\#.*)?$")
_COMMENT_MARKERS = ("#", ";")
_SECTION_KINDS = ("hosts", "children", "vars")


def parse_ini_value(text: str) -> Any:
    """Return ``text`` as Ansible's INI plugin reads a value: its Python literal if it is one, else the text.

    Raise ``ValueError`` for a literal Ansible cannot use either (an unhashable dict key).
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    except (TypeError, MemoryError, RecursionError) as error:
        raise ValueError(f"is not a usable literal ({type(error).__name__})") from None
    return _coerced(value)


def _coerced(value: Any) -> Any:
    # as Ansible does after literal_eval: tuples and sets become lists, other types text
    if isinstance(value, list | tuple | set):
        return [_coerced(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _coerced(item) for key, item in value.items()}
    if value is ...:
        return "..."
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


@dataclass
class _Section:
    group: str
    kind: str
    line: int
    entries: dict[str, Any] = field(default_factory=dict)
    lines: dict[tuple[str, ...], int] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {self.group: {self.kind: self.entries}}

    def line_of(self, key_path: Sequence[str | int]) -> int | None:
        path = tuple(str(part) for part in key_path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.line


def _parse_host_line(text: str, section: _Section, number: int, path: Path) -> None:
    try:
        tokens = shlex.split(text, comments=True)
    except ValueError as error:
        raise ConfigError(
            f"cannot split the host line: {error}", path=str(path), line=number
        ) from None
    if not tokens:
        return
    pattern = tokens[0]
    if pattern.strip() == "---":
        raise ConfigError(
            "'---' starts a YAML document; this file is not an INI inventory",
            path=str(path),
            line=number,
        )
    if pattern.endswith(":"):
        raise ConfigError(
            f"host {pattern} ends in ':', which is kept for a port (host:2222)",
            path=str(path),
            line=number,
        )
    variables: dict[str, Any] = {}
    for token in tokens[1:]:
        name, separator, value_text = token.partition("=")
        if not separator or not name:
            raise ConfigError(
                f"expected key=value after host {pattern}, got {token!r}",
                path=str(path),
                line=number,
                hint="quote a value that holds spaces: key='two words'",
            )
        try:
            variables[name] = parse_ini_value(value_text)
        except ValueError as error:
            raise ConfigError(
                str(error),
                path=str(path),
                line=number,
                key_path=f"{section.group}.hosts.{pattern}.{name}",
            ) from None
        section.lines[(section.group, "hosts", pattern, name)] = number
    existing = section.entries.get(pattern)
    section.entries[pattern] = {**(existing or {}), **variables} if existing or variables else None
    section.lines.setdefault((section.group, "hosts", pattern), number)


def _parse_lines(text: str, path: Path) -> tuple[list[_Section], dict[str, int], dict[str, int]]:
    """Return the sections in file order, the groups declared ([g] or [g:children]) and those only referenced."""
    sections: list[_Section] = [_Section("ungrouped", "hosts", 1)]
    declared: dict[str, int] = {"all": 0, "ungrouped": 0}
    referenced: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(_COMMENT_MARKERS):
            continue
        header = _SECTION.match(line)
        if header is not None:
            group, kind = header[1], header[2] or "hosts"
            if kind not in _SECTION_KINDS:
                raise ConfigError(
                    f"section [{group}:{kind}] has an unknown type; expected :vars or :children",
                    path=str(path),
                    line=number,
                )
            if kind == "vars":
                referenced.setdefault(group, number)
            else:
                declared.setdefault(group, number)
            sections.append(_Section(group, kind, number))
            continue
        if line.startswith("[") and line.endswith("]"):
            raise ConfigError(
                f"invalid section {line}: a section is [group], [group:vars] or [group:children], without spaces",
                path=str(path),
                line=number,
            )
        section = sections[-1]
        if section.kind == "hosts":
            _parse_host_line(line, section, number, path)
        elif section.kind == "vars":
            name, separator, value_text = (part.strip() for part in line.partition("="))
            if not separator or not name:
                raise ConfigError(
                    f"expected key=value in [{section.group}:vars], got {line!r}",
                    path=str(path),
                    line=number,
                )
            try:
                section.entries[name] = parse_ini_value(value_text)
            except ValueError as error:
                raise ConfigError(
                    str(error), path=str(path), line=number, key_path=f"{section.group}.vars.{name}"
                ) from None
            section.lines[(section.group, "vars", name)] = number
        else:
            child = _GROUP_NAME.match(line)
            if child is None:
                raise ConfigError(
                    f"expected a group name in [{section.group}:children], got {line!r}",
                    path=str(path),
                    line=number,
                )
            section.entries[child[1]] = None
            section.lines[(section.group, "children", child[1])] = number
            referenced.setdefault(child[1], number)
    return sections, declared, referenced


def load_ini_inventory(path: Path) -> Inventory:
    """Load an Ansible INI inventory file with the ``group_vars/`` and ``host_vars/`` beside it.

    Raise :class:`ConfigError` naming the file, line and key path for a missing or unreadable
    file, a malformed line, a section for a group never declared, or a credential that is not a
    secret reference.
    """
    if path.is_dir():
        raise ConfigError("an INI inventory is a file, not a directory", path=str(path))
    text = read_text(path)
    sections, declared, referenced = _parse_lines(text, path)
    for group, number in referenced.items():
        if group not in declared:
            raise ConfigError(
                f"group {group} is used but never declared with [{group}] or [{group}:children]",
                path=str(path),
                line=number,
            )
    documents: list[tuple[Mapping[str, Any], DocumentSource]] = [
        (section.document(), DocumentSource(str(path), section.line_of))
        for section in sections
        if section.entries or section.kind != "vars"
    ]
    return build_inventory(documents, path=path, source=str(path), vars_directory=path.parent)


def looks_like_ini(path: Path) -> bool:
    """Return whether ``path`` is a file that reads as an INI inventory (``.ini``, or a ``[section]`` line in its first lines)."""
    if not path.is_file():
        return False
    if path.suffix in (".ini", ".cfg"):
        return True
    if path.suffix in (".yml", ".yaml", ".json"):
        return False
    head = read_head(path, 8192)
    if head is None:
        return False
    return any(_SECTION.match(line.strip()) for line in head.splitlines()[:50])


class AnsibleIniSource:
    """Ansible's INI inventory format (``[group]``, ``[group:vars]``, ``[group:children]``)."""

    name = "ansible-ini"

    def claims(self, path: Path) -> bool:
        """Return whether ``path`` looks like an INI inventory."""
        return looks_like_ini(path)

    def load(self, path: Path) -> Inventory:
        """Load the INI inventory at ``path``; see :func:`load_ini_inventory`."""
        return load_ini_inventory(path)
