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
import logging
import os
import tempfile
import threading
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from opsctl.core.errors import ConfigError

if TYPE_CHECKING:
    import paramiko

    from opsctl.core.errors import HostKeyError


def host_key_name(address: str, port: int) -> str:
    """The name OpenSSH files a host under: ``host`` on port 22, else ``[host]:port``."""
    return address if port == 22 else f"[{address}]:{port}"


def host_key_names(name: str, address: str, port: int) -> tuple[str, ...]:
    """The names a host's key is enrolled under: its inventory name and its address, in OpenSSH's form
    (``name,address`` on port 22, ``[name]:port,[address]:port`` otherwise); one when they are the same."""
    by_name, by_address = host_key_name(name, port), host_key_name(address, port)
    return (by_name,) if by_name == by_address else (by_name, by_address)


def _bare(pattern: str) -> str:
    """``host`` of ``[host]:port``; ``pattern`` itself otherwise."""
    if pattern.startswith("[") and "]:" in pattern:
        return pattern[1:pattern.index("]:")]
    return pattern


def _is_address(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _key_type_in_blob(key_blob: bytes) -> str | None:
    """The key type an SSH public key blob names in its first field; None when it has none."""
    if len(key_blob) < 4:
        return None
    length = int.from_bytes(key_blob[:4], "big")
    if length > len(key_blob) - 4 or length > 64:
        return None
    try:
        return key_blob[4:4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None


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

    def hosts_holding(self, key_blob: bytes, *, besides: Collection[str] = ()) -> tuple[str, ...]:
        """The host names (not addresses, hashed names or wildcards) ``key_blob`` is enrolled for,
        sorted, without the ``[ ]:port`` and without the names in ``besides``."""
        found = {
            _bare(pattern) for entry in self.entries if not entry.revoked and entry.key_blob == key_blob
            for pattern in entry.names if pattern not in besides and _is_host_name(pattern)
        }
        return tuple(sorted(found))

    def __iter__(self) -> Iterator[KnownHostEntry]:
        return iter(self.entries)


@dataclass(frozen=True)
class HostKeyCheck:
    """What opsctl's known_hosts says of the key a host offered.

    ``status``: ``trusted``; ``unknown`` (nothing enrolled for the host, the key for no other);
    ``changed`` (other keys enrolled for the host); ``revoked``; ``elsewhere`` (the key is enrolled
    only for the hosts in ``enrolled_for``, not for this one). ``known`` are the entries enrolled
    for the host (by name when ``by_name``, else by address); ``warnings`` qualify a trusted key.
    """

    status: str
    known: tuple[KnownHostEntry, ...] = ()
    enrolled_for: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    by_name: bool = False

    @property
    def trusted(self) -> bool:
        return self.status == "trusted"


def check_host_key(store: KnownHosts, *, host: str, address: str, port: int, key_blob: bytes) -> HostKeyCheck:
    """Whether inventory host ``host``, reached at ``address``:``port``, may be trusted offering ``key_blob``.

    The key must be enrolled for the host's name; a key enrolled for other names too (cloned
    machines) is trusted with a warning. A host never enrolled by name falls back to entries
    for its address (address-only and hashed lines of older files), trusted with a warning and
    a hint to re-enrol by name, unless those lines name another host: a key enrolled for other
    hosts only is refused as ``elsewhere``, naming them.
    """
    by_name, by_address = host_key_name(host, port), host_key_name(address, port)
    if store.is_revoked(key_blob):
        return HostKeyCheck("revoked")
    others = store.hosts_holding(key_blob, besides=(by_name, by_address))
    shared = (f"{host}: its host key is also enrolled for {', '.join(others)}; "
              "expected only for cloned machines",) if others else ()
    named = tuple(store.keys_for(by_name))
    if named:
        if any(entry.key_blob == key_blob for entry in named):
            return HostKeyCheck("trusted", named, others, shared, by_name=True)
        return HostKeyCheck("elsewhere" if others else "changed", named, others, by_name=True)
    addressed = tuple(store.keys_for(by_address)) if by_address != by_name else ()
    unnamed = [entry for entry in addressed
               if entry.key_blob == key_blob and not names_a_host(entry, besides=(by_name, by_address))]
    if unnamed:
        by_address_only = (f"{host}: its host key is enrolled for the address {by_address} only, "
                           f"not for the name {host}; re-enrol it by name: opsctl hosts trust {host}")
        return HostKeyCheck("trusted", addressed, others, (by_address_only, *shared))
    if others:
        return HostKeyCheck("elsewhere", addressed, others)
    return HostKeyCheck("changed" if addressed else "unknown", addressed)


def host_key_refusal(verdict: HostKeyCheck, *, name: str, label: str, key_type: str,
                     offered_fingerprint: str, path: Path) -> HostKeyError | None:
    """The error refusing host ``name`` (shown as ``label``) for ``verdict``, naming the offered key; None when trusted."""
    from opsctl.core.errors import HostKeyChanged, HostKeyUnknown

    offered = f"{key_type} {offered_fingerprint}"
    if verdict.status == "trusted":
        return None
    if verdict.status == "revoked":
        return HostKeyChanged(f"{label}: host key {offered} is revoked in {path}",
                              host=name, fingerprint=offered_fingerprint)
    if verdict.status == "unknown":
        return HostKeyUnknown(f"{label}: unknown host key {offered}", host=name, fingerprint=offered_fingerprint,
                              hint=f"check the fingerprint, then: opsctl hosts trust {name} "
                              f"--fingerprint {offered_fingerprint}")
    if verdict.status == "elsewhere":
        return HostKeyChanged(
            f"{label}: WRONG HOST: offered {offered}, the key enrolled for {', '.join(verdict.enrolled_for)}, "
            f"not for {name}", host=name, fingerprint=offered_fingerprint,
            hint=f"check {name}'s address in the inventory; if it was deliberately re-addressed: "
            f"opsctl hosts forget {name}, then trust it again" if verdict.by_name else
            f"check {name}'s address in the inventory; if {name} is that host under another name "
            f"(a clone, or a name from an imported known_hosts): opsctl hosts trust {name}")
    enrolled = ", ".join(f"{e.key_type} {e.fingerprint}" for e in verdict.known)
    return HostKeyChanged(f"{label}: HOST KEY CHANGED: offered {offered}, enrolled {enrolled}",
                          host=name, fingerprint=offered_fingerprint,
                          hint=f"if the change is expected: opsctl hosts forget {name}, then trust it again")


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(message: str) -> None:
    """Log ``message`` as a warning (on stderr unless logging is configured), once per process."""
    with _warned_lock:
        if message in _warned:
            return
        _warned.add(message)
    logging.getLogger("opsctl.host_keys").warning("warning: %s", message)


def names_a_host(entry: KnownHostEntry, *, besides: Collection[str]) -> bool:
    """Whether ``entry`` lists a host name (not an address, hashed name or wildcard) outside ``besides``."""
    return any(pattern not in besides and _is_host_name(pattern) for pattern in entry.names)


def _is_host_name(pattern: str) -> bool:
    """Whether a known_hosts name pattern names one host: not an address, hashed name, wildcard or negation."""
    return not pattern.startswith(("!", "|")) and "*" not in pattern and "?" not in pattern \
        and not _is_address(_bare(pattern))


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
            blob = base64.b64decode(key_base64, validate=True)
        except (binascii.Error, ValueError):
            result.unsupported.append(UnsupportedLine(number, "the key is not valid base64", line))
            continue
        inner_type = _key_type_in_blob(blob)
        if inner_type != key_type:
            # an ``ssh-rsa`` line holding an ed25519 key would later look like a changed key
            result.unsupported.append(UnsupportedLine(
                number, f"the line says {key_type} but the key is "
                f"{inner_type or 'not an SSH public key'}", line))
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


def remove_host(path: Path, host: str, address: str, port: int) -> list[KnownHostEntry]:
    """Remove the keys enrolled for inventory host ``host`` at ``address``:``port``; return what was removed.

    Taken out: the host's name and the addresses on the lines that name it (the addresses it was
    enrolled at), and its current address from address-only lines; other hosts' names stay.
    """
    by_name, by_address = host_key_name(host, port), host_key_name(address, port)
    with _locked(path):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        current = parse_known_hosts("\n".join(lines), path)
        removed: list[KnownHostEntry] = []
        for entry in current.entries:
            if entry.revoked:
                continue
            if names_match(entry.names, by_name):
                dropped: tuple[str, ...] = (by_name, by_address, *(
                    n for n in entry.names if not n.startswith("!") and _is_address(_bare(n))))
            elif names_match(entry.names, by_address) and not names_a_host(entry, besides=(by_name, by_address)):
                dropped = (by_address,)
            else:
                continue
            removed.append(entry)
            remaining = tuple(n for n in entry.names if not any(names_match((n,), d) for d in dropped))
            lines[entry.line - 1] = (
                KnownHostEntry(entry.line, remaining, entry.key_type, entry.key_base64, False, entry.comment)
                .to_line() if remaining else "\0"
            )
        if removed:
            _write_atomically(path, [line for line in lines if line != "\0"])
        return removed
