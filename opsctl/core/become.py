"""sudo for a command, locally or on a host: the password goes over stdin, never on a command line.

sudo runs with ``-p MARKER`` so its prompt is recognisable on stderr (the password is then
written to the command's stdin, once), and the shell it starts prints a second marker before
it runs the command, so the caller knows when stdin belongs to the command. Both markers carry
a token made per command, which the command's own output does not know. Without a password,
``sudo -n`` fails at once instead of waiting at a prompt.

The SSH transport and the local executor both use :func:`sudo_argv` and :class:`Handshake`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

PID_MARK = "opsctl-pid:"
PROMPT_MARK = "opsctl-sudo-prompt:"
READY_MARK = "opsctl-become-ok:"

#: what the caller does next, as :meth:`Handshake.feed` reports it
PID = "pid"          # the remote shell reported its pid (the process group to signal)
PROMPT = "prompt"    # sudo asks for the password: write it to stdin, followed by a newline
READY = "ready"      # the command starts now: stdin is the command's from here on
REFUSED = "refused"  # sudo asked a second time (the password was wrong) or no password is known


def sudo_argv(command_line: str, *, token: str, become_user: str | None, has_password: bool) -> tuple[str, ...]:
    """The argv that runs the shell ``command_line`` through sudo, with both markers made of ``token``."""
    confirmed = f"echo {READY_MARK}{token} >&2; exec /bin/sh -c {shlex.quote(command_line)}"
    sudo = ["sudo", "-S" if has_password else "-n", "-p", f"{PROMPT_MARK}{token}\n"]
    if become_user:
        sudo += ["-u", become_user]
    return (*sudo, "--", "/bin/sh", "-c", confirmed)


@dataclass(frozen=True)
class Step:
    """What one piece of stderr held: the bytes that are the command's own, and the markers seen."""

    passthrough: bytes
    events: tuple[tuple[str, int | None], ...]


@dataclass
class Handshake:
    """Reads the markers at the start of stderr until the command itself runs.

    ``expect_pid``: a pid line (``opsctl-pid:N``) comes first, as the SSH transport's remote
    line prints one. ``become``: wait for sudo's prompt or its ready marker; otherwise the
    command is ready as soon as the pid is known (or at once).
    """

    token: str
    expect_pid: bool
    become: bool
    has_password: bool
    done: bool = False
    prompts: int = 0
    _buffer: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        if not self.expect_pid and not self.become:
            self.done = True

    def feed(self, chunk: bytes) -> Step:
        """Consume ``chunk`` of stderr; once done, everything is passed through untouched."""
        if self.done:
            return Step(chunk, ())
        self._buffer += chunk
        passthrough = bytearray()
        events: list[tuple[str, int | None]] = []
        prompt_mark = f"{PROMPT_MARK}{self.token}".encode()
        ready_mark = f"{READY_MARK}{self.token}".encode()
        while not self.done and b"\n" in self._buffer:
            line, _, rest = self._buffer.partition(b"\n")
            self._buffer = bytearray(rest)
            if self.expect_pid and line.startswith(PID_MARK.encode()):
                digits = line[len(PID_MARK):].decode("ascii", "replace")
                events.append((PID, int(digits) if digits.isdigit() else None))
                if not self.become:
                    self._finish(events)
            elif self.become and line.endswith(prompt_mark):
                self.prompts += 1
                if self.prompts > 1 or not self.has_password:
                    events.append((REFUSED, None))
                    return Step(bytes(passthrough), tuple(events))
                events.append((PROMPT, None))
            elif self.become and line == ready_mark:
                self._finish(events)
            else:
                passthrough += line + b"\n"
        if self.done and self._buffer:
            passthrough += self._buffer
            self._buffer.clear()
        return Step(bytes(passthrough), tuple(events))

    def flush(self) -> bytes:
        """What is left of a handshake that never finished (a partial line): the command's stderr."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        return rest

    def _finish(self, events: list[tuple[str, int | None]]) -> None:
        self.done = True
        events.append((READY, None))
