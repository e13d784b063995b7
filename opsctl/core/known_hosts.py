"""opsctl's own known_hosts file, in OpenSSH's format, loaded once per command.

Plain lines (names, hashed names ``|1|salt|hash``, ``[host]:port``, wildcards and ``!``
negations) are honoured; ``@revoked`` lines are honoured (the key is refused);
``@cert-authority`` lines and key types paramiko cannot read are reported, never silently
ignored. Changes are written atomically (temporary file, fsync, rename), mode 0600.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import fnmatch
import hashlib
import hmac
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from opsctl.core.errors import ConfigError

if TYPE_CHECKING:
    import paramiko


def host_key_name(address: str, port: int) -> str:
    """The name OpenSSH files a host under: ``host`` on port 22, else ``[host]:port``."""
    return address if port == 22 else f"[{address}]:{port}"


def fingerprint_of_blob(key_blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint (``SHA256:...``, unpadded base64) of a public key blob."""
    digest = hashlib.sha256(key_blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint of a paramiko key."""
    return fingerprint_of_blob(key.asbytes())


def _hashed_name_matches(name: str, hashed: str) -> bool:
    parts = hashed.split("|")
    if len(parts) != 4 or parts[1] != "1":
        return False
    try:
        salt = base64.b64decode(parts[2])
        expected = base64.b64decode(parts[3])
    except (binascii.Error, ValueError):
        return False
    actual = hmac.new(salt, name.encode("utf-8"), hashlib.sha1).digest()
    return hmac.compare_digest(actual, expected)


def names_match(patterns: Iterable[str], name: str) -> bool:
    """OpenSSH host matching: any positive pattern matches and no ``!`` pattern does."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        if body.startswith("|1|"):
            hit = _hashed_name_matches(name, body)
        elif "*" in body or "?" in body:
            hit = fnmatch.fnmatchcase(name, body)
        else:
            hit = body == name
        if hit and negated:
            return False
        matched = matched or hit
    return matched


@dataclass(frozen=True)
class KnownHostEntry:
    """One usable line: its names, key type, base64 key, and ``revoked`` for ``@revoked``."""

    line: int
    names: tuple[str, ...]
    key_type: str
    key_base64: str
    revoked: bool = False
    comment: str = ""

    @property
    def key_blob(self) -> bytes:
        return base64.b64decode(self.key_base64)

    @property
    def fingerprint(self) -> str:
        return fingerprint_of_blob(self.key_blob)

    def to_line(self) -> str:
        marker = "@revoked " if self.revoked else ""
        tail = f" {self.comment}" if self.comment else ""
        return f"{marker}{','.join(self.names)} {self.key_type} {self.key_base64}{tail}"


@dataclass(frozen=True)
class UnsupportedLine:
    """A line opsctl cannot honour, with the reason; shown to the operator."""

    line: int
    reason: str
    text: str


@dataclass
class KnownHosts:
    """The parsed file: usable entries, lines that could not be honoured, and the raw lines."""

    path: Path
    entries: list[KnownHostEntry] = field(default_factory=list)
    unsupported: list[UnsupportedLine] = field(default_factory=list)

    def keys_for(self, name: str) -> list[KnownHostEntry]:
        """The non-revoked entries whose names match ``name`` (a :func:`host_key_name`)."""
        return [e for e in self.entries if not e.revoked and names_match(e.names, name)]

    def is_revoked(self, key_blob: bytes) -> bool:
        return any(e.revoked and e.key_blob == key_blob for e in self.entries)

    def __iter__(self) -> Iterator[KnownHostEntry]:
        return iter(self.entries)


def parse_known_hosts(text: str, path: Path) -> KnownHosts:
    """Parse OpenSSH known_hosts text; malformed lines become :class:`UnsupportedLine`."""
    result = KnownHosts(path=path)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        revoked = False
        if fields[0].startswith("@"):
            marker = fields[0]
            if marker == "@revoked":
                revoked = True
                fields = fields[1:]
            elif marker == "@cert-authority":
                result.unsupported.append(UnsupportedLine(
                    number, "@cert-authority: opsctl does not verify host certificates; "
                    "enrol each host's own key instead", line))
                continue
            else:
                result.unsupported.append(UnsupportedLine(number, f"unknown marker {marker}", line))
                continue
        if len(fields) < 3:
            result.unsupported.append(UnsupportedLine(number, "expected: names key-type base64-key", line))
            continue
        names, key_type, key_base64 = fields[0], fields[1], fields[2]
        try:
            base64.b64decode(key_base64, validate=True)
        except (binascii.Error, ValueError):
            result.unsupported.append(UnsupportedLine(number, "the key is not valid base64", line))
            continue
        result.entries.append(KnownHostEntry(
            line=number, names=tuple(names.split(",")), key_type=key_type,
            key_base64=key_base64, revoked=revoked, comment=" ".join(fields[3:]),
        ))
    return result


def load_known_hosts(path: Path) -> KnownHosts:
    """Read ``path`` (a missing file is an empty store); raise ConfigError if unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return KnownHosts(path=path)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read known_hosts: {error}", path=str(path)) from None
    return parse_known_hosts(text, path)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_atomically(path: Path, lines: Iterable[str]) -> None:
    fd, temporary = tempfile.mkstemp(prefix=".known_hosts.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add_entries(path: Path, new_entries: Iterable[KnownHostEntry]) -> list[KnownHostEntry]:
    """Append entries not already present (same names and key); return those written."""
    with _locked(path):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        current = parse_known_hosts("\n".join(lines), path)
        present = {(e.key_type, e.key_base64, n) for e in current.entries for n in e.names}
        written: list[KnownHostEntry] = []
        for entry in new_entries:
            if all((entry.key_type, entry.key_base64, n) in present for n in entry.names):
                continue
            lines.append(entry.to_line())
            written.append(entry)
            present.update((entry.key_type, entry.key_base64, n) for n in entry.names)
        if written:
            _write_atomically(path, lines)
        return written


def remove_name(path: Path, name: str) -> list[KnownHostEntry]:
    """Remove every non-revoked entry matching ``name``; return what was removed.

    A line that lists other names too keeps them; only ``name`` is taken out of it.
    """
    with _locked(path):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        current = parse_known_hosts("\n".join(lines), path)
        removed: list[KnownHostEntry] = []
        for entry in current.entries:
            if entry.revoked or not names_match(entry.names, name):
                continue
            removed.append(entry)
            remaining = tuple(n for n in entry.names if not names_match((n,), name))
            replacement = (
                KnownHostEntry(entry.line, remaining, entry.key_type, entry.key_base64, False, entry.comment)
                .to_line() if remaining else None
            )
            lines[entry.line - 1] = replacement if replacement is not None else "\0"
        if removed:
            _write_atomically(path, [line for line in lines if line != "\0"])
        return removed
