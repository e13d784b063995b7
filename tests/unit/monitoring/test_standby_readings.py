"""What the ``postgres`` probe makes of a standby's row, on rows recorded from the lab's PostgreSQL 15
primary and standby (as the hospital role, which sees the WAL receiver's row but not its status,
and as the replication role, which has ``pg_monitor``), and of a standby whose primary is gone."""

from __future__ import annotations

import pytest

from monitoring.probes import ProbeResult
from monitoring.probes_postgres import (
    LAG,
    STREAMING,
    primary_of,
    replication_state,
    role_of_row,
    samples_of_row,
)
from monitoring.settings import ThresholdSettings
from monitoring.sources import probe_state

VERSION = "15.18 (Debian 15.18-0+deb12u1)"
CONNINFO = ("host=127.32.50.1 port=15432 user=replicator passfile=/run/opsctl-lab/postgres-b10c46c56fa3/"
            "standby.pgpass application_name=lab-postgres-standby")
# recorded with monitoring.probes_postgres.QUERY against `opsctl lab up` (prefix 127.32)
PRIMARY = (200.0, 1.0, False, None, 21011815.0, 0.0, VERSION, None, None)
STANDBY_AS_HOSPITAL = (200.0, 1.0, True, 0.0, 21011815.0, 0.0, VERSION, "running", None)
STANDBY_AS_REPLICATOR = (200.0, 1.0, True, 0.0, 7634279.0, 0.0, VERSION, "streaming", CONNINFO)
NOW = 1_764_000_000.0


def _result(row: tuple[object, ...]) -> ProbeResult:
    return ProbeResult(True, 0.05, f"postgres hospital@127.32.50.2:15433: PostgreSQL {VERSION}, {role_of_row(row)}",
                       samples_of_row(row))


def _with(row: tuple[object, ...], **columns: object) -> tuple[object, ...]:
    index = {"lag": 3, "receiver": 7, "conninfo": 8}
    values = list(row)
    for name, value in columns.items():
        values[index[name]] = value
    return tuple(values)


def test_a_primary_has_neither_lag_nor_receiver_samples() -> None:
    result = _result(PRIMARY)
    assert LAG not in result.samples and STREAMING not in result.samples
    assert result.detail.endswith(", primary")
    assert probe_state("postgres", result, NOW) == ("ok", "1/200 connections, primary, 20 MiB")


@pytest.mark.parametrize("row", [STANDBY_AS_HOSPITAL, STANDBY_AS_REPLICATOR])
def test_a_streaming_standby_reports_its_lag_whether_or_not_the_role_sees_the_receivers_status(
    row: tuple[object, ...],
) -> None:
    result = _result(row)
    assert (result.samples[STREAMING], result.samples[LAG]) == (1.0, 0.0)
    assert result.detail.endswith(", standby")
    assert probe_state("postgres", result, NOW)[1].startswith("1/200 connections, standby, lag 0 s")


@pytest.mark.parametrize(("lag", "state"), [(0.0, "ok"), (59.9, "ok"), (60.0, "warning"), (299.0, "warning"),
                                            (300.0, "critical")])
def test_the_lag_turns_warning_then_critical_at_the_thresholds(lag: float, state: str) -> None:
    result = _result(_with(STANDBY_AS_HOSPITAL, lag=lag))
    assert probe_state("postgres", result, NOW)[0] == state  # monitoring.thresholds' defaults: 60 s, 300 s
    # what the standby is, before any threshold; the lag is judged by the configured thresholds alone
    assert replication_state(result.samples, result.detail) == ("ok", f"standby, lag {lag:.0f} s")
    tight = ThresholdSettings(postgres_replication_lag_seconds={"warning": 0.0, "critical": 1e9})
    assert probe_state("postgres", result, NOW, tight)[0] == "warning"


def test_a_standby_without_a_wal_receiver_is_critical_with_the_reason_and_no_lag() -> None:
    row = _with(STANDBY_AS_REPLICATOR, receiver=None)
    result = _result(row)
    assert result.samples[STREAMING] == 0.0
    assert LAG not in result.samples  # what it received is replayed, but it receives nothing
    assert result.detail.endswith(", standby not streaming: no WAL receiver is running "
                                  "(its primary 127.32.50.1:15432 does not stream to it)")
    state, summary = probe_state("postgres", result, NOW)
    assert state == "critical"
    assert summary == ("1/200 connections, standby, not streaming: no WAL receiver is running (its primary "
                       "127.32.50.1:15432 does not stream to it), 7 MiB")


def test_a_role_that_cannot_read_the_conninfo_still_gets_the_reason() -> None:
    result = _result(_with(STANDBY_AS_HOSPITAL, receiver="waiting"))
    assert result.detail.endswith("standby not streaming: its WAL receiver is waiting "
                                  "(it is not connected to its primary)")
    assert probe_state("postgres", result, NOW)[0] == "critical"


def test_only_the_host_and_port_are_read_from_a_conninfo_that_holds_a_password() -> None:
    conninfo = "user=replicator password=canary-s3cret host=db1.example port=5433 sslmode=require"
    assert primary_of(conninfo) == "db1.example:5433"
    assert primary_of("host='10.0.0.5' user=x") == "10.0.0.5:5432"
    assert primary_of(None) is None and primary_of("user=x") is None
    detail = role_of_row(_with(STANDBY_AS_REPLICATOR, receiver=None, conninfo=conninfo))
    assert "canary-s3cret" not in detail and "db1.example:5433" in detail
