"""The audit log: the hash chain, its anchor, and every kind of tampering verify must catch."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import stat
from pathlib import Path

import pytest

from opsctl.core.audit import GENESIS_HASH, AuditLog, AuditReport, open_audit
from opsctl.core.errors import AuditError
from opsctl.core.settings import Settings, StateSettings
from opsctl.core.state import StateStore


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "audit" / "audit.jsonl"


@pytest.fixture
def audit(log_path: Path, db_url: str) -> AuditLog:
    return AuditLog(log_path, StateStore(db_url), operator="alice")


def fill(audit: AuditLog, count: int) -> None:
    for number in range(1, count + 1):
        audit.append(f"run web* -- step {number}", ["web1", "web2"], "ok", {"number": number})


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def messages(report: AuditReport) -> list[str]:
    return [f"line {problem.line}: {problem.message}" for problem in report.problems]


# ----------------------------------------------------------------------------- the chain


def test_a_chain_of_entries_verifies(audit: AuditLog) -> None:
    fill(audit, 5)
    report = audit.verify()
    assert report == AuditReport(ok=True, entries=5, problems=[], anchor_seq=5)


def test_each_line_is_chained_by_sha256_over_prev_and_canonical_json(
    audit: AuditLog, log_path: Path
) -> None:
    audit.append("hosts trust db1", ["db1"], "ok", {"fingerprint": "SHA256:abc", "note": "café"})
    audit.append("run all -- uptime", ["db1", "web1"], "failed")

    first, second = (json.loads(line) for line in lines_of(log_path))
    assert set(first) == {
        "seq", "time", "operator", "command", "targets", "outcome", "details", "prev", "hash"
    }  # fmt: skip
    assert (first["seq"], first["prev"], first["operator"]) == (1, GENESIS_HASH, "alice")
    assert first["time"].endswith("Z")
    assert (second["seq"], second["prev"], second["details"]) == (2, first["hash"], {})
    for entry in (first, second):
        body = {key: value for key, value in entry.items() if key != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        expected = hashlib.sha256((entry["prev"] + canonical).encode("utf-8")).hexdigest()
        assert entry["hash"] == expected
    anchor = audit.store.get_anchor(audit.log_id or "")
    assert anchor is not None and (anchor.seq, anchor.hash) == (2, second["hash"])


def test_the_file_is_private_and_entries_read_back(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 3)
    assert stat.S_IMODE(log_path.stat().st_mode) == 0o600
    entries = audit.entries()
    assert [entry.seq for entry in entries] == [1, 2, 3]
    assert entries[0].targets == ("web1", "web2") and entries[2].details == {"number": 3}


def test_the_operator_defaults_to_sudo_user(
    log_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUDO_USER", "carol")
    entry = AuditLog(log_path, StateStore(db_url)).append("lab up", [], "ok")
    assert entry.operator == "carol"


def test_open_audit_uses_the_state_directory_and_configured_operator(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"state": StateSettings(dir=tmp_path / "var"), "audit": {"operator": "ops-team"}}
    )
    entry = open_audit(settings).append("lab down", [], "ok")
    assert entry.operator == "ops-team"
    assert (tmp_path / "var" / "audit.jsonl").is_file()


def test_a_line_separator_inside_a_command_stays_on_one_line(audit: AuditLog) -> None:
    audit.append("echo 'a\u2028b'\nrm -rf /tmp/x", ["h1"], "ok")
    audit.append("second", ["h1"], "ok")
    assert audit.verify().ok
    assert audit.entries()[0].command == "echo 'a\u2028b'\nrm -rf /tmp/x"


def test_details_that_are_not_json_are_refused(audit: AuditLog, log_path: Path) -> None:
    with pytest.raises(AuditError, match="not JSON-serialisable"):
        audit.append("run", ["h1"], "ok", {"when": object()})
    assert audit.entries() == []


def test_an_empty_log_without_an_anchor_is_ok(audit: AuditLog, log_path: Path) -> None:
    assert audit.verify() == AuditReport(ok=True, entries=0, problems=[], anchor_seq=None)
    log_path.parent.mkdir(parents=True)
    log_path.write_bytes(b"")
    assert audit.verify().ok


# ----------------------------------------------------------------------------- tampering


def test_an_edited_field_is_detected(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 4)
    lines = lines_of(log_path)
    lines[1] = lines[1].replace('"outcome":"ok"', '"outcome":"failed"')
    log_path.write_text("".join(lines), encoding="utf-8")

    report = audit.verify()

    assert not report.ok
    assert messages(report) == ["line 2: seq 2: hash mismatch: the line was edited"]


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 4)
    lines = lines_of(log_path)
    forged = json.loads(lines[1])
    forged["outcome"] = "failed"
    body = {key: value for key, value in forged.items() if key != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    forged["hash"] = hashlib.sha256((forged["prev"] + canonical).encode()).hexdigest()
    lines[1] = json.dumps(forged) + "\n"
    log_path.write_text("".join(lines), encoding="utf-8")

    problems = messages(audit.verify())

    assert len(problems) == 1
    assert problems[0].startswith(
        "line 3: seq 3: prev does not match the hash of the line of seq 2"
    )


def test_a_deleted_middle_line_is_detected(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 5)
    lines = lines_of(log_path)
    del lines[2]
    log_path.write_text("".join(lines), encoding="utf-8")

    assert messages(audit.verify()) == [
        "line 3: seq jumps from 2 to 4: seq 3 missing or out of order"
    ]


def test_a_deleted_first_line_is_detected(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 3)
    log_path.write_text("".join(lines_of(log_path)[1:]), encoding="utf-8")
    assert messages(audit.verify()) == [
        "line 1: the log starts at seq 2: seq 1 missing (lines removed from the start)"
    ]


def test_two_swapped_lines_are_detected(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 5)
    lines = lines_of(log_path)
    lines[1], lines[2] = lines[2], lines[1]
    log_path.write_text("".join(lines), encoding="utf-8")

    assert messages(audit.verify()) == [
        "line 2: seq jumps from 1 to 3: seq 2 missing or out of order",
        "line 3: seq 2 follows seq 3: lines are out of order or repeated",
    ]


def test_a_cut_off_tail_is_detected_through_the_anchor(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 5)
    log_path.write_text("".join(lines_of(log_path)[:-2]), encoding="utf-8")

    report = audit.verify()

    assert messages(report) == [
        "line 4: the log ends at seq 3 but the state store's anchor is seq 5: "
        "lines were removed from the end"
    ]


def test_a_cut_off_tail_stays_visible_after_the_next_append(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 5)
    log_path.write_text("".join(lines_of(log_path)[:-2]), encoding="utf-8")
    cut = log_path.read_bytes()

    with pytest.raises(AuditError) as refused:
        audit.append("run web* -- after the cut", ["web1"], "ok")

    assert str(refused.value) == (
        f"audit log {log_path}: line 3 (seq 3) does not match the anchor seq 5: "
        "lines were removed from the end"
    )
    assert log_path.read_bytes() == cut
    assert messages(audit.verify()) == [
        "line 4: the log ends at seq 3 but the state store's anchor is seq 5: "
        "lines were removed from the end"
    ]


def test_everything_cut_from_the_log_is_detected(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 2)
    log_path.write_bytes(b"")
    assert messages(audit.verify()) == [
        "line 1: the log has no entries but the state store's anchor is seq 2: lines were removed"
    ]


def test_a_line_truncated_mid_write_is_reported(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 3)
    data = log_path.read_bytes()
    log_path.write_bytes(data[: len(data) - 40])

    problems = messages(audit.verify())

    assert problems[0] == (
        "line 3: partial last line (no newline at the end): a write was interrupted"
    )
    assert "lines were removed from the end" in problems[1]


def test_an_append_after_a_partial_line_keeps_it_reported_and_chains_on(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 2)
    with log_path.open("ab") as stream:
        stream.write(b'{"seq":3,"time":"2026-')  # a crash mid-write, before the anchor moved

    entry = audit.append("run web* -- next", ["web1"], "ok")

    assert entry.seq == 3
    assert messages(audit.verify()) == ["line 3: malformed JSON"]
    assert [e.seq for e in audit.entries()] == [1, 2, 3]


def test_malformed_lines_are_reported(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 2)
    lines = lines_of(log_path)
    lines.insert(1, "not json at all\n")
    lines.insert(2, '{"seq": 9}\n')
    log_path.write_text("".join(lines), encoding="utf-8")

    problems = messages(audit.verify())

    assert problems[0] == "line 2: malformed JSON"
    assert problems[1].startswith("line 3: not an audit entry: missing time, operator")
    assert len(problems) == 2


def test_a_deleted_file_is_detected_while_an_anchor_exists(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 3)
    log_path.unlink()

    report = audit.verify()

    assert not report.ok and report.anchor_seq == 3
    assert messages(report) == [
        f"line 1: the audit log {log_path} is missing but the state store's anchor is seq 3: "
        "the file was deleted or moved"
    ]


def test_a_log_without_an_anchor_is_reported(log_path: Path, db_url: str, tmp_path: Path) -> None:
    fill(AuditLog(log_path, StateStore(db_url), operator="alice"), 2)
    fresh_store = StateStore(f"sqlite:///{tmp_path / 'other.db'}")

    report = AuditLog(log_path, fresh_store).verify()

    assert not report.ok and report.entries == 2
    assert messages(report)[0].startswith("line 2: no anchor in the state store")


def test_lines_added_behind_the_anchor_are_reported(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 3)
    audit.store.set_anchor(2, json.loads(lines_of(log_path)[1])["hash"], audit.log_id or "")
    assert "lines were added without moving the anchor" in messages(audit.verify())[0]


# ----------------------------------------------------------------------------- concurrency


def _append_many(path: str, url: str, worker: int, count: int) -> None:
    log = AuditLog(Path(path), StateStore(url), operator=f"worker{worker}")
    for number in range(count):
        log.append(f"run -- {worker}/{number}", [f"host{worker}"], "ok", {"n": number})


def test_appends_from_several_processes_form_one_valid_chain(log_path: Path, db_url: str) -> None:
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_append_many, args=(str(log_path), db_url, worker, 15))
        for worker in range(4)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
    assert [process.exitcode for process in workers] == [0] * 4

    audit = AuditLog(log_path, StateStore(db_url))
    assert audit.verify() == AuditReport(ok=True, entries=60, problems=[], anchor_seq=60)
    assert [entry.seq for entry in audit.entries()] == list(range(1, 61))
