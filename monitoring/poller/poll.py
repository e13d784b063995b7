"""One pass of the SNMP poller over many devices, with the inventory's SNMP client.

Each device is asked for the tables of the profiles that apply to it (:meth:`Profile.applies_to`);
after the first pass only the tables it answered are asked again, without the fallback columns its
first choices covered (the 32-bit counters of a device with 64-bit ones), and every
``reprobe_passes`` passes all of them (a module added to a device is found again). The GETBULK size is tuned per
device from what it answered: shrunk when the client had to shrink it (tooBig or a timeout), else
one more than its longest column (up to that ceiling), so each column is one request. A device that times out,
answers garbage or stops mid-walk ends as a :class:`DevicePoll` with its outcome and message;
nothing raises out of :func:`poll_pass`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from inventory.snmp.client import (
    AUTH_FAILED,
    MALFORMED,
    TIMEOUT,
    SnmpClient,
    SnmpTarget,
    WalkLimits,
)
from monitoring.poller.profiles import Evaluation, Profile, evaluate, redundant_columns

if TYPE_CHECKING:
    from inventory.snmp.credentials import SnmpCredentialSet
    from inventory.snmp.values import RawValue

MIN_REPETITIONS = 1
START_REPETITIONS = 25
MAX_REPETITIONS = 60
_SHRUNK = re.compile(r"GETBULK max-repetitions (\d+)")

# outcomes of one device's poll
OK = "ok"
PARTIAL = "partial"  # answered, but a walk was cut short: what came is exposed
TIMED_OUT = "timeout"  # no answer, or out of time
FAILED = "error"  # refused credentials, garbage, an agent error


@dataclass(frozen=True)
class PollTarget:
    """A device to poll: its inventory name and labels, where it answers and its credentials (by reference)."""

    device: str
    role: str
    site: str
    rack: str
    manufacturer: str | None
    target: SnmpTarget
    credentials: SnmpCredentialSet

    def labels(self) -> tuple[str, str, str, str]:
        """The values of the catalogue's device labels (device, role, site, rack)."""
        return (self.device, self.role, self.site, self.rack)


@dataclass
class DeviceState:
    """What the poller learnt of one device across passes (mutated by one pass at a time)."""

    repetitions: int = START_REPETITIONS
    ceiling: int = MAX_REPETITIONS
    answered_tables: frozenset[str] | None = None
    redundant_columns: frozenset[str] = frozenset()  # fallbacks its first choices cover (see profiles)
    passes: int = 0
    timeouts: int = 0
    errors: int = 0
    invalid_values: int = 0


@dataclass(frozen=True)
class DevicePoll:
    """One device's poll: outcome (ok, partial, timeout, error), a message, what its rows gave, how long it took."""

    target: PollTarget
    outcome: str
    message: str
    evaluation: Evaluation
    duration_seconds: float
    varbinds: int = 0

    @property
    def answered(self) -> bool:
        return self.outcome in (OK, PARTIAL)


_EMPTY = Evaluation((), None, frozenset(), ())


def _tables_to_ask(profiles: Sequence[Profile], state: DeviceState, reprobe: bool) -> list[tuple[Profile, str]]:
    wanted = []
    for profile in profiles:
        for table in profile.tables:
            key = f"{profile.name}/{table.name}"
            if reprobe or state.answered_tables is None or key in state.answered_tables:
                wanted.append((profile, table.name))
    return wanted


def _tune(state: DeviceState, notes: Sequence[str], longest_table: int) -> None:
    """Fit the GETBULK size to the device: shrink it to what the client fell back to (and keep that as
    the ceiling), else make it one more than the longest column, so that each column takes one request
    and no answer carries more rows past the column than the one that ends it (each is decoded, and
    decoding is most of the poller's CPU)."""
    shrunk = [int(match[1]) for note in notes for match in [_SHRUNK.search(note)] if match]
    if shrunk or any("falling back to GETNEXT" in note for note in notes):
        state.repetitions = max(MIN_REPETITIONS, min(shrunk, default=MIN_REPETITIONS))
        state.ceiling = state.repetitions
    elif longest_table:
        state.repetitions = max(MIN_REPETITIONS, min(state.ceiling, longest_table + 1))


async def poll_device(
    client: SnmpClient,
    target: PollTarget,
    profiles: Sequence[Profile],
    state: DeviceState,
    *,
    deadline_seconds: float,
    reprobe_passes: int = 30,
    max_rows: int = 20_000,
) -> DevicePoll:
    """Poll ``target`` for ``profiles``' tables within ``deadline_seconds``; update ``state``; never raise for the device."""
    started = time.monotonic()
    credentials = target.credentials.resolve()
    reprobe = state.answered_tables is None or state.passes % max(1, reprobe_passes) == 0
    state.passes += 1
    asked = _tables_to_ask(profiles, state, reprobe)
    asked_profiles = list({profile.name: profile for profile, _name in asked}.values())
    tables = [table for profile, name in asked for table in profile.tables if table.name == name]
    rows: dict[str, RawValue] = {}
    scalars = list(dict.fromkeys(oid for table in tables for oid in table.get_oids()))
    # a UPS profile's status OIDs come with its scalars
    scalars += [status.oid for profile in asked_profiles for status in profile.ups_status
                if any(table.scalar for table in profile.tables) and status.oid not in scalars]
    skipped = frozenset() if reprobe else state.redundant_columns
    columns = [oid for oid in dict.fromkeys(oid for table in tables for oid in table.walk_oids()) if oid not in skipped]
    problems: list[str] = []
    outcome = OK
    if scalars:
        got = await client.get(target.target, credentials, scalars)
        rows.update(got.values)
        if got.error in (TIMEOUT, MALFORMED, AUTH_FAILED) or (got.error is not None and not columns):
            return _failed(target, state, got.error, got.message, started)
        if got.error is not None:  # an agent error on its scalars (genErr): its tables may still answer
            outcome = PARTIAL
            problems.append(f"GET of {len(scalars)} scalars: {got.error}: {got.message}")
    deadline = started + deadline_seconds
    notes: list[str] = []
    longest = 0
    for column in columns:
        limits = WalkLimits(state.repetitions, max_rows, deadline)
        walked = await client.walk(target.target, credentials, column, limits)
        rows.update(walked.rows)
        notes.extend(walked.notes)
        longest = max(longest, len(walked.rows))
        if walked.error is not None and not rows:
            return _failed(target, state, walked.error, "; ".join(walked.notes), started)
        if walked.partial:
            outcome = PARTIAL
            problems.extend(walked.notes[-1:])
            if walked.error in (TIMEOUT, MALFORMED, AUTH_FAILED) or time.monotonic() >= deadline:
                break  # the device stopped answering mid-walk: keep what came, skip the rest
    if outcome == OK:  # a walk cut short by silence says nothing about the size the device can answer
        _tune(state, notes, longest)
    evaluation = evaluate(asked_profiles, rows)
    if reprobe:
        state.answered_tables = evaluation.answered_tables
        state.redundant_columns = redundant_columns(asked_profiles, rows) if outcome == OK else frozenset()
    state.invalid_values += len(evaluation.invalid)
    if outcome == PARTIAL:
        state.timeouts += 1 if any("deadline" in p or "timeout" in p for p in problems) else 0
        state.errors += 0 if any("deadline" in p or "timeout" in p for p in problems) else 1
    message = "; ".join(problems) if problems else f"{len(rows)} values"
    return DevicePoll(target, outcome, message, evaluation, time.monotonic() - started, len(rows))


def _failed(target: PollTarget, state: DeviceState, error: str, message: str, started: float) -> DevicePoll:
    if error == TIMEOUT:
        state.timeouts += 1
        outcome, text = TIMED_OUT, f"no answer within {target.target.timeout:g} s x {target.target.retries + 1} tries"
        if target.credentials.version == "2c":
            text += "; v2c agents stay silent on a wrong community too"
    else:
        state.errors += 1
        outcome, text = FAILED, f"{error}: {message}" if message else error
    return DevicePoll(target, outcome, text, _EMPTY, time.monotonic() - started)


def _scrubbed(target: PollTarget, problem: Exception) -> str:
    """``problem`` as one line, with none of the device's secrets in it."""
    text = f"{type(problem).__name__}: {problem}".splitlines()[0]
    try:
        secrets = target.credentials.resolve().secrets()
    except Exception:  # an unreadable secret: its message names the reference only
        secrets = ()
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


async def poll_pass(
    targets: Sequence[PollTarget],
    plans: Callable[[PollTarget], Sequence[Profile]],
    states: dict[str, DeviceState],
    *,
    client: SnmpClient,
    concurrency: int = 32,
    deadline_seconds: float = 30.0,
    reprobe_passes: int = 30,
) -> list[DevicePoll]:
    """Poll every target, at most ``concurrency`` at once, each within ``deadline_seconds``; results in target order.

    ``plans`` gives the profiles that apply to a target; ``states`` (by device name) is created
    as needed and carries what was learnt into the next pass.
    """
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(target: PollTarget) -> DevicePoll:
        state = states.setdefault(target.device, DeviceState())
        async with gate:
            started = time.monotonic()
            grace = target.target.timeout * (target.target.retries + 1) + 1.0
            try:
                return await asyncio.wait_for(
                    poll_device(client, target, plans(target), state, deadline_seconds=deadline_seconds,
                                reprobe_passes=reprobe_passes),
                    deadline_seconds + grace,
                )
            except TimeoutError:
                state.timeouts += 1
                return DevicePoll(target, TIMED_OUT, f"no complete answer within {deadline_seconds:g} s", _EMPTY,
                                  time.monotonic() - started)
            except Exception as problem:  # one device's failure never ends the pass
                state.errors += 1
                return DevicePoll(target, FAILED, _scrubbed(target, problem), _EMPTY, time.monotonic() - started)

    return list(await asyncio.gather(*(one(target) for target in targets)))


__all__ = ["FAILED", "OK", "PARTIAL", "TIMED_OUT", "DevicePoll", "DeviceState", "PollTarget", "poll_device", "poll_pass"]
