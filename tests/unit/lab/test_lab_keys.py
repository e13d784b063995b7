"""Public key parsing, fingerprints and known_hosts lines, against recorded ssh-keygen output."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.ssh.keys import (
    fingerprint,
    host_keygen_command,
    known_hosts_host,
    parse_public_key,
)

# recorded with OpenSSH 9.2: `ssh-keygen -t TYPE -f K` then `ssh-keygen -lf K.pub`
ED25519_PUB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIMdZcpU4k48CK7UCppQP8LZQJap84eGyAT11dobFJnn rec"
ED25519_FINGERPRINT = "SHA256:L9nrrg0QfWJliqd3eQLyY4P2SnqkzK1D6AI2om7tLvg"
ECDSA_PUB = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAI//zizNmqrH8L9f+boC0/"
    "lbtcqcXl8MHYq/PcFaEsuX/JFLhHJBk87/QnnVV6jSjNXFZjwqW6QuvAIhfLVSzw= rec"
)
ECDSA_FINGERPRINT = "SHA256:Uio31CzuBMMvwfL5WgJDQn6QOb4HLiEFdBimZ8TqJbs"


@pytest.mark.parametrize(
    ("public_text", "expected"),
    [(ED25519_PUB, ED25519_FINGERPRINT), (ECDSA_PUB, ECDSA_FINGERPRINT)],
)
def test_fingerprint_matches_ssh_keygen(public_text: str, expected: str) -> None:
    key = parse_public_key(public_text)
    assert key.fingerprint == expected
    assert fingerprint(key.blob) == expected


def test_known_hosts_line_brackets_a_non_default_port() -> None:
    key = parse_public_key(ED25519_PUB)
    assert key.known_hosts_line("127.0.10.1", 2222) == f"[127.0.10.1]:2222 ssh-ed25519 {key.blob}"
    assert known_hosts_host("127.0.10.1", 22) == "127.0.10.1"


@pytest.mark.parametrize("text", ["", "ssh-ed25519", "ssh-ed25519 not*base64!"])
def test_parse_public_key_refuses_garbage(text: str) -> None:
    with pytest.raises(LabError):
        parse_public_key(text)


def test_host_keygen_command_has_no_passphrase_and_is_a_tuple() -> None:
    argv = host_keygen_command("/usr/bin/ssh-keygen", "ed25519", Path("/k"), "lab-ssh-01")
    assert isinstance(argv, tuple)
    assert argv[argv.index("-N") + 1] == ""
    assert argv[-2:] == ("-f", "/k")
