"""Names, addresses, the rendered sshd_config and the command lines of the lab's SSH hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.ssh.config import (
    render_sshd_config,
    ssh_check_command,
    ssh_host_address,
    ssh_host_name,
    ssh_host_number,
    sshd_command,
)


def test_host_names_and_addresses() -> None:
    assert ssh_host_name(1) == "lab-ssh-01"
    assert ssh_host_name(50) == "lab-ssh-50"
    assert ssh_host_address("127.0", 1) == "127.0.10.1"
    assert ssh_host_address("127.3", 50) == "127.3.10.50"
    assert ssh_host_number("lab-ssh-07") == 7
    assert ssh_host_number("web-01") is None
    assert ssh_host_number("lab-ssh-x") is None


@pytest.mark.parametrize(
    ("prefix", "number"), [("10.0", 1), ("127.999", 1), ("127.0", 0), ("127.0", 255)]
)
def test_address_outside_loopback_or_range_is_refused(prefix: str, number: int) -> None:
    with pytest.raises(ValueError):
        ssh_host_address(prefix, number)


def _config(**overrides: object) -> str:
    arguments: dict[str, object] = {
        "name": "lab-ssh-01",
        "address": "127.3.10.1",
        "port": 2222,
        "host_keys": [
            Path("/lab/peers/lab-ssh-01/ssh_host_ed25519_key"),
            Path("/lab/peers/lab-ssh-01/ssh_host_ecdsa_key"),
        ],
        "pid_file": Path("/lab/peers/lab-ssh-01/sshd.pid"),
        "authorized_keys": Path("/lab/keys/authorized_keys"),
        "user": "opsctl-lab",
    }
    arguments.update(overrides)
    return render_sshd_config(**arguments)  # type: ignore[arg-type]


def _options(text: str) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            keyword, _, value = line.partition(" ")
            options.setdefault(keyword, []).append(value)
    return options


def test_sshd_config_is_key_only_for_the_lab_user_on_its_address() -> None:
    options = _options(_config())
    assert options["ListenAddress"] == ["127.3.10.1:2222"]
    assert options["HostKey"] == [
        "/lab/peers/lab-ssh-01/ssh_host_ed25519_key",
        "/lab/peers/lab-ssh-01/ssh_host_ecdsa_key",
    ]
    assert options["PidFile"] == ["/lab/peers/lab-ssh-01/sshd.pid"]
    assert options["AllowUsers"] == ["opsctl-lab"]
    for keyword, value in {
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "UsePAM": "no",
        "PermitRootLogin": "no",
        "MaxStartups": "200:30:300",
        "MaxSessions": "50",
    }.items():
        assert options[keyword] == [value], keyword
    assert options["AuthorizedKeysCommand"] == ['/usr/bin/cat "/lab/keys/authorized_keys"']
    assert options["AuthorizedKeysCommandUser"] == ["root"]


def test_sshd_config_refuses_a_non_loopback_address() -> None:
    with pytest.raises(ValueError, match="loopback"):
        _config(address="0.0.0.0")


def test_sshd_config_quotes_an_authorized_keys_path_with_spaces() -> None:
    options = _options(_config(authorized_keys=Path('/my lab/"keys"/ak')))
    assert options["AuthorizedKeysCommand"] == ['/usr/bin/cat "/my lab/\\"keys\\"/ak"']


def test_sshd_command_sets_hostname_then_execs_sshd_without_interpolating() -> None:
    argv = sshd_command(
        unshare="/usr/bin/unshare",
        sh="/bin/sh",
        sshd="/usr/sbin/sshd",
        config=Path("/c"),
        hostname="lab-ssh-01",
    )
    assert argv[0] == "/usr/bin/unshare"
    # its own hostname, and no mount namespace (it cannot be made private in a chroot)
    assert set(argv[: argv.index("--")]) == {"/usr/bin/unshare", "--uts"}
    script_index = argv.index("-c") + 1
    # the name is a positional parameter, never part of the script text
    assert "lab-ssh-01" not in argv[script_index]
    assert argv[script_index + 1 :] == ("lab-ssh-01", "/usr/sbin/sshd", "-D", "-e", "-f", "/c")


def test_ssh_check_command_trusts_only_the_given_known_hosts() -> None:
    argv = ssh_check_command(
        ssh="/usr/bin/ssh",
        address="127.3.10.2",
        port=2222,
        user="opsctl-lab",
        identity=Path("/lab/keys/id_ed25519"),
        known_hosts=Path("/lab/peers/lab-ssh-02/known_hosts"),
        timeout_seconds=3,
    )
    options = {argv[index + 1] for index, value in enumerate(argv) if value == "-o"}
    assert "UserKnownHostsFile=/lab/peers/lab-ssh-02/known_hosts" in options
    assert "StrictHostKeyChecking=yes" in options
    assert "BatchMode=no" in options
    assert "IdentityAgent=none" in options
    assert argv[-4:] == ("-l", "opsctl-lab", "127.3.10.2", "hostname")
