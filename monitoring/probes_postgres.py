"""The ``postgres`` probe: is the database up, how full are its connections, how far behind is a standby.

One connection through psycopg, bounded by ``connect_timeout`` and ``statement_timeout``, one
query of catalogue views every role may read (``pg_stat_database``, settings, the recovery
functions; ``pg_stat_activity``'s transaction start times of other roles' sessions need
``pg_monitor``, else only the probe role's own are seen). Options: ``database``, ``user``,
``password`` (a secret reference), ``sslmode``.

Replication lag is measured on a standby only (``pg_is_in_recovery()``): the time since the
last replayed transaction, 0 when everything received has been replayed. On a primary the
sample is absent and ``opsctl_probe_postgres_in_recovery`` is 0, so a rule tells the two apart.
"""

from __future__ import annotations

import math
import time

from monitoring.probes import ProbeResult, ProbeTarget
from opsctl.core.errors import OpsctlError
from opsctl.core.secrets import SecretRef

DEFAULT_PORT = 5432

# one round trip; every column readable without superuser
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
       current_setting('server_version')
"""


def first_line(text: str) -> str:
    """The first non-empty line of an error's text, stripped (drivers add context lines)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "no message")


def _number(value: object) -> float:
    """A numeric column as a float; NULL (or anything not a number) as NaN."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan


def samples_of_row(row: tuple[object, ...]) -> dict[str, float]:
    """The probe's samples from :data:`QUERY`'s row (float8 columns); the lag only on a standby that has one."""
    max_connections, connections, in_recovery, lag, size, longest, _version = row
    samples = {
        "opsctl_probe_postgres_connections": _number(connections),
        "opsctl_probe_postgres_max_connections": _number(max_connections),
        "opsctl_probe_postgres_in_recovery": 1.0 if in_recovery else 0.0,
        "opsctl_probe_postgres_database_size_bytes": _number(size),
        "opsctl_probe_postgres_longest_transaction_seconds": _number(longest),
    }
    if in_recovery and math.isfinite(_number(lag)):
        samples["opsctl_probe_postgres_replication_lag_seconds"] = _number(lag)
    return samples


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
        samples = samples_of_row(tuple(row))
        role = "standby" if samples["opsctl_probe_postgres_in_recovery"] else "primary"
        return ProbeResult(True, duration, f"{where}: PostgreSQL {row[6]}, {role}", samples)


POSTGRES = PostgresProbe()
