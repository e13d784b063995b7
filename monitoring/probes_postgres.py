"""The ``postgres`` probe: is the database up, how full are its connections, how far behind is a standby.

One connection through psycopg, bounded by ``connect_timeout`` and ``statement_timeout``, one
query of catalogue views every role may read (``pg_stat_database``, settings, the recovery
functions; ``pg_stat_activity``'s transaction start times of other roles' sessions need
``pg_monitor``, else only the probe role's own are seen). Options: ``database``, ``user``,
``password`` (a secret reference), ``sslmode``.

Replication lag is measured on a standby only (``pg_is_in_recovery()``): the time since the
last replayed transaction, 0 when everything received has been replayed. On a primary the
sample is absent and ``opsctl_probe_postgres_in_recovery`` is 0, so a rule tells the two apart.
A standby also says whether its WAL receiver is streaming (``pg_stat_wal_receiver``: no row
when it is not connected to its primary, e.g. because the primary is gone); one that is not
has no lag sample (what it received is replayed, but it receives nothing: "0 s behind" would
be false), ``opsctl_probe_postgres_wal_receiver_streaming`` 0, and the reason in its detail.
:func:`replication_state` says what a standby is (critical when not streaming); its lag is judged
against ``monitoring.thresholds.postgres_replication_lag_seconds`` by :mod:`monitoring.thresholds`.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Literal

from monitoring.probes import ProbeResult, ProbeTarget
from opsctl.core.errors import OpsctlError
from opsctl.core.secrets import SecretRef

DEFAULT_PORT = 5432

# one round trip; every column readable without superuser. The WAL receiver's status is hidden
# (NULL) from roles without pg_read_all_stats, its row is not: "running" then. primary_conninfo
# needs pg_read_all_settings (in pg_monitor); only its host and port are ever read from it.
QUERY = """
SELECT current_setting('max_connections')::float8,
       (SELECT sum(numbackends) FROM pg_stat_database)::float8,
       pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery() THEN NULL
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0) END::float8,
       pg_database_size(current_database())::float8,
       COALESCE((SELECT EXTRACT(EPOCH FROM max(now() - xact_start)) FROM pg_stat_activity
                 WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid()), 0)::float8,
       current_setting('server_version'),
       (SELECT COALESCE(status, 'running') FROM pg_stat_wal_receiver),
       CASE WHEN pg_is_in_recovery() AND pg_has_role('pg_read_all_settings', 'USAGE')
            THEN current_setting('primary_conninfo') END
"""
# what a standby's receiver may be doing when it is not streaming, said for people
_RECEIVER_STATES = {None: "no WAL receiver is running", "starting": "its WAL receiver is starting",
                    "waiting": "its WAL receiver is waiting", "restarting": "its WAL receiver is restarting",
                    "stopping": "its WAL receiver is stopping", "stopped": "its WAL receiver stopped"}
_NOT_STREAMING = "not streaming: "
STREAMING = "opsctl_probe_postgres_wal_receiver_streaming"
LAG = "opsctl_probe_postgres_replication_lag_seconds"


def first_line(text: str) -> str:
    """The first non-empty line of an error's text, stripped (drivers add context lines)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "no message")


def _number(value: object) -> float:
    """A numeric column as a float; NULL (or anything not a number) as NaN."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def receiver_streams(status: object) -> bool:
    """Whether a standby's ``pg_stat_wal_receiver`` status says it streams (``running``: hidden, but a row)."""
    return status in ("streaming", "running")


def samples_of_row(row: tuple[object, ...]) -> dict[str, float]:
    """The probe's samples from :data:`QUERY`'s row (float8 columns); on a standby whether it
    streams, and its lag only while it does."""
    max_connections, connections, in_recovery, lag, size, longest, _version, receiver, _conninfo = row
    samples = {
        "opsctl_probe_postgres_connections": _number(connections),
        "opsctl_probe_postgres_max_connections": _number(max_connections),
        "opsctl_probe_postgres_in_recovery": 1.0 if in_recovery else 0.0,
        "opsctl_probe_postgres_database_size_bytes": _number(size),
        "opsctl_probe_postgres_longest_transaction_seconds": _number(longest),
    }
    if in_recovery:
        samples[STREAMING] = 1.0 if receiver_streams(receiver) else 0.0
        if receiver_streams(receiver) and math.isfinite(_number(lag)):
            samples[LAG] = _number(lag)
    return samples


def primary_of(conninfo: object) -> str | None:
    """``host:port`` of the primary a ``primary_conninfo`` names (nothing else of it: it may hold a password)."""
    if not isinstance(conninfo, str):
        return None
    fields = dict(re.findall(r"\b(host|hostaddr|port)\s*=\s*'?([^\s']+)", conninfo))
    host = fields.get("host") or fields.get("hostaddr")
    return None if host is None else f"{host}:{fields.get('port', DEFAULT_PORT)}"


def role_of_row(row: tuple[object, ...]) -> str:
    """``primary``, ``standby``, or ``standby not streaming: REASON`` for the probe's detail."""
    in_recovery, receiver, conninfo = row[2], row[7], row[8]
    if not in_recovery:
        return "primary"
    if receiver_streams(receiver):
        return "standby"
    reason = _RECEIVER_STATES.get(receiver if isinstance(receiver, str) else None, f"its WAL receiver is {receiver}")
    primary = primary_of(conninfo)
    return f"standby {_NOT_STREAMING}{reason}" + (f" (its primary {primary} does not stream to it)" if primary
                                                   else " (it is not connected to its primary)")


State = Literal["ok", "warning", "critical"]


def replication_state(samples: Mapping[str, float], detail: str) -> tuple[State, str] | None:
    """What a standby's samples mean before any threshold: None on a primary; critical with the
    reason (from the probe's ``detail``) when it is not streaming; else ok with its lag, which
    :func:`monitoring.thresholds.judge` holds against ``postgres_replication_lag_seconds``."""
    if not samples.get("opsctl_probe_postgres_in_recovery"):
        return None
    if samples.get(STREAMING) == 0.0:
        _, marker, reason = detail.partition(_NOT_STREAMING)
        return "critical", f"standby, {marker}{reason}" if marker else "standby, not streaming"
    return "ok", f"standby, lag {samples.get(LAG, 0.0):.0f} s"


class PostgresProbe:
    """Connects, runs one catalogue query, and reports connections, recovery, lag, size and the longest transaction."""

    name = "postgres"

    def probe(self, target: ProbeTarget, timeout: float) -> ProbeResult:
        import psycopg

        options = target.options
        port = target.port or DEFAULT_PORT
        where = f"postgres {options.get('database', '')}@{target.address}:{port}".replace(" @", " ")
        started = time.monotonic()
        try:
            password = SecretRef.parse(options["password"]).resolve() if options.get("password") else None
        except (OpsctlError, ValueError) as error:  # a secret that cannot be read: said without its value
            return ProbeResult(False, 0.0, f"{where}: {first_line(str(error))}")
        try:
            # libpq's connect_timeout is whole seconds, at least 2
            with psycopg.connect(host=target.address, port=port, dbname=options.get("database"),
                                 user=options.get("user"), password=password,
                                 sslmode=options.get("sslmode", "prefer"),
                                 connect_timeout=max(2, math.ceil(timeout)),
                                 options=f"-c statement_timeout={max(1, int(timeout * 1000))}",
                                 application_name="opsctl-probe", autocommit=True) as connection:
                row = connection.execute(QUERY).fetchone()
        except psycopg.Error as error:
            message = first_line(str(error))
            if password:  # libpq never echoes it; this makes sure
                message = message.replace(password, "***")
            return ProbeResult(False, time.monotonic() - started, f"{where}: {message}")
        except OSError as error:
            return ProbeResult(False, time.monotonic() - started, f"{where}: {error.strerror or error}")
        duration = time.monotonic() - started
        if row is None:
            return ProbeResult(False, duration, f"{where}: the query returned no row")
        return ProbeResult(True, duration, f"{where}: PostgreSQL {row[6]}, {role_of_row(tuple(row))}",
                           samples_of_row(tuple(row)))


POSTGRES = PostgresProbe()
