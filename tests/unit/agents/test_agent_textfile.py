"""The textfile collector: *.prom files served as node_exporter serves them, a bad file skipped and named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agents.base import AgentCollector, ErrorCounter
from agents.textfile import DEFAULT_TEXTFILE_DIR, TextfileCollector

BACKUP_PROM = """\
# HELP opsctl_backup_last_success_timestamp_seconds When the policy's last backup succeeded.
# TYPE opsctl_backup_last_success_timestamp_seconds gauge
opsctl_backup_last_success_timestamp_seconds{policy="his-db"} 1.7646e+09
# HELP opsctl_backup_snapshot_age_seconds Age of the newest snapshot.
# TYPE opsctl_backup_snapshot_age_seconds gauge
opsctl_backup_snapshot_age_seconds{policy="his-db",repository="local"} 3600
"""
DRILL_PROM = """\
# HELP opsctl_drill_rto_seconds Measured recovery time of the last drill.
# TYPE opsctl_drill_rto_seconds gauge
opsctl_drill_rto_seconds{policy="his-db"} 95.5
# HELP opsctl_backup_snapshot_age_seconds Age of the newest snapshot.
# TYPE opsctl_backup_snapshot_age_seconds gauge
opsctl_backup_snapshot_age_seconds{policy="pacs",repository="offsite"} 7200
"""


def scrape_text(collector: TextfileCollector, errors: ErrorCounter) -> str:
    registry = CollectorRegistry()
    registry.register(AgentCollector([collector], errors))
    return generate_latest(registry).decode()


def samples_of(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_the_default_directory_is_the_backup_settings_default() -> None:
    # agents may not import backup (DESIGN.md's layers), so the default is written twice and checked here
    assert DEFAULT_TEXTFILE_DIR == "/var/lib/prometheus/node-exporter"
    settings = pytest.importorskip("backup.settings", reason="backup.settings arrives with the backup issue")
    if not hasattr(settings, "DEFAULT_TEXTFILE_DIR"):
        pytest.skip("backup.settings has no DEFAULT_TEXTFILE_DIR on this branch yet")
    assert str(settings.DEFAULT_TEXTFILE_DIR) == DEFAULT_TEXTFILE_DIR


def test_files_are_served_merged_by_family_with_their_mtimes(tmp_path: Path) -> None:
    (tmp_path / "backup.prom").write_text(BACKUP_PROM)
    (tmp_path / "drill.prom").write_text(DRILL_PROM)
    (tmp_path / "notes.txt").write_text("not a metrics file {")
    (tmp_path / "backup.prom.tmp").write_text("half written {")
    os.utime(tmp_path / "backup.prom", (1_700_000_000, 1_700_000_000))
    errors = ErrorCounter()
    text = scrape_text(TextfileCollector(errors, tmp_path), errors)
    samples = samples_of(text)
    assert samples[("opsctl_backup_last_success_timestamp_seconds", (("policy", "his-db"),))] == 1.7646e9
    assert samples[("opsctl_drill_rto_seconds", (("policy", "his-db"),))] == 95.5
    ages = {labels: v for (name, labels), v in samples.items() if name == "opsctl_backup_snapshot_age_seconds"}
    assert len(ages) == 2
    assert text.count("# TYPE opsctl_backup_snapshot_age_seconds gauge") == 1
    assert samples[("node_textfile_mtime_seconds", (("file", "backup.prom"),))] == 1_700_000_000
    assert ("node_textfile_mtime_seconds", (("file", "drill.prom"),)) in samples
    assert samples[("node_textfile_scrape_error", ())] == 0
    assert errors.counts() == {}


def test_a_file_with_a_syntax_error_is_skipped_counted_and_named_the_rest_served(tmp_path: Path) -> None:
    (tmp_path / "backup.prom").write_text(BACKUP_PROM)
    (tmp_path / "broken.prom").write_text("# TYPE half_written gauge\nhalf_written{policy=\"x\" 1\n")
    logged: list[tuple[str, str]] = []
    errors = ErrorCounter(on_error=lambda collector, what: logged.append((collector, what)))
    collector = TextfileCollector(errors, tmp_path)
    samples = samples_of(scrape_text(collector, errors))
    assert ("opsctl_backup_last_success_timestamp_seconds", (("policy", "his-db"),)) in samples
    assert not any(name.startswith("half_written") for name, _ in samples)
    assert samples[("node_textfile_scrape_error", ())] == 1
    assert samples[("opsctl_agent_textfile_errors_total", (("file", "broken.prom"),))] == 1
    assert ("node_textfile_mtime_seconds", (("file", "broken.prom"),)) not in samples
    assert samples[("opsctl_agent_collector_errors_total", (("collector", "textfile"),))] == 1
    assert logged and logged[0][0] == "textfile" and str(tmp_path / "broken.prom") in logged[0][1]
    # fixed on disk: served again, the count stays as a record of the past error
    (tmp_path / "broken.prom").write_text("# TYPE half_written gauge\nhalf_written{policy=\"x\"} 1\n")
    samples = samples_of(scrape_text(collector, errors))
    assert samples[("half_written", (("policy", "x"),))] == 1
    assert samples[("node_textfile_scrape_error", ())] == 0
    assert samples[("opsctl_agent_textfile_errors_total", (("file", "broken.prom"),))] == 1


def test_client_side_timestamps_and_conflicting_types_skip_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.prom").write_text("# TYPE jobs_done counter\njobs_done_total 3\n")
    (tmp_path / "b.prom").write_text("# TYPE jobs_done gauge\njobs_done 4\n")
    (tmp_path / "c.prom").write_text("stamped 1 1700000000000\n")
    errors = ErrorCounter()
    samples = samples_of(scrape_text(TextfileCollector(errors, tmp_path), errors))
    assert samples[("jobs_done_total", ())] == 3
    assert ("jobs_done", ()) not in samples and ("stamped", ()) not in samples
    assert samples[("opsctl_agent_textfile_errors_total", (("file", "b.prom"),))] == 1
    assert samples[("opsctl_agent_textfile_errors_total", (("file", "c.prom"),))] == 1


def test_a_directory_not_there_yet_is_empty_not_an_error(tmp_path: Path) -> None:
    errors = ErrorCounter()
    samples = samples_of(scrape_text(TextfileCollector(errors, tmp_path / "later"), errors))
    assert samples[("node_textfile_scrape_error", ())] == 0
    assert errors.counts() == {}
