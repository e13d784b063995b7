"""The OpenSSH host peer: one ``sshd -D -f CONFIG`` per loopback address, in its own UTS and
mount namespaces so ``hostname`` over SSH prints the host's lab name and that name resolves."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lab.errors import LabError, PeerStartError
from lab.files import ensure_dir, write_atomic
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.peer import Answer, Peer, PeerRecord, ProcessPeer, peer_from_record, wait_ready
from lab.settings import lab_dir
from lab.ssh.client import askpass_environment, prepare_ssh_lab
from lab.ssh.config import (
    SSH_PORT,
    render_sshd_config,
    ssh_check_command,
    ssh_host_address,
    ssh_host_name,
    sshd_command,
)
from lab.ssh.keys import (
    HOST_KEY_TYPES,
    PublicKey,
    host_key_path,
    host_keygen_command,
    parse_public_key,
    public_key_command,
    read_public_key,
)
from lab.ssh.login_user import LoginUser
from lab.tools import find_program
from opsctl.core.execute import execute

if TYPE_CHECKING:
    from opsctl.core.settings import Settings

KIND = "ssh"
WAIT_SECONDS = 15.0
_SERVER_ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class SshHost(ProcessPeer):
    """One lab SSH host. ``key_types`` are the host keys ``prepare`` creates if missing."""

    name: str
    address: str
    port: int
    peer_dir: Path
    layout: LabLayout
    user: LoginUser = field(default_factory=LoginUser)
    key_types: tuple[str, ...] = HOST_KEY_TYPES
    kind: str = KIND

    @property
    def config_path(self) -> Path:
        return self.peer_dir / "sshd_config"

    @property
    def known_hosts_path(self) -> Path:
        """This host's keys alone, in known_hosts format (what its readiness check trusts)."""
        return self.peer_dir / "known_hosts"

    @property
    def marker(self) -> str:
        return str(self.config_path)

    @property
    def host_key_paths(self) -> list[Path]:
        """The host's private key files, preferred types first."""
        found = sorted(self.peer_dir.glob("ssh_host_*_key"))
        order = {
            str(host_key_path(self.peer_dir, key_type)): index
            for index, key_type in enumerate(HOST_KEY_TYPES)
        }
        return sorted(found, key=lambda path: (order.get(str(path), len(order)), path.name))

    def public_keys(self) -> list[PublicKey]:
        """The host's public keys (from the ``.pub`` files next to the private ones)."""
        return [read_public_key(path.with_name(path.name + ".pub")) for path in self.host_key_paths]

    def command(self) -> tuple[str, ...]:
        return sshd_command(
            unshare=find_program("unshare", package="util-linux"),
            sh="/bin/sh",
            sshd=find_program("sshd", package="openssh-server"),
            config=self.config_path,
            hostname=self.name,
        )

    def environment(self) -> dict[str, str]:
        return dict(_SERVER_ENVIRONMENT)

    def prepare(self) -> None:
        ensure_dir(self.peer_dir, 0o755)
        ssh_keygen = find_program("ssh-keygen", package="openssh-client")
        for key_type in self.key_types:
            path = host_key_path(self.peer_dir, key_type)
            if not path.exists() or not path.with_name(path.name + ".pub").exists():
                path.unlink(missing_ok=True)
                path.with_name(path.name + ".pub").unlink(missing_ok=True)
                _run_keygen(host_keygen_command(ssh_keygen, key_type, path, self.name))
        if not self.host_key_paths:
            raise LabError(f"{self.name}: no host key in {self.peer_dir}")
        config = render_sshd_config(
            name=self.name,
            address=self.address,
            port=self.port,
            host_keys=self.host_key_paths,
            pid_file=self.peer_dir / "sshd.pid",
            authorized_keys=self.layout.authorized_keys,
            user=self.user.name,
            cat=find_program("cat", package="coreutils"),
        )
        write_atomic(self.config_path, config)
        lines = [key.known_hosts_line(self.address, self.port) for key in self.public_keys()]
        write_atomic(self.known_hosts_path, "\n".join(lines) + "\n")
        self.write_record()

    def ready(self, timeout: float) -> Answer:
        """Log in with the lab key over real SSH, run ``hostname``, expect this host's name."""
        return self.run(("hostname",), timeout=timeout, expect=self.name)

    def run(
        self, remote_command: tuple[str, ...], *, timeout: float, expect: str | None = None
    ) -> Answer:
        """Run ``remote_command`` over SSH as the lab user; ``ok`` if it exits 0 (and prints ``expect``)."""
        argv = ssh_check_command(
            ssh=find_program("ssh", package="openssh-client"),
            address=self.address,
            port=self.port,
            user=self.user.name,
            identity=self.layout.client_key,
            known_hosts=self.known_hosts_path,
            timeout_seconds=max(1, round(timeout)),
            remote_command=" ".join(remote_command),
        )
        result = execute(argv, env=askpass_environment(self.layout.askpass), timeout=timeout + 5)
        if result.timed_out:
            return Answer(False, f"ssh gave no answer within {timeout + 5:g} s")
        answer = result.stdout_text.strip()
        if not result.ok:
            errors = [line for line in result.stderr_text.splitlines() if line.strip()]
            return Answer(False, errors[-1] if errors else f"ssh exited {result.exit_status}")
        if expect is not None and answer != expect:
            return Answer(False, f"answered {answer!r}, expected {expect!r}")
        return Answer(True, f"answered {answer}" if answer else "answered")


def _run_keygen(argv: tuple[str, ...]) -> None:
    result = execute(argv, timeout=60)
    if not result.ok:
        raise LabError(f"ssh-keygen failed: {result.stderr_text.strip()}")


@dataclass(frozen=True)
class SshHostsKind:
    """The registry entry for OpenSSH hosts: ``lab-ssh-NN`` at ``{prefix}.10.N:2222``."""

    user: LoginUser = field(default_factory=LoginUser)
    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        prepare_ssh_lab(lab.layout, self.user)

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [
            SshHost(
                name=ssh_host_name(number),
                address=ssh_host_address(lab.prefix, number),
                port=SSH_PORT,
                peer_dir=lab.layout.peer_dir(ssh_host_name(number)),
                layout=lab.layout,
                user=self.user,
            )
            for number in range(1, lab.ssh_hosts + 1)
        ]

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        return peer_from_record(SshHost, layout, record, peer_dir, user=self.user, key_types=())


# registered in lab.kinds.PEER_KINDS by reference ("lab.ssh.host:SSH_HOSTS"), like an entry point
SSH_HOSTS = SshHostsKind()


@dataclass(frozen=True)
class RunningPeer:
    """An extra SSH host started on its own by :func:`start_ssh_host`; ``stop()`` ends it."""

    name: str
    kind: str
    address: str
    port: int
    pid: int
    peer_dir: Path
    log_path: Path
    host_key: Path
    public_key: PublicKey
    known_hosts_path: Path
    _peer: SshHost = field(repr=False, compare=False)

    @property
    def fingerprint(self) -> str:
        return self.public_key.fingerprint

    @property
    def known_hosts_line(self) -> str:
        return self.public_key.known_hosts_line(self.address, self.port)

    def ready(self, timeout: float = 5.0) -> Answer:
        """One real readiness check (login and ``hostname``)."""
        return self._peer.ready(timeout)

    def stop(self, timeout: float = 5.0) -> bool:
        """Stop this host; True if it was still running."""
        return self._peer.stop(timeout)


def _algorithm_key_type(algorithm: str) -> str:
    """The ssh-keygen type of a key algorithm: ``ssh-ed25519`` gives ed25519, ``ecdsa-sha2-*`` ecdsa."""
    return algorithm.removeprefix("ssh-").split("-")[0]


def _place_host_key(peer_dir: Path, name: str, host_key: Path | None, *, fresh: bool) -> None:
    """Leave ``peer_dir`` with exactly one usable host key.

    ``host_key`` given: a copy of it. ``fresh``, or no key there yet: a new ed25519 key.
    Otherwise the key already there is kept, so a restarted host keeps its identity.
    """
    existing = sorted(peer_dir.glob("ssh_host_*_key"))
    if host_key is None and not fresh and existing:
        return
    for old in peer_dir.glob("ssh_host_*"):
        old.unlink()
    ssh_keygen = find_program("ssh-keygen", package="openssh-client")
    if host_key is None:
        target = host_key_path(peer_dir, "ed25519")
        _run_keygen(host_keygen_command(ssh_keygen, "ed25519", target, name))
        return
    public_file = host_key.with_name(host_key.name + ".pub")
    if public_file.exists():
        public = read_public_key(public_file)
    else:
        result = execute(public_key_command(ssh_keygen, host_key), timeout=30)
        if not result.ok:
            raise LabError(f"cannot read the host key {host_key}: {result.stderr_text.strip()}")
        public = parse_public_key(result.stdout_text)
    target = host_key_path(peer_dir, _algorithm_key_type(public.algorithm))
    shutil.copyfile(host_key, target)
    target.chmod(0o600)
    write_atomic(target.with_name(target.name + ".pub"), public.authorized_keys_line(name) + "\n")


def start_ssh_host(
    lab: Settings | LabLayout | Path,
    name: str,
    address: str,
    port: int = SSH_PORT,
    host_key: Path | None = None,
    *,
    fresh_host_key: bool = False,
    wait_seconds: float = WAIT_SECONDS,
    user: LoginUser | None = None,
) -> RunningPeer:
    """Start one extra SSH host ``name`` on ``address``:``port`` that takes the lab's client key.

    Its host key: a copy of ``host_key`` if given; a new ed25519 key if ``fresh_host_key``
    or on its first start; otherwise the key it had last time. A host of the same name
    that is still running is stopped first. ``lab.down`` also stops it; ``up`` and
    ``status`` ignore it. Raise ``PeerStartError`` with its log tail if it does not answer
    within ``wait_seconds``, ``LabError`` for a bad name, address or key.
    """
    if isinstance(lab, LabLayout):
        layout = lab
    elif isinstance(lab, Path):
        layout = LabLayout(lab.absolute())
    else:
        layout = LabLayout(lab_dir(lab).absolute())
    login_user = user or LoginUser()
    if not name or "/" in name or name.startswith("."):
        raise LabError(f"not a usable peer name: {name!r}")
    if not address.startswith("127."):
        raise LabError(f"{name}: the lab binds to 127.x only, not {address}")
    if host_key is not None and fresh_host_key:
        raise LabError(f"{name}: give a host key or ask for a fresh one, not both")
    peer_dir = ensure_dir(layout.extra_dir(name), 0o755)
    host = SshHost(
        name=name,
        address=address,
        port=port,
        peer_dir=peer_dir,
        layout=layout,
        user=login_user,
        key_types=(),
    )
    host.stop()
    prepare_ssh_lab(layout, login_user)
    _place_host_key(peer_dir, name, host_key, fresh=fresh_host_key)
    host.prepare()
    pid = host.start()
    answer = wait_ready(host, wait_seconds=wait_seconds)
    if not answer.ok:
        failure = host.failure(answer.detail)
        host.stop()
        raise PeerStartError([failure])
    key_path = host.host_key_paths[0]
    return RunningPeer(
        name=name,
        kind=KIND,
        address=address,
        port=port,
        pid=pid,
        peer_dir=peer_dir,
        log_path=host.log_path,
        host_key=key_path,
        public_key=read_public_key(key_path.with_name(key_path.name + ".pub")),
        known_hosts_path=host.known_hosts_path,
        _peer=host,
    )
