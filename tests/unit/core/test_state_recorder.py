"""The state store's part of the audit recorder: run owners, unfinished runs, pending and legacy anchors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from opsctl.core.owner import ProcessIdentity
from opsctl.core.state import LEGACY_AUDIT_LOG_ID, StateStore


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def test_a_run_records_its_owner_until_it_ends(store: StateStore) -> None:
    store.begin_run("r-1", "run", "uptime", "web*", "alice")
    elsewhere = ProcessIdentity("ctl2", 77, 1234.5, "another-boot")
    store.begin_run("r-2", "run", "true", "db", "bob", owner=elsewhere)

    [first, second] = store.unfinished_runs()

    assert (first.run_id, first.kind, first.command, first.target, first.operator) == (
        "r-1", "run", "uptime", "web*", "alice"
    )
    assert first.owner is not None and first.owner.alive() is True
    assert first.owner == ProcessIdentity.current()
    assert second.owner == elsewhere
    store.finish_run("r-1", "ok")
    assert [run.run_id for run in store.unfinished_runs()] == ["r-2"]


def test_ending_an_unfinished_run_leaves_an_ended_one_alone(store: StateStore) -> None:
    now = datetime.now(UTC)
    store.begin_run("r-2", "run", "true", "all", "alice", started_at=now - timedelta(minutes=1))
    store.begin_run("r-1", "run", "true", "all", "alice", started_at=now)
    store.finish_run("r-2", "ok")

    assert store.end_unfinished_run("r-1", "killed") is True
    assert store.end_unfinished_run("r-2", "killed") is False
    assert store.unfinished_runs() == []
    last = store.last_run("run")
    assert last is not None and (last.run_id, last.outcome) == ("r-1", "killed")
    assert last.finished_at is not None


def test_a_pending_anchor_sits_beside_the_anchor_until_it_moves(store: StateStore) -> None:
    store.set_pending_anchor(1, "a" * 64, "log-1")  # a new log: the empty chain's anchor
    anchor = store.get_anchor("log-1")
    assert anchor is not None
    assert (anchor.seq, anchor.hash, anchor.pending_seq, anchor.pending_hash) == (0, "0" * 64, 1, "a" * 64)

    store.set_anchor(1, "a" * 64, "log-1")
    store.set_pending_anchor(2, "b" * 64, "log-1")
    anchor = store.get_anchor("log-1")
    assert anchor is not None and (anchor.seq, anchor.pending_seq) == (1, 2)
    store.set_anchor(2, "b" * 64, "log-1")
    anchor = store.get_anchor("log-1")
    assert anchor is not None and (anchor.seq, anchor.pending_seq, anchor.pending_hash) == (2, None, None)
    assert store.get_anchor("log-2") is None


def test_the_legacy_anchor_goes_to_the_first_log_that_claims_it(store: StateStore) -> None:
    store.set_anchor(7, "f" * 64)  # as a store migrated from before log ids holds it
    assert store.claim_legacy_anchor("log-1") is not None
    assert store.get_anchor(LEGACY_AUDIT_LOG_ID) is None
    anchor = store.get_anchor("log-1")
    assert anchor is not None and (anchor.seq, anchor.hash) == (7, "f" * 64)
    assert store.claim_legacy_anchor("log-2") is None
    assert store.get_anchor("log-2") is None


def test_a_log_with_an_anchor_never_takes_the_legacy_one(store: StateStore) -> None:
    store.set_anchor(7, "f" * 64)
    store.set_anchor(1, "a" * 64, "log-1")
    assert store.claim_legacy_anchor("log-1") is None
    legacy = store.get_anchor(LEGACY_AUDIT_LOG_ID)
    assert legacy is not None and legacy.seq == 7
