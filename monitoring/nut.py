"""A client of NUT's ``upsd`` network protocol, and the metric source that exposes its UPSes.

The protocol is lines over TCP (NUT's ``docs/net-protocol.txt``): ``LIST UPS`` answers
``BEGIN LIST UPS`` / ``UPS <name> "<description>"`` ... ``END LIST UPS``; ``LIST VAR <ups>``
answers ``VAR <ups> <var> "<value>"`` lines; a failure is ``ERR <CODE>``. With a login,
``USERNAME`` and ``PASSWORD`` are sent (the password read from its reference at use, never
logged) and checked with ``LOGIN <ups>``, which upsd refuses with ``ERR ACCESS-DENIED`` for a
wrong password. The source exposes the same ``opsctl_ups_*`` families as the SNMP UPS
profiles, labelled ``device="<ups>@<server>"``, role ``ups``.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client.metrics_core import Metric

from monitoring.poller.expose import DeviceSeries, device_families, new_family, ups_reading
from monitoring.poller.profiles import Sample
from monitoring.poller.types import Reading
from opsctl.core.errors import OpsctlError

if TYPE_CHECKING:
    from monitoring.settings import NutServerSettings

_MAX_LINE = 4096
_MAX_LINES = 10_000

# NUT variable: (family, factor to base units, valid range in base units)
VARIABLES: dict[str, tuple[str, float, tuple[float, float]]] = {
    "battery.charge": ("opsctl_ups_battery_charge_ratio", 0.01, (0.0, 1.0)),
    "battery.runtime": ("opsctl_ups_battery_runtime_seconds", 1.0, (0.0, 604800.0)),
    "battery.temperature": ("opsctl_ups_battery_temperature_celsius", 1.0, (-40.0, 100.0)),
    "ups.load": ("opsctl_ups_load_ratio", 0.01, (0.0, 5.0)),
    "input.voltage": ("opsctl_ups_input_voltage_volts", 1.0, (0.0, 1000.0)),
    "output.voltage": ("opsctl_ups_output_voltage_volts", 1.0, (0.0, 1000.0)),
}


class NutError(OpsctlError, ConnectionError):
    """A NUT server that cannot be read: refused, silent, a wrong password, or an answer that is not NUT's."""


def split_words(line: str) -> list[str]:
    """The words of one protocol line; a double-quoted word may hold spaces and backslash escapes."""
    words: list[str] = []
    current: list[str] = []
    in_quotes = escaped = started = False
    for char in line:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\" and in_quotes:
            escaped = True
        elif char == '"':
            in_quotes = not in_quotes
            started = True
        elif char == " " and not in_quotes:
            if started or current:
                words.append("".join(current))
            current, started = [], False
        else:
            current.append(char)
    if started or current:
        words.append("".join(current))
    return words


def parse_list_ups(lines: Sequence[str]) -> dict[str, str]:
    """``{ups: description}`` from the ``UPS`` lines of a ``LIST UPS`` answer."""
    found = {}
    for line in lines:
        words = split_words(line)
        if len(words) >= 2 and words[0] == "UPS":
            found[words[1]] = words[2] if len(words) > 2 else ""
    return found


def parse_list_var(lines: Sequence[str], ups: str) -> dict[str, str]:
    """``{variable: value}`` from the ``VAR`` lines of a ``LIST VAR <ups>`` answer."""
    found = {}
    for line in lines:
        words = split_words(line)
        if len(words) >= 4 and words[0] == "VAR" and words[1] == ups:
            found[words[2]] = words[3]
    return found


@dataclass(frozen=True)
class UpsVariables:
    """One UPS a NUT server serves: its name, description and variables (``ups.status``, ``battery.charge``...)."""

    name: str
    description: str
    variables: dict[str, str]


def ups_samples(variables: dict[str, str]) -> tuple[tuple[Sample, ...], tuple[str, ...] | None, tuple[str, ...]]:
    """The ``opsctl_ups_*`` samples, status flags and invalid values (``variable: why``) of one UPS's variables."""
    samples: list[Sample] = []
    invalid: list[str] = []
    for variable, (family, factor, (low, high)) in VARIABLES.items():
        text = variables.get(variable)
        if text is None:
            continue
        try:
            value = float(text) * factor
        except ValueError:
            invalid.append(f"{variable}: {text!r} is not a number")
            continue
        if math.isnan(value) or not low <= value <= high:
            invalid.append(f"{variable}: {value:g} is outside {low:g}..{high:g}")
            continue
        samples.append(Sample(family, (), value))
    status = variables.get("ups.status")
    # WAIT: upsd has no data from the driver yet; that is no status
    flags = None if status is None or status.strip() in ("", "WAIT") else tuple(status.split())
    return tuple(samples), flags, tuple(invalid)


class NutConnection:
    """One connection to ``upsd``: send a command, read its answer; every error a :class:`NutError` naming the server."""

    def __init__(self, server: NutServerSettings) -> None:
        self.server = server
        try:
            self._socket = socket.create_connection((server.address, server.port), timeout=server.timeout_seconds)
        except TimeoutError:
            raise NutError(f"NUT server {server.label}: no answer within {server.timeout_seconds:g} s") from None
        except OSError as error:
            raise NutError(f"NUT server {server.label}: cannot connect: {error.strerror or error}") from None
        self._reader = self._socket.makefile("r", encoding="utf-8", errors="replace", newline="\n")

    def close(self) -> None:
        """Say goodbye (best effort) and close."""
        with contextlib.suppress(OSError):  # best effort: the connection may already be gone
            self._socket.sendall(b"LOGOUT\n")
        self._reader.close()
        self._socket.close()

    def __enter__(self) -> NutConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _line(self) -> str:
        try:
            line = self._reader.readline(_MAX_LINE)
        except TimeoutError:
            raise NutError(f"NUT server {self.server.label}: no answer within {self.server.timeout_seconds:g} s") from None
        except OSError as error:
            raise NutError(f"NUT server {self.server.label}: {error.strerror or error}") from None
        if not line:
            raise NutError(f"NUT server {self.server.label}: closed the connection")
        return line.rstrip("\r\n")

    def command(self, text: str, *, shown: str | None = None) -> str:
        """Send one command and return its one-line answer; raise NutError on ``ERR`` (naming ``shown``, never a secret)."""
        try:
            self._socket.sendall(text.encode() + b"\n")
        except OSError as error:
            raise NutError(f"NUT server {self.server.label}: {error.strerror or error}") from None
        answer = self._line()
        if answer.startswith("ERR"):
            raise NutError(f"NUT server {self.server.label}: {shown or text} refused: {answer[4:] or 'ERR'}")
        return answer

    def listing(self, what: str) -> list[str]:
        """The lines between ``BEGIN LIST <what>`` and ``END LIST <what>``."""
        first = self.command(f"LIST {what}")
        if first != f"BEGIN LIST {what}":
            raise NutError(f"NUT server {self.server.label}: answered {first[:60]!r} to LIST {what}; not a NUT upsd?")
        lines: list[str] = []
        while (line := self._line()) != f"END LIST {what}":
            lines.append(line)
            if len(lines) > _MAX_LINES:
                raise NutError(f"NUT server {self.server.label}: LIST {what} longer than {_MAX_LINES} lines")
        return lines

    def login(self, username: str, password: str, ups: str) -> None:
        """Log in as ``username`` and check the password with ``LOGIN ups``; raise NutError if upsd refuses."""
        self.command(f"USERNAME {username}", shown="USERNAME")
        self.command(f"PASSWORD {password}", shown="PASSWORD")
        try:
            self.command(f"LOGIN {ups}")
        except NutError as error:
            if "ACCESS-DENIED" in error.message or "PASSWORD" in error.message:
                raise NutError(f"NUT server {self.server.label}: login as {username} refused: wrong password, "
                               "or the user may not log in (upsd.users: upsmon secondary)") from None
            raise


def read_server(server: NutServerSettings) -> list[UpsVariables]:
    """Every UPS ``server`` serves with its variables; raise NutError (one line naming the server) if it cannot be read.

    SecretError when the password's reference cannot be read.
    """
    password = None if server.password is None else server.password.resolve()
    with NutConnection(server) as connection:
        names = parse_list_ups(connection.listing("UPS"))
        if server.username is not None and password is not None and names:
            connection.login(server.username, password, next(iter(names)))
        return [UpsVariables(name, description, parse_list_var(connection.listing(f"VAR {name}"), name))
                for name, description in names.items()]


@dataclass
class _ServerState:
    up: bool = False
    errors: int = 0
    message: str = ""
    upses: list[UpsVariables] = field(default_factory=list)


class NutSource:
    """The NUT servers of ``monitoring.nut_servers`` as one metric source (named ``nut``)."""

    def __init__(self, servers: Sequence[NutServerSettings], interval_seconds: float = 30.0) -> None:
        self.name = "nut"
        self.interval_seconds = interval_seconds
        self.servers = tuple(servers)
        self._states = {server.label: _ServerState() for server in self.servers}
        self._lock = threading.Lock()
        self._passes = 0

    def _series(self, server: NutServerSettings, ups: UpsVariables) -> tuple[DeviceSeries, tuple[str, ...]]:
        samples, flags, invalid = ups_samples(ups.variables)
        labels = (f"{ups.name}@{server.label}", "ups", server.site, server.rack)
        return DeviceSeries(labels, samples, flags), invalid

    def collect(self) -> list[Metric]:
        """Read every server once; a server that cannot be read is counted and reported, the others still served."""
        with self._lock:
            self._passes += 1
            series: list[DeviceSeries] = []
            for server in self.servers:
                state = self._states[server.label]
                try:
                    state.upses = read_server(server)
                    state.up, state.message = True, f"{len(state.upses)} UPS"
                except OpsctlError as error:
                    state.up, state.message, state.upses = False, error.message, []
                    state.errors += 1
                series.extend(self._series(server, ups)[0] for ups in state.upses)
            up = new_family("opsctl_nut_up")
            errors = new_family("opsctl_nut_errors")
            for server in self.servers:
                state = self._states[server.label]
                up.add_metric([server.label], 1.0 if state.up else 0.0)
                errors.add_metric([server.label], state.errors)
            return [*device_families(series), up, errors]

    def readings(self) -> list[Reading]:
        """Each UPS's status, charge and runtime; a server that could not be read as one critical reading."""
        if not self._passes:
            self.collect()
        found: list[Reading] = []
        with self._lock:
            for server in self.servers:
                state = self._states[server.label]
                if not state.up:
                    found.append(Reading(server.label, "ups", "critical", state.message, {}))
                for ups in state.upses:
                    device, _invalid = self._series(server, ups)
                    found.append(ups_reading(device.labels[0], device.status_flags, device.samples))
        return found


__all__ = ["NutConnection", "NutError", "NutSource", "UpsVariables", "parse_list_ups", "parse_list_var",
           "read_server", "split_words", "ups_samples"]
