"""The ``postgres`` probe against the lab's real streaming standby of PostgreSQL 15.

Caught up, its lag is 0; with replay paused (``pg_wal_replay_pause()``) and a write on the
primary, the lag grows and the reading turns warning, then critical, as its thresholds say; once
resumed it falls back to 0. A standby whose primary is gone (its replication connection runs
through a forwarder the test closes) is reported as not streaming, with the reason. Every wait
is bounded; these tests change the session standby and put it back as they found it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

import pytest

from lab.files import write_atomic
from lab.layout import LabLayout
from lab.postgres.config import pgpass_line
from lab.postgres.peer import postgres_account, postgres_peer
from lab.postgres.standby import StandbyPeer, standby_peer
from monitoring.probes import PROBES, ProbeResult, ProbeTarget
from monitoring.probes_postgres import LAG, STREAMING
from monitoring.settings import ThresholdSettings
from monitoring.sources import PROBE_FAMILIES, probe_state

if TYPE_CHECKING:
    from lab.postgres.peer import PostgresPeer
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

Value = TypeVar("Value")
WAIT_SECONDS = 30.0


def _until(what: str, attempt: Callable[[], Value | None], seconds: float = WAIT_SECONDS) -> Value:
    """``attempt()`` until it gives something other than None, at most ``seconds``; fail naming ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        value = attempt()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"{what}: not within {seconds:g} s")
        time.sleep(0.1)


def _peers(lab: RunningLab) -> tuple[PostgresPeer, StandbyPeer]:
    layout = LabLayout(lab.lab_dir.absolute())
    return postgres_peer(layout, lab.prefix, hospital_megabytes=None), standby_peer(layout, lab.prefix)


def _probe(lab: RunningLab) -> ProbeResult:
    """The lab configuration's ``his-db-standby`` probe, once."""
    standby = lab.publication.database("standby")
    assert standby is not None, "the lab publishes no standby"
    target = ProbeTarget(host="his-db-standby", address=standby.address, port=standby.port,
                         options={"database": standby.name, "user": standby.role, "password": standby.password})
    result = PROBES.get("postgres").probe(target, timeout=5.0)
    assert result.success, result.detail
    return result


def _write(primary: PostgresPeer) -> str:
    """Commit a row on the primary; return the WAL position after it."""
    return primary.run_sql(
        "CREATE TABLE IF NOT EXISTS opsctl_standby_test (at timestamptz);\n"
        "INSERT INTO opsctl_standby_test VALUES (now());\n"
        "SELECT pg_current_wal_lsn();\n").strip().splitlines()[-1]


def _standby_has(standby: StandbyPeer, lsn: str, function: str) -> bool | None:
    """True once the standby's ``function`` (receive or replay LSN) reached ``lsn``, else None."""
    done = standby.run_sql(f"SELECT {function}() >= '{lsn}'::pg_lsn;").strip()
    return True if done == "t" else None


def _caught_up(lab: RunningLab) -> ProbeResult:
    primary, standby = _peers(lab)
    lsn = _write(primary)
    _until("the standby replays the write", lambda: _standby_has(standby, lsn, "pg_last_wal_replay_lsn"))
    return _until("the probe sees no lag", lambda: (result if (result := _probe(lab)).samples.get(LAG) == 0
                                                    else None))


@pytest.fixture
def paused_standby(lab: RunningLab) -> Iterator[StandbyPeer]:
    """The session standby with its replay paused; resumed afterwards whatever happened."""
    _, standby = _peers(lab)
    try:
        yield standby
    finally:
        standby.run_sql("SELECT pg_wal_replay_resume();")


def test_a_caught_up_standby_streams_with_no_lag(lab: RunningLab) -> None:
    result = _caught_up(lab)
    samples = result.samples
    assert (samples["opsctl_probe_postgres_in_recovery"], samples[STREAMING], samples[LAG]) == (1, 1, 0)
    assert result.detail.endswith(", standby") and "PostgreSQL 15" in result.detail
    assert probe_state("postgres", result, time.time())[0] == "ok"
    assert set(samples) <= set(PROBE_FAMILIES)


def test_paused_replay_makes_the_lag_grow_warning_then_critical_and_resumed_it_falls_back(
    lab: RunningLab, paused_standby: StandbyPeer
) -> None:
    primary, standby = _peers(lab)
    _caught_up(lab)
    standby.run_sql("SELECT pg_wal_replay_pause();")
    _until("replay pauses", lambda: True if standby.run_sql(
        "SELECT pg_get_wal_replay_pause_state();").strip() == "paused" else None)
    lsn = _write(primary)
    _until("the standby receives the write", lambda: _standby_has(standby, lsn, "pg_last_wal_receive_lsn"))
    first = _probe(lab)
    assert first.samples[STREAMING] == 1 and first.samples[LAG] > 0  # received, not replayed
    # thresholds just above the first reading: the lag must cross each as it grows (3 s apart, so
    # readings a tenth of a second apart see the warning on the way)
    thresholds = ThresholdSettings(postgres_replication_lag_seconds={"warning": first.samples[LAG] + 0.5,
                                                                     "critical": first.samples[LAG] + 3.5})
    level = thresholds.postgres_replication_lag_seconds
    assert probe_state("postgres", first, time.time(), thresholds)[0] == "ok"
    seen: list[tuple[float, str]] = []

    def critical() -> bool | None:
        result = _probe(lab)
        state, summary = probe_state("postgres", result, time.time(), thresholds)
        assert f"standby, lag {result.samples[LAG]:.0f} s" in summary
        lag = result.samples[LAG]  # the state is what the thresholds say of this reading's lag
        assert state == ("critical" if lag >= level.critical else "warning" if lag >= level.warning else "ok")
        seen.append((result.samples[LAG], state))
        return True if state == "critical" else None

    _until("the reading turns critical", critical)
    lags = [lag for lag, _ in seen]
    assert lags == sorted(lags) and lags[-1] > first.samples[LAG]
    states = [state for _, state in seen]
    assert "warning" in states and states == sorted(states, key=["ok", "warning", "critical"].index)
    # resumed: it replays what it received and the lag falls back to 0
    standby.run_sql("SELECT pg_wal_replay_resume();")
    _until("the standby replays the write", lambda: _standby_has(standby, lsn, "pg_last_wal_replay_lsn"))
    after = _until("the lag falls back to 0", lambda: (r if (r := _probe(lab)).samples.get(LAG) == 0 else None))
    assert probe_state("postgres", after, time.time(), thresholds)[0] == "ok"


class Forwarder:
    """A loopback TCP forwarder to ``target``; ``close()`` cuts every connection and refuses new ones."""

    def __init__(self, address: str, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server((address, 0))
        self.address, self.port = self.listener.getsockname()[:2]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.listener.accept()
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
                self.sockets += [client, server]
                for source, sink in ((client, server), (server, client)):
                    threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        for each in self.sockets:
            with contextlib.suppress(OSError):
                each.shutdown(socket.SHUT_RDWR)
            each.close()


def _receiver(standby: StandbyPeer) -> tuple[str, str] | None:
    row = standby.run_sql("SELECT status, sender_port FROM pg_stat_wal_receiver;").strip()
    status, _, port = row.partition("|")
    return (status, port) if row else None


def test_a_standby_whose_primary_is_gone_is_not_streaming_and_says_why(lab: RunningLab) -> None:
    primary, standby = _peers(lab)
    forwarder = Forwarder(standby.address.rpartition(".")[0] + ".3", (primary.address, primary.port))
    # the replication role's password for the forwarder's address, as the lab's passfile gives it for the primary's
    passfile = standby.runtime_dir / "test-forwarder.pgpass"
    password = standby.replication_password_path.read_text(encoding="utf-8").strip()
    write_atomic(passfile, pgpass_line(address=forwarder.address, port=forwarder.port, password=password), mode=0o600)
    account = postgres_account()
    os.chown(passfile, account.pw_uid, account.pw_gid)
    conninfo = f"host={forwarder.address} port={forwarder.port} user=replicator passfile={passfile}"
    try:
        standby.run_sql(f"ALTER SYSTEM SET primary_conninfo = '{conninfo}';\nSELECT pg_reload_conf();")
        _until("the standby streams through the forwarder",
               lambda: True if _receiver(standby) == ("streaming", str(forwarder.port)) else None)
        forwarder.close()  # the primary, as the standby sees it, is gone
        gone = _until("the probe sees it not streaming",
                      lambda: r if (r := _probe(lab)).samples.get(STREAMING) == 0 else None)
        assert gone.success  # the standby itself answers
        assert LAG not in gone.samples  # it receives nothing: "0 s behind" would be false
        assert ", standby not streaming: " in gone.detail, gone.detail
        state, summary = probe_state("postgres", gone, time.time())
        assert state == "critical"
        assert "standby, not streaming: " in summary and "its primary" in summary, summary
    finally:
        forwarder.close()
        standby.run_sql("ALTER SYSTEM RESET primary_conninfo;\nSELECT pg_reload_conf();")
        passfile.unlink(missing_ok=True)
    _until("the standby streams from its primary again",
           lambda: True if _receiver(standby) == ("streaming", str(primary.port)) else None)
    back = _until("the probe sees it streaming", lambda: r if (r := _probe(lab)).samples.get(STREAMING) == 1 else None)
    assert probe_state("postgres", back, time.time())[0] == "ok"
