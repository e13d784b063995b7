"""A YAML loader that keeps line marks, so an error can name the file, line and key path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsctl.core.errors import ConfigError
from opsctl.core.files import FileLimits, current_limits, read_text


@dataclass(frozen=True)
class YamlDocument:
    """A parsed YAML file: plain ``data`` plus the marked tree to find a key's line."""

    path: Path
    data: Any
    _tree: Any

    def line_of(self, key_path: Sequence[str | int]) -> int | None:
        """Return the 1-based line of the deepest part of ``key_path`` that exists."""
        node = self._tree
        line: int | None = None
        for key in key_path:
            lc = getattr(node, "lc", None)
            try:
                if lc is not None and isinstance(key, str) and hasattr(node, "keys"):
                    line = lc.key(key)[0] + 1
                elif lc is not None and isinstance(key, int):
                    line = lc.item(key)[0] + 1
                node = node[key]
            except (KeyError, IndexError, TypeError):
                break
        return line


def _plain(node: Any) -> Any:
    if hasattr(node, "items"):
        return {str(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    return node


def _alias_nodes(tree: Any, limit: int, path: Path) -> int:
    """Return how many nodes ``tree``'s aliases add once expanded (a shared mapping or list counts
    in full at each further reference); raise :class:`ConfigError` past ``limit`` or for an
    alias inside its own anchor."""
    expanded_sizes: dict[int, int] = {}
    in_progress: set[int] = set()
    added = 0

    def size_of(node: Any) -> int:
        nonlocal added
        if hasattr(node, "items"):
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            return 1
        identity = id(node)
        if identity in expanded_sizes:
            added += expanded_sizes[identity]
            if added > limit:
                raise ConfigError(
                    f"YAML aliases expand to more than {limit} nodes "
                    "(files.max_yaml_alias_nodes): refused",
                    path=str(path),
                    hint="an alias bomb, or raise files.max_yaml_alias_nodes in the configuration",
                )
            return expanded_sizes[identity]
        if identity in in_progress:
            raise ConfigError("a YAML alias inside its own anchor: refused", path=str(path))
        in_progress.add(identity)
        size = 1 + sum(size_of(child) for child in children)
        in_progress.discard(identity)
        expanded_sizes[identity] = size
        return size

    size_of(tree)
    return added


def _duplicate_key_error(path: Path, text: str, error: Any) -> ConfigError:
    """The error for a key given twice in one mapping: the key and both lines, never a value.

    ruamel's own message repeats both values, and the value of a duplicated
    ``ansible_become_password`` may be a secret; the loader cannot tell which keys are secret,
    so no duplicate-key message carries a value.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.nodes import MappingNode, Node, ScalarNode

    mark = error.problem_mark
    line = mark.line + 1 if mark is not None else None
    mapping_mark = error.context_mark
    if mark is None or mapping_mark is None:
        return ConfigError("malformed YAML: duplicate key", path=str(path), line=line)
    # compose only (no construction, so no second error): find the mapping and its key nodes
    from ruamel.yaml.error import YAMLError

    try:
        pending: list[Node] = [YAML(typ="rt", pure=True).compose(text)]
    except (RecursionError, YAMLError):  # the key and line are still worth saying
        return ConfigError("malformed YAML: duplicate key", path=str(path), line=line)
    while pending:
        node = pending.pop()
        if isinstance(node, MappingNode):
            if node.start_mark.index == mapping_mark.index:
                keys = [key for key, _ in node.value]
                duplicate = next((key for key in keys if key.start_mark.index == mark.index), None)
                if isinstance(duplicate, ScalarNode):
                    first = next(key for key in keys
                                 if isinstance(key, ScalarNode) and key.value == duplicate.value)
                    return ConfigError(
                        f"malformed YAML: duplicate key {duplicate.value!r} (first given on line {first.start_mark.line + 1})",
                        path=str(path), line=line,
                    )
                break
            pending.extend(item for pair in node.value for item in pair)
        elif isinstance(node.value, list):
            pending.extend(node.value)
    return ConfigError("malformed YAML: duplicate key", path=str(path), line=line)


def load_yaml(path: Path, *, limits: FileLimits | None = None) -> YamlDocument:
    """Parse ``path`` within ``limits`` (the ones in force by default, see :mod:`opsctl.core.files`).

    Raise :class:`ConfigError` naming the file (and the line where known) for a file that is
    missing, unreadable, not a regular file, larger than ``limits.max_bytes``, malformed,
    nested too deeply, or whose aliases expand beyond ``limits.max_yaml_alias_nodes``.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    limits = current_limits() if limits is None else limits
    text = read_text(path, limits=limits)
    yaml = YAML(typ="rt", pure=True)
    try:
        tree = yaml.load(text)
        _alias_nodes(tree, limits.max_yaml_alias_nodes, path)
        data = _plain(tree)
    except RecursionError:
        raise ConfigError("malformed YAML: nested too deeply", path=str(path)) from None
    except DuplicateKeyError as error:
        raise _duplicate_key_error(path, text, error) from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "malformed YAML"
        raise ConfigError(f"malformed YAML: {problem}", path=str(path), line=line) from None
    except YAMLError as error:
        raise ConfigError(f"malformed YAML: {type(error).__name__}", path=str(path)) from None
    return YamlDocument(path=path, data=data, _tree=tree)
