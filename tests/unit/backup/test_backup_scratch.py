"""The scratch PostgreSQL's pure parts: which binaries, which addresses, what it writes, and how a
sanity query's expectation reads and judges a value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from backup.scratch import (
    Expectation,
    ScratchError,
    ScratchRefused,
    check_loopback,
    find_postgres_binaries,
    render_pg_hba,
    render_postgresql_conf,
)
from opsctl.core.errors import ExitCode


def install(root: Path, version: str, programs: tuple[str, ...]) -> None:
    bin_dir = root / version / "bin"
    bin_dir.mkdir(parents=True)
    for name in programs:
        (bin_dir / name).write_text("#!/bin/sh\n", encoding="utf-8")
        (bin_dir / name).chmod(0o755)


def test_the_newest_complete_postgresql_is_chosen(tmp_path: Path) -> None:
    complete = ("initdb", "pg_ctl", "postgres", "pg_restore")
    install(tmp_path, "13", complete)
    install(tmp_path, "15", complete)
    install(tmp_path, "16", ("psql", "pg_restore"))  # a client-only install: no server
    binaries = find_postgres_binaries(tmp_path)
    assert (binaries.major_version, binaries.bin_dir) == (15, tmp_path / "15" / "bin")
    assert binaries.program("pg_restore") == str(tmp_path / "15" / "bin" / "pg_restore")


def test_no_postgresql_is_an_error_with_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(ScratchError, match="no PostgreSQL server programs") as missing:
        find_postgres_binaries(tmp_path / "nothing")
    assert missing.value.hint is not None and "postgresql" in missing.value.hint


@pytest.mark.parametrize("bind", ["127.0.0.1", "127.14.9.9", "::1", None])
def test_loopback_addresses_and_socket_only_are_accepted(bind: str | None) -> None:
    check_loopback(bind)


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1", "localhost", "", "*"])
def test_every_other_address_is_refused_with_exit_5(bind: str) -> None:
    with pytest.raises(ScratchRefused) as refused:
        check_loopback(bind)
    assert refused.value.exit_code == ExitCode.REFUSED and "loopback" in str(refused.value)


def test_the_configuration_listens_on_the_bind_address_only_with_fsync_off() -> None:
    conf = render_postgresql_conf(bind="127.0.0.1", port=5599, socket_dir=Path("/w/s"))
    assert "listen_addresses = '127.0.0.1'" in conf and "port = 5599" in conf and "fsync = off" in conf
    assert "unix_socket_directories = '/w/s'" in conf and "unix_socket_permissions = 0700" in conf
    assert "listen_addresses = ''" in render_postgresql_conf(bind=None, port=5432, socket_dir=Path("/w/s"))
    assert render_pg_hba("127.0.0.1").splitlines()[1:] == [
        "local all all trust", "host all all 127.0.0.1/32 scram-sha-256"]
    assert render_pg_hba("::1").splitlines()[-1] == "host all all ::1/128 scram-sha-256"
    assert "host" not in render_pg_hba(None).split("\n", 1)[1]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(">= 1000", Expectation(">=", 1000)), ("==120000", Expectation("==", 120000)),
     ("< 0.5", Expectation("<", 0.5)), ("== 'ok'", Expectation("==", "ok")), ("!= broken", Expectation("!=", "broken"))],
)
def test_expectations_are_read_from_text(text: str, expected: Expectation) -> None:
    assert Expectation.parse(text) == expected


@pytest.mark.parametrize("text", ["1000", ">= many", "=~ x", ""])
def test_an_expectation_that_cannot_be_read_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Expectation.parse(text)


@pytest.mark.parametrize(
    ("expectation", "seen", "holds"),
    [(">= 1000", 1000, True), (">= 1000", 999, False), ("== 120000", Decimal("120000"), True),
     ("== 120000", "120000", True), ("> 0", None, False), ("< 0.5", 0.25, True), ("== 'ok'", "ok", True),
     ("!= 'ok'", "ok", False), ("== 3", "three", False)],
)
def test_an_expectation_judges_what_a_query_returned(expectation: str, seen: object, holds: bool) -> None:
    assert Expectation.parse(expectation).holds(seen) is holds
