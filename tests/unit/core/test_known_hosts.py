"""opsctl's known_hosts: OpenSSH format, hashed names, markers reported, atomic changes."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import paramiko
import pytest

from opsctl.core.errors import HostKeyChanged
from opsctl.core.known_hosts import (
    KnownHostEntry,
    add_entries,
    check_host_key,
    fingerprint,
    host_key_name,
    host_key_names,
    host_key_refusal,
    load_known_hosts,
    names_match,
    parse_known_hosts,
    remove_host,
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


@pytest.fixture(scope="module")
def other_key() -> paramiko.PKey:
    return paramiko.Ed25519Key.from_private_key_file(_generated_key())


def _generated_key() -> str:
    import subprocess
    import tempfile

    directory = tempfile.mkdtemp()
    path = Path(directory) / "key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return str(path)


def test_host_key_names_are_the_inventory_name_and_the_address() -> None:
    assert host_key_names("web1", "10.0.0.1", 22) == ("web1", "10.0.0.1")
    assert host_key_names("lab-ssh-01", "127.0.10.1", 2222) == ("[lab-ssh-01]:2222", "[127.0.10.1]:2222")
    assert host_key_names("10.0.0.1", "10.0.0.1", 22) == ("10.0.0.1",)


def test_a_key_enrolled_for_another_host_at_this_address_is_refused_naming_it(
        host_key: paramiko.PKey, other_key: paramiko.PKey) -> None:
    # lab-ssh-01's ansible_host was pointed at lab-ssh-02's address: the key offered is lab-ssh-02's
    store = parse_known_hosts("\n".join([
        f"[lab-ssh-01]:2222,[127.0.10.1]:2222 ssh-ed25519 {host_key.get_base64()}",
        f"[lab-ssh-02]:2222,[127.0.10.2]:2222 ssh-ed25519 {other_key.get_base64()}",
    ]), Path("kh"))
    verdict = check_host_key(store, host="lab-ssh-01", address="127.0.10.2", port=2222,
                             key_blob=other_key.asbytes())
    assert verdict.status == "elsewhere" and verdict.enrolled_for == ("lab-ssh-02",)
    refusal = host_key_refusal(verdict, name="lab-ssh-01", label="lab-ssh-01 (127.0.10.2:2222)",
                               key_type="ssh-ed25519", offered_fingerprint=fingerprint(other_key), path=Path("kh"))
    assert isinstance(refusal, HostKeyChanged)
    assert "lab-ssh-02" in str(refusal) and fingerprint(other_key) in str(refusal)
    # a host never enrolled by name is refused too when the address's line names another host
    assert check_host_key(store, host="new-host", address="127.0.10.2", port=2222,
                          key_blob=other_key.asbytes()).status == "elsewhere"
    # and the rightful host is trusted, without a word
    rightful = check_host_key(store, host="lab-ssh-02", address="127.0.10.2", port=2222, key_blob=other_key.asbytes())
    assert rightful.trusted and rightful.warnings == ()
    assert host_key_refusal(rightful, name="lab-ssh-02", label="x", key_type="ssh-ed25519",
                            offered_fingerprint="f", path=Path("kh")) is None


def test_a_re_addressed_host_with_its_own_key_is_trusted_and_a_changed_one_refused(
        host_key: paramiko.PKey, other_key: paramiko.PKey) -> None:
    store = parse_known_hosts(f"web1,10.0.0.1 ssh-ed25519 {host_key.get_base64()}", Path("kh"))
    assert check_host_key(store, host="web1", address="10.0.0.9", port=22, key_blob=host_key.asbytes()).trusted
    changed = check_host_key(store, host="web1", address="10.0.0.1", port=22, key_blob=other_key.asbytes())
    assert changed.status == "changed" and [e.fingerprint for e in changed.known] == [fingerprint(host_key)]
    unknown = check_host_key(store, host="web2", address="10.0.0.2", port=22, key_blob=other_key.asbytes())
    assert unknown.status == "unknown"


def test_a_key_shared_by_several_names_is_a_warning_not_a_refusal(host_key: paramiko.PKey) -> None:
    blob = host_key.get_base64()
    store = parse_known_hosts("\n".join([
        f"[sw1]:22022,[127.0.30.1]:22022 ssh-ed25519 {blob}",
        f"[sw2]:22022,[127.0.30.2]:22022 ssh-ed25519 {blob}",
    ]), Path("kh"))
    verdict = check_host_key(store, host="sw1", address="127.0.30.1", port=22022, key_blob=host_key.asbytes())
    assert verdict.trusted
    assert verdict.warnings and "also enrolled for sw2" in verdict.warnings[0]


def test_address_only_and_hashed_entries_keep_working_with_a_hint(host_key: paramiko.PKey) -> None:
    blob = host_key.get_base64()
    for names in ("[127.0.10.1]:2222", _hashed("[127.0.10.1]:2222")):
        store = parse_known_hosts(f"{names} ssh-ed25519 {blob}", Path("kh"))
        verdict = check_host_key(store, host="lab-ssh-01", address="127.0.10.1", port=2222,
                                 key_blob=host_key.asbytes())
        assert verdict.trusted
        assert any("opsctl hosts trust lab-ssh-01" in warning for warning in verdict.warnings)


def test_a_revoked_key_is_refused_whatever_names_it_has(host_key: paramiko.PKey) -> None:
    blob = host_key.get_base64()
    store = parse_known_hosts(f"web1 ssh-ed25519 {blob}\n@revoked * ssh-ed25519 {blob}", Path("kh"))
    assert check_host_key(store, host="web1", address="10.0.0.1", port=22, key_blob=host_key.asbytes()).status \
        == "revoked"


def test_a_line_whose_key_type_is_not_its_key_is_refused_naming_the_line(host_key: paramiko.PKey) -> None:
    blob = host_key.get_base64()
    parsed = parse_known_hosts(f"good ssh-ed25519 {blob}\nbad ssh-rsa {blob}\n", Path("kh"))
    assert [e.names for e in parsed.entries] == [("good",)]
    assert [(u.line, u.reason) for u in parsed.unsupported] == [
        (2, "the line says ssh-rsa but the key is ssh-ed25519")]


def test_forgetting_a_host_takes_its_name_and_address_and_spares_other_hosts(
        tmp_path: Path, host_key: paramiko.PKey, other_key: paramiko.PKey) -> None:
    mine, theirs = host_key.get_base64(), other_key.get_base64()
    path = tmp_path / "known_hosts"
    path.write_text(f"web1,10.0.0.1 ssh-ed25519 {mine}\n10.0.0.1 ssh-ed25519 {mine}\n"
                    f"web2,10.0.0.2 ssh-ed25519 {theirs}\n")
    assert len(remove_host(path, "web1", "10.0.0.1", 22)) == 2
    assert path.read_text().splitlines() == [f"web2,10.0.0.2 ssh-ed25519 {theirs}"]
    # web1 pointed at web2's address by mistake: forgetting web1 leaves web2's line whole
    assert remove_host(path, "web1", "10.0.0.2", 22) == []
    assert path.read_text().splitlines() == [f"web2,10.0.0.2 ssh-ed25519 {theirs}"]


def test_forgetting_a_re_addressed_host_takes_the_address_it_was_enrolled_at(
        tmp_path: Path, host_key: paramiko.PKey) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(f"[web1]:2222,[10.0.0.1]:2222 ssh-ed25519 {host_key.get_base64()}\n")
    assert len(remove_host(path, "web1", "10.0.0.9", 2222)) == 1
    assert path.read_text() == ""


def test_a_host_never_enrolled_by_name_is_told_how_to_enrol_it(host_key: paramiko.PKey) -> None:
    # an imported OpenSSH line names the host by its FQDN; the inventory calls it web1
    store = parse_known_hosts(f"web1.example.org,10.0.0.1 ssh-ed25519 {host_key.get_base64()}", Path("kh"))
    verdict = check_host_key(store, host="web1", address="10.0.0.1", port=22, key_blob=host_key.asbytes())
    assert verdict.status == "elsewhere" and verdict.enrolled_for == ("web1.example.org",)
    refusal = host_key_refusal(verdict, name="web1", label="web1 (10.0.0.1:22)", key_type="ssh-ed25519",
                               offered_fingerprint=fingerprint(host_key), path=Path("kh"))
    assert refusal is not None and refusal.hint is not None and "opsctl hosts trust web1" in refusal.hint
