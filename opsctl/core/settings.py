"""The validated configuration models (pydantic, ``extra="forbid"``): the core's sections and the registry of the packages' sections.

:mod:`opsctl.core.config` loads the layers into :class:`Settings`; everything else reads
settings only through these models. The core knows its own sections (``inventory``,
``state``, ``ssh``, ``fleet``, ``audit``, ``files``); every other top-level key is a section a package
registers in :data:`SETTINGS_SECTIONS`, by an entry point in the ``opsctl.settings`` group
(``lab = "lab.settings:LabSettings"``) or in-process with :func:`register_section`. A
section's model is imported only when the section is present (or a package asks for it), so
a ``backup:`` section is validated as soon as the backup package declares its entry point,
and start-up imports nothing of the packages.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    create_model,
    model_validator,
)

from opsctl.core.paths import default_state_dir
from opsctl.core.plugins import PluginRegistry
from opsctl.core.secrets import SecretRef, secret_ref_validator

if TYPE_CHECKING:
    from pydantic import ModelWrapValidatorHandler

SecretField = Annotated[SecretRef, BeforeValidator(secret_ref_validator), PlainSerializer(str)]

SectionT = TypeVar("SectionT", bound="SettingsModel")


class SettingsModel(BaseModel):
    """The base of every settings model, the core's and the packages' sections alike: unknown keys refused, frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StateSettings(SettingsModel):
    dir: Path | None = None
    url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite in dir by default")
    password: SecretField | None = Field(
        default=None, description="the database user's password, by reference; joined to url"
    )

    @property
    def directory(self) -> Path:
        return self.dir if self.dir is not None else default_state_dir()

    @property
    def database_url(self) -> str:
        return self.url or f"sqlite:///{self.directory / 'state.db'}"


class SshSettings(SettingsModel):
    known_hosts: Path | None = Field(default=None, description="default: STATE_DIR/known_hosts")
    connect_timeout: float = Field(default=10.0, gt=0)
    command_timeout: float = Field(default=600.0, gt=0)
    user: str | None = None
    port: int = Field(default=22, ge=1, le=65535)
    private_key: Path | None = None
    private_key_passphrase: SecretField | None = None
    use_agent: bool = True
    become_password: SecretField | None = None


class FleetSettings(SettingsModel):
    forks: int = Field(default=50, ge=1, le=1000)


class AuditSettings(SettingsModel):
    path: Path | None = Field(default=None, description="default: STATE_DIR/audit.jsonl")
    operator: str | None = Field(default=None, description="default: the login name")


class FilesSettings(SettingsModel):
    """Bounds on every inventory file read (the configuration files themselves are always read
    with the defaults, since they are read before any setting exists)."""

    max_bytes: int = Field(default=16 * 1024 * 1024, ge=1, description="bytes per file")
    max_yaml_alias_nodes: int = Field(
        default=100_000, ge=0, description="nodes YAML aliases may add once expanded, per file"
    )


class CoreSettings(SettingsModel):
    """The core's own top-level keys; :class:`Settings` adds the packages' sections."""

    inventory: Path | None = None
    state: StateSettings = StateSettings()
    ssh: SshSettings = SshSettings()
    fleet: FleetSettings = FleetSettings()
    audit: AuditSettings = AuditSettings()
    files: FilesSettings = FilesSettings()


CORE_SECTIONS = tuple(CoreSettings.model_fields)

SETTINGS_SECTIONS: PluginRegistry[type[SettingsModel]] = PluginRegistry(
    "settings section", "opsctl.settings", SettingsModel, classes=True, reserved=CORE_SECTIONS
)


def register_section(name: str, model: type[SettingsModel]) -> None:
    """Register ``model`` as the top-level section ``name`` (in-process, as an entry point would).

    Raise :class:`~opsctl.core.errors.UsageError` if ``name`` is a core key or another model's.
    """
    SETTINGS_SECTIONS.register(model, name=name)


class Settings(CoreSettings):
    """Every setting: the core's sections as fields, the packages' sections through :meth:`section`.

    ``Settings(state={...}, lab={...})`` validates a package's section by its registered model
    like a configuration file does; an unknown top-level key is refused.
    """

    _sections: dict[str, SettingsModel] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _validate_sections(
        cls, data: Any, handler: ModelWrapValidatorHandler[Settings]
    ) -> Settings:
        if not isinstance(data, Mapping) or all(key in CORE_SECTIONS for key in data):
            return handler(data)
        models = tuple(
            (key, SETTINGS_SECTIONS.get(key))
            for key in data
            if key not in CORE_SECTIONS and key in SETTINGS_SECTIONS
        )
        # one model of the core's fields and the sections present, so that every problem is
        # reported at once, each under its key path (an unknown key as extra_forbidden)
        checked = _model_with_sections(models).model_validate(dict(data))
        settings = handler({key: getattr(checked, key) for key in data if key in CORE_SECTIONS})
        settings._sections = {name: getattr(checked, name) for name, _ in models}
        return settings

    def section(self, name: str, model: type[SectionT]) -> SectionT:
        """Return the section ``name`` as validated by ``model``, or ``model``'s defaults if it is absent.

        Raise :class:`TypeError` if the section was validated by another model (a package
        asking with a model other than the one it registered).
        """
        value = self._sections.get(name)
        if value is None:
            return model()
        if not isinstance(value, model):
            raise TypeError(
                f"settings section {name!r} is a {type(value).__name__}, not a {model.__name__}"
            )
        return value

    @property
    def sections(self) -> Mapping[str, SettingsModel]:
        """The packages' sections present in the configuration, by name (absent ones are not here)."""
        return MappingProxyType(self._sections)

    def __repr_args__(self) -> Any:
        yield from super().__repr_args__()
        yield from self._sections.items()

    @property
    def state_dir(self) -> Path:
        return self.state.directory

    @property
    def known_hosts_path(self) -> Path:
        return self.ssh.known_hosts or self.state_dir / "known_hosts"

    @property
    def audit_path(self) -> Path:
        return self.audit.path or self.state_dir / "audit.jsonl"


@lru_cache(maxsize=64)
def _model_with_sections(
    sections: tuple[tuple[str, type[SettingsModel]], ...],
) -> type[SettingsModel]:
    """A model of the core's fields plus ``sections`` (each required): validates a whole configuration."""
    fields: dict[str, Any] = {name: (model, ...) for name, model in sections}
    return create_model("Settings", __base__=CoreSettings, **fields)


__all__ = [
    "CORE_SECTIONS",
    "SETTINGS_SECTIONS",
    "AuditSettings",
    "CoreSettings",
    "FleetSettings",
    "SecretField",
    "Settings",
    "SettingsModel",
    "SshSettings",
    "StateSettings",
    "register_section",
]
