"""SSH transport on paramiko: one persistent connection per host per command.

Host keys are checked strictly against opsctl's own known_hosts (loaded once): an unknown,
changed or revoked key refuses the host with the offered key's fingerprint, and nothing is
ever added here. Authentication is by key (decrypted once per command) and by agent.
Commands run without a pty, so stdout and stderr stay apart; each is stopped on timeout or
cancellation by signalling its remote process group, not left running. ``sudo`` reads its
password from the channel, never from the command line.
"""

from __future__ import annotations

import logging
import secrets
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from opsctl.core.become import PID, PID_MARK, PROMPT, READY, REFUSED, Handshake, sudo_argv
from opsctl.core.errors import (
    AuthenticationFailed,
    ConfigError,
    HostUnreachable,
    SecretError,
)
from opsctl.core.known_hosts import (
    KnownHosts,
    check_host_key,
    fingerprint,
    host_key_name,
    host_key_refusal,
    warn_once,
)

# paramiko logs handshake failures with tracebacks; without a handler Python would print
# them on stderr. opsctl reports each failure itself, in one line naming the host.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

if TYPE_CHECKING:
    import paramiko

    from opsctl.core.secrets import SecretRef
    from opsctl.core.settings import Settings, SshSettings

_KEY_TYPES_BY_PREFERENCE = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
)


@dataclass(frozen=True)
class SshTarget:
    """Where and as whom to connect; secrets only as references."""

    name: str
    address: str
    port: int = 22
    user: str | None = None
    key_file: Path | None = None
    key_passphrase: SecretRef | None = None
    become: bool = False
    become_user: str | None = None
    become_password: SecretRef | None = None

    @property
    def known_hosts_name(self) -> str:
        return host_key_name(self.address, self.port)

    @property
    def label(self) -> str:
        return f"{self.name} ({self.address}:{self.port})"


@dataclass(frozen=True)
class CommandResult:
    """What a remote command did: its status, both streams apart, and how long it took."""

    exit_status: int | None
    stdout: bytes
    stderr: bytes
    duration_seconds: float
    timed_out: bool = False
    cancelled: bool = False


DataCallback = Callable[[str, bytes], None]
"""Receives output as it arrives: the stream's name ("stdout" or "stderr") and the bytes."""


class Credentials:
    """Private keys decrypted once per command and shared by every connection (thread-safe)."""

    def __init__(self, *, default_key: Path | None = None, default_passphrase: SecretRef | None = None,
                 use_agent: bool = True) -> None:
        self._default_key = default_key
        self._default_passphrase = default_passphrase
        self._use_agent = use_agent
        self._keys: dict[tuple[Path, str | None], paramiko.PKey] = {}
        self._agent_keys: list[Any] | None = None
        self._lock = threading.Lock()
        self._agent_lock = threading.Lock()

    def keys_for(self, target: SshTarget) -> list[tuple[str, paramiko.PKey]]:
        """The keys to offer for ``target``, each with a label naming where it came from."""
        keys: list[tuple[str, paramiko.PKey]] = []
        key_file = target.key_file or self._default_key
        if key_file is not None:
            passphrase = target.key_passphrase if target.key_file else self._default_passphrase
            keys.append((str(key_file), self._load(key_file, passphrase)))
        if self._use_agent:
            keys.extend(("agent", key) for key in self._agent())
        return keys

    def _load(self, path: Path, passphrase_ref: SecretRef | None) -> paramiko.PKey:
        cache_key = (path, str(passphrase_ref) if passphrase_ref else None)
        with self._lock:
            if cache_key in self._keys:
                return self._keys[cache_key]
            import paramiko

            passphrase = passphrase_ref.resolve().encode() if passphrase_ref is not None else None
            try:
                key = paramiko.PKey.from_path(path, passphrase=passphrase)
            except FileNotFoundError:
                raise ConfigError("private key file not found", path=str(path)) from None
            except PermissionError:
                raise ConfigError("private key file is not readable", path=str(path)) from None
            except paramiko.PasswordRequiredException:
                raise SecretError(f"private key {path} is encrypted and no passphrase is configured",
                                  hint="set opsctl_ssh_key_passphrase (or ssh.private_key_passphrase) "
                                  "to a secret reference") from None
            except (paramiko.SSHException, ValueError) as error:
                detail = "wrong passphrase" if passphrase is not None else type(error).__name__
                raise SecretError(f"cannot load private key {path}: {detail}"
                                  + (f" (from {passphrase_ref})" if passphrase_ref else "")) from None
            self._keys[cache_key] = key
            return key

    def _agent(self) -> list[Any]:
        with self._lock:
            if self._agent_keys is None:
                import os

                if not os.environ.get("SSH_AUTH_SOCK"):
                    self._agent_keys = []
                else:
                    import paramiko

                    try:
                        self._agent_keys = [_serialized(key, self._agent_lock)
                                            for key in paramiko.Agent().get_keys()]
                    except paramiko.SSHException:
                        self._agent_keys = []
            return self._agent_keys


def _serialized(agent_key: Any, lock: threading.Lock) -> Any:
    """Make an agent key sign under ``lock``: all keys share one agent socket, and requests
    from several connections' threads at once would interleave on it."""
    sign = agent_key.sign_ssh_data

    def locked_sign(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return sign(*args, **kwargs)

    agent_key.sign_ssh_data = locked_sign
    return agent_key


def _preferred_key_types(known: Iterable[str]) -> list[str]:
    known_set = set(known)
    if "ssh-rsa" in known_set:  # an enrolled RSA key is offered under its SHA-2 signatures
        known_set |= {"rsa-sha2-512", "rsa-sha2-256"}
    return sorted(_KEY_TYPES_BY_PREFERENCE, key=lambda t: (t not in known_set,
                                                          _KEY_TYPES_BY_PREFERENCE.index(t)))


def open_transport(address: str, port: int, *, timeout: float, label: str,
                   key_types: Sequence[str] | None = None) -> paramiko.Transport:
    """Connect and run the key exchange; raise HostUnreachable naming ``label`` on failure."""
    import paramiko

    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except TimeoutError:
        raise HostUnreachable(f"{label}: connection timed out after {timeout:g} s") from None
    except ConnectionRefusedError:
        raise HostUnreachable(f"{label}: connection refused") from None
    except OSError as error:
        raise HostUnreachable(f"{label}: {error.strerror or error}") from None
    # Without TCP_NODELAY, Nagle's algorithm meets the server's delayed ACK and every
    # request-reply exchange (opening a channel, say) waits about 40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.auth_timeout = timeout
    if key_types:
        options = transport.get_security_options()
        options.key_types = [t for t in key_types if t in options.key_types]
    try:
        transport.start_client(timeout=timeout)
    except (paramiko.SSHException, EOFError, OSError) as error:
        transport.close()
        reason = str(error) or type(error).__name__
        if "banner" in reason.lower():
            reason = f"no SSH banner within {timeout:g} s"
        raise HostUnreachable(f"{label}: SSH handshake failed: {reason}") from None
    return transport


class SshConnection:
    """One authenticated connection to one host; ``run`` may be called many times."""

    def __init__(self, target: SshTarget, known_hosts: KnownHosts, credentials: Credentials,
                 *, connect_timeout: float = 10.0) -> None:
        self.target = target
        self._known_hosts = known_hosts
        self._credentials = credentials
        self._connect_timeout = connect_timeout
        self._transport: paramiko.Transport | None = None

    def connect(self) -> None:
        """Connect, check the host key strictly and authenticate; raise on any failure."""
        target = self.target
        known = self._known_hosts.keys_for(host_key_name(target.name, target.port)) or \
            self._known_hosts.keys_for(target.known_hosts_name)
        transport = open_transport(
            target.address, target.port, timeout=self._connect_timeout, label=target.label,
            key_types=_preferred_key_types(e.key_type for e in known),
        )
        try:
            self._check_host_key(transport)
            self._authenticate(transport)
        except BaseException:
            transport.close()
            raise
        self._transport = transport

    def _check_host_key(self, transport: paramiko.Transport) -> None:
        offered = transport.get_remote_server_key()
        target = self.target
        verdict = check_host_key(self._known_hosts, host=target.name, address=target.address,
                                 port=target.port, key_blob=offered.asbytes())
        refusal = host_key_refusal(verdict, name=target.name, label=target.label, key_type=offered.get_name(),
                                   offered_fingerprint=fingerprint(offered), path=self._known_hosts.path)
        if refusal is not None:
            raise refusal
        for warning in verdict.warnings:
            warn_once(warning)

    def _authenticate(self, transport: paramiko.Transport) -> None:
        import getpass

        import paramiko

        user = self.target.user or getpass.getuser()
        keys = self._credentials.keys_for(self.target)
        if not keys:
            raise AuthenticationFailed(f"{self.target.label}: no key to offer (no key file, no agent)",
                                       hint="set ansible_ssh_private_key_file or ssh.private_key")
        for _label, key in keys:
            try:
                transport.auth_publickey(user, key)
            except paramiko.AuthenticationException:
                continue
            except (paramiko.SSHException, EOFError, OSError) as error:
                raise HostUnreachable(f"{self.target.label}: connection lost during authentication: "
                                      f"{error or type(error).__name__}") from None
            if transport.is_authenticated():
                return
        offered = ", ".join(label for label, _ in keys)
        raise AuthenticationFailed(f"{self.target.label}: {user} refused every key offered ({offered})")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def run(self, command: str, *, timeout: float, become: bool | None = None,
            stdin: bytes | None = None, cancel: threading.Event | None = None,
            on_data: DataCallback | None = None, become_user: str | None = None) -> CommandResult:
        """Run a shell ``command`` and return its result; stop it remotely on timeout or cancel.

        ``on_data(stream, chunk)`` receives the output as it arrives ("stdout" or "stderr"),
        and the result's streams are then empty. ``stdin`` is written once the command runs
        (after sudo let us in), then closed. Raise :class:`AuthenticationFailed` when sudo
        refuses the password; a timeout or a cancel is a result. ``become`` and ``become_user``
        default to the target's.
        """
        if self._transport is None:
            self.connect()
        assert self._transport is not None
        use_become = self.target.become if become is None else become
        password = self.target.become_password.resolve() if use_become and self.target.become_password else None
        session = _RemoteCommand(self, command, become=use_become, password=password, stdin=stdin,
                                 become_user=become_user or self.target.become_user)
        return session.run(timeout=timeout, cancel=cancel, on_data=on_data)

    def open_session(self) -> paramiko.Channel:
        assert self._transport is not None
        try:
            return self._transport.open_session(timeout=self._connect_timeout)
        except Exception as error:
            raise HostUnreachable(f"{self.target.label}: cannot open a session: {error}") from None


@dataclass
class _RemoteCommand:
    """The state machine of one command: preamble markers on stderr, then the command itself."""

    connection: SshConnection
    command: str
    become: bool
    password: str | None
    stdin: bytes | None
    become_user: str | None = None
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    pid: int | None = None
    is_stopper: bool = False  # the command that stops another is never stopped in turn

    def remote_command(self) -> str:
        return build_remote_command(self.command, become=self.become, become_user=self.become_user,
                                    has_password=self.password is not None, token=self.token)

    def run(self, *, timeout: float, cancel: threading.Event | None,
            on_data: DataCallback | None = None) -> CommandResult:
        started = time.monotonic()
        channel = self.connection.open_session()
        handshake = Handshake(self.token, expect_pid=True, become=self.become,
                              has_password=self.password is not None)
        try:
            channel.exec_command(self.remote_command())
            return self._pump(channel, handshake, started, timeout, cancel, on_data)
        except AuthenticationFailed:
            raise  # sudo gave up on its own; a stopper would only meet the same refusal
        except BaseException:
            # a callback that raised, or Ctrl-C in this thread: the command must not run on
            if not self.is_stopper:
                self._await_pid(channel, handshake)
                self._stop_remote()
            raise
        finally:
            channel.close()

    def _await_pid(self, channel: paramiko.Channel, handshake: Handshake, seconds: float = 2.0) -> None:
        """Read stderr until the pid line, for a command stopped before it was seen."""
        deadline = time.monotonic() + seconds
        while self.pid is None and not handshake.done and not channel.closed and time.monotonic() < deadline:
            if not channel.recv_stderr_ready():
                time.sleep(0.02)
                continue
            for event, value in handshake.feed(channel.recv_stderr(65536)).events:
                if event == PID:
                    self.pid = value

    def _pump(self, channel: paramiko.Channel, handshake: Handshake, started: float, timeout: float,
              cancel: threading.Event | None, on_data: DataCallback | None) -> CommandResult:
        kept = {"stdout": bytearray(), "stderr": bytearray()}

        def emit(stream: str, data: bytes) -> None:
            if not data:
                return
            if on_data is None:
                kept[stream] += data
            else:
                on_data(stream, data)

        deadline = started + timeout
        stopped_by: str | None = None
        fd = channel.fileno()
        pending: memoryview | None = None  # stdin not yet sent; None until the command runs

        while True:
            if pending is not None and pending and channel.send_ready():
                # a little at a time, between reads: a program that answers as it reads must not
                # stall on a full window while we block on sending it the rest
                pending = pending[channel.send(bytes(pending[:32768])):]
                if not pending:
                    channel.shutdown_write()
            elif not (channel.recv_ready() or channel.recv_stderr_ready()):
                if channel.eof_received:
                    # after EOF the channel's pipe stays readable: wait for the exit status instead
                    channel.status_event.wait(0.05)
                else:
                    select.select([fd], [], [], 0.05)
            # stderr first: the pid line there must be known before a stdout callback may raise
            while channel.recv_stderr_ready() and stopped_by is None:
                step = handshake.feed(channel.recv_stderr(65536))
                emit("stderr", step.passthrough)
                for event, value in step.events:
                    if event == PID:
                        self.pid = value
                    elif event == PROMPT:
                        assert self.password is not None
                        channel.sendall((self.password + "\n").encode())
                    elif event == REFUSED:
                        stopped_by = "sudo refused the password"
                    elif event == READY:
                        pending = memoryview(self.stdin or b"")
                        if not pending:
                            channel.shutdown_write()
            while channel.recv_ready() and stopped_by is None:
                emit("stdout", channel.recv(65536))
            if stopped_by:
                break
            # sshd may send the exit status before the last of the output (it reaps the command
            # while still draining its pipes): done only once the output has ended too (EOF)
            ended = channel.eof_received or channel.closed
            if ended and channel.exit_status_ready() and not channel.recv_ready() and not channel.recv_stderr_ready():
                break
            if cancel is not None and cancel.is_set():
                stopped_by = "cancelled"
                break
            if time.monotonic() > deadline:
                stopped_by = "timeout"
                break
        if stopped_by == "sudo refused the password":
            # sudo is still waiting at its prompt: end its stdin and it gives up on its own
            channel.shutdown_write()
            raise AuthenticationFailed(
                f"{self.connection.target.label}: sudo refused the password"
                f" from {self.connection.target.become_password}")
        emit("stderr", handshake.flush())
        if stopped_by is not None:
            if not self.is_stopper:
                self._stop_remote()
            return CommandResult(None, bytes(kept["stdout"]), bytes(kept["stderr"]), time.monotonic() - started,
                                 timed_out=stopped_by == "timeout", cancelled=stopped_by == "cancelled")
        return CommandResult(channel.recv_exit_status(), bytes(kept["stdout"]), bytes(kept["stderr"]),
                             time.monotonic() - started)

    def _stop_remote(self) -> None:
        """Signal the command's process group: TERM, then KILL if it is still there."""
        if self.pid is None:
            return
        pgid = self.pid
        # dash's kill takes no "--": a negative pid right after the signal names the group
        script = (f"kill -TERM -{pgid} 2>/dev/null || exit 0; "
                  f"for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 -{pgid} 2>/dev/null || exit 0; sleep 0.2; done; "
                  f"kill -KILL -{pgid} 2>/dev/null; exit 0")
        try:
            _RemoteCommand(self.connection, script, become=self.become, password=self.password,
                           stdin=None, become_user=self.become_user, is_stopper=True).run(timeout=10.0, cancel=None)
        except Exception:  # the connection may be gone; nothing more can be done from here
            return


def build_remote_command(command: str, *, become: bool, become_user: str | None, has_password: bool,
                         token: str) -> str:
    """The command line sent to the remote shell: report our pid, then run ``command``.

    The pid (the session's process group, as sshd starts each command in a new session) is
    what a timeout or Ctrl-C signals. With ``become``, sudo prompts with a marker on stderr
    (its password is then written to the channel) and a second marker says sudo let us in
    (:mod:`opsctl.core.become`).
    """
    inner = f"exec /bin/sh -c {shlex.quote(command)}"
    if become:
        inner = "exec " + shlex.join(sudo_argv(command, token=token, become_user=become_user,
                                              has_password=has_password))
    return f"echo {PID_MARK}$$ >&2; {inner}"


class SshPool:
    """One connection per host for the whole command; safe to use from many threads."""

    def __init__(self, known_hosts: KnownHosts, credentials: Credentials, *, connect_timeout: float) -> None:
        self.known_hosts = known_hosts
        self.credentials = credentials
        self.connect_timeout = connect_timeout
        self._connections: dict[str, SshConnection] = {}
        self._lock = threading.Lock()

    def connection(self, target: SshTarget) -> SshConnection:
        """The connected connection for ``target`` (connecting on first use)."""
        with self._lock:
            existing = self._connections.get(target.name)
        if existing is not None:
            return existing
        connection = SshConnection(target, self.known_hosts, self.credentials,
                                   connect_timeout=self.connect_timeout)
        connection.connect()
        with self._lock:
            self._connections[target.name] = connection
        return connection

    def close(self) -> None:
        with self._lock:
            connections = list(self._connections.values())
            self._connections.clear()
        for connection in connections:
            connection.close()

    def __enter__(self) -> SshPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def scan_host_keys(address: str, port: int, *, timeout: float, label: str,
                   key_types: Sequence[str] = ("ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512"),
                   ) -> list[paramiko.PKey]:
    """Offered host keys of each type (one handshake per type, like ssh-keyscan)."""

    keys: list[paramiko.PKey] = []
    seen: set[bytes] = set()
    last_error: HostUnreachable | None = None
    for key_type in key_types:
        try:
            transport = open_transport(address, port, timeout=timeout, label=label, key_types=[key_type])
        except HostUnreachable as error:
            if "connection" in str(error):
                raise
            last_error = error  # the host has no key of this type
            continue
        try:
            key = transport.get_remote_server_key()
        finally:
            transport.close()
        if key.asbytes() not in seen:
            seen.add(key.asbytes())
            keys.append(key)
    if not keys and last_error is not None:
        raise last_error
    return keys



class HostLike(Protocol):
    """What the transport needs of an inventory host (``inventory.Host`` satisfies it)."""

    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def port(self) -> int | None: ...
    @property
    def user(self) -> str | None: ...
    @property
    def private_key_file(self) -> Path | None: ...
    @property
    def key_passphrase(self) -> SecretRef | None: ...
    @property
    def become(self) -> bool: ...
    @property
    def become_user(self) -> str | None: ...
    @property
    def become_password(self) -> SecretRef | None: ...


def target_from_host(host: HostLike, ssh: SshSettings, *, become: bool | None = None) -> SshTarget:
    """An SshTarget for an inventory host; host variables win over the ``ssh:`` settings."""
    return SshTarget(
        name=host.name,
        address=host.address,
        port=host.port or ssh.port,
        user=host.user or ssh.user,
        key_file=host.private_key_file,
        key_passphrase=host.key_passphrase,
        become=host.become if become is None else become,
        become_user=host.become_user,
        become_password=host.become_password or ssh.become_password,
    )


def target_secret_problems(targets: Iterable[SshTarget], ssh: SshSettings) -> list[str]:
    """``"host: why"`` for every secret of ``targets`` that a connection would need and cannot be read now.

    A pre-flight, before anything connects or is recorded: the key file (the host's or
    ``ssh.private_key``) and its passphrase, and the become password when the target becomes.
    Secrets are checked, not kept (see :meth:`opsctl.core.secrets.SecretRef.check`).
    """
    from opsctl.core.secrets import secret_problems, unreadable_file_problem

    problems: list[str] = []
    for target in targets:
        key_file = target.key_file or ssh.private_key
        key_file = None if key_file is None else key_file.expanduser()
        key_problem = None if key_file is None else unreadable_file_problem(key_file)
        if key_problem is not None:
            problems.append(f"{target.name}: private key {key_problem}")
        passphrase = target.key_passphrase if target.key_file else ssh.private_key_passphrase
        problems += secret_problems([
            (target.name, passphrase if key_file is not None and key_problem is None else None),
            (target.name, target.become_password if target.become else None),
        ])
    return problems


def open_pool(settings: Settings) -> SshPool:
    """A pool over opsctl's known_hosts (loaded once) and the configured credentials."""
    from opsctl.core.known_hosts import load_known_hosts

    credentials = Credentials(default_key=settings.ssh.private_key,
                              default_passphrase=settings.ssh.private_key_passphrase,
                              use_agent=settings.ssh.use_agent)
    return SshPool(load_known_hosts(settings.known_hosts_path), credentials,
                   connect_timeout=settings.ssh.connect_timeout)
