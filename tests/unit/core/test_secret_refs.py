"""Secret references: parsed strictly, resolved at use, never shown."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from opsctl.core.errors import SecretError
from opsctl.core.secrets import SecretRef


class MemoryKeyring(KeyringBackend):
    """A real keyring backend kept in memory (the test machine has no desktop keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


def test_env_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPS_DB_PASS", "s3cret-env")
    ref = SecretRef.parse("env:OPS_DB_PASS")
    assert ref.resolve() == "s3cret-env"
    assert str(ref) == "env:OPS_DB_PASS"
    assert "s3cret" not in repr(ref) and "s3cret" not in str(ref)


def test_missing_env_names_the_variable_not_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    with pytest.raises(SecretError, match="NOPE_NOT_SET is not set"):
        SecretRef.parse("env:NOPE_NOT_SET").resolve()


def test_file_reference_drops_one_trailing_newline(tmp_path: Path) -> None:
    path = tmp_path / "pass"
    path.write_text("line-secret\n\n")
    assert SecretRef.parse(f"file:{path}").resolve() == "line-secret\n"
    with pytest.raises(SecretError, match=str(tmp_path / "missing")):
        SecretRef.parse(f"file:{tmp_path / 'missing'}").resolve()


def test_keyring_reference() -> None:
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        backend.set_password("opsctl", "pacs-admin", "kr-secret")
        assert SecretRef.parse("keyring:opsctl/pacs-admin").resolve() == "kr-secret"
        with pytest.raises(SecretError, match="no such entry"):
            SecretRef.parse("keyring:opsctl/absent").resolve()
    finally:
        keyring.set_keyring(previous)


@pytest.mark.parametrize("literal", ["hunter2", "env:", "vault:x", "file:relative/path", "keyring:noslash"])
def test_literals_and_malformed_references_are_refused_without_echo(literal: str) -> None:
    with pytest.raises(SecretError) as caught:
        SecretRef.parse(literal)
    if literal == "hunter2":
        assert "hunter2" not in str(caught.value)


def test_check_says_what_resolve_would_without_keeping_the_secret(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from opsctl.core.secrets import secret_problems, unreadable_file_problem

    monkeypatch.setenv("OPS_SET", "s3cret-env")
    monkeypatch.delenv("OPS_UNSET", raising=False)
    readable = tmp_path / "secret"
    readable.write_text("s3cret-file\n")
    SecretRef.parse("env:OPS_SET").check()
    SecretRef.parse(f"file:{readable}").check()
    with pytest.raises(SecretError, match="secret env:OPS_UNSET: environment variable OPS_UNSET is not set"):
        SecretRef.parse("env:OPS_UNSET").check()
    with pytest.raises(SecretError, match=f"secret file:{tmp_path}/missing: cannot read .*No such file"):
        SecretRef.parse(f"file:{tmp_path}/missing").check()
    with pytest.raises(SecretError, match="Is a directory"):
        SecretRef.parse(f"file:{tmp_path}").check()
    problems = secret_problems([("h1", SecretRef.parse("env:OPS_SET")), ("h2", None),
                                ("h3", SecretRef.parse("env:OPS_UNSET"))])
    assert problems == ["h3: secret env:OPS_UNSET: environment variable OPS_UNSET is not set"]
    assert unreadable_file_problem(readable) is None
    assert unreadable_file_problem(tmp_path / "missing") == f"cannot read {tmp_path / 'missing'}: No such file or directory"


def test_check_of_a_keyring_reference_reads_the_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = MemoryKeyring()
    backend.set_password("opsctl", "present", "s3cret-keyring")
    monkeypatch.setattr(keyring, "get_password", backend.get_password)
    SecretRef.parse("keyring:opsctl/present").check()
    with pytest.raises(SecretError, match="no such entry in the keyring"):
        SecretRef.parse("keyring:opsctl/absent").check()
