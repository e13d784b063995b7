"""opsctl's known_hosts: OpenSSH format, hashed names, markers reported, atomic changes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import paramiko
import pytest

from opsctl.core.known_hosts import (
    KnownHostEntry,
    add_entries,
    fingerprint,
    host_key_name,
    load_known_hosts,
    names_match,
    parse_known_hosts,
    remove_name,
)


@pytest.fixture(scope="module")
def host_key() -> paramiko.PKey:
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
        expected = subprocess.run(["ssh-keygen", "-lf", str(path)], check=True, capture_output=True, text=True)
        key = paramiko.Ed25519Key.from_private_key_file(str(path))
        key.openssh_fingerprint = expected.stdout.split()[1]  # type: ignore[attr-defined]
        return key


def test_fingerprint_matches_ssh_keygen(host_key: paramiko.PKey) -> None:
    assert fingerprint(host_key) == host_key.openssh_fingerprint  # type: ignore[attr-defined]


def test_host_key_name_uses_brackets_off_port_22() -> None:
    assert host_key_name("10.0.0.1", 22) == "10.0.0.1"
    assert host_key_name("127.0.10.1", 2222) == "[127.0.10.1]:2222"


def _hashed(name: str, salt: bytes = b"0123456789abcdef0123") -> str:
    digest = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_names_match_plain_hashed_wildcard_and_negation() -> None:
    assert names_match(["a.example", "b.example"], "b.example")
    assert names_match([_hashed("[10.1.1.1]:2222")], "[10.1.1.1]:2222")
    assert not names_match([_hashed("10.1.1.1")], "10.1.1.2")
    assert names_match(["*.example.org"], "pacs.example.org")
    assert not names_match(["*.example.org", "!pacs.example.org"], "pacs.example.org")


def test_markers_are_reported_not_silently_ignored(host_key: paramiko.PKey) -> None:
    blob = host_key.get_base64()
    text = "\n".join([
        "# a comment",
        f"pacs.example.org ssh-ed25519 {blob}",
        f"@cert-authority *.example.org ssh-ed25519 {blob}",
        f"@revoked old.example.org ssh-ed25519 {blob}",
        "garbage",
        "host ssh-ed25519 !!!notbase64",
    ])
    parsed = parse_known_hosts(text, Path("kh"))
    assert [e.line for e in parsed.entries] == [2, 4]
    assert parsed.entries[1].revoked
    reasons = {u.line: u.reason for u in parsed.unsupported}
    assert "@cert-authority" in reasons[3]
    assert set(reasons) == {3, 5, 6}
    assert parsed.is_revoked(host_key.asbytes())
    assert [e.line for e in parsed.keys_for("old.example.org")] == []  # a revoked key is never "known"


def test_add_is_idempotent_and_file_is_private(tmp_path: Path, host_key: paramiko.PKey) -> None:
    path = tmp_path / "state" / "known_hosts"
    entry = KnownHostEntry(0, ("[127.0.10.1]:2222",), host_key.get_name(), host_key.get_base64())
    assert len(add_entries(path, [entry])) == 1
    assert add_entries(path, [entry]) == []
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    loaded = load_known_hosts(path)
    assert [e.fingerprint for e in loaded.keys_for("[127.0.10.1]:2222")] == [fingerprint(host_key)]


def test_remove_keeps_other_names_on_a_shared_line(tmp_path: Path, host_key: paramiko.PKey) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(f"a,b ssh-ed25519 {host_key.get_base64()}\nc ssh-ed25519 {host_key.get_base64()}\n")
    removed = remove_name(path, "a")
    assert len(removed) == 1
    assert path.read_text().splitlines() == [f"b ssh-ed25519 {host_key.get_base64()}",
                                             f"c ssh-ed25519 {host_key.get_base64()}"]
    assert remove_name(path, "zzz") == []


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert load_known_hosts(tmp_path / "nope").entries == []
