"""Pure parts of the fake switches: names, addresses, the launcher's config and command line."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

SWITCH_PORT = 22022
SWITCH_SUBNET = 30  # third octet: switch N is {prefix}.30.N
SWITCH_PREFIX = "lab-switch-"
SWITCH_MODEL = "cisco_2960_24TT_L"
SWITCH_USER = "opsctl"
NETWORK_OS = "cisco_ios"
LAUNCHER_MODULE = "lab.switch.launcher"


def switch_name(number: int) -> str:
    """The name (and hostname) of fake switch ``number`` (1-based): ``lab-switch-01``."""
    return f"{SWITCH_PREFIX}{number:02d}"


def switch_address(prefix: str, number: int) -> str:
    """The loopback address of switch ``number`` under ``prefix``: ``{prefix}.30.N``."""
    if not 1 <= number <= 254:
        raise ValueError(f"switch number {number} is outside 1..254")
    first, _, second = prefix.partition(".")
    if first != "127" or not second.isdigit() or not 0 <= int(second) <= 255:
        raise ValueError(f"lab prefix {prefix!r} is not 127.N")
    return f"{prefix}.{SWITCH_SUBNET}.{number}"


@dataclass(frozen=True)
class LauncherConfig:
    """What the launcher needs; the password stays in its own 0600 file, never in here."""

    model: str
    hostname: str
    username: str
    password_file: str
    listen_host: str
    listen_port: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LauncherConfig:
        data = json.loads(text)
        return cls(
            model=str(data["model"]),
            hostname=str(data["hostname"]),
            username=str(data["username"]),
            password_file=str(data["password_file"]),
            listen_host=str(data["listen_host"]),
            listen_port=int(data["listen_port"]),
        )


def launcher_config(
    *, name: str, address: str, port: int, username: str, password_file: Path, model: str = SWITCH_MODEL
) -> LauncherConfig:
    """The launcher config of one switch; refuses anything but a loopback address."""
    if not address.startswith("127."):
        raise ValueError(f"the lab binds to loopback only, not {address}")
    return LauncherConfig(
        model=model,
        hostname=name,
        username=username,
        password_file=str(password_file),
        listen_host=address,
        listen_port=port,
    )


def launcher_command(*, python: str, config: Path) -> tuple[str, ...]:
    """Run our launcher module (fake-switches with the enable fix) on ``config``."""
    return (python, "-m", LAUNCHER_MODULE, str(config))
