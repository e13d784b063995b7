"""``monitoring.thresholds``: each rule on recorded readings, and the section's validation.

The readings are what the lab's monitoring daemon served (tests/fixtures/monitoring/
daemon-readings.json: an agent on a loaded lab host, snmpsim devices, the lab's NUT UPS online,
on battery and low), taken back to what their source said before thresholds; the PostgreSQL and
certificate readings are the probes' samples of recorded rows, as their own tests make them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from monitoring.probes import ProbeResult
from monitoring.probes_postgres import samples_of_row
from monitoring.settings import ThresholdSettings, monitoring_settings
from monitoring.sources import Reading, probe_facts
from monitoring.thresholds import judge
from opsctl.core.config import load_settings
from opsctl.core.errors import ConfigError

RECORDED = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "monitoring" / "daemon-readings.json")
                      .read_text(encoding="utf-8"))["readings"]
NOW = 1_796_000_000.0


def _recorded(target: str, recorded: str = "online") -> Reading:
    """A recorded reading as its source made it (before thresholds)."""
    entry: dict[str, Any] = next(r for r in RECORDED if r["target"] == target and r["recorded"].endswith(recorded))
    return Reading(entry["target"], entry["kind"], entry["facts_state"], entry["facts_summary"], entry["values"])


def _thresholds(**levels: dict[str, float]) -> ThresholdSettings:
    return ThresholdSettings.model_validate(levels)


def test_the_recorded_readings_judged_with_the_defaults_are_what_the_daemon_served() -> None:
    for entry in RECORDED:
        reading = Reading(entry["target"], entry["kind"], entry["facts_state"], entry["facts_summary"], entry["values"])
        judged = judge(reading)
        assert (judged.state, judged.summary) == (entry["state"], entry["summary"]), entry["target"]


@pytest.mark.parametrize(("levels", "state", "note"), [
    ({}, "ok", None),  # / 74%
    ({"warning": 70}, "warning", "filesystem 74% ≥ 70%"),
    ({"warning": 60, "critical": 70}, "critical", "filesystem 74% ≥ 70%"),
])
def test_filesystem_used_percent(levels: dict[str, float], state: str, note: str | None) -> None:
    judged = judge(_recorded("lab-ssh-01"), _thresholds(filesystem_used_percent=levels, cpu_busy_percent={"warning": 101,
                                                                                                      "critical": 101}))
    assert judged.state == state
    assert (note in judged.summary) if note else ";" not in judged.summary


def test_memory_used_percent() -> None:
    quiet_cpu = {"warning": 101, "critical": 101}
    assert judge(_recorded("lab-ssh-01"), _thresholds(cpu_busy_percent=quiet_cpu)).state == "ok"  # memory 7%
    judged = judge(_recorded("lab-ssh-01"), _thresholds(cpu_busy_percent=quiet_cpu, memory_used_percent={"warning": 5}))
    assert judged.state == "warning" and judged.summary.endswith("; memory 7% ≥ 5%")


def test_cpu_busy_percent() -> None:
    assert judge(_recorded("lab-ssh-01")).summary.endswith("; CPU 99% ≥ 98%")  # the loaded lab machine
    assert judge(_recorded("lab-ssh-01"), _thresholds(cpu_busy_percent={"critical": 99.5})).state == "warning"


def test_ups_charge_percent() -> None:
    assert judge(_recorded("lab-ups@lab-nut", "on-battery")).state == "warning"  # OB itself; 64% is above 50%
    judged = judge(_recorded("lab-ups@lab-nut", "on-battery"), _thresholds(ups_charge_percent={"warning": 70}))
    assert judged.summary.endswith("; charge 64% ≤ 70%")
    low = judge(_recorded("lab-ups@lab-nut", "low-battery"))
    assert low.state == "critical" and "charge 9% ≤ 20%" in low.summary
    # a UPS on line at 100% never crosses a charge threshold
    assert judge(_recorded("lab-ups@lab-nut"), _thresholds(ups_charge_percent={"warning": 99})).state == "ok"


def test_ups_runtime_seconds() -> None:
    judged = judge(_recorded("lab-ups@lab-nut", "on-battery"),
                   _thresholds(ups_runtime_seconds={"warning": 1800, "critical": 1300}))
    assert judged.state == "critical" and judged.summary.endswith("; runtime 1260 s ≤ 1300 s")


def _postgres(connections: float = 12, lag: float | None = None, longest: float = 3.0) -> Reading:
    result = ProbeResult(True, 0.02, "postgres hospital@db1:5432: PostgreSQL 15.18",
                         samples_of_row((100.0, connections, lag is not None, lag, 25 * 1024**2, longest, "15.18",
                                         "streaming" if lag is not None else None, None)))
    state, summary = probe_facts("postgres", result, NOW)
    return Reading("his-db", "postgres", state, summary, dict(result.samples))


@pytest.mark.parametrize(("connections", "state"), [(79, "ok"), (80, "warning"), (95, "critical")])
def test_postgres_connections_percent(connections: float, state: str) -> None:
    assert judge(_postgres(connections)).state == state


def test_postgres_connections_percent_configured() -> None:
    judged = judge(_postgres(50), _thresholds(postgres_connections_percent={"warning": 40, "critical": 60}))
    assert judged.state == "warning" and judged.summary.endswith("; connections 50% ≥ 40%")


@pytest.mark.parametrize(("lag", "state"), [(0.0, "ok"), (60.0, "warning"), (300.0, "critical")])
def test_postgres_replication_lag_seconds(lag: float, state: str) -> None:
    assert judge(_postgres(lag=lag)).state == state
    assert judge(_postgres(lag=lag), _thresholds(postgres_replication_lag_seconds={"warning": 400,
                                                                                   "critical": 500})).state == "ok"


def test_postgres_transaction_seconds() -> None:
    assert judge(_postgres(longest=3599)).state == "ok"
    judged = judge(_postgres(longest=7200))
    assert judged.state == "warning" and judged.summary.endswith("; transaction open 7200 s ≥ 3600 s")


@pytest.mark.parametrize(("days", "state"), [(90, "ok"), (21, "warning"), (7, "critical"), (-1, "critical")])
def test_certificate_days_left(days: float, state: str) -> None:
    result = ProbeResult(True, 0.05, "http https://portal/: HTTP 200", {
        "opsctl_probe_http_status_code": 200, "opsctl_probe_tls_chain_verified": 1,
        "opsctl_probe_tls_certificate_expiry_timestamp_seconds": NOW + days * 86400})
    facts, summary = probe_facts("http", result, NOW)
    assert judge(Reading("portal", "http", facts, summary, dict(result.samples)), now=NOW).state == state
    relaxed = _thresholds(certificate_days_left={"warning": 5, "critical": 0})
    assert judge(Reading("portal", "http", facts, summary, dict(result.samples)), relaxed, NOW).state == \
        ("critical" if days <= 0 else "warning" if days <= 5 else "ok")


def test_switch_port_errors() -> None:
    switch = _recorded("sim-cisco-c3750")  # 1171077 errors since its counters were reset
    assert judge(switch).state == "warning"
    assert judge(switch).summary.endswith("; port errors 1171077 ≥ 100000")
    assert judge(switch, _thresholds(switch_port_errors={"critical": 1_000_000})).state == "critical"
    assert judge(_recorded("sim-paloalto-pa-5000")).state == "ok"  # 0 errors


def test_a_failed_or_unknown_reading_keeps_its_state_when_no_value_crosses() -> None:
    failed = Reading("pacs", "orthanc", "critical", "orthanc http://pacs:8042: Connection refused")
    assert judge(failed) == failed


def test_a_pair_in_the_wrong_order_is_refused() -> None:
    with pytest.raises(ValidationError, match="ups_charge_percent: warning \\(10\\) must be at or above critical"):
        _thresholds(ups_charge_percent={"warning": 10})
    with pytest.raises(ValidationError, match="memory_used_percent: warning \\(99\\) must be at or below critical"):
        _thresholds(memory_used_percent={"warning": 99})
    with pytest.raises(ValidationError, match="disk_percent"):
        _thresholds(disk_percent={"warning": 1})


def test_a_conf_d_fragment_changes_one_threshold_and_keeps_the_others(tmp_path: Path) -> None:
    config = tmp_path / "opsctl.yaml"
    config.write_text("monitoring:\n  thresholds:\n    memory_used_percent: {warning: 70}\n")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "50-ups.yaml").write_text("monitoring:\n  thresholds:\n    ups_charge_percent: {warning: 80}\n")
    none = tmp_path / "none.yaml"

    thresholds = monitoring_settings(load_settings(config, environ={}, system_file=none, user_file=none)).thresholds

    assert (thresholds.ups_charge_percent.warning, thresholds.ups_charge_percent.critical) == (80, 20)
    assert (thresholds.memory_used_percent.warning, thresholds.memory_used_percent.critical) == (70, 97)
    (tmp_path / "conf.d" / "60-bad.yaml").write_text("monitoring:\n  thresholds:\n    ups_charge_percent: {critical: 90}\n")
    with pytest.raises(ConfigError, match="ups_charge_percent"):
        load_settings(config, environ={}, system_file=none, user_file=none)
