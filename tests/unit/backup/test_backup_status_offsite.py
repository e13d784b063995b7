"""``backup_status`` from a real SQLite store: the off-site copy's age against the RPO, its last copy, the exit code."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from backup import queries
from backup.status import backup_status
from opsctl.core.config import load_settings
from opsctl.core.errors import ConfigError
from opsctl.core.settings import Settings
from opsctl.core.state import StateStore

NOW = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)


def _settings(tmp_path: Path, policy_extra: str = "") -> Settings:
    config = tmp_path / "opsctl.yaml"
    config.write_text(
        "backup:\n"
        "  repositories:\n"
        f"    local: {{type: local, path: {tmp_path}/repo, password: 'file:{tmp_path}/pw'}}\n"
        f"    offsite: {{type: local, path: {tmp_path}/offsite, password: 'file:{tmp_path}/pw'}}\n"
        "  policies:\n"
        f"    his: {{paths: [/srv/his], repository: local, offsite: offsite, objectives: {{rpo: 4h}}{policy_extra}}}\n"
        "    plain: {paths: [/srv/plain], repository: local}\n"
    )
    return load_settings(config, environ={}, system_file=tmp_path / "none.yaml", user_file=tmp_path / "none2.yaml")


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def _good(store: StateStore, repository: str, taken_at: datetime) -> None:
    queries.record_snapshot(store, queries.SnapshotRow(f"{repository}-{taken_at:%H%M}", repository, "his", "r1",
                                                       "full", "paths", taken_at, 1, 1))


def test_a_fresh_off_site_copy_is_within_the_rpo(tmp_path: Path, store: StateStore) -> None:
    _good(store, "local", NOW - timedelta(minutes=10))
    _good(store, "offsite", NOW - timedelta(minutes=10))
    queries.begin_copy(store, copy_id="c1", policy="his", source_repository="local", target_repository="offsite",
                       started_at=NOW - timedelta(minutes=5))
    queries.finish_copy(store, copy_id="c1", finished_at=NOW - timedelta(minutes=4), outcome="ok",
                        snapshot_ids=["offsite-0550"], error=None)
    report = backup_status(_settings(tmp_path), "his", store=store, with_size=False, now=NOW)
    (his,) = report.policies
    assert (his.offsite_status, his.offsite_age_seconds, his.offsite_within_rpo) == ("ok", 600.0, True)
    assert report.exit_code == 0
    offsite = his.to_dict()["offsite"]
    assert offsite["last_copy"]["outcome"] == "ok" and offsite["within_rpo"] is True


def test_a_failed_copy_or_an_old_off_site_snapshot_fails_the_status(tmp_path: Path, store: StateStore) -> None:
    _good(store, "local", NOW - timedelta(minutes=10))
    _good(store, "offsite", NOW - timedelta(hours=5))
    report = backup_status(_settings(tmp_path), "his", store=store, with_size=False, now=NOW)
    assert report.policies[0].offsite_status == "stale" and report.exit_code == 1
    queries.begin_copy(store, copy_id="c2", policy="his", source_repository="local", target_repository="offsite",
                       started_at=NOW - timedelta(minutes=1))
    queries.finish_copy(store, copy_id="c2", finished_at=NOW, outcome="failed", snapshot_ids=[],
                        error="restic repository s3:…: unreachable")
    report = backup_status(_settings(tmp_path), "his", store=store, with_size=False, now=NOW)
    assert report.policies[0].offsite_status == "copy failed" and report.exit_code == 1


def test_a_policy_without_off_site_keeps_its_shape(tmp_path: Path, store: StateStore) -> None:
    queries.record_snapshot(store, queries.SnapshotRow("p1", "local", "plain", "r1", "full", "paths",
                                                       NOW - timedelta(minutes=1), 1, 1))
    report = backup_status(_settings(tmp_path), "plain", store=store, with_size=False, now=NOW)
    assert report.policies[0].to_dict()["offsite"] == {"repository": None, "status": "not configured"}
    assert report.policies[0].offsite_within_rpo is None and report.exit_code == 0


def test_copy_after_run_needs_an_off_site_repository(tmp_path: Path) -> None:
    config = tmp_path / "opsctl.yaml"
    config.write_text("backup:\n  repositories:\n    local: {type: local, path: /r, password: 'file:/pw'}\n"
                      "  policies:\n    his: {paths: [/srv], repository: local, copy_after_run: true}\n")
    with pytest.raises(ConfigError, match="copy_after_run needs an offsite repository"):
        load_settings(config, environ={}, system_file=tmp_path / "n.yaml", user_file=tmp_path / "n2.yaml")
