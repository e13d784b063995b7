"""The client's walk and GET logic against a scripted agent (no network): fallbacks, bounds, typed errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from pysnmp.proto import errind, rfc1902, rfc1905  # type: ignore[import-untyped, unused-ignore]

from inventory.snmp import client as client_module
from inventory.snmp.client import (
    AUTH_FAILED,
    GARBAGE,
    TIMEOUT,
    SnmpClient,
    SnmpCredentials,
    SnmpTarget,
    WalkLimits,
)
from inventory.snmp.discovery import DiscoveryOptions, discover_device, discover_many
from inventory.snmp.values import oid_key
from opsctl.core.errors import ConfigError

COMMUNITY = "canary-community-7d1f"
TARGET = SnmpTarget("127.11.9.9", 11161, timeout=0.1, retries=0)
IFDESCR = "1.3.6.1.2.1.2.2.1.2"


def requested_oid(request: Any) -> str:
    """Return the OID of an unresolved pysnmp ObjectType (lookupMib=False never resolves it)."""
    return str(request._ObjectType__args[0]._ObjectIdentity__args[0])


class ScriptedAgent:
    """Answers GET, GETNEXT and GETBULK from a table of rows, with scripted misbehaviour."""

    def __init__(self, rows: dict[str, Any]) -> None:
        self.rows = sorted(rows.items(), key=lambda item: oid_key(item[0]))
        self.calls: list[tuple[str, int]] = []
        self.too_big_above: int | None = None  # GETBULK with more repetitions answers tooBig
        self.timeouts_left = 0  # the next N requests time out
        self.indication: Any = None  # every request fails with this error indication
        self.loop_at: str | None = None  # after this OID, answer it again (a looping agent)
        self.raise_error: Exception | None = None

    def _after(self, oid: str, count: int) -> list[tuple[Any, Any]]:
        if self.loop_at is not None and oid == self.loop_at:
            return [(rfc1902.ObjectName(oid), rfc1902.OctetString(b"again"))]
        key = oid_key(oid)
        following = [(name, value) for name, value in self.rows if oid_key(name) > key][:count]
        answer = [(rfc1902.ObjectName(name), value) for name, value in following]
        if len(answer) < count:
            answer.append((rfc1902.ObjectName(oid), rfc1905.endOfMibView))
        return answer

    def _failure(self) -> tuple[Any, int, int, tuple[()]] | None:
        if self.raise_error is not None:
            raise self.raise_error
        if self.indication is not None:
            return self.indication, 0, 0, ()
        if self.timeouts_left:
            self.timeouts_left -= 1
            return errind.RequestTimedOut(), 0, 0, ()
        return None

    async def bulk(self, _engine: Any, _auth: Any, _transport: Any, _context: Any, _non: int, repetitions: int, request: Any, **_options: Any) -> Any:
        oid = requested_oid(request)
        self.calls.append(("bulk", repetitions))
        failure = self._failure()
        if failure is not None:
            return failure
        if self.too_big_above is not None and repetitions > self.too_big_above:
            return None, rfc1902.Integer(1), 0, ()
        return None, 0, 0, tuple(self._after(oid, repetitions))

    async def next(self, _engine: Any, _auth: Any, _transport: Any, _context: Any, *requests: Any, **_options: Any) -> Any:
        self.calls.append(("next", len(requests)))
        failure = self._failure()
        if failure is not None:
            return failure
        return None, 0, 0, tuple(self._after(requested_oid(request), 1)[0] for request in requests)

    async def get(self, _engine: Any, _auth: Any, _transport: Any, _context: Any, *requests: Any, **_options: Any) -> Any:
        self.calls.append(("get", len(requests)))
        failure = self._failure()
        if failure is not None:
            return failure
        values = dict(self.rows)
        answer = []
        for request in requests:
            oid = requested_oid(request)
            answer.append((rfc1902.ObjectName(oid), values.get(oid, rfc1905.noSuchObject)))
        return None, 0, 0, tuple(answer)


@pytest.fixture
def agent(monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], ScriptedAgent]:
    def install(rows: dict[str, Any]) -> ScriptedAgent:
        scripted = ScriptedAgent(rows)
        monkeypatch.setattr(client_module, "bulk_cmd", scripted.bulk)
        monkeypatch.setattr(client_module, "next_cmd", scripted.next)
        monkeypatch.setattr(client_module, "get_cmd", scripted.get)

        async def no_transport(self: SnmpClient, target: SnmpTarget, timeout: float | None = None) -> object:
            return object()

        monkeypatch.setattr(SnmpClient, "_transport", no_transport)
        return scripted

    return install


def interfaces(count: int) -> dict[str, Any]:
    return {f"{IFDESCR}.{index}": rfc1902.OctetString(f"port{index}".encode()) for index in range(1, count + 1)} | {
        "1.3.6.1.2.1.2.2.1.3.1": rfc1902.Integer(6)
    }


def walk(root: str = IFDESCR, limits: WalkLimits = WalkLimits(), credentials: SnmpCredentials | None = None) -> Any:
    client = SnmpClient()
    try:
        return asyncio.run(client.walk(TARGET, credentials or SnmpCredentials.v2c(COMMUNITY), root, limits))
    finally:
        client.close()


def test_bulk_walk_reads_the_subtree_and_stops_at_its_end(agent: Callable[..., ScriptedAgent]) -> None:
    scripted = agent(interfaces(60))
    result = walk(limits=WalkLimits(max_repetitions=25))
    assert not result.partial and result.error is None
    assert len(result.rows) == 60 and result.rows[f"{IFDESCR}.60"] == b"port60"
    assert "1.3.6.1.2.1.2.2.1.3.1" not in result.rows
    assert scripted.calls == [("bulk", 25)] * 3


def test_too_big_shrinks_the_batch_then_falls_back_to_getnext(agent: Callable[..., ScriptedAgent]) -> None:
    scripted = agent(interfaces(5))
    scripted.too_big_above = 0  # even one repetition is too big for GETBULK
    result = walk()
    assert len(result.rows) == 5 and not result.partial
    assert scripted.calls[:4] == [("bulk", 25), ("bulk", 6), ("bulk", 1), ("next", 1)]
    assert any("GETNEXT" in note for note in result.notes)


def test_a_timeout_retries_with_a_smaller_batch(agent: Callable[..., ScriptedAgent]) -> None:
    scripted = agent(interfaces(10))
    scripted.timeouts_left = 1
    result = walk()
    assert len(result.rows) == 10 and result.error is None
    assert scripted.calls[:2] == [("bulk", 25), ("bulk", 6)]


def test_a_silent_agent_is_a_typed_timeout(agent: Callable[..., ScriptedAgent]) -> None:
    scripted = agent(interfaces(3))
    scripted.timeouts_left = 100
    result = walk()
    assert result.error == TIMEOUT and result.partial and result.rows == {}


def test_a_looping_agent_stops_the_walk_as_partial(agent: Callable[..., ScriptedAgent]) -> None:
    scripted = agent(interfaces(10))
    scripted.loop_at = f"{IFDESCR}.3"
    result = walk(limits=WalkLimits(max_repetitions=1))
    assert result.partial and result.error is None
    assert set(result.rows) == {f"{IFDESCR}.{index}" for index in (1, 2, 3)}
    assert any("does not increase" in note for note in result.notes)


def test_a_walk_is_bounded_in_rows(agent: Callable[..., ScriptedAgent]) -> None:
    agent(interfaces(10_000))
    started = time.process_time()  # CPU time: a loaded machine does not make it flaky
    result = walk(limits=WalkLimits(max_repetitions=50, max_rows=2_000))
    assert len(result.rows) == 2_000 and result.partial
    assert any("truncated at 2000 rows" in note for note in result.notes)
    assert time.process_time() - started < 5


def test_a_walk_is_bounded_in_time(agent: Callable[..., ScriptedAgent]) -> None:
    agent(interfaces(10))
    result = walk(limits=WalkLimits(deadline=time.monotonic() - 1))
    assert result.partial and result.error == TIMEOUT


def test_refused_v3_credentials_are_a_typed_result_without_the_keys(agent: Callable[..., ScriptedAgent]) -> None:
    scripted = agent(interfaces(3))
    scripted.indication = errind.WrongDigest()
    credentials = SnmpCredentials.v3("ops", "canary-auth-key-1", "canary-priv-key-2")
    result = walk(credentials=credentials)
    assert result.error == AUTH_FAILED
    assert not any(secret in repr(result) for secret in credentials.secrets())


def test_garbage_from_the_agent_is_a_typed_result(agent: Callable[..., ScriptedAgent]) -> None:
    scripted = agent(interfaces(3))
    scripted.raise_error = ValueError(f"cannot decode {COMMUNITY}")
    result = walk()
    assert result.error == GARBAGE and COMMUNITY not in repr(result)


def test_get_leaves_out_what_the_agent_does_not_have(agent: Callable[..., ScriptedAgent]) -> None:
    agent({"1.3.6.1.2.1.1.5.0": rfc1902.OctetString(b"sw1"), "1.3.6.1.2.1.1.2.0": rfc1902.ObjectIdentifier("1.3.6.1.4.1.9.1.617")})
    client = SnmpClient()
    result = asyncio.run(client.get(TARGET, SnmpCredentials.v2c(COMMUNITY), ["1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.6.0"]))
    client.close()
    assert result.error is None
    assert result.values == {"1.3.6.1.2.1.1.5.0": b"sw1", "1.3.6.1.2.1.1.2.0": "1.3.6.1.4.1.9.1.617"}


def test_get_next_answers_each_objects_first_instance_and_nothing_beyond_it(
    agent: Callable[..., ScriptedAgent],
) -> None:
    scripted = agent({
        "1.3.6.1.4.1.99001.1.0": rfc1902.OctetString(b"scalar"),
        "1.3.6.1.4.1.99001.2.1.2.210": rfc1902.OctetString(b"unit 210"),
        "1.3.6.1.4.1.99001.2.1.2.211": rfc1902.OctetString(b"unit 211"),
        "1.3.6.1.4.1.99001.2.1.3.210": rfc1902.OctetString(b"the next column"),
    })  # fmt: skip
    client = SnmpClient()
    asked = ["1.3.6.1.4.1.99001.1", "1.3.6.1.4.1.99001.2.1.2", "1.3.6.1.4.1.99001.1.5", "1.3.6.1.4.1.99001.2.1.4"]
    result = asyncio.run(client.get_next(TARGET, SnmpCredentials.v2c(COMMUNITY), asked))
    client.close()
    assert result.error is None
    # a scalar at .0, a column at its first row; an object with nothing under it (the agent answers the next
    # object, or the end of its view) is left out, never taken for its neighbour
    assert result.values == {"1.3.6.1.4.1.99001.1.0": b"scalar", "1.3.6.1.4.1.99001.2.1.2.210": b"unit 210"}
    assert scripted.calls == [("next", 4)]  # one request


def test_discover_many_keeps_going_when_devices_fail(agent: Callable[..., ScriptedAgent]) -> None:
    rows = {
        "1.3.6.1.2.1.1.1.0": rfc1902.OctetString(b"Cisco IOS Software, C3560 Software (C3560-IPSERVICESK9-M)"),
        "1.3.6.1.2.1.1.2.0": rfc1902.ObjectIdentifier("1.3.6.1.4.1.9.1.617"),
        "1.3.6.1.2.1.1.5.0": rfc1902.OctetString(b"access-sw1"),
        "1.3.6.1.2.1.47.1.1.1.1.5.1": rfc1902.Integer(3),
        "1.3.6.1.2.1.47.1.1.1.1.11.1": rfc1902.OctetString(b"FOC0000X1"),
    } | interfaces(30)
    scripted = agent(rows)
    snapshots = asyncio.run(
        discover_many([(TARGET, SnmpCredentials.v2c(COMMUNITY))] * 3, concurrency=2, options=DiscoveryOptions(max_rows_per_table=10))
    )
    assert [snapshot.outcome for snapshot in snapshots] == ["partial"] * 3  # ifDescr truncated at 10 rows
    first = snapshots[0]
    assert first.classification is not None and first.classification.role == "switch"
    assert first.identity.serial is not None and first.identity.serial.value == "FOC0000X1"
    assert len(first.interfaces) == 10 and first.partial
    assert "interfaces" in first.message
    scripted.indication = errind.RequestTimedOut()
    silent = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert silent.outcome == "unreachable" and silent.partial and COMMUNITY not in repr(silent)
    scripted.indication = None
    scripted.raise_error = RuntimeError(f"boom {COMMUNITY}")
    broken = asyncio.run(discover_device(TARGET, SnmpCredentials.v2c(COMMUNITY)))
    assert broken.outcome == "failed" and COMMUNITY not in broken.message


def test_discover_many_shares_a_scopes_engine_and_closes_it_after_its_last_device(
    agent: Callable[..., ScriptedAgent], monkeypatch: pytest.MonkeyPatch
) -> None:
    agent(interfaces(3) | {"1.3.6.1.2.1.1.5.0": rfc1902.OctetString(b"dev")})
    engines: dict[str, list[Any]] = {}
    live_counts: list[int] = []
    real_engine_for = SnmpClient.engine_for

    def watched_engine_for(self: SnmpClient, credentials: SnmpCredentials) -> Any:
        engine = real_engine_for(self, credentials)
        engines.setdefault(credentials.community, []).append(engine)
        live_counts.append(self.engine_count)
        return engine

    monkeypatch.setattr(SnmpClient, "engine_for", watched_engine_for)
    shared = SnmpCredentials.v2c("shared-community")
    jobs = [(TARGET, shared)] * 3 + [(TARGET, SnmpCredentials.v2c(f"device-{n}")) for n in range(8)] + [(TARGET, shared)]
    snapshots = asyncio.run(discover_many(jobs, concurrency=2))
    assert [snapshot.outcome for snapshot in snapshots] == ["ok"] * len(jobs)
    # The four devices of one scope use one engine, though eight other scopes come and go meanwhile.
    assert len({id(engine) for engine in engines["shared-community"]}) == 1
    assert len(engines) == 9
    # With one community per device, engines are closed as their scopes end instead of piling up.
    assert max(live_counts) <= 3


def test_credentials_hide_secrets_and_refuse_bad_settings() -> None:
    credentials = SnmpCredentials.v3("ops", "canary-auth-key-1", "canary-priv-key-2", auth_protocol="SHA256")
    assert "canary" not in repr(credentials) and "canary" not in credentials.describe()
    assert COMMUNITY not in repr(SnmpCredentials.v2c(COMMUNITY))
    with pytest.raises(ConfigError):
        SnmpCredentials.v2c("")
    with pytest.raises(ConfigError, match="shorter than 8"):
        SnmpCredentials.v3("ops", "short")
    with pytest.raises(ConfigError, match="auth protocol"):
        SnmpCredentials.v3("ops", "longenough1", auth_protocol="SHA3")
    with pytest.raises(ConfigError, match="no auth key"):
        SnmpCredentials.v3("ops", "", "longenough1")
    client = SnmpClient()
    client.engine_for(SnmpCredentials.v2c("one-community"))
    client.engine_for(SnmpCredentials.v2c("one-community"))
    client.engine_for(credentials)
    assert client.engine_count == 2
    client.close()
