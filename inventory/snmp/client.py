"""The SNMP client on pysnmp's asyncio API: GET and bounded walks, errors as typed results.

One :class:`SnmpClient` keeps one pysnmp engine per credential scope and reuses it across
targets. Nothing here raises for a device's behaviour: a timeout, a refused community or
user, garbage, a loop or a table too long becomes a :class:`GetResult` / :class:`WalkResult`
with an ``error`` kind. Secrets are never logged and never appear in a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType
from typing import Any

from pyasn1.type import univ  # type: ignore[import-untyped, unused-ignore]
from pysnmp.hlapi.v3arch.asyncio import (  # type: ignore[import-untyped, unused-ignore]
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
    UsmUserData,
    bulk_cmd,
    get_cmd,
    next_cmd,
)
from pysnmp.hlapi.v3arch.asyncio import auth as usm  # type: ignore[import-untyped, unused-ignore]
from pysnmp.proto import errind, rfc1902, rfc1905  # type: ignore[import-untyped, unused-ignore]
from pysnmp.proto.rfc3412 import MsgAndPduDispatcher  # type: ignore[import-untyped, unused-ignore]
from pysnmp.smi import builder, instrum  # type: ignore[import-untyped, unused-ignore]
from pysnmp.smi import error as smi_error  # type: ignore[import-untyped, unused-ignore]

from inventory.snmp.values import RawValue, oid_key
from opsctl.core.errors import ConfigError

AUTH_PROTOCOLS = {
    "MD5": usm.USM_AUTH_HMAC96_MD5,
    "SHA": usm.USM_AUTH_HMAC96_SHA,
    "SHA224": usm.USM_AUTH_HMAC128_SHA224,
    "SHA256": usm.USM_AUTH_HMAC192_SHA256,
    "SHA384": usm.USM_AUTH_HMAC256_SHA384,
    "SHA512": usm.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "DES": usm.USM_PRIV_CBC56_DES,
    "AES": usm.USM_PRIV_CFB128_AES,
    "AES192": usm.USM_PRIV_CFB192_AES,
    "AES256": usm.USM_PRIV_CFB256_AES,
}

# Error kinds of a GetResult / WalkResult.
TIMEOUT = "timeout"
AUTH_FAILED = "auth_failed"
NO_SUCH_NAME = "no_such_name"
GARBAGE = "garbage"  # pysnmp raised on an answer
MALFORMED = "malformed"  # answers came, none of them readable SNMP (counted, see CountingDispatcher)
ERROR = "error"

_AUTH_INDICATIONS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.DecryptionError,
    errind.AuthenticationFailure,
    errind.AuthenticationError,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.UnknownCommunityName,
    errind.NotInTimeWindow,
    errind.UnknownEngineID,
)
_GARBAGE_INDICATIONS = (errind.ParseError, errind.DeserializationError, errind.InvalidMsg, errind.DataMismatch)
_TOO_BIG = 1
_NO_SUCH_NAME = 2
# pysnmp's counters of answers it dropped as undecodable (RFC 3418), read around each datagram
_DROP_COUNTERS = ("snmpInASNParseErrs", "snmpInBadVersions")

# Where what pysnmp raises on a device's garbage goes: a library traceback is no message for
# people, and a device that sends many would bury the scan's output (the CLI keeps it off stderr).
logger = logging.getLogger("inventory.snmp")


@dataclass(frozen=True)
class SnmpCredentials:
    """SNMP v2c (``community``) or v3 USM credentials; secrets are already resolved strings and never shown in ``repr``."""

    version: str = "2c"
    community: str = field(default="", repr=False)
    user: str = ""
    auth_key: str = field(default="", repr=False)
    priv_key: str = field(default="", repr=False)
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"
    context_name: str = ""

    def __post_init__(self) -> None:
        if self.version not in ("2c", "3"):
            raise ConfigError(f"SNMP version must be '2c' or '3', not {self.version!r}")
        if self.version == "2c" and not self.community:
            raise ConfigError("SNMP v2c needs a community")
        if self.version == "3":
            if not self.user:
                raise ConfigError("SNMP v3 needs a user")
            if self.auth_protocol.upper() not in AUTH_PROTOCOLS:
                raise ConfigError(f"unknown SNMP v3 auth protocol {self.auth_protocol!r}; one of {sorted(AUTH_PROTOCOLS)}")
            if self.priv_protocol.upper() not in PRIV_PROTOCOLS:
                raise ConfigError(f"unknown SNMP v3 privacy protocol {self.priv_protocol!r}; one of {sorted(PRIV_PROTOCOLS)}")
            for name, key in (("auth", self.auth_key), ("privacy", self.priv_key)):
                if key and len(key) < 8:
                    raise ConfigError(f"the SNMP v3 {name} key of user {self.user!r} is shorter than 8 characters")
            if self.priv_key and not self.auth_key:
                raise ConfigError(f"SNMP v3 user {self.user!r} has a privacy key but no auth key")

    @classmethod
    def v2c(cls, community: str) -> SnmpCredentials:
        """Return v2c credentials."""
        return cls(version="2c", community=community)

    @classmethod
    def v3(
        cls,
        user: str,
        auth_key: str = "",
        priv_key: str = "",
        *,
        auth_protocol: str = "SHA",
        priv_protocol: str = "AES",
        context_name: str = "",
    ) -> SnmpCredentials:
        """Return v3 USM credentials (authPriv when both keys are given)."""
        return cls(
            version="3", user=user, auth_key=auth_key, priv_key=priv_key,
            auth_protocol=auth_protocol, priv_protocol=priv_protocol, context_name=context_name,
        )

    def secrets(self) -> tuple[str, ...]:
        """Return the secret strings, so messages can be checked or scrubbed."""
        return tuple(secret for secret in (self.community, self.auth_key, self.priv_key) if secret)

    def describe(self) -> str:
        """Return a secret-free description, e.g. ``v3 user ops (SHA/AES)`` or ``v2c``."""
        if self.version == "2c":
            return "v2c"
        level = "authPriv" if self.priv_key else "authNoPriv" if self.auth_key else "noAuthNoPriv"
        return f"v3 user {self.user} ({level} {self.auth_protocol}/{self.priv_protocol})"


@dataclass(frozen=True)
class SnmpTarget:
    """Where a device answers and how patiently to ask: per-request timeout (s) and retries."""

    host: str
    port: int = 161
    timeout: float = 1.0
    retries: int = 1

    def __str__(self) -> str:
        return self.host if self.port == 161 else f"{self.host}:{self.port}"


@dataclass(frozen=True)
class WalkLimits:
    """Bounds of one walk: GETBULK max-repetitions, rows per table, and an absolute monotonic deadline."""

    max_repetitions: int = 25
    max_rows: int = 20_000
    deadline: float | None = None


@dataclass(frozen=True)
class GetResult:
    """The answer to a GET: ``values`` maps each answered OID to its value; ``error`` is a kind or ``None``."""

    values: dict[str, RawValue]
    error: str | None = None
    message: str = ""


@dataclass(frozen=True)
class WalkResult:
    """The rows of one walk; ``partial`` when it was cut short (``notes`` say why), ``error`` when a request failed."""

    root: str
    rows: dict[str, RawValue]
    partial: bool = False
    error: str | None = None
    notes: tuple[str, ...] = ()


def convert_value(value: Any) -> tuple[RawValue, bool]:
    """Return a pysnmp value as a plain one and whether it ends the view (endOfMibView); noSuch* become ``None``."""
    if isinstance(value, rfc1905.EndOfMibView):
        return None, True
    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance) or value is None:
        return None, False
    if isinstance(value, rfc1902.IpAddress):
        octets = bytes(value.asOctets())
        return (".".join(str(byte) for byte in octets) if len(octets) == 4 else octets), False
    if isinstance(value, univ.OctetString):  # OctetString, Opaque, Bits
        return bytes(value.asOctets()), False
    if isinstance(value, univ.ObjectIdentifier):
        return ".".join(str(part) for part in value.asTuple()), False
    if isinstance(value, univ.Integer):  # Integer32, Counter32/64, Gauge32, TimeTicks, Unsigned32
        return int(value), False
    return None, False


def classify_indication(indication: object) -> str:
    """Return the error kind of a pysnmp error indication."""
    if isinstance(indication, errind.RequestTimedOut):
        return TIMEOUT
    if isinstance(indication, _AUTH_INDICATIONS):
        return AUTH_FAILED
    if isinstance(indication, _GARBAGE_INDICATIONS):
        return GARBAGE
    return ERROR


# Compiled MIB modules by (MIB source, module name), shared by every engine of the process.
_MIB_MODULE_CODE: dict[tuple[str, str], tuple[CodeType, str]] = {}


class SharedCodeMibBuilder(builder.MibBuilder):  # type: ignore[misc]
    """A pysnmp MIB builder that compiles each MIB module's source once per process, not once per engine.

    pysnmp's builder compiles the source of every MIB module it loads twice for each new engine
    (in its source's ``read``, then again in ``runpy.run_path``): ~30 ``compile`` calls and ~30 ms
    of CPU per engine, most of what an engine costs. This one runs a cached code object instead,
    as pysnmp itself does under ``python -O``. Sharing is safe: a code object is immutable, and
    running it still creates this builder's own MIB objects, so the MIB instrumentation (the
    community, target and USM user rows, snmpEngineID, snmpEngineBoots) stays the engine's own.
    """

    def load_module(self, modName: str, **userCtx: Any) -> Any:
        """Run MIB module ``modName`` from the first source that has it; raise MibNotFoundError if none has."""
        # pysnmp's bookkeeping of loaded modules, kept so its unload_modules still works. A pysnmp
        # that keeps it elsewhere (these names are private) gets its own, slower loading instead.
        paths_seen: set[str] | None = getattr(self, "_MibBuilder__modPathsSeen", None)
        modules_seen: dict[str, str] | None = getattr(self, "_MibBuilder__modSeen", None)
        if not isinstance(paths_seen, set) or not isinstance(modules_seen, dict):
            return super().load_module(modName, **userCtx)
        for source in self.get_mib_sources():
            key = (source.full_path(), modName)
            compiled = _MIB_MODULE_CODE.get(key)
            if compiled is None:
                try:
                    compiled = source.read(modName)
                except OSError:
                    continue  # misses are not cached: the MIB compiler may write the module later
                _MIB_MODULE_CODE[key] = compiled
            code, suffix = compiled
            path = source.full_path(modName, suffix)
            if path in paths_seen:
                break
            paths_seen.add(path)
            try:
                exec(code, {"__name__": "<run_path>", "__file__": path, "mibBuilder": self, "userCtx": userCtx})
            except Exception as problem:
                paths_seen.discard(path)
                raise smi_error.MibLoadError(f"MIB module {path!r} load error: {problem!r}") from problem
            modules_seen[modName] = path
            break
        if modName not in modules_seen:
            raise smi_error.MibNotFoundError(f"MIB module {modName!r} not found in {self.get_mib_sources()}")
        return self


class CountingDispatcher(MsgAndPduDispatcher):  # type: ignore[misc]
    """pysnmp's message dispatcher that counts, by sender, the datagrams it could not read.

    pysnmp drops an undecodable answer silently (it only counts it in its MIB) or, for some
    garbage, raises out of the event loop's callback, where asyncio prints a traceback on
    stderr for every datagram; either way the request then times out as if nobody answered.
    Here both are counted in ``bad_packets`` by (address, port), so a device that answers
    garbage is told from a silent one, and the exception goes to the debug logger instead.
    """

    def __init__(self, mib_instrum_controller: Any = None) -> None:
        super().__init__(mib_instrum_controller)
        self.bad_packets: Counter[tuple[str, int]] = Counter()

    def _dropped(self) -> int:
        builder = self.mib_instrum_controller.get_mib_builder()
        return sum(int(counter.syntax) for counter in builder.import_symbols("__SNMPv2-MIB", *_DROP_COUNTERS))

    def receive_message(self, snmpEngine: Any, transportDomain: Any, transportAddress: Any, wholeMsg: Any) -> Any:
        """Dispatch one datagram as pysnmp does; count it against its sender if it was not readable."""
        sender = _sender(transportAddress)
        try:
            dropped_before = self._dropped()
        except Exception:  # a pysnmp without these counters: count only what raises
            dropped_before = None
        try:
            rest = super().receive_message(snmpEngine, transportDomain, transportAddress, wholeMsg)
        except Exception:
            self.bad_packets[sender] += 1
            logger.debug("unreadable SNMP answer from %s:%s", *sender, exc_info=True)
            return b""
        with contextlib.suppress(Exception):
            if dropped_before is not None and self._dropped() > dropped_before:
                self.bad_packets[sender] += 1
                logger.debug("undecodable SNMP answer from %s:%s dropped", *sender)
        return rest


def _sender(transport_address: Any) -> tuple[str, int]:
    try:
        return str(transport_address[0]), int(transport_address[1])
    except (TypeError, ValueError, IndexError):
        return str(transport_address), 0


def _address_of(transport: Any, target: SnmpTarget) -> tuple[str, int]:
    """The (address, port) answers from ``target`` come from: the transport's resolved one."""
    resolved = getattr(transport, "transport_address", None)
    return _sender(resolved) if resolved is not None else (target.host, target.port)


def bad_packets_from(engine: Any, address: tuple[str, int]) -> int:
    """Return how many unreadable datagrams ``engine`` has received from ``address`` so far."""
    dispatcher = getattr(engine, "message_dispatcher", None) or getattr(engine, "msgAndPduDsp", None)
    counts = getattr(dispatcher, "bad_packets", None)
    return int(counts[address]) if isinstance(counts, Counter) else 0


def garbage_message(bad_packets: int) -> str:
    """The message of a device whose answers could not be read, apart from a silent one."""
    plural = "packet" if bad_packets == 1 else "packets"
    return f"answers with malformed SNMP ({bad_packets} bad {plural}); the device or something on its port is not a working SNMP agent"


def new_engine() -> Any:
    """Return a new pysnmp engine with its own MIB instrumentation, built from the process's compiled MIB modules."""
    return SnmpEngine(msgAndPduDsp=CountingDispatcher(instrum.MibInstrumController(SharedCodeMibBuilder())))


class SnmpClient:
    """Asks devices over SNMP; holds one pysnmp engine per credential scope, reused across targets."""

    def __init__(self) -> None:
        self._engines: dict[SnmpCredentials, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._name_resolver: Any = None

    def _shared_name_resolver(self) -> Any:
        """Return the MIB view controller every engine of this client resolves request OIDs with.

        pysnmp's high-level API resolves each request var-bind through ``engine.cache["mibViewController"]``
        (the only user of that entry), and the first resolution on an engine attaches a pysmi MIB
        compiler to it and indexes its MIB view: ~25 ms per new engine. Our OIDs are numeric and
        ``lookupMib=False``, so resolution only parses the OID. The controller sits on the builder of an
        engine that never sends and holds no credentials; it reads names, never the engines' rows.
        """
        if self._name_resolver is None:
            self._name_resolver = new_engine().cache["mibViewController"]
        return self._name_resolver

    def engine_for(self, credentials: SnmpCredentials) -> Any:
        """Return the engine for ``credentials``, creating it on first use.

        An engine's transports belong to one event loop: used from another loop they would never
        answer, so the engines are replaced when the running loop changes.
        """
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None and loop is not self._loop:
            if self._loop is not None:
                self.close()
            self._loop = loop
        engine = self._engines.get(credentials)
        if engine is None:
            engine = new_engine()
            engine.cache["mibViewController"] = self._shared_name_resolver()
            self._engines[credentials] = engine
        return engine

    @property
    def engine_count(self) -> int:
        """How many engines (credential scopes) this client holds."""
        return len(self._engines)

    def release(self, credentials: SnmpCredentials) -> None:
        """Close and forget the engine of ``credentials``, once nothing will ask with them any more.

        An idle engine still holds thousands of MIB objects that every full garbage collection walks:
        with one community per device, keeping them all made a scan of 400 devices spend a quarter
        of its CPU in the collector. The next request with these credentials builds a new engine.
        """
        engine = self._engines.pop(credentials, None)
        if engine is not None:
            # Closing is best effort: there is nobody left to report a failure to.
            with contextlib.suppress(Exception):
                engine.close_dispatcher()

    def close(self) -> None:
        """Close every engine's transports."""
        for engine in self._engines.values():
            # Closing is best effort: there is nobody left to report a failure to.
            with contextlib.suppress(Exception):
                engine.close_dispatcher()
        self._engines.clear()

    @staticmethod
    def _auth_data(credentials: SnmpCredentials) -> Any:
        if credentials.version == "2c":
            return CommunityData(credentials.community, mpModel=1)
        return UsmUserData(
            credentials.user,
            authKey=credentials.auth_key or None,
            privKey=credentials.priv_key or None,
            authProtocol=AUTH_PROTOCOLS[credentials.auth_protocol.upper()] if credentials.auth_key else usm.USM_AUTH_NONE,
            privProtocol=PRIV_PROTOCOLS[credentials.priv_protocol.upper()] if credentials.priv_key else usm.USM_PRIV_NONE,
        )

    async def _transport(self, target: SnmpTarget, timeout: float | None = None) -> Any:
        return await UdpTransportTarget.create(
            (target.host, target.port), timeout=target.timeout if timeout is None else timeout, retries=target.retries
        )

    @staticmethod
    def _scrub(text: str, credentials: SnmpCredentials) -> str:
        for secret in credentials.secrets():
            text = text.replace(secret, "***")
        return text

    async def get(self, target: SnmpTarget, credentials: SnmpCredentials, oids: Sequence[str]) -> GetResult:
        """GET ``oids`` (in batches of 20); unanswered ones (noSuchObject/Instance) are left out of ``values``."""
        return await self._request(target, credentials, oids, following=False)

    async def get_next(
        self,
        target: SnmpTarget,
        credentials: SnmpCredentials,
        oids: Sequence[str],
        *,
        scopes: Mapping[str, str] | None = None,
    ) -> GetResult:
        """GETNEXT ``oids`` (in batches of 20): the first instance under each, whatever its index.

        ``values`` maps each instance found to its value (``1.3.6.1.4.1.9.5.1.2.16`` answers at ``...16.0``, a
        table's column at its first row); an OID with no instance under it (the agent answers the next object, or
        the end of its view) is left out. ``scopes`` widens that per asked OID: an answer anywhere under the OID
        it names is kept instead (the next object the agent has after ``1.3.6.1.4.1.2022``, under
        ``1.3.6.1.4.1``; a column's next row after the instance asked: ``{"...8.1": "...8"}``).
        """
        return await self._request(target, credentials, oids, following=True, scopes=scopes)

    async def _request(
        self,
        target: SnmpTarget,
        credentials: SnmpCredentials,
        oids: Sequence[str],
        *,
        following: bool,
        scopes: Mapping[str, str] | None = None,
    ) -> GetResult:
        command = next_cmd if following else get_cmd
        values: dict[str, RawValue] = {}
        try:
            transport = await self._transport(target)
        except Exception as problem:  # a bad address is this device's outcome, not the scan's
            return GetResult({}, ERROR, self._scrub(f"cannot address {target}: {type(problem).__name__}", credentials))
        engine = self.engine_for(credentials)
        address = _address_of(transport, target)
        bad_before = bad_packets_from(engine, address)
        auth = self._auth_data(credentials)
        context = ContextData(contextName=credentials.context_name.encode())
        batches = [list(oids[start : start + 20]) for start in range(0, len(oids), 20)]
        while batches:
            batch = batches.pop(0)
            try:
                indication, status, index, var_binds = await command(
                    engine, auth, transport, context,
                    *(ObjectType(ObjectIdentity(oid)) for oid in batch), lookupMib=False,
                )
            except Exception as problem:  # pysnmp raises on answers it cannot decode
                return GetResult(values, GARBAGE, self._scrub(f"unreadable answer: {type(problem).__name__}", credentials))
            if indication:
                kind = classify_indication(indication)
                bad_packets = bad_packets_from(engine, address) - bad_before
                if kind == TIMEOUT and bad_packets:
                    return GetResult(values, MALFORMED, garbage_message(bad_packets))
                return GetResult(values, kind, self._scrub(str(indication), credentials))
            if status:
                if int(status) == _TOO_BIG and len(batch) > 1:
                    half = len(batch) // 2
                    batches[:0] = [batch[:half], batch[half:]]
                    continue
                if int(status) == _NO_SUCH_NAME and len(batch) > 1:
                    # SNMPv1-style agents refuse the whole PDU for one unknown OID: ask one by one.
                    batches[:0] = [[oid] for oid in batch]
                    continue
                if int(status) == _NO_SUCH_NAME:
                    continue
                return GetResult(values, ERROR, f"agent answered {status.prettyPrint()} at index {int(index)}")
            for asked, (name, value) in zip(batch, var_binds, strict=False):
                converted, _ = convert_value(value)
                scope = (scopes or {}).get(asked) or asked
                if converted is not None and (not following or str(name).startswith(scope.strip(".") + ".")):
                    values[str(name)] = converted
        return GetResult(values)

    async def walk(
        self, target: SnmpTarget, credentials: SnmpCredentials, root: str, limits: WalkLimits = WalkLimits()
    ) -> WalkResult:
        """Walk the subtree under ``root`` with GETBULK, falling back to smaller batches and GETNEXT on tooBig or timeout.

        Stops, marking the result partial, at ``limits.max_rows``, at the deadline, or when an OID does not increase.
        """
        root = root.strip(".")
        root_prefix = root + "."
        rows: dict[str, RawValue] = {}
        notes: list[str] = []
        repetitions = max(1, limits.max_repetitions)
        use_bulk = True
        try:
            transport = await self._transport(target)
        except Exception as problem:  # a bad address is this device's outcome, not the scan's
            return WalkResult(root, {}, True, ERROR, (f"cannot address {target}: {type(problem).__name__}",))
        engine = self.engine_for(credentials)
        address = _address_of(transport, target)
        bad_before = bad_packets_from(engine, address)
        auth = self._auth_data(credentials)
        context = ContextData(contextName=credentials.context_name.encode())
        current = root
        last_key: tuple[int, ...] = oid_key(root)
        while True:
            if limits.deadline is not None and time.monotonic() >= limits.deadline:
                notes.append(f"{root}: deadline reached after {len(rows)} rows")
                return WalkResult(root, rows, True, TIMEOUT if not rows else None, tuple(notes))
            request = ObjectType(ObjectIdentity(current))
            try:
                if use_bulk:
                    indication, status, _index, var_binds = await bulk_cmd(
                        engine, auth, transport, context, 0, repetitions, request,
                        lookupMib=False, ignoreNonIncreasingOid=True,
                    )
                else:
                    indication, status, _index, var_binds = await next_cmd(
                        engine, auth, transport, context, request, lookupMib=False, ignoreNonIncreasingOid=True,
                    )
            except Exception as problem:  # pysnmp raises on answers it cannot decode
                notes.append(self._scrub(f"{root}: unreadable answer ({type(problem).__name__})", credentials))
                return WalkResult(root, rows, True, GARBAGE, tuple(notes))
            shrink = False
            if indication:
                kind = classify_indication(indication)
                bad_packets = bad_packets_from(engine, address) - bad_before
                if kind == TIMEOUT and bad_packets:
                    notes.append(f"{root}: {garbage_message(bad_packets)}")
                    return WalkResult(root, rows, True, MALFORMED, tuple(notes))
                if kind != TIMEOUT:
                    notes.append(self._scrub(f"{root}: {indication}", credentials))
                    return WalkResult(root, rows, True, kind, tuple(notes))
                shrink = True
            elif status and int(status) == _TOO_BIG:
                shrink = True
            elif status and int(status) == _NO_SUCH_NAME:
                break  # SNMPv1-style end of the view
            elif status:
                notes.append(f"{root}: agent answered {status.prettyPrint()}")
                return WalkResult(root, rows, True, ERROR, tuple(notes))
            if shrink:
                if use_bulk and repetitions > 1:
                    repetitions = max(1, repetitions // 4)
                    notes.append(f"{root}: {'timeout' if indication else 'tooBig'}; GETBULK max-repetitions {repetitions}")
                    continue
                if use_bulk:
                    use_bulk = False
                    notes.append(f"{root}: falling back to GETNEXT")
                    continue
                notes.append(f"{root}: {'timeout' if indication else 'tooBig'} after {len(rows)} rows")
                return WalkResult(root, rows, True, TIMEOUT if indication else ERROR, tuple(notes))
            if not var_binds:
                break
            finished = False
            for name, value in _flatten(var_binds):
                oid = str(name)
                if not oid.startswith(root_prefix):
                    finished = True
                    break
                converted, end = convert_value(value)
                if end:
                    finished = True
                    break
                key = oid_key(oid)
                if key <= last_key:
                    notes.append(f"{root}: OID {oid} does not increase; walk stopped (agent loops)")
                    return WalkResult(root, rows, True, None, tuple(notes))
                last_key = key
                rows[oid] = converted
                if len(rows) >= limits.max_rows:
                    notes.append(f"{root}: truncated at {limits.max_rows} rows")
                    return WalkResult(root, rows, True, None, tuple(notes))
                current = oid
            if finished:
                break
        return WalkResult(root, rows, False, None, tuple(notes))


def _flatten(var_binds: Any) -> list[tuple[Any, Any]]:
    """Return var-binds as (name, value) pairs; GETBULK may nest them one row per list."""
    pairs: list[tuple[Any, Any]] = []
    for item in var_binds:
        if isinstance(item, list | tuple) and item and isinstance(item[0], ObjectType | list | tuple):
            pairs.extend(_flatten(item))
        else:
            name, value = item[0], item[1]
            pairs.append((name, value))
    return pairs

