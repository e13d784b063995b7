"""Load :class:`~opsctl.core.settings.Settings` from its layers and explain any invalid key.

The core's sections and every registered package's section (:data:`~opsctl.core.settings.SETTINGS_SECTIONS`)
are validated alike, a package's model imported only when its section is present.

Layers, later overriding earlier ones key by key: the system file, the user file, the
``--config`` file (each followed by the ``*.yaml``/``*.yml`` fragments of the ``conf.d/``
directory beside it, in name order), then ``OPSCTL_SECTION__KEY`` environment variables.
An error names the file and line (or the variable) that set the offending key, never its value.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.core.errors import ConfigError
from opsctl.core.files import DEFAULT_LIMITS, FileLimits, set_limits
from opsctl.core.paths import SYSTEM_CONFIG_FILE, user_config_file
from opsctl.core.settings import CORE_SECTIONS, SETTINGS_SECTIONS, Settings

if TYPE_CHECKING:
    from pydantic import BaseModel
    from pydantic_core import ErrorDetails

    from opsctl.core.yamlfile import YamlDocument

ENV_PREFIX = "OPSCTL_"
ENV_SEPARATOR = "__"
FRAGMENT_SUFFIXES = (".yaml", ".yml")

KeyPath = tuple[str | int, ...]

# pydantic's wording for a few error types is written for programmers; these read better
_FRIENDLIER_MESSAGES = {
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "dict_type": "expected a mapping of keys",
    "path_type": "expected a path",
}


@dataclass(frozen=True)
class _Origin:
    """Where one key's value came from: a YAML document or an environment variable."""

    document: YamlDocument | None = None
    variable: str | None = None


@dataclass(frozen=True)
class _Layer:
    """One source's data plus its origin (a file, or the environment)."""

    data: dict[str, Any]
    origin: _Origin
    # the environment layer knows which variable set which key
    variables: Mapping[KeyPath, str] | None = None


def load_settings(
    config_file: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    system_file: Path = SYSTEM_CONFIG_FILE,
    user_file: Path | None = None,
) -> Settings:
    """Merge the system, user, ``config_file`` and environment layers and validate them.

    Missing system and user files are skipped; a missing ``config_file`` is an error. The files
    are read with the default :mod:`~opsctl.core.files` limits (no setting exists yet); the
    validated ``files`` settings then become the limits of every later read (the inventory).
    Raise :class:`ConfigError` naming the file and line (or variable) and key path of the first
    problem, or naming a file that is not a regular file or exceeds a limit.
    """
    environ = os.environ if environ is None else environ
    user_file = user_config_file() if user_file is None else user_file

    layers: list[_Layer] = []
    layers.extend(_file_layers(system_file, required=False))
    layers.extend(_file_layers(user_file, required=False))
    if config_file is not None:
        layers.extend(_file_layers(config_file, required=True))
    environment = _environment_layer(environ)
    if environment is not None:
        layers.append(environment)

    merged: dict[str, Any] = {}
    origins: dict[KeyPath, _Origin] = {}
    for layer in layers:
        _merge(merged, layer.data, (), layer, origins)
    settings = _validate(merged, origins)
    set_limits(
        FileLimits(
            max_bytes=settings.files.max_bytes,
            max_yaml_alias_nodes=settings.files.max_yaml_alias_nodes,
        )
    )
    return settings


def _file_layers(path: Path, *, required: bool) -> Iterator[_Layer]:
    """Yield the layer of ``path`` (if it exists, or raise if ``required``) then its fragments."""
    if path.exists():
        yield _document_layer(path)
    elif required:
        raise ConfigError(
            "no such configuration file", path=str(path), hint="check the --config path"
        )
    fragments_dir = path.parent / "conf.d"
    if fragments_dir.is_dir():
        fragments = sorted(
            entry
            for entry in fragments_dir.iterdir()
            # anything but a directory is read, so a FIFO fragment is refused, not skipped
            if entry.suffix in FRAGMENT_SUFFIXES and not entry.is_dir()
        )
        for fragment in fragments:
            yield _document_layer(fragment)


def _document_layer(path: Path) -> _Layer:
    from opsctl.core.yamlfile import load_yaml

    document = load_yaml(path, limits=DEFAULT_LIMITS)
    data = document.data
    if data is None:  # an empty file (or only comments) sets nothing
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"expected a mapping of settings at the top level, not a {_kind_of(data)}",
            path=str(path),
            line=1,
        )
    return _Layer(data=data, origin=_Origin(document=document))


def _kind_of(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def _environment_layer(environ: Mapping[str, str]) -> _Layer | None:
    """Build the nested data of every ``OPSCTL_*`` variable (``__`` nests, keys lower-cased)."""
    data: dict[str, Any] = {}
    variables: dict[KeyPath, str] = {}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split(ENV_SEPARATOR)
        if not all(parts):
            raise ConfigError(
                f"environment variable {name}: expected OPSCTL_SECTION__KEY "
                "(an empty part between double underscores)"
            )
        node = data
        for depth, part in enumerate(parts):
            key_path: KeyPath = tuple(parts[: depth + 1])
            last = depth == len(parts) - 1
            existing = node.get(part)
            if last and existing is None:
                node[part] = environ[name]
                variables[key_path] = name
            elif not last and (existing is None or isinstance(existing, dict)):
                node = node.setdefault(part, {})
            else:
                other = _variable_under(variables, key_path)
                raise ConfigError(
                    f"environment variables {other} and {name} both set "
                    f"{'.'.join(parts[: depth + 1])}",
                    hint="unset one of them",
                )
    if not data:
        return None
    return _Layer(data=data, origin=_Origin(), variables=variables)


def _variable_under(variables: Mapping[KeyPath, str], key_path: KeyPath) -> str:
    for path, name in variables.items():
        if path[: len(key_path)] == key_path or key_path[: len(path)] == path:
            return name
    return "another variable"  # pragma: no cover - a conflict always has a first variable


def _merge(
    target: dict[str, Any],
    source: Mapping[str, Any],
    prefix: KeyPath,
    layer: _Layer,
    origins: dict[KeyPath, _Origin],
) -> None:
    """Merge ``source`` into ``target`` key by key, recording each key's new origin."""
    for key, value in source.items():
        key_path = (*prefix, key)
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            origins[key_path] = _origin_of(layer, key_path)
            _merge(target[key], value, key_path, layer, origins)
            continue
        # a replaced subtree no longer comes from the earlier layers
        for stale in [path for path in origins if path[: len(key_path)] == key_path]:
            del origins[stale]
        target[key] = _copy(value)
        _record(value, key_path, layer, origins)


def _record(value: Any, key_path: KeyPath, layer: _Layer, origins: dict[KeyPath, _Origin]) -> None:
    origins[key_path] = _origin_of(layer, key_path)
    if isinstance(value, dict):
        for key, item in value.items():
            _record(item, (*key_path, key), layer, origins)


def _origin_of(layer: _Layer, key_path: KeyPath) -> _Origin:
    if layer.variables is None:
        return layer.origin
    # the variable that set this key, or (for a section) the first one beneath it
    return _Origin(variable=_variable_under(layer.variables, key_path))


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _validate(merged: dict[str, Any], origins: Mapping[KeyPath, _Origin]) -> Settings:
    from pydantic import ValidationError

    try:
        return Settings.model_validate(merged)
    except ValidationError as error:
        # never str(error): pydantic would print the offending value, which may be a secret
        details = error.errors(include_input=False, include_url=False, include_context=False)
        raise _config_error(details[0], len(details) - 1, merged, origins) from None


def _config_error(
    detail: ErrorDetails,
    others: int,
    merged: Mapping[str, Any],
    origins: Mapping[KeyPath, _Origin],
) -> ConfigError:
    key_path = _key_path(detail["loc"], merged)
    dotted = ".".join(str(part) for part in key_path)
    if detail["type"] == "extra_forbidden":
        allowed = _allowed_keys(key_path[:-1])
        message = "unknown key; expected one of: " + ", ".join(allowed)
    else:
        message = _FRIENDLIER_MESSAGES.get(detail["type"], detail["msg"])
        message = message.removeprefix("Value error, ")
    hint = f"{others} more problem(s) may follow once this one is fixed" if others else None

    origin = _find_origin(key_path, origins)
    if origin is not None and origin.variable is not None:
        return ConfigError(
            f"{message} (set by environment variable {origin.variable})",
            key_path=dotted,
            hint=hint,
        )
    if origin is not None and origin.document is not None:
        document = origin.document
        return ConfigError(
            message,
            path=str(document.path),
            line=document.line_of(key_path),
            key_path=dotted,
            hint=hint,
        )
    return ConfigError(message, key_path=dotted, hint=hint)


def _key_path(loc: tuple[str | int, ...], merged: Mapping[str, Any]) -> KeyPath:
    """Keep the part of pydantic's ``loc`` that names keys in the data (drop union tags)."""
    node: Any = merged
    kept: list[str | int] = []
    for index, part in enumerate(loc):
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if present:
            kept.append(part)
            node = node[part]
        else:
            if index == len(loc) - 1 and isinstance(node, dict):
                kept.append(part)  # a missing required key
            break
    return tuple(kept)


def _find_origin(key_path: KeyPath, origins: Mapping[KeyPath, _Origin]) -> _Origin | None:
    for length in range(len(key_path), 0, -1):
        origin = origins.get(key_path[:length])
        if origin is not None:
            return origin
    return None


def _allowed_keys(section: KeyPath) -> list[str]:
    """Return the keys allowed at ``section`` (sorted), or [] if unknown.

    At the top level: the core's sections and every registered package's section (their names
    come from the entry points' metadata; no package is imported to list them).
    """
    if not section:
        return sorted({*CORE_SECTIONS, *SETTINGS_SECTIONS.names()})
    model = _model_at(section)
    return sorted(model.model_fields) if model is not None else []


def _model_at(section: KeyPath) -> type[BaseModel] | None:
    import typing

    from pydantic import BaseModel

    first, *rest = section
    if first in CORE_SECTIONS:
        model: type[BaseModel] = Settings
        rest = list(section)
    elif first in SETTINGS_SECTIONS:
        model = SETTINGS_SECTIONS.get(str(first))
    else:
        return None
    for part in rest:
        if isinstance(part, int):  # an item of a list: the list's item model
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        candidates = [field.annotation, *typing.get_args(field.annotation)]
        nested = [
            candidate
            for candidate in candidates
            if isinstance(candidate, type) and issubclass(candidate, BaseModel)
        ]
        if not nested:
            return None
        model = nested[0]
    return model
