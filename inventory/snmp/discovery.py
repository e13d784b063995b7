"""Discovery of devices over SNMP: system group, classification, identity OIDs, then the profile's tables.

Every device ends as a :class:`DeviceSnapshot` whatever happens to it (unreachable, refused
credentials, garbage, a walk cut short); nothing raises out of :func:`discover_many`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from inventory.snmp.classify import needs_role_evidence, probe_oids
from inventory.snmp.client import (
    AUTH_FAILED,
    MALFORMED,
    TIMEOUT,
    GetResult,
    SnmpClient,
    SnmpCredentials,
    SnmpTarget,
    WalkLimits,
)
from inventory.snmp.enterprises import ENTERPRISES, enterprise_number
from inventory.snmp.extend import EXTEND_IDENTITY_OIDS
from inventory.snmp.harvested import (
    PER_FIELD,
    ROUNDS,
    answered_enterprises,
    candidates,
    census_wanted,
    continuations,
    first_instance,
)
from inventory.snmp.role import IDENTITY_PROBE_OIDS, UNKNOWN, names_no_product, role_probe_oids
from inventory.snmp.snapshot import (
    DEFAULT_TABLES,
    GARBAGE_OUTCOME,
    PROBE_SOFTWARE_REV,
    TABLE_WALKS,
    DeviceSnapshot,
    TableOutcome,
    build_snapshot,
    classify_rows,
    failed_snapshot,
)
from inventory.snmp.system import SYSTEM_OIDS
from inventory.snmp.values import RawValue

logger = logging.getLogger("inventory.snmp")
# the note of a GET of harvested identity objects that failed (their answers are optional evidence)
HARVEST_OUTCOME = "identity objects"
# enterprises looked for at most, one GETNEXT each (an appliance on net-snmp answers UCD's, net-snmp's and its maker's)
CENSUS_HOPS = 5


@dataclass(frozen=True)
class DiscoveryOptions:
    """Bounds of one device's discovery: a deadline for the whole device, GETBULK size and rows per table."""

    deadline_seconds: float = 60.0
    max_repetitions: int = 25
    max_rows_per_table: int = 20_000


def _outcome_of(error: str | None) -> str:
    if error == TIMEOUT:
        return "unreachable"
    if error == AUTH_FAILED:
        return "auth_failed"
    if error == MALFORMED:
        return GARBAGE_OUTCOME
    return "failed"


async def _discover(
    client: SnmpClient, target: SnmpTarget, credentials: SnmpCredentials, options: DiscoveryOptions, started: float
) -> DeviceSnapshot:
    name = str(target)
    deadline = started + options.deadline_seconds
    first = await client.get(target, credentials, (*SYSTEM_OIDS, *probe_oids()))
    outcomes: list[TableOutcome] = []
    if first.error == TIMEOUT:
        # an agent whose vendor subagent hangs times out on the whole GET: the system group alone
        # (one attempt) tells a silent device from one that answers what it is but not the probes
        alone = await client.get(replace(target, retries=0), credentials, SYSTEM_OIDS)
        if alone.error is None and alone.values:
            outcomes.append(TableOutcome("probes", "failed", 0, (f"{first.error}: {first.message}",)))
            first = alone
    if first.error is not None:
        message = f"{credentials.describe()}: {first.error}: {first.message}"
        if first.error == MALFORMED:
            message = f"{first.message} (asked with {credentials.describe()})"
        if first.error == TIMEOUT and credentials.version == "2c":
            message += " (v2c agents stay silent on a wrong community too)"
        return failed_snapshot(name, _outcome_of(first.error), message, time.monotonic() - started)
    rows: dict[str, RawValue] = dict(first.values)
    system, classification = classify_rows(rows)
    # one GET for what the profile reads, plus the role probes when no specific profile decided
    identity_oids = [oid for _field, oid in classification.identity_oids]
    wanted = list(identity_oids)
    if needs_role_evidence(classification):
        object_id = system.object_id.value if system.object_id else ""
        wanted.extend(oid for oid in role_probe_oids(object_id) if oid not in rows)
        # a host's own agent may say its hardware and distribution (inventory/snmp/extend.py); a small switch its
        # software revision in RMON2-MIB
        wanted.extend((*EXTEND_IDENTITY_OIDS, PROBE_SOFTWARE_REV))
    elif classification.role in ("ups", "pdu"):
        wanted.extend(IDENTITY_PROBE_OIDS)
    if wanted:
        identity: GetResult | None = await client.get(target, credentials, wanted)
        if identity is not None and identity.error == TIMEOUT and len(wanted) > len(identity_oids):
            # the role probes may be what the agent cannot answer: the identity OIDs alone, once
            if not any(outcome.table == "probes" for outcome in outcomes):
                outcomes.append(TableOutcome("probes", "failed", 0, (f"{identity.error}: {identity.message}",)))
            identity = (
                await client.get(replace(target, retries=0), credentials, identity_oids) if identity_oids else None
            )
        if identity is not None:
            rows.update(identity.values)
            if identity.error is not None:
                # what the first GET learnt is kept; the device is partial, and says what was not read
                outcomes.append(
                    TableOutcome("identity", "failed", 0, (f"{identity.error}: {identity.message}",))
                )
    limits = WalkLimits(options.max_repetitions, options.max_rows_per_table, deadline)
    for table in classification.tables or DEFAULT_TABLES:
        table_rows = 0
        notes: list[str] = []
        partial = failed = False
        for root in TABLE_WALKS[table]:
            result = await client.walk(target, credentials, root, limits)
            rows.update(result.rows)
            table_rows += len(result.rows)
            notes.extend(result.notes)
            partial = partial or result.partial
            failed = failed or (result.error is not None and not result.rows)
        status = "failed" if failed and not table_rows else "partial" if partial or failed else "ok"
        outcomes.append(TableOutcome(table, status, table_rows, tuple(notes)))
    cut_short = [outcome.table for outcome in outcomes if outcome.status != "ok"]

    def assemble() -> DeviceSnapshot:
        return build_snapshot(
            name,
            rows,
            tables=tuple(outcomes),
            outcome="partial" if cut_short else "ok",
            message=f"not fully read: {', '.join(cut_short)}" if cut_short else "",
            elapsed_seconds=time.monotonic() - started,
        )

    def kept(result: GetResult) -> bool:
        # optional evidence: what was read stands and nothing is marked failed, but the record says what was not
        rows.update(result.values)
        if result.error is not None:
            note = f"{result.error}: {result.message}"
            outcomes.append(TableOutcome(HARVEST_OUTCOME, "ok", len(result.values), (note,)))
        return result.error is None

    snapshot = assemble()
    object_id = snapshot.system.object_id.value if snapshot.system and snapshot.system.object_id else ""
    unnamed = snapshot.role is not None and snapshot.role.role == UNKNOWN and names_no_product(object_id)
    if census_wanted(object_id, snapshot.identity_missing, rows) or (unnamed and not answered_enterprises(rows)):
        # a field missing and no maker's MIB known (net-snmp's sysObjectID on an appliance), or a device nothing
        # identifies whose sysObjectID names no product: which enterprises does the device answer under? Their
        # harvested objects are then read as the sysObjectID's would be, and their role tables may name its kind
        if not kept(await _enterprise_census(client, target, credentials)):
            return assemble()
        snapshot = assemble()
    # a model, serial or version nothing stronger gave: one GETNEXT of the vendor's best harvested identity objects
    # (a scalar answers at .0, a column at its first row), then of the next ones while a field is still missing,
    # with the next row of each column read so far only empty (an unused first slot), a row a round
    asked: set[str] = set()
    for depth in range(1, ROUNDS + 1):
        if not snapshot.identity_missing:
            break
        items = candidates(object_id, snapshot.identity_missing, rows=rows, per_field=PER_FIELD * depth)
        ranked = list(dict.fromkeys(item.oid for item in items))
        unread = [oid for oid in ranked if oid not in asked and first_instance(rows, oid) is None]
        sys_name = snapshot.system.name.value if snapshot.system and snapshot.system.name else ""
        follow = {
            instance: column
            for instance, column in continuations(rows, items, sys_name).items()
            if instance not in asked
        }
        if not unread and not follow:
            continue
        asked.update(unread)
        asked.update(follow)
        answer = await client.get_next(target, credentials, [*unread, *follow], scopes=follow)
        if not kept(answer):
            return assemble()
        if answer.values:  # nothing answered, nothing changed: the next round without rebuilding the snapshot
            snapshot = assemble()
    return snapshot


async def _enterprise_census(client: SnmpClient, target: SnmpTarget, credentials: SnmpCredentials) -> GetResult:
    """Return the first object the device answers under each enterprise it implements, at most
    :data:`CENSUS_HOPS` of them: GETNEXT from ``1.3.6.1.4.1``, then from the number after each one found."""
    values: dict[str, RawValue] = {}
    start = ENTERPRISES.rstrip(".")
    for _hop in range(CENSUS_HOPS):
        answer = await client.get_next(target, credentials, [start], scopes={start: ENTERPRISES.rstrip(".")})
        if answer.error is not None:
            return GetResult(values, answer.error, answer.message)
        number = next((enterprise_number(oid) for oid in answer.values), None)
        if number is None:
            break  # the end of the enterprises' subtree
        values.update(answer.values)
        start = f"{ENTERPRISES}{number + 1}"
    return GetResult(values)


async def discover_device(
    target: SnmpTarget,
    credentials: SnmpCredentials,
    *,
    client: SnmpClient | None = None,
    options: DiscoveryOptions = DiscoveryOptions(),
) -> DeviceSnapshot:
    """Return what ``target`` is and holds; never raises for the device's behaviour, the outcome says what happened."""
    own_client = client is None
    active = client or SnmpClient()
    started = time.monotonic()
    try:
        # The walks stop themselves at the deadline; this only catches a request stuck past it.
        grace = target.timeout * (target.retries + 1) + 1.0
        return await asyncio.wait_for(
            _discover(active, target, credentials, options, started), options.deadline_seconds + grace
        )
    except TimeoutError:
        return failed_snapshot(
            str(target), "unreachable", f"no complete answer within {options.deadline_seconds:g} s",
            time.monotonic() - started,
        )
    except Exception as problem:  # one device's failure must never end a scan of many
        text = f"{type(problem).__name__}: {problem}"
        for secret in credentials.secrets():
            text = text.replace(secret, "***")
        return failed_snapshot(str(target), "failed", text, time.monotonic() - started)
    finally:
        if own_client:
            active.close()


async def discover_many(
    jobs: Iterable[tuple[SnmpTarget, SnmpCredentials]],
    *,
    concurrency: int = 32,
    options: DiscoveryOptions = DiscoveryOptions(),
    on_done: Callable[[DeviceSnapshot], None] | None = None,
) -> list[DeviceSnapshot]:
    """Discover every (target, credentials) pair, at most ``concurrency`` at once, one engine per credential scope.

    A scope's engine is shared by its devices and closed when the last of them is done.
    Returns the snapshots in the order of ``jobs``; ``on_done`` is called as each device finishes (for progress).
    """
    job_list = list(jobs)
    loop = asyncio.get_running_loop()
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(_log_library_error)
    devices_left = Counter(credentials for _target, credentials in job_list)
    client = SnmpClient()
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(target: SnmpTarget, credentials: SnmpCredentials) -> DeviceSnapshot:
        async with gate:
            try:
                snapshot = await discover_device(target, credentials, client=client, options=options)
            finally:
                devices_left[credentials] -= 1
                if not devices_left[credentials]:
                    client.release(credentials)
        if on_done is not None:
            on_done(snapshot)
        return snapshot

    try:
        return list(await asyncio.gather(*(one(target, credentials) for target, credentials in job_list)))
    finally:
        client.close()
        loop.set_exception_handler(previous_handler)


def _log_library_error(loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
    """Send what a library callback raised to the debug logger, not asyncio's stderr traceback.

    pysnmp handles each datagram in an event-loop callback; what it raises there is a device's
    garbage (counted by the client), not a failure of the scan, and must not flood stderr.
    """
    error = context.get("exception")
    logger.debug(
        "error in an SNMP callback: %s", context.get("message"),
        exc_info=error if isinstance(error, BaseException) else None,
    )
