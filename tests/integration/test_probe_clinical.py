"""The probes against the lab's real PostgreSQL 15 (the hospital database) and Orthanc 1.10, and
``opsctl monitor once`` / ``opsctl health`` configured by a ``conf.d/`` fragment: up, what they
report, a wrong password and a target that never answers reported as down with the reason.

The lab's standby and its replication lag are probed in test_standby_replication.py; here the
primary reports no lag.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest

from monitoring.probes import PROBES, ProbeTarget
from monitoring.sources import PROBE_FAMILIES
from opsctl.core.secrets import SecretRef

if TYPE_CHECKING:
    from lab.publish import PublishedDatabase, PublishedService
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

OPSCTL = str(Path(sys.executable).parent / "opsctl")


def _hospital(lab: RunningLab) -> PublishedDatabase:
    database = lab.publication.database("hospital")
    assert database is not None, "the lab publishes no hospital database"
    return database


def _pacs(lab: RunningLab) -> PublishedService:
    pacs = lab.publication.service("pacs")
    assert pacs is not None, "the lab publishes no PACS"
    return pacs


def _wrong(directory: Path, password: str) -> str:
    """A reference to a file holding a wrong ``password``."""
    path = directory / "wrong-password"
    path.write_text(password + "\n")
    return f"file:{path}"


def _postgres_target(database: PublishedDatabase, password: str) -> ProbeTarget:
    return ProbeTarget(host="lab-postgres", address=database.address, port=database.port,
                       options={"database": database.name, "user": database.role, "password": password})


def _orthanc_target(pacs: PublishedService, password: str) -> ProbeTarget:
    details: dict[str, Any] = dict(pacs.details)
    return ProbeTarget(host="lab-orthanc", address=str(details["address"]), options={
        "url": str(details["rest_url"]), "username": str(details["user"]), "password": password,
        "dicom_port": str(details["dicom"]["port"]), "dicom_aet": str(details["dicom"]["aet"])})


def test_postgres_reports_connections_size_and_a_primary_without_lag(lab: RunningLab) -> None:
    database = _hospital(lab)
    result = PROBES.get("postgres").probe(_postgres_target(database, database.password), timeout=5.0)
    assert result.success, result.detail
    samples = result.samples
    assert samples["opsctl_probe_postgres_max_connections"] >= 10
    assert 1 <= samples["opsctl_probe_postgres_connections"] <= samples["opsctl_probe_postgres_max_connections"]
    assert samples["opsctl_probe_postgres_in_recovery"] == 0
    assert "opsctl_probe_postgres_replication_lag_seconds" not in samples
    # the hospital database holds its generated tables: more than an empty database's ~7 MiB
    assert samples["opsctl_probe_postgres_database_size_bytes"] > 8 * 1024**2
    assert result.detail.endswith(", primary") and "PostgreSQL 15" in result.detail
    assert set(samples) <= set(PROBE_FAMILIES)


def test_postgres_sees_an_open_transaction(lab: RunningLab) -> None:
    database = _hospital(lab)
    password = SecretRef.parse(database.password).resolve()
    with psycopg.connect(host=database.address, port=database.port, dbname=database.name, user=database.role,
                         password=password) as holder:
        holder.execute("SELECT count(*) FROM patients").fetchone()  # opens a transaction and keeps it open
        result = PROBES.get("postgres").probe(_postgres_target(database, database.password), timeout=5.0)
        holder.rollback()
    assert result.success, result.detail
    assert result.samples["opsctl_probe_postgres_longest_transaction_seconds"] > 0


def test_postgres_with_a_wrong_password_is_down_naming_the_target(lab: RunningLab, tmp_path: Path) -> None:
    database = _hospital(lab)
    result = PROBES.get("postgres").probe(_postgres_target(database, _wrong(tmp_path, "not-the-password-canary")),
                                          timeout=5.0)
    assert not result.success
    assert result.detail.startswith(f"postgres {database.name}@{database.address}:{database.port}: ")
    assert "password authentication failed" in result.detail
    assert "not-the-password-canary" not in result.detail


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize("kind", ["postgres", "orthanc"])
def test_a_target_that_never_answers_is_down_within_its_timeout(kind: str, silent_port: int) -> None:
    options = {"database": "his", "user": "monitor"} if kind == "postgres" else {
        "url": f"http://127.0.0.1:{silent_port}", "username": "monitor"}
    began = time.monotonic()
    result = PROBES.get(kind).probe(ProbeTarget("slow", "127.0.0.1", silent_port, options), timeout=2.0)
    assert time.monotonic() - began < 6.0  # bounded: libpq rounds its connect timeout up to 2 s
    assert not result.success
    assert ("timeout" in result.detail.lower()) or ("no answer within 2 s" in result.detail), result.detail


def test_orthanc_answers_rest_and_c_echo_with_the_lab_samples(lab: RunningLab) -> None:
    pacs = _pacs(lab)
    result = PROBES.get("orthanc").probe(_orthanc_target(pacs, str(pacs.details["password"])), timeout=10.0)
    assert result.success, result.detail
    loaded = pacs.details["samples_at_load"]
    assert result.samples["opsctl_probe_orthanc_instances"] >= loaded["instances"]
    assert result.samples["opsctl_probe_orthanc_studies"] >= loaded["studies"]
    assert result.samples["opsctl_probe_orthanc_disk_size_bytes"] > 0
    assert result.samples["opsctl_probe_orthanc_dicom_echo_success"] == 1
    assert "Orthanc 1.10" in result.detail and "C-ECHO answered" in result.detail
    assert set(result.samples) <= set(PROBE_FAMILIES)


def test_orthanc_with_a_wrong_password_is_down_saying_so(lab: RunningLab, tmp_path: Path) -> None:
    pacs = _pacs(lab)
    result = PROBES.get("orthanc").probe(_orthanc_target(pacs, _wrong(tmp_path, "not-the-pacs-password-canary")),
                                         timeout=10.0)
    assert not result.success
    assert result.detail == (f"orthanc {pacs.details['rest_url']}: GET /system answered HTTP 401 "
                             "(wrong username or password?)")


def test_monitor_once_and_health_from_a_conf_d_fragment(lab: RunningLab, lab_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    database, pacs = _hospital(lab), _pacs(lab)
    config = tmp_path / "opsctl.yaml"
    config.write_text("monitoring:\n  probe_timeout_seconds: 10\n")
    (tmp_path / "conf.d").mkdir()
    details: dict[str, Any] = dict(pacs.details)
    (tmp_path / "conf.d" / "clinical.yaml").write_text(json.dumps({"monitoring": {"probes": {
        "his-db": {"type": "postgres", "host": "lab-postgres", "address": database.address, "port": database.port,
                   "database": database.name, "user": database.role, "password": database.password},
        "pacs": {"type": "orthanc", "host": "lab-orthanc", "url": details["rest_url"], "username": details["user"],
                 "password": details["password"], "dicom_port": details["dicom"]["port"],
                 "dicom_aet": details["dicom"]["aet"]},
    }}}))
    once = subprocess.run([OPSCTL, "-c", str(config), "monitor", "once", "--json"], capture_output=True, text=True,
                          env=lab_env, timeout=120)
    assert once.returncode == 0, once.stderr
    states = {reading["target"]: reading["state"] for reading in json.loads(once.stdout)["readings"]}
    assert states == {"his-db": "ok", "pacs": "ok"}
    nagios = subprocess.run([OPSCTL, "-c", str(config), "health", "--nagios"], capture_output=True, text=True,
                            env=lab_env, timeout=120)
    assert (nagios.returncode, nagios.stdout.split(" | ")[0]) == (0, "OPSCTL HEALTH OK - 2 ok"), nagios.stderr
    secret = SecretRef.parse(database.password).resolve()
    assert secret not in once.stdout + once.stderr + nagios.stdout + nagios.stderr
