"""The client's engines: one per credential scope, each with its own MIB rows, none compiling MIB source again."""

from __future__ import annotations

import asyncio
import builtins
from typing import Any

import pytest
from pysnmp.hlapi.v3arch.asyncio import (  # type: ignore[import-untyped, unused-ignore]
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    UdpTransportTarget,
)
from pysnmp.hlapi.v3arch.asyncio.cmdgen import LCD, VB_PROCESSOR  # type: ignore[import-untyped, unused-ignore]

from inventory.snmp.client import SnmpClient, SnmpCredentials

AUTH_KEY = "canary-auth-key-1"
PRIV_KEY = "canary-priv-key-2"
SYS_DESCR = "1.3.6.1.2.1.1.1.0"


async def prepare_request(client: SnmpClient, credentials: SnmpCredentials, port: int) -> Any:
    """Do what a request does to its engine before sending: configure the credentials and target, resolve a var-bind."""
    engine = client.engine_for(credentials)
    transport = await UdpTransportTarget.create(("127.0.0.1", port), timeout=0.1, retries=0)
    LCD.configure(engine, client._auth_data(credentials), transport, b"")
    VB_PROCESSOR.make_varbinds(engine.cache, (ObjectType(ObjectIdentity(SYS_DESCR)),))
    return engine


def master_auth_key(engine: Any, user: str) -> bytes:
    """Return the auth key ``user`` has in the engine's own USM table, read from its MIB instrumentation as pysnmp does."""
    builder = engine.get_mib_builder()
    (engine_id,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
    (user_entry,) = builder.import_symbols("SNMP-USER-BASED-SM-MIB", "usmUserEntry")
    (key_entry,) = builder.import_symbols("PYSNMP-USM-MIB", "pysnmpUsmKeyEntry")
    row = user_entry.getInstIdFromIndices(engine_id.syntax, user)
    return bytes(key_entry.getNode((*key_entry.name, 3, *row)).syntax)


def test_engines_of_two_v3_keys_for_one_user_keep_their_own_keys() -> None:
    right = SnmpCredentials.v3("ops", AUTH_KEY, PRIV_KEY)
    wrong = SnmpCredentials.v3("ops", "not-the-auth-key", PRIV_KEY)
    client = SnmpClient()
    try:
        async def prepare_both() -> tuple[Any, Any]:
            return await prepare_request(client, right, 11161), await prepare_request(client, wrong, 11162)

        right_engine, wrong_engine = asyncio.run(prepare_both())
        assert client.engine_count == 2 and right_engine is not wrong_engine
        assert right_engine.get_mib_builder() is not wrong_engine.get_mib_builder()
        right_key, wrong_key = master_auth_key(right_engine, "ops"), master_auth_key(wrong_engine, "ops")
        assert right_key and wrong_key and right_key != wrong_key
        # Each engine's identity objects are its own, not one shared MIB object.
        (right_id,) = right_engine.get_mib_builder().import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
        (wrong_id,) = wrong_engine.get_mib_builder().import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
        assert right_id is not wrong_id
    finally:
        client.close()


def test_an_engine_loads_the_same_mib_modules_as_pysnmps_own() -> None:
    client = SnmpClient()
    try:
        ours = client.engine_for(SnmpCredentials.v2c("one-community")).get_mib_builder().mibSymbols
    finally:
        client.close()
    stock = SnmpEngine().get_mib_builder().mibSymbols
    assert {module: sorted(symbols) for module, symbols in ours.items()} == {
        module: sorted(symbols) for module, symbols in stock.items()
    }


def test_a_new_credential_scope_compiles_no_mib_source(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    real_compile = builtins.compile

    def counting_compile(source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        text = source.decode(errors="replace") if isinstance(source, bytes) else source
        if isinstance(text, str) and "mibBuilder" in text:  # a MIB module, not some late import
            compiled.append(str(filename))
        return real_compile(source, filename, *args, **kwargs)

    async def prepare_three(client: SnmpClient) -> list[Any]:
        engines = [await prepare_request(client, SnmpCredentials.v2c("first-community"), 11161)]
        monkeypatch.setattr(builtins, "compile", counting_compile)
        for credentials in (SnmpCredentials.v2c("second-community"), SnmpCredentials.v3("ops", AUTH_KEY, PRIV_KEY)):
            engines.append(await prepare_request(client, credentials, 11161))
        return engines

    client = SnmpClient()
    try:
        engines = asyncio.run(prepare_three(client))
        assert client.engine_count == 3
    finally:
        client.close()
    assert len({id(engine.get_mib_builder()) for engine in engines}) == 3
    assert compiled == []  # pysnmp's own builder compiles ~30 module sources for each new engine
