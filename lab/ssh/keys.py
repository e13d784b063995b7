"""OpenSSH keys: the ssh-keygen command lines, public key parsing and fingerprints."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError
from opsctl.core.known_hosts import fingerprint_of_blob, host_key_name

HOST_KEY_TYPES = ("ed25519", "ecdsa")


@dataclass(frozen=True)
class PublicKey:
    """One OpenSSH public key: its algorithm name (``ssh-ed25519``) and base64 blob."""

    algorithm: str
    blob: str

    @property
    def fingerprint(self) -> str:
        """The key's ``SHA256:...`` fingerprint, exactly as ``ssh-keygen -lf`` prints it."""
        return fingerprint(self.blob)

    def known_hosts_line(self, address: str, port: int) -> str:
        """The OpenSSH known_hosts line for this key at ``address``:``port``."""
        return f"{known_hosts_host(address, port)} {self.algorithm} {self.blob}"

    def authorized_keys_line(self, comment: str = "") -> str:
        return f"{self.algorithm} {self.blob} {comment}".rstrip()


def parse_public_key(text: str) -> PublicKey:
    """Parse the text of a ``.pub`` file; raise ``LabError`` if it is not an OpenSSH public key."""
    fields = text.split()
    if len(fields) < 2:
        raise LabError("not an OpenSSH public key")
    try:
        base64.b64decode(fields[1], validate=True)
    except (binascii.Error, ValueError):
        raise LabError("not an OpenSSH public key: the key is not base64") from None
    return PublicKey(algorithm=fields[0], blob=fields[1])


def read_public_key(path: Path) -> PublicKey:
    """Read and parse the public key file ``path``; raise ``LabError`` naming it if unreadable."""
    try:
        return parse_public_key(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LabError(f"cannot read the public key {path}: {error.strerror}") from None
    except LabError as error:
        raise LabError(f"{path}: {error.message}") from None


def fingerprint(blob: str) -> str:
    """Return OpenSSH's ``SHA256:...`` fingerprint of the base64 key ``blob``."""
    return fingerprint_of_blob(base64.b64decode(blob))


# the host field of a known_hosts line: ``[address]:port``, or the bare address on port 22
known_hosts_host = host_key_name


def host_key_path(directory: Path, key_type: str) -> Path:
    """Where a host key of ``key_type`` lives in ``directory`` (``ssh_host_TYPE_key``)."""
    return directory / f"ssh_host_{key_type}_key"


def host_keygen_command(
    ssh_keygen: str, key_type: str, path: Path, comment: str
) -> tuple[str, ...]:
    """ssh-keygen arguments for a new host key without a passphrase (host keys never have one)."""
    return (ssh_keygen, "-q", "-t", key_type, "-N", "", "-C", comment, "-f", str(path))


def client_keygen_command(ssh_keygen: str, path: Path, comment: str) -> tuple[str, ...]:
    """ssh-keygen arguments for the client key; the passphrase comes from SSH_ASKPASS, not argv."""
    return (ssh_keygen, "-q", "-t", "ed25519", "-C", comment, "-f", str(path))


def public_key_command(ssh_keygen: str, private_key: Path) -> tuple[str, ...]:
    """ssh-keygen arguments that print the public half of an unencrypted ``private_key``."""
    return (ssh_keygen, "-y", "-f", str(private_key))
