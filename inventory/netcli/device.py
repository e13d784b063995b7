"""Switch discovery over the CLI through netmiko, with strict host keys from opsctl's known_hosts.

One connection per switch runs the platform's version, inventory and interface commands; each
output is parsed with ntc-templates. A command that fails, times out or gives unreadable output
leaves a note and a partial result; only the connection itself (unreachable, host key refused,
login refused) raises.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from inventory.netcli.parse import (
    CliParseError,
    DeviceIdentity,
    HardwareModule,
    SwitchInterface,
    identity_from,
    interfaces_from,
    modules_from,
    records,
)
from inventory.netcli.platforms import Platform, platform_for
from opsctl.core.errors import (
    AuthenticationFailed,
    ConfigError,
    HostKeyChanged,
    HostKeyUnknown,
    HostUnreachable,
)
from opsctl.core.known_hosts import host_key_name

if TYPE_CHECKING:
    from inventory.model import Host
    from opsctl.core.secrets import SecretRef

SOURCE_CLI = "cli"


@dataclass(frozen=True)
class SwitchTarget:
    """Where a switch listens, who logs in, its netmiko device type, and its password as a reference."""

    name: str
    address: str
    port: int = 22
    user: str | None = None
    device_type: str = "cisco_ios"
    password: SecretRef | None = None
    enable_password: SecretRef | None = None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address}:{self.port})"

    @property
    def platform(self) -> Platform:
        return platform_for(self.device_type)


def switch_target_from_host(host: Host) -> SwitchTarget:
    """A SwitchTarget from an inventory host's ``ansible_network_os``, address, port, user,
    ``ansible_password`` reference and, with ``ansible_become_method: enable``, the enable
    password reference; raise ConfigError when the network OS is missing or unsupported."""
    from inventory.model import parse_secret_reference

    network_os = host.vars.get("ansible_network_os")
    if not isinstance(network_os, str) or not network_os:
        raise ConfigError(f"host {host.name}: ansible_network_os is not set",
                          hint="set it to cisco_ios, cisco_nxos, hp_procurve, aruba_os, huawei or juniper_junos")
    platform = platform_for(network_os)
    reference = host.vars.get("ansible_password", host.vars.get("ansible_ssh_pass"))
    try:
        password = None if reference is None else parse_secret_reference(reference)
    except ValueError as error:
        raise ConfigError(f"host {host.name}: ansible_password {error}") from None
    enable_password = host.become_password if host.become and host.become_method == "enable" else None
    return SwitchTarget(host.name, host.address, host.port or 22, host.user, platform.device_type, password,
                        enable_password)


def netmiko_parameters(target: SwitchTarget, *, known_hosts_path: Path, password: str | None,
                       timeout: float, enable_secret: str | None = None) -> dict[str, Any]:
    """The keyword arguments of netmiko's ConnectHandler: strict host keys from ``known_hosts_path``
    only (no system keys, unknown keys rejected), no agent or key search, no session log."""
    return {
        "device_type": target.platform.device_type,
        "host": target.address,
        "port": target.port,
        "username": target.user or "",
        "password": password,
        "secret": enable_secret or "",
        "use_keys": False,
        "allow_agent": False,
        "system_host_keys": False,
        "alt_host_keys": True,
        "alt_key_file": str(known_hosts_path),
        "ssh_strict": True,
        "conn_timeout": timeout,
        "auth_timeout": timeout,
        "banner_timeout": timeout,
        "session_log": None,
        "fast_cli": True,
    }


def _connection_error(target: SwitchTarget, error: Exception, offered: Sequence[str] = ()) -> Exception:
    """The opsctl error for what netmiko raised while connecting; never carries the password.

    ``offered`` are the ``TYPE SHA256:...`` keys the switch offered, shown in a host-key refusal
    as they are for SSH hosts, so the operator can check the fingerprint before trusting it.
    """
    text = str(error)
    name = host_key_name(target.address, target.port)
    shown = f" {', '.join(offered)}" if offered else ""
    fingerprint = offered[0].split()[-1] if offered else None
    if "not found in known_hosts" in text:
        trust = f"opsctl hosts trust {target.name}" + (f" --fingerprint {fingerprint}" if fingerprint else "")
        return HostKeyUnknown(f"{target.label}: unknown host key{shown} (not in opsctl's known_hosts as {name})",
                              host=target.name, fingerprint=fingerprint,
                              hint=f"check the fingerprint, then: {trust}")
    if "does not match" in text:
        return HostKeyChanged(f"{target.label}: HOST KEY CHANGED: offered{shown or ' a key that'} "
                              f"does not match the key enrolled as {name}",
                              host=target.name, fingerprint=fingerprint,
                              hint=f"if the change is expected: opsctl hosts forget {target.name}, then trust it again")
    if type(error).__name__ == "NetmikoAuthenticationException":
        return AuthenticationFailed(f"{target.label}: {target.user or '(no user)'} was refused (password login)")
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return HostUnreachable(f"{target.label}: cannot connect: {first[:200]}")


def _offered_keys(target: SwitchTarget, error: BaseException, timeout: float) -> list[str]:
    """``TYPE SHA256:...`` of the key a refused switch offered: the key paramiko saw when netmiko
    kept it (a changed key), else the keys a fresh handshake offers (as ``hosts trust`` sees them);
    none when that handshake fails too."""
    from opsctl.core.known_hosts import fingerprint

    cause: BaseException | None = error
    while cause is not None:
        key = getattr(cause, "key", None)
        if key is not None and hasattr(key, "asbytes"):
            return [f"{key.get_name()} {fingerprint(key)}"]
        cause = cause.__cause__ or cause.__context__
    from opsctl.core.ssh import scan_host_keys

    try:
        keys = scan_host_keys(target.address, target.port, timeout=timeout, label=target.label)
    except Exception:  # unreachable now, paramiko's many types: the refusal keeps its message, no fingerprint
        return []
    return [f"{key.get_name()} {fingerprint(key)}" for key in keys]


def connect_switch(target: SwitchTarget, *, known_hosts_path: Path, password: str | None,
                   timeout: float = 30.0, enable_secret: str | None = None) -> Any:
    """An open netmiko connection to ``target``; raise HostKeyUnknown/HostKeyChanged,
    AuthenticationFailed or HostUnreachable. ``password`` and ``enable_secret`` are resolved
    secrets; they go to netmiko only, never into a message or a log."""
    from netmiko import ConnectHandler

    parameters = netmiko_parameters(target, known_hosts_path=known_hosts_path, password=password,
                                    timeout=timeout, enable_secret=enable_secret)
    try:
        connection = ConnectHandler(**parameters)
    except Exception as error:  # netmiko and paramiko raise many unrelated types
        text = str(error)
        refused_key = "not found in known_hosts" in text or "does not match" in text
        offered = _offered_keys(target, error, timeout) if refused_key else []
        raise _connection_error(target, error, offered) from None
    try:
        check_switch_host_key(target, connection, known_hosts_path=known_hosts_path)
    except BaseException:
        connection.disconnect()
        raise
    return connection


def check_switch_host_key(target: SwitchTarget, connection: Any, *, known_hosts_path: Path) -> None:
    """Refuse a switch whose key, accepted by paramiko for its address, is not enrolled for its
    inventory name (raise HostKeyChanged naming the hosts it is enrolled for); warn for a key
    shared with other switches or enrolled by address only."""
    from opsctl.core.known_hosts import (
        check_host_key,
        fingerprint,
        host_key_refusal,
        load_known_hosts,
        warn_once,
    )

    offered = connection.remote_conn_pre.get_transport().get_remote_server_key()
    store = load_known_hosts(known_hosts_path)
    verdict = check_host_key(store, host=target.name, address=target.address, port=target.port,
                             key_blob=offered.asbytes())
    refusal = host_key_refusal(verdict, name=target.name, label=target.label, key_type=offered.get_name(),
                               offered_fingerprint=fingerprint(offered), path=known_hosts_path)
    if refusal is not None:
        raise refusal
    for warning in verdict.warnings:
        warn_once(warning)


@dataclass(frozen=True)
class SwitchFacts:
    """What one switch reported, with ``provenance`` (value name to the command it came from) and
    ``notes`` for every command that gave nothing usable; ``partial`` when there is any note."""

    name: str
    device_type: str
    identity: DeviceIdentity
    modules: tuple[HardwareModule, ...] = ()
    interfaces: tuple[SwitchInterface, ...] = ()
    provenance: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    source: str = SOURCE_CLI
    collected_at: datetime.datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    @property
    def partial(self) -> bool:
        return bool(self.notes)


def facts_from_outputs(name: str, platform: Platform, outputs: Mapping[str, str], *,
                       failures: Mapping[str, str] | None = None, prompt_hostname: str | None = None,
                       collected_at: datetime.datetime | None = None) -> SwitchFacts:
    """Parse the raw ``outputs`` (command to text) of one switch into SwitchFacts.

    ``failures`` (command to reason) are commands that gave no output; they and every parse
    failure become notes. ``prompt_hostname`` fills the hostname when the version output has none.
    """
    notes = [f"{command}: {reason}" for command, reason in (failures or {}).items()]
    provenance: dict[str, str] = {}
    identity = DeviceIdentity()
    modules: tuple[HardwareModule, ...] = ()
    interfaces: tuple[SwitchInterface, ...] = ()

    def parsed(command: str | None) -> list[dict[str, Any]] | None:
        if command is None or command not in outputs:
            return None
        if not outputs[command].strip():
            notes.append(f"{command}: empty answer")
            return None
        try:
            return records(platform, command, outputs[command])
        except CliParseError as error:
            notes.append(str(error))
            return None

    version_rows = parsed(platform.version_command)
    if version_rows is not None:
        try:
            identity = identity_from(platform, version_rows)
        except CliParseError as error:
            notes.append(str(error))
        else:
            provenance.update(dict.fromkeys(
                (k for k in ("hostname", "model", "serials", "os_version", "uptime") if getattr(identity, k)),
                platform.version_command))
    inventory_rows = parsed(platform.inventory_command)
    if inventory_rows is not None and platform.inventory_command is not None:
        modules = modules_from(platform, inventory_rows)
        provenance["modules"] = platform.inventory_command
        chassis = modules[0] if modules else None
        if chassis is not None and not identity.serials and chassis.serial:
            identity = dataclasses.replace(identity, serials=(chassis.serial,))
            provenance["serials"] = platform.inventory_command
        if chassis is not None and identity.model is None and chassis.pid:
            identity = dataclasses.replace(identity, model=chassis.pid)
            provenance["model"] = platform.inventory_command
    interface_rows = parsed(platform.interfaces_command)
    if interface_rows is not None and platform.interfaces_command is not None:
        interfaces = interfaces_from(platform, interface_rows)
        provenance["interfaces"] = platform.interfaces_command
    if identity.hostname is None and prompt_hostname:
        identity = dataclasses.replace(identity, hostname=prompt_hostname)
        provenance["hostname"] = "prompt"
    return SwitchFacts(name, platform.device_type, identity, modules, interfaces, provenance, tuple(notes),
                       collected_at=collected_at)


def gather_switch(target: SwitchTarget, *, known_hosts_path: Path, password: str | None,
                  enable_secret: str | None = None, timeout: float = 30.0, command_timeout: float = 60.0,
                  connect: Callable[..., Any] = connect_switch) -> SwitchFacts:
    """Connect to ``target`` (entering ``enable`` when ``enable_secret`` is given) and read its
    identity, modules and interfaces into SwitchFacts.

    Connection failures raise (see :func:`connect_switch`); a refused ``enable`` or a command
    that fails or times out is a note in a partial result.
    """
    platform = target.platform
    collected_at = datetime.datetime.now(datetime.UTC)
    connection = connect(target, known_hosts_path=known_hosts_path, password=password, timeout=timeout,
                         enable_secret=enable_secret)
    outputs: dict[str, str] = {}
    failures: dict[str, str] = {}
    try:
        if enable_secret:
            try:
                connection.enable()
            except Exception as error:  # netmiko raises ValueError or a read timeout here
                failures["enable"] = f"refused ({type(error).__name__}); commands ran unprivileged"
        for command in (platform.version_command, platform.inventory_command, platform.interfaces_command):
            if command is None:
                continue
            try:
                outputs[command] = str(connection.send_command(command, read_timeout=command_timeout))
            except Exception as error:  # netmiko's read timeouts and channel errors
                failures[command] = f"no answer ({type(error).__name__}: {str(error).strip()[:120]})"
        prompt = str(getattr(connection, "base_prompt", "") or "").strip() or None
    finally:
        with contextlib.suppress(Exception):  # the device may already have closed the session
            connection.disconnect()
    if platform.interfaces_command is None:
        failures["interfaces"] = f"no interface listing with a template for {platform.device_type}"
    return facts_from_outputs(target.name, platform, outputs, failures=failures, prompt_hostname=prompt,
                              collected_at=collected_at)
