"""A YAML loader that keeps line marks, so an error can name the file, line and key path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opsctl.core.errors import ConfigError


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
    pending: list[Node] = [YAML(typ="rt", pure=True).compose(text)]
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


def load_yaml(path: Path) -> YamlDocument:
    """Parse ``path``; raise :class:`ConfigError` with the line for unreadable or malformed YAML."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("no such file", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read: {error}", path=str(path)) from None
    yaml = YAML(typ="rt", pure=True)
    try:
        tree = yaml.load(text)
    except DuplicateKeyError as error:
        raise _duplicate_key_error(path, text, error) from None
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "malformed YAML"
        raise ConfigError(f"malformed YAML: {problem}", path=str(path), line=line) from None
    except YAMLError as error:
        raise ConfigError(f"malformed YAML: {type(error).__name__}", path=str(path)) from None
    return YamlDocument(path=path, data=_plain(tree), _tree=tree)
