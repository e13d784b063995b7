"""The fake Cisco IOS switch peer: our launcher running fake-switches on ``{prefix}.30.N:22022``.

Login is by password (random, 0600, published as a ``file:`` reference); the same password
enters ``enable``. Every fake-switches instance presents the same built-in RSA host key: it
is published (fingerprint and known_hosts line) for ``opsctl hosts trust`` and netmiko.
Ready means a real SSH login with that key checked, ``enable``, and ``show version``.
"""

from __future__ import annotations

import base64
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.files import ensure_dir, write_atomic
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.peer import Answer, Peer, PeerRecord, ProcessPeer
from lab.publish import PublishedDevice
from lab.snmp.credentials import ensure_hex_secret
from lab.ssh.keys import PublicKey, parse_public_key, read_public_key
from lab.switch.config import (
    NETWORK_OS,
    SWITCH_MODEL,
    SWITCH_PORT,
    SWITCH_USER,
    launcher_command,
    launcher_config,
    switch_address,
    switch_name,
)

KIND = "fake-switch"
SWITCH_GROUP = "switches"
SWITCHES = 2


def builtin_host_key() -> PublicKey:
    """The RSA host key built into fake-switches (every instance presents it)."""
    try:
        from fake_switches.transports.ssh_service import (  # type: ignore[import-untyped]
            getRSAKeys,
        )
    except ImportError:
        raise LabError(
            "fake-switches is not installed",
            hint="pip install --no-deps fake-switches==1.5.0 'twisted[conch]' tftpy netaddr lxml",
        ) from None
    public, _ = getRSAKeys()
    return parse_public_key(public)


class SwitchSessionError(Exception):
    """The switch did not give the expected prompt or output in time."""


def _read_until(channel: Any, endings: tuple[str, ...], deadline: float) -> str:
    text = ""
    while time.monotonic() < deadline:
        if channel.recv_ready():
            text += bytes(channel.recv(65536)).decode("utf-8", "replace")
            if text.rstrip(" ").endswith(endings):
                return text
        elif channel.closed or channel.exit_status_ready():
            break
        else:
            time.sleep(0.02)
    raise SwitchSessionError(f"no {' or '.join(repr(e) for e in endings)} prompt: {text[-80:]!r}")


def cli_session(
    *,
    address: str,
    port: int,
    user: str,
    password: str,
    host_key: PublicKey,
    commands: tuple[str, ...],
    timeout: float,
    enable: bool = True,
) -> str:
    """Log in over SSH (host key checked against ``host_key``), enable, run ``commands``.

    Return everything the switch printed. Raise ``SwitchSessionError`` or paramiko's errors.
    """
    import paramiko

    deadline = time.monotonic() + timeout
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    key = paramiko.RSAKey(data=base64.b64decode(host_key.blob))
    client.get_host_keys().add(f"[{address}]:{port}", host_key.algorithm, key)
    try:
        client.connect(
            address, port=port, username=user, password=password, timeout=timeout,
            banner_timeout=timeout, auth_timeout=timeout, look_for_keys=False, allow_agent=False,
        )  # fmt: skip
        channel = client.invoke_shell(width=200, height=200)
        output = _read_until(channel, (">", "#"), deadline)
        if enable and not output.rstrip().endswith("#"):
            channel.send(b"enable\n")
            output += _read_until(channel, ("Password:", "Password: "), deadline)
            channel.send(password.encode() + b"\n")
            reply = _read_until(channel, ("#", ">"), deadline)
            output += reply
            if not reply.rstrip().endswith("#"):
                raise SwitchSessionError("enable was refused")
        for command in ("terminal length 0", *commands):
            channel.send(command.encode() + b"\n")
            output += _read_until(channel, ("#", ">"), deadline)
        return output
    finally:
        client.close()


@dataclass(frozen=True)
class SwitchPeer(ProcessPeer):
    """One fake Cisco switch."""

    name: str
    address: str
    port: int
    peer_dir: Path
    layout: LabLayout
    kind: str = KIND

    @property
    def config_path(self) -> Path:
        return self.peer_dir / "switch.json"

    @property
    def host_key_path(self) -> Path:
        """The public half of the built-in host key, as fake-switches presents it."""
        return self.peer_dir / "ssh_host_rsa_key.pub"

    @property
    def marker(self) -> str:
        return str(self.config_path)

    def command(self) -> tuple[str, ...]:
        return launcher_command(python=sys.executable, config=self.config_path)

    def environment(self) -> dict[str, str]:
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}

    def prepare(self) -> None:
        ensure_dir(self.peer_dir, 0o755)
        ensure_hex_secret(self.layout.switch_password)
        if not self.host_key_path.exists():
            write_atomic(self.host_key_path, builtin_host_key().authorized_keys_line(self.name) + "\n")
        config = launcher_config(
            name=self.name,
            address=self.address,
            port=self.port,
            username=SWITCH_USER,
            password_file=self.layout.switch_password,
        )
        write_atomic(self.config_path, config.to_json())
        self.write_record()

    def host_key(self) -> PublicKey:
        return read_public_key(self.host_key_path)

    def ready(self, timeout: float) -> Answer:
        """Log in over SSH, enable, ``show version``: it must name Cisco IOS."""
        try:
            password = self.layout.switch_password.read_text(encoding="utf-8").strip()
            output = cli_session(
                address=self.address, port=self.port, user=SWITCH_USER, password=password,
                host_key=self.host_key(), commands=("show version",), timeout=timeout,
            )  # fmt: skip
        except Exception as error:  # paramiko raises many kinds; all mean "no answer"
            return Answer(False, f"ssh: {type(error).__name__}: {error}"[:200])
        if "Cisco IOS Software" not in output:
            return Answer(False, f"show version did not name Cisco IOS: {output[-80:]!r}")
        return Answer(True, "ssh, enable, show version answered")

    def published_devices(self) -> list[PublishedDevice]:
        """This switch in the inventory's ``switches`` group, devices.json and known_hosts."""
        key = self.host_key()
        return [
            PublishedDevice(
                group=SWITCH_GROUP,
                name=self.name,
                host_vars={"ansible_host": self.address, "ansible_port": self.port},
                device=self.device(),
                group_vars={
                    "ansible_connection": "ansible.netcommon.network_cli",
                    "ansible_network_os": NETWORK_OS,
                    "ansible_user": SWITCH_USER,
                    "ansible_password": f"file:{self.layout.switch_password}",
                    "ansible_become": True,
                    "ansible_become_method": "enable",
                    "ansible_become_password": f"file:{self.layout.switch_password}",
                },
                known_hosts_lines=(key.known_hosts_line(self.address, self.port),),
            )
        ]

    def device(self) -> dict[str, Any]:
        key = self.host_key()
        return {
            "name": self.name,
            "kind": self.kind,
            "address": self.address,
            "port": self.port,
            "protocols": ["ssh"],
            "recording": None,
            "role": "switch",
            "vendor": "Cisco",
            "model": SWITCH_MODEL,
            "network_os": NETWORK_OS,
            "hostname": self.name,
            "ssh_user": SWITCH_USER,
            "ssh_password": f"file:{self.layout.switch_password}",
            "ssh_fingerprints": [key.fingerprint],
            "known_hosts_line": key.known_hosts_line(self.address, self.port),
        }


@dataclass(frozen=True)
class SwitchesKind:
    """The registry entry for fake switches: ``lab-switch-NN`` at ``{prefix}.30.N:22022``."""

    count: int = SWITCHES
    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        ensure_hex_secret(lab.layout.switch_password)

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [
            SwitchPeer(
                name=switch_name(number),
                address=switch_address(lab.prefix, number),
                port=SWITCH_PORT,
                peer_dir=lab.layout.peer_dir(switch_name(number)),
                layout=lab.layout,
            )
            for number in range(1, self.count + 1)
        ]

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        return SwitchPeer(
            name=record.name,
            address=record.address,
            port=record.port,
            peer_dir=peer_dir,
            layout=layout,
        )


# registered in lab.kinds.PEER_KINDS by reference ("lab.switch.peer:FAKE_SWITCHES"), like an entry point
FAKE_SWITCHES = SwitchesKind()
