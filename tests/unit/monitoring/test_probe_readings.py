"""What a probe's samples mean for people: the agent scrape boiled down (on a recorded scrape of
the real opsctl-agent), and each probe kind's state against the thresholds."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitoring.probes import ProbeResult
from monitoring.probes_agent import summarise_scrape
from monitoring.probes_postgres import samples_of_row
from monitoring.sources import probe_state

SCRAPE = (Path(__file__).resolve().parents[2] / "fixtures" / "monitoring" / "agent-scrape.prom").read_text()
NOW = 1_796_000_000.0


def test_an_agent_scrape_gives_load_per_cpu_memory_and_the_fullest_filesystem() -> None:
    summary = summarise_scrape(SCRAPE)
    samples = summary.samples
    # the recording (a scrape of opsctl-agent on a 2-CPU Debian 12 VM): node_load1 3.03; / its only real mount
    assert samples["opsctl_probe_agent_load_per_cpu"] == pytest.approx(
        _value("node_load1") / 2)
    assert samples["opsctl_probe_agent_memory_used_ratio"] == pytest.approx(
        1 - _value("opsctl_agent_memory_mem_available_bytes") / _value("opsctl_agent_memory_mem_total_bytes"))
    assert summary.fullest_mountpoint == "/"
    assert (samples["opsctl_probe_agent_md_degraded_arrays"], samples["opsctl_probe_agent_md_failed_disks"]) == (0, 0)


def test_a_degraded_array_on_the_agent_is_critical() -> None:
    degraded = SCRAPE + ('opsctl_agent_md_degraded{device="md0"} 1.0\n'
                         'node_md_disks{device="md0",state="failed"} 1.0\n')
    summary = summarise_scrape(degraded)
    result = ProbeResult(True, 0.1, "agent http://db1:9101/metrics: load 0.1/CPU", summary.samples)
    state, _summary_line = probe_state("agent", result, NOW)
    assert state == "critical"
    assert summary.samples["opsctl_probe_agent_md_failed_disks"] == 1


def test_text_that_is_not_exposition_is_refused() -> None:
    with pytest.raises(ValueError):
        summarise_scrape("<html>not metrics</html>\n")


def _value(name: str) -> float:
    line = next(line for line in SCRAPE.splitlines() if line.startswith(name + " "))
    return float(line.split()[1])


def _postgres(in_recovery: bool, lag: float | None, connections: float = 12) -> ProbeResult:
    return ProbeResult(True, 0.02, "postgres hospital@db1:5432: PostgreSQL 15.18, primary",
                       samples_of_row((100.0, connections, in_recovery, lag, 25 * 1024**2, 3.0, "15.18",
                                       "streaming" if in_recovery else None, None)))


def test_a_primary_has_no_lag_sample_and_says_primary() -> None:
    result = _postgres(False, None)
    assert "opsctl_probe_postgres_replication_lag_seconds" not in result.samples
    assert result.samples["opsctl_probe_postgres_in_recovery"] == 0
    assert probe_state("postgres", result, NOW) == ("ok", "12/100 connections, primary, 25 MiB")


@pytest.mark.parametrize(("lag", "state"), [(0.0, "ok"), (120.0, "warning"), (900.0, "critical")])
def test_a_standby_lag_turns_warning_then_critical(lag: float, state: str) -> None:
    result = _postgres(True, lag)
    assert result.samples["opsctl_probe_postgres_replication_lag_seconds"] == lag
    assert probe_state("postgres", result, NOW)[0] == state


@pytest.mark.parametrize(("connections", "state"), [(79, "ok"), (85, "warning"), (97, "critical")])
def test_connections_near_max_connections_warn(connections: float, state: str) -> None:
    assert probe_state("postgres", _postgres(False, None, connections), NOW)[0] == state


@pytest.mark.parametrize(("days", "state"), [(90, "ok"), (10, "warning"), (3, "critical"), (-1, "critical")])
def test_a_certificate_near_its_end_warns_then_is_critical(days: float, state: str) -> None:
    result = ProbeResult(True, 0.05, "http https://portal/: HTTP 200", {
        "opsctl_probe_http_status_code": 200, "opsctl_probe_tls_chain_verified": 1,
        "opsctl_probe_tls_certificate_expiry_timestamp_seconds": NOW + days * 86400})
    state_seen, summary = probe_state("http", result, NOW)
    assert state_seen == state
    assert f"certificate {days:.0f} d left" in summary


def test_a_failed_probe_is_critical_with_its_reason() -> None:
    result = ProbeResult(False, 2.0, "orthanc http://pacs:8042: GET /system answered HTTP 401 (wrong username or password?)")
    assert probe_state("orthanc", result, NOW) == ("critical", result.detail)
