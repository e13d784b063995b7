"""What the lab publishes for the rest of opsctl: inventory, fingerprints, known_hosts and a
config file. Secrets appear only as ``file:`` references, never as values."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError, LabNotPublished
from lab.files import write_atomic
from lab.layout import LabLayout
from lab.ssh.config import ssh_host_number
from lab.ssh.keys import PublicKey

SSH_GROUP = "ssh_hosts"


@dataclass(frozen=True)
class PublishedHost:
    """One SSH host as published: where it listens and its host key fingerprints."""

    name: str
    address: str
    port: int
    fingerprints: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "port": self.port, "fingerprints": list(self.fingerprints)}


@dataclass(frozen=True)
class LabPublication:
    """The published files of a lab (absolute paths) and the hosts they describe."""

    lab_dir: Path
    inventory_path: Path
    fingerprints_path: Path
    known_hosts_path: Path
    config_path: Path
    key_path: Path
    passphrase_path: Path
    sudo_password_path: Path
    user: str
    hosts: tuple[PublishedHost, ...]

    @property
    def fingerprints(self) -> dict[str, list[str]]:
        """Host name to its SHA256 host key fingerprints (the content of fingerprints.json)."""
        return {host.name: list(host.fingerprints) for host in self.hosts}

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab_dir": str(self.lab_dir),
            "inventory": str(self.inventory_path),
            "fingerprints": str(self.fingerprints_path),
            "known_hosts": str(self.known_hosts_path),
            "config": str(self.config_path),
            "key": str(self.key_path),
            "key_passphrase": f"file:{self.passphrase_path}",
            "sudo_password": f"file:{self.sudo_password_path}",
            "user": self.user,
            "hosts": {host.name: host.to_dict() for host in self.hosts},
        }


@dataclass(frozen=True)
class HostKeys:
    """An SSH host with its public host keys: the input of the renderers below."""

    name: str
    address: str
    port: int
    public_keys: tuple[PublicKey, ...]


def inventory_document(
    hosts: Sequence[HostKeys], *, user: str, layout: LabLayout
) -> dict[str, Any]:
    """The Ansible YAML inventory: ``ssh_hosts`` with children ``web`` (odd) and ``db`` (even)."""
    web = [host.name for host in hosts if (ssh_host_number(host.name) or 0) % 2 == 1]
    db = [host.name for host in hosts if (ssh_host_number(host.name) or 1) % 2 == 0]
    return {
        "all": {
            "children": {
                SSH_GROUP: {
                    "hosts": {
                        host.name: {"ansible_host": host.address, "ansible_port": host.port}
                        for host in hosts
                    },
                    "vars": {
                        "ansible_user": user,
                        "ansible_ssh_private_key_file": str(layout.client_key),
                        "opsctl_ssh_key_passphrase": f"file:{layout.key_passphrase}",
                        "ansible_become_password": f"file:{layout.sudo_password}",
                    },
                    "children": {
                        "web": {"hosts": dict.fromkeys(web)},
                        "db": {"hosts": dict.fromkeys(db)},
                    },
                }
            }
        }
    }


def render_yaml(document: Mapping[str, Any], *, header: str) -> str:
    """Block-style YAML of ``document`` after a ``#`` comment; None renders as an empty value."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # never fold a long path onto a second line
    representer = yaml.representer
    representer.sort_base_mapping_type_on_output = False  # keep our order
    representer.add_representer(
        type(None), lambda self, _: self.represent_scalar("tag:yaml.org,2002:null", "")
    )
    stream = io.StringIO()
    yaml.dump(dict(document), stream)
    return f"# {header}\n{stream.getvalue()}"


def render_known_hosts(hosts: Sequence[HostKeys]) -> str:
    """OpenSSH known_hosts text: one ``[address]:port algorithm key`` line per host key."""
    lines = [
        key.known_hosts_line(host.address, host.port) for host in hosts for key in host.public_keys
    ]
    return "\n".join(lines) + "\n"


def fingerprints_document(hosts: Sequence[HostKeys]) -> dict[str, dict[str, Any]]:
    """``{name: {address, port, fingerprints}}`` with OpenSSH SHA256 fingerprints."""
    return {
        host.name: {
            "address": host.address,
            "port": host.port,
            "fingerprints": [key.fingerprint for key in host.public_keys],
        }
        for host in hosts
    }


def config_document(layout: LabLayout) -> dict[str, Any]:
    """An opsctl configuration that points at the lab's inventory (keys of ``Settings`` only)."""
    return {"inventory": str(layout.inventory)}


def publish(layout: LabLayout, hosts: Sequence[HostKeys], *, user: str) -> LabPublication:
    """Write inventory.yaml, fingerprints.json, known_hosts and opsctl.yaml; return them."""
    header = "generated by `opsctl lab up`; rewritten on every run"
    write_atomic(
        layout.inventory,
        render_yaml(inventory_document(hosts, user=user, layout=layout), header=header),
    )
    write_atomic(layout.fingerprints, json.dumps(fingerprints_document(hosts), indent=2) + "\n")
    write_atomic(layout.known_hosts, render_known_hosts(hosts))
    write_atomic(layout.config_file, render_yaml(config_document(layout), header=header))
    return read_publication(layout)


def read_publication(layout: LabLayout) -> LabPublication:
    """Read what ``publish`` wrote; raise ``LabNotPublished`` if the lab was never brought up."""
    try:
        document = json.loads(layout.fingerprints.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabNotPublished(
            f"no lab has been brought up in {layout.root}", hint="run `opsctl lab up` first"
        ) from None
    except (OSError, ValueError) as error:
        raise LabError(f"cannot read {layout.fingerprints}: {error}") from None
    hosts = tuple(
        PublishedHost(
            name=name,
            address=str(entry["address"]),
            port=int(entry["port"]),
            fingerprints=tuple(str(value) for value in entry["fingerprints"]),
        )
        for name, entry in document.items()
    )
    from lab.ssh.login_user import LOGIN_USER

    return LabPublication(
        lab_dir=layout.root,
        inventory_path=layout.inventory,
        fingerprints_path=layout.fingerprints,
        known_hosts_path=layout.known_hosts,
        config_path=layout.config_file,
        key_path=layout.client_key,
        passphrase_path=layout.key_passphrase,
        sudo_password_path=layout.sudo_password,
        user=LOGIN_USER,
        hosts=hosts,
    )
