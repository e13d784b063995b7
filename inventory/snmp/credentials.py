"""SNMP credentials in one place, both ways, secrets by reference.

A :class:`SnmpCredentialSet` is one v2c community or one v3 USM user with its secrets as
references (``env:``, ``file:``, ``keyring:``). It is read from an inventory host's
``opsctl_snmp_*`` variables (:func:`credential_set_of_host`) or from a ``discovery.snmp`` entry
of the configuration (:func:`credential_set_of_settings`), and written back as host variables
(:func:`host_variables_of`, for hosts a sweep makes and for the inventory the lab publishes) or
as a ``discovery.snmp`` entry (:func:`settings_entry_of`, for the configuration the lab
publishes). Only :meth:`SnmpCredentialSet.resolve` reads the secrets, at use, into the SNMP
client's :class:`~inventory.snmp.client.SnmpCredentials`; no message here ever holds a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsctl.core.errors import ConfigError

if TYPE_CHECKING:
    from inventory.model import Host
    from inventory.settings import SnmpCredentialSettings
    from inventory.snmp.client import SnmpCredentials, SnmpTarget
    from opsctl.core.secrets import SecretRef

# the inventory's SNMP variables
VERSION = "opsctl_snmp_version"
PORT = "opsctl_snmp_port"
COMMUNITY = "opsctl_snmp_community"
CONTEXT = "opsctl_snmp_context"
V3_USER = "opsctl_snmp_v3_user"
V3_AUTH_KEY = "opsctl_snmp_v3_auth_key"
V3_AUTH_PROTOCOL = "opsctl_snmp_v3_auth_protocol"
V3_PRIV_KEY = "opsctl_snmp_v3_priv_key"
V3_PRIV_PROTOCOL = "opsctl_snmp_v3_priv_protocol"
DEFAULT_PORT = 161


@dataclass(frozen=True)
class SnmpCredentialSet:
    """One SNMP credential set, secrets as references: a v2c ``community``, or a v3 ``user`` with its keys.

    ``context`` is the v3 context name (kept with a v2c set too, as the inventory gives it).
    """

    version: str
    community: SecretRef | None = None
    user: str = ""
    auth_key: SecretRef | None = None
    priv_key: SecretRef | None = None
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"
    context: str = ""

    def __post_init__(self) -> None:
        if self.version not in ("2c", "3"):
            raise ConfigError(f"SNMP version must be '2c' or '3', not {self.version!r}")

    def resolve(self) -> SnmpCredentials:
        """The client's credentials, secrets read now; raise SecretError naming a reference, ConfigError for a bad set."""
        from inventory.snmp.client import SnmpCredentials

        if self.version == "2c":
            if self.community is None:
                raise ConfigError("SNMP v2c needs a community")
            return SnmpCredentials.v2c(self.community.resolve())
        return SnmpCredentials.v3(
            self.user,
            "" if self.auth_key is None else self.auth_key.resolve(),
            "" if self.priv_key is None else self.priv_key.resolve(),
            auth_protocol=self.auth_protocol,
            priv_protocol=self.priv_protocol,
            context_name=self.context,
        )


def _reference(owner: str, variables: Mapping[str, Any], variable: str) -> SecretRef:
    """The reference ``variable`` holds; raise ConfigError naming ``owner`` and the variable, never the value."""
    from inventory.model import parse_secret_reference

    value = variables.get(variable)
    if value is None:
        raise ConfigError(f"host {owner}: {variable} is not set")
    try:
        return parse_secret_reference(value)
    except ValueError as error:
        raise ConfigError(f"host {owner}: {variable} {error}") from None


def _v3_set(owner: str, variables: Mapping[str, Any]) -> SnmpCredentialSet:
    user = variables.get(V3_USER)
    if not isinstance(user, str) or not user:
        raise ConfigError(f"host {owner}: {V3_USER} is not set")
    return SnmpCredentialSet(
        "3",
        user=user,
        auth_key=_reference(owner, variables, V3_AUTH_KEY) if variables.get(V3_AUTH_KEY) else None,
        priv_key=_reference(owner, variables, V3_PRIV_KEY) if variables.get(V3_PRIV_KEY) else None,
        auth_protocol=str(variables.get(V3_AUTH_PROTOCOL, "SHA")).upper(),
        priv_protocol=str(variables.get(V3_PRIV_PROTOCOL, "AES")).upper(),
        context=str(variables.get(CONTEXT) or ""),
    )


def snmp_version_of(variables: Mapping[str, Any]) -> str:
    """``2c``, ``3`` or whatever else ``opsctl_snmp_version`` says, normalised (``v2c`` → ``2c``); ``''`` if unset."""
    return str(variables.get(VERSION, "")).strip().lower().removeprefix("v")


def credential_set_of_variables(owner: str, variables: Mapping[str, Any]) -> SnmpCredentialSet:
    """The credential set ``opsctl_snmp_version`` chooses among ``variables`` (of the host called ``owner``).

    Raise ConfigError naming the host and the variable for a bad version, a missing user or
    community, or a value that is not a secret reference (never repeating the value).
    """
    version = snmp_version_of(variables)
    if version in ("2", "2c"):
        return SnmpCredentialSet(
            "2c", community=_reference(owner, variables, COMMUNITY), context=str(variables.get(CONTEXT) or "")
        )
    if version == "3":
        return _v3_set(owner, variables)
    raise ConfigError(f"host {owner}: {VERSION} must be 2c or 3")


def credential_set_of_host(host: Host) -> SnmpCredentialSet:
    """The credential set of an inventory host (see :func:`credential_set_of_variables`)."""
    return credential_set_of_variables(host.name, host.vars)


def credential_sets_in_variables(owner: str, variables: Mapping[str, Any]) -> tuple[SnmpCredentialSet, ...]:
    """Every credential set ``variables`` hold, whatever the version chooses: the community, then the v3 user.

    A device may answer both (the lab's snmpd does); raise ConfigError as
    :func:`credential_set_of_variables` does for a set that is there but unusable.
    """
    found = []
    if variables.get(COMMUNITY):
        found.append(SnmpCredentialSet("2c", community=_reference(owner, variables, COMMUNITY)))
    if variables.get(V3_USER):
        found.append(_v3_set(owner, variables))
    return tuple(found)


def snmp_secret_problems(hosts: Iterable[Host]) -> list[str]:
    """``"host: why"`` for every SNMP secret reference among ``hosts`` that cannot be read now.

    A pre-flight before a scan; the secrets are checked, not kept. A host whose variables are
    otherwise unusable (no version, no user) is left to fail alone, as before.
    """
    from opsctl.core.secrets import secret_problems

    references: list[tuple[str, SecretRef | None]] = []
    for host in hosts:
        try:
            found = credential_set_of_host(host)
        except ConfigError:
            continue
        references += [(host.name, found.community), (host.name, found.auth_key), (host.name, found.priv_key)]
    return secret_problems(references)


def snmp_port_of(host: Host) -> int:
    """The UDP port of an inventory host's agent (``opsctl_snmp_port``, 161 by default); raise ConfigError if bad."""
    from inventory.model import parse_port

    try:
        return parse_port(host.vars.get(PORT, DEFAULT_PORT))
    except ValueError as error:
        raise ConfigError(f"host {host.name}: {PORT} {error}") from None


def snmp_access(host: Host, *, timeout: float = 2.0, retries: int = 1) -> tuple[SnmpTarget, SnmpCredentials]:
    """The SNMP target and the client's credentials of an inventory host, secrets resolved now.

    Raise ConfigError for a bad version, port or missing variable, SecretError for an unreadable secret.
    """
    from inventory.snmp.client import SnmpTarget

    target = SnmpTarget(host.address, snmp_port_of(host), timeout=timeout, retries=retries)
    return target, credential_set_of_host(host).resolve()


def credential_set_of_settings(entry: SnmpCredentialSettings) -> SnmpCredentialSet:
    """The credential set of one ``discovery.snmp`` entry of the configuration (already validated)."""
    if entry.version == "2c":
        return SnmpCredentialSet("2c", community=entry.community, context=entry.context)
    return SnmpCredentialSet(
        "3",
        user=entry.user or "",
        auth_key=entry.auth_key,
        priv_key=entry.priv_key,
        auth_protocol=entry.auth_protocol.upper(),
        priv_protocol=entry.priv_protocol.upper(),
        context=entry.context,
    )


def host_variables_of(credentials: SnmpCredentialSet, *, with_version: bool = True) -> dict[str, Any]:
    """The ``opsctl_snmp_*`` inventory variables of ``credentials``, secrets as their references.

    ``with_version=False`` leaves ``opsctl_snmp_version`` out (for group variables, where each
    host says its own version).
    """
    variables: dict[str, Any] = {VERSION: credentials.version} if with_version else {}
    if credentials.version == "2c":
        if credentials.community is not None:
            variables[COMMUNITY] = str(credentials.community)
    else:
        variables[V3_USER] = credentials.user
        if credentials.auth_key is not None:
            variables[V3_AUTH_KEY] = str(credentials.auth_key)
            variables[V3_AUTH_PROTOCOL] = credentials.auth_protocol.upper()
        if credentials.priv_key is not None:
            variables[V3_PRIV_KEY] = str(credentials.priv_key)
            variables[V3_PRIV_PROTOCOL] = credentials.priv_protocol.upper()
    if credentials.context:
        variables[CONTEXT] = credentials.context
    return variables


def settings_entry_of(credentials: SnmpCredentialSet) -> dict[str, Any]:
    """``credentials`` as one ``discovery.snmp`` entry of the configuration, secrets as their references."""
    if credentials.version == "2c":
        entry: dict[str, Any] = {"community": None if credentials.community is None else str(credentials.community)}
    else:
        entry = {"version": "3", "user": credentials.user}
        if credentials.auth_key is not None:
            entry["auth_key"] = str(credentials.auth_key)
            entry["auth_protocol"] = credentials.auth_protocol.upper()
        if credentials.priv_key is not None:
            entry["priv_key"] = str(credentials.priv_key)
            entry["priv_protocol"] = credentials.priv_protocol.upper()
    if credentials.context:
        entry["context"] = credentials.context
    return entry
