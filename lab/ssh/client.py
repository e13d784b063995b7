"""What every SSH host of a lab shares: the client key, its passphrase, the askpass helper,
the authorized keys, the login user and ``/run/sshd``."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from pathlib import Path

from lab.errors import LabError
from lab.files import ensure_dir, ensure_secret, write_atomic
from lab.layout import LabLayout
from lab.ssh.keys import client_keygen_command, read_public_key
from lab.ssh.login_user import LoginUser, ensure_login_user
from lab.tools import find_program
from opsctl.core.execute import execute

PRIVILEGE_SEPARATION_DIR = Path("/run/sshd")


def askpass_script(passphrase_file: Path) -> str:
    """A shell script that prints the passphrase in ``passphrase_file`` to its stdout (ssh's pipe)."""
    return f"#!/bin/sh\n# SSH_ASKPASS helper of the opsctl lab: answers with the key passphrase\nexec cat -- {shlex.quote(str(passphrase_file))}\n"


def askpass_environment(askpass: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for ssh or ssh-keygen that takes the passphrase from ``askpass`` only."""
    environment = dict(os.environ if base is None else base)
    environment.pop("SSH_AUTH_SOCK", None)
    environment["SSH_ASKPASS"] = str(askpass)
    environment["SSH_ASKPASS_REQUIRE"] = "force"
    environment.setdefault("DISPLAY", ":0")  # older clients want one before they use askpass
    return environment


def ensure_client_key(layout: LabLayout) -> None:
    """Create the passphrase, askpass helper, client key and authorized_keys, once; keep them."""
    ensure_dir(layout.root, 0o755)
    ensure_dir(layout.keys_dir, 0o700)
    ensure_dir(layout.bin_dir, 0o700)
    ensure_secret(layout.key_passphrase)
    write_atomic(layout.askpass, askpass_script(layout.key_passphrase), mode=0o700)
    public = layout.client_key.with_name(layout.client_key.name + ".pub")
    if not layout.client_key.exists():
        public.unlink(missing_ok=True)
        ssh_keygen = find_program("ssh-keygen", package="openssh-client")
        result = execute(
            client_keygen_command(ssh_keygen, layout.client_key, "opsctl-lab"),
            env=askpass_environment(layout.askpass),
            timeout=60,
        )
        if not result.ok or not public.exists():
            layout.client_key.unlink(missing_ok=True)
            raise LabError(
                f"ssh-keygen could not create the lab client key: {result.stderr_text.strip()}"
            )
    os.chmod(layout.client_key, 0o600)
    key = read_public_key(public)
    write_atomic(layout.authorized_keys, key.authorized_keys_line("opsctl-lab") + "\n", mode=0o644)


def prepare_ssh_lab(layout: LabLayout, user: LoginUser) -> None:
    """Everything the SSH hosts share; idempotent. Raise ``LabError`` (e.g. when not root)."""
    ensure_login_user(user, layout.sudo_password)
    ensure_client_key(layout)
    PRIVILEGE_SEPARATION_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
