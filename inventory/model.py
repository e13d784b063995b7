"""The inventory model: hosts with their merged variables, groups, and selection by pattern.

Connection settings are read from Ansible's variable names (``ansible_host``, ``ansible_port``,
``ansible_user``, ``ansible_become*``, key files); credentials are secret references only.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from opsctl.core.errors import ConfigError, HostNotFound, SecretError
from opsctl.core.secrets import SecretRef

# SNMP variables that carry a credential (inventory.snmp.credentials' COMMUNITY, V3_AUTH_KEY,
# V3_PRIV_KEY; named here so that loading an inventory does not import the SNMP package).
SNMP_SECRET_VARIABLES = frozenset({"opsctl_snmp_community", "opsctl_snmp_v3_auth_key", "opsctl_snmp_v3_priv_key"})

# Variables that carry a credential: each must be a secret reference, never the secret.
SECRET_VARIABLES = frozenset(
    {
        *SNMP_SECRET_VARIABLES,
        "ansible_password",
        "ansible_ssh_pass",
        "ansible_ssh_password",
        "ansible_become_password",
        "ansible_become_pass",
        "ansible_sudo_pass",
        "ansible_sudo_password",
        "ansible_su_pass",
        "ansible_su_password",
        "opsctl_ssh_key_passphrase",
    }
)

# For each setting, Ansible's variable names in Ansible's order: when several are set, the
# last one in this order wins, as in Ansible's connection and become plugins.
_ADDRESS_VARIABLES = ("ansible_host", "ansible_ssh_host")
_PORT_VARIABLES = ("ansible_port", "ansible_ssh_port")
_USER_VARIABLES = ("ansible_user", "ansible_ssh_user")
_BECOME_USER_VARIABLES = ("ansible_become_user", "ansible_sudo_user")
_BECOME_PASSWORD_VARIABLES = ("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass")
_KEY_FILE_VARIABLES = ("ansible_private_key_file", "ansible_ssh_private_key_file")

# Variables opsctl reads itself: a template in one of them would be used as literal text.
CONNECTION_VARIABLES = frozenset(
    {
        *_ADDRESS_VARIABLES,
        *_PORT_VARIABLES,
        *_USER_VARIABLES,
        *_BECOME_USER_VARIABLES,
        *_KEY_FILE_VARIABLES,
        "ansible_become",
        "ansible_become_method",
        "ansible_network_os",
        "opsctl_ssh",
    }
)

_TRUE_WORDS = frozenset({"y", "yes", "on", "1", "true", "t"})
_FALSE_WORDS = frozenset({"n", "no", "off", "0", "false", "f"})

SECRET_REFERENCE_HINT = (
    "write a reference instead (env:NAME, file:/path or keyring:service/name) "
    "and keep the secret in the environment, a 0600 file or the keyring"
)


def is_template(value: Any) -> bool:
    """Return whether ``value`` is a string holding Jinja syntax (``{{``, ``{%`` or ``{#``)."""
    return isinstance(value, str) and any(mark in value for mark in ("{{", "{%", "{#"))


def is_vault_value(value: Any) -> bool:
    """Return whether ``value`` is an Ansible Vault value as opsctl keeps it (``{"__ansible_vault": ...}``)."""
    return isinstance(value, Mapping) and set(value) == {"__ansible_vault"}


def parse_port(value: Any) -> int:
    """Return ``value`` as a TCP port; raise ``ValueError`` (without the value) unless it is a whole number 1..65535."""
    if isinstance(value, bool):
        raise ValueError("must be a port number 1..65535, not a boolean")
    if isinstance(value, int):
        port = value
    elif isinstance(value, str) and value.strip().isdigit():
        port = int(value.strip())
    else:
        raise ValueError("must be a port number 1..65535")
    if not 1 <= port <= 65535:
        raise ValueError("must be a port number 1..65535")
    return port


def parse_boolean(value: Any) -> bool:
    """Return ``value`` as a boolean the way Ansible reads one (yes/no, true/false, on/off, 1/0); raise ``ValueError`` otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS:
        return True
    if isinstance(value, str) and value.strip().lower() in _FALSE_WORDS:
        return False
    raise ValueError("must be a boolean (true/false, yes/no, on/off, 1/0)")


def parse_secret_reference(value: Any) -> SecretRef:
    """Return the :class:`SecretRef` in ``value``; raise ``ValueError`` with a message that never repeats ``value``."""
    if is_vault_value(value):
        raise ValueError(
            "is an Ansible Vault value; opsctl does not decrypt vaults and reads credentials by reference"
        )
    if is_template(value):
        raise ValueError(
            "is a Jinja template; opsctl does not template variables, so a credential must be a reference"
        )
    if not isinstance(value, str):
        raise ValueError("must be a secret reference, not a literal value")
    try:
        return SecretRef.parse(value)
    except SecretError as error:
        raise ValueError(error.message) from None


def variable_problem(name: str, value: Any) -> str | None:
    """Return what is wrong with variable ``name`` set to ``value`` for opsctl, or ``None`` if it is usable.

    Credentials must be secret references; ports, booleans and the other connection settings
    must be plain values (no templates). The message never contains ``value``.
    """
    if value is None:
        return None
    try:
        if name in SECRET_VARIABLES:
            parse_secret_reference(value)
        elif name in CONNECTION_VARIABLES:
            if is_template(value):
                return "is a Jinja template; opsctl does not template variables, so write the value itself"
            if is_vault_value(value):
                return "is an Ansible Vault value; opsctl does not decrypt vaults"
            if name in _PORT_VARIABLES:
                parse_port(value)
            elif name in ("ansible_become", "opsctl_ssh"):
                parse_boolean(value)
            elif not isinstance(value, str | int):
                return "must be a single value (text)"
    except ValueError as error:
        return str(error)
    return None


def json_safe(value: Any) -> Any:
    """Return ``value`` with every part JSON can hold as is; dates become ISO text, others ``str()``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    return str(value)


@dataclass(frozen=True)
class Host:
    """One inventory host: its name, its fully merged variables and every group it is in."""

    name: str
    vars: Mapping[str, Any] = field(hash=False)
    groups: tuple[str, ...] = ("all", "ungrouped")

    def _last_set(self, names: Iterable[str]) -> tuple[str, Any] | None:
        found: tuple[str, Any] | None = None
        for name in names:
            value = self.vars.get(name)
            if value is not None:
                found = (name, value)
        return found

    def _checked(self, names: Iterable[str]) -> tuple[str, Any] | None:
        found = self._last_set(names)
        if found is not None:
            problem = variable_problem(*found)
            if problem is not None:
                raise ConfigError(
                    f"host {self.name}: {found[0]} {problem}", hint=_hint_for(found[0])
                )
        return found

    def _text(self, names: Iterable[str]) -> str | None:
        found = self._checked(names)
        return None if found is None or found[1] == "" else str(found[1])

    @property
    def address(self) -> str:
        """The address to connect to: ``ansible_host`` (or ``ansible_ssh_host``), else the name."""
        return self._text(_ADDRESS_VARIABLES) or self.name

    @property
    def port(self) -> int | None:
        """The SSH port from ``ansible_port`` (or ``ansible_ssh_port``); ``ConfigError`` unless 1..65535."""
        found = self._checked(_PORT_VARIABLES)
        return None if found is None else parse_port(found[1])

    @property
    def ssh(self) -> bool:
        """Whether the host takes SSH logins: ``opsctl_ssh`` (default yes); no for an SNMP-only UPS or sensor."""
        found = self._checked(("opsctl_ssh",))
        return True if found is None else parse_boolean(found[1])

    @property
    def network_os(self) -> str | None:
        """The network device's CLI (``ansible_network_os``): a switch or router, read through netmiko."""
        return self._text(("ansible_network_os",))

    @property
    def shell(self) -> bool:
        """Whether ``opsctl run`` can run a shell command here: SSH logins, and no network device CLI."""
        return self.ssh and self.network_os is None

    @property
    def user(self) -> str | None:
        """The login user from ``ansible_user`` (or ``ansible_ssh_user``)."""
        return self._text(_USER_VARIABLES)

    @property
    def become(self) -> bool:
        """Whether to escalate privileges (``ansible_become``, yes/no/true/false as Ansible reads them)."""
        found = self._checked(("ansible_become",))
        return False if found is None else parse_boolean(found[1])

    @property
    def become_user(self) -> str | None:
        """The user to become (``ansible_become_user``)."""
        return self._text(_BECOME_USER_VARIABLES)

    @property
    def become_method(self) -> str:
        """The escalation method (``ansible_become_method``), ``sudo`` by default."""
        return self._text(("ansible_become_method",)) or "sudo"

    @property
    def become_password(self) -> SecretRef | None:
        """The reference to the escalation password (``ansible_become_password`` or ``ansible_become_pass``)."""
        found = self._checked(_BECOME_PASSWORD_VARIABLES)
        return None if found is None else parse_secret_reference(found[1])

    @property
    def private_key_file(self) -> Path | None:
        """The SSH private key (``ansible_ssh_private_key_file`` or ``ansible_private_key_file``), ``~`` expanded."""
        text = self._text(_KEY_FILE_VARIABLES)
        return None if text is None else Path(text).expanduser()

    @property
    def key_passphrase(self) -> SecretRef | None:
        """The reference to the private key's passphrase (``opsctl_ssh_key_passphrase``)."""
        found = self._checked(("opsctl_ssh_key_passphrase",))
        return None if found is None else parse_secret_reference(found[1])

    def to_dict(self) -> dict[str, Any]:
        """Return the host as JSON-safe data: connection settings, groups and variables (secrets as references)."""
        become_password = self.become_password
        key_passphrase = self.key_passphrase
        private_key_file = self.private_key_file
        return {
            "name": self.name,
            "address": self.address,
            "port": self.port,
            "user": self.user,
            "become": self.become,
            "become_user": self.become_user,
            "become_method": self.become_method,
            "become_password": None if become_password is None else str(become_password),
            "private_key_file": None if private_key_file is None else str(private_key_file),
            "key_passphrase": None if key_passphrase is None else str(key_passphrase),
            "groups": list(self.groups),
            "vars": json_safe(self.vars),
        }


def _hint_for(name: str) -> str | None:
    return SECRET_REFERENCE_HINT if name in SECRET_VARIABLES else None


@dataclass(frozen=True)
class Group:
    """One inventory group: its own variables (inventory file, then ``group_vars/``) and direct members."""

    name: str
    vars: Mapping[str, Any] = field(hash=False)
    children: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    priority: int = 1


@dataclass(frozen=True, eq=False)
class Inventory:
    """Hosts and groups as loaded from one inventory, with Ansible host patterns to select from them."""

    path: Path | None
    hosts: Mapping[str, Host]
    groups: Mapping[str, Group]
    source: str = ""
    _group_hosts: Mapping[str, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hosts", MappingProxyType(dict(self.hosts)))
        object.__setattr__(self, "groups", MappingProxyType(dict(self.groups)))
        if not self.source:
            object.__setattr__(
                self, "source", str(self.path) if self.path is not None else "<data>"
            )
        object.__setattr__(
            self, "_group_hosts", MappingProxyType(_hosts_by_group(self.hosts, self.groups))
        )

    def hosts_of(self, group: str) -> tuple[str, ...]:
        """Return the names of every host in ``group`` or its descendants; raise ``KeyError`` for an unknown group.

        The order is Ansible's: the group's own hosts, then its children's, breadth first.
        """
        return self._group_hosts[group]

    def select(self, pattern: str) -> list[Host]:
        """Return the hosts an Ansible host pattern selects, in inventory order without duplicates.

        Raise :class:`HostNotFound` when the pattern selects no host, and
        :class:`~opsctl.core.errors.UsageError` for a malformed pattern (a bad ``~regex``).
        """
        from inventory.patterns import select_host_names

        names = select_host_names(
            pattern,
            host_names=tuple(self.hosts),
            group_hosts=self._group_hosts,
            source=self.source,
        )
        return [self.hosts[name] for name in names]

    def get(self, name: str) -> Host:
        """Return the host called ``name``; raise :class:`HostNotFound` (with close names as a hint) if there is none."""
        try:
            return self.hosts[name]
        except KeyError:
            pass
        import difflib

        close = difflib.get_close_matches(name, list(self.hosts), n=3)
        hint = f"did you mean: {', '.join(close)}?" if close else None
        raise HostNotFound(f"no host named '{name}' in {self.source}", hint=hint) from None


def _hosts_by_group(
    hosts: Mapping[str, Host], groups: Mapping[str, Group]
) -> dict[str, tuple[str, ...]]:
    result: dict[str, tuple[str, ...]] = {}
    for name in groups:
        if name == "all":
            result[name] = tuple(hosts)
            continue
        seen_groups = {name}
        queue = [name]
        members: dict[str, None] = {}
        while queue:
            group = groups.get(queue.pop(0))
            if group is None:
                continue
            members.update(dict.fromkeys(host for host in group.hosts if host in hosts))
            for child in group.children:
                if child not in seen_groups:
                    seen_groups.add(child)
                    queue.append(child)
        result[name] = tuple(members)
    if "all" not in result:
        result["all"] = tuple(hosts)
    return result
