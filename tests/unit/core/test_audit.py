"""The audit log: the hash chain, its anchor, and every kind of tampering verify must catch."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import pwd
import stat
from pathlib import Path

import pytest

from opsctl.core.audit import (
    GENESIS_HASH,
    AuditLog,
    AuditReport,
    current_actor,
    entry_hash,
    open_audit,
)
from opsctl.core.errors import AuditError
from opsctl.core.settings import Settings, StateSettings
from opsctl.core.state import LEGACY_AUDIT_LOG_ID, StateStore


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
    assert (second["seq"], second["prev"]) == (2, first["hash"])
    # the caller's details, and who ran the command beside them (nothing else is added)
    assert {k: v for k, v in second["details"].items() if k != "actor"} == {}
    assert second["details"]["actor"]["operator_declared_by"] == "audit.operator"
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
    assert entries[0].targets == ("web1", "web2")
    assert {k: v for k, v in entries[2].details.items() if k != "actor"} == {"number": 3}


def test_the_operator_defaults_to_sudo_user(
    log_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUDO_USER", "carol")
    entry = AuditLog(log_path, StateStore(db_url)).append("lab up", [], "ok")
    assert entry.operator == "carol"


def test_a_declared_operator_is_marked_declared_beside_the_real_uid_and_user(
    log_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUDO_USER", "mallory")
    monkeypatch.delenv("OPSCTL_AUDIT__OPERATOR", raising=False)
    AuditLog(log_path, StateStore(db_url)).append("lab up", [], "ok")

    stored = json.loads(lines_of(log_path)[0])
    assert stored["operator"] == "mallory"
    actor = stored["details"]["actor"]
    assert actor["operator_declared_by"] == "SUDO_USER"
    assert actor["uid"] == os.getuid()
    assert actor["user"] == pwd.getpwuid(os.getuid()).pw_name
    assert set(actor) == {"uid", "user", "login", "login_source", "operator_declared_by"}


def test_the_operator_setting_from_the_environment_is_declared_by_that_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSCTL_AUDIT__OPERATOR", "ops-team")
    actor = current_actor("ops-team", loginuid_path=tmp_path / "none")
    assert (actor.operator, actor.declared_by) == ("ops-team", "OPSCTL_AUDIT__OPERATOR")
    actor = current_actor("ops-team", {}, loginuid_path=tmp_path / "none")
    assert (actor.operator, actor.declared_by) == ("ops-team", "audit.operator")


def test_an_operator_derived_from_the_process_is_not_declared(tmp_path: Path) -> None:
    user = pwd.getpwuid(os.getuid()).pw_name
    actor = current_actor(None, {"USER": user}, loginuid_path=tmp_path / "none")
    assert (actor.operator, actor.declared_by) == (user, None)
    # a login variable that names someone else is a declaration too
    actor = current_actor(None, {"USER": "mallory"}, loginuid_path=tmp_path / "none")
    assert (actor.operator, actor.declared_by, actor.user) == ("mallory", "USER", user)
    actor = current_actor(None, {}, loginuid_path=tmp_path / "none")
    assert (actor.operator, actor.declared_by) == (user, None)


def test_the_login_comes_from_the_kernel_login_uid_when_set(tmp_path: Path) -> None:
    loginuid = tmp_path / "loginuid"
    loginuid.write_text(str(os.getuid()))
    actor = current_actor(None, {"SUDO_USER": "mallory"}, loginuid_path=loginuid)
    assert (actor.login, actor.login_source) == (pwd.getpwuid(os.getuid()).pw_name, "loginuid")
    loginuid.write_text("4294967295")  # no login session: fall back to the terminal's record
    actor = current_actor(None, {}, loginuid_path=loginuid)
    assert actor.login_source in ("getlogin", None)


def test_details_may_not_forge_the_actor(audit: AuditLog, log_path: Path) -> None:
    with pytest.raises(AuditError, match="actor"):
        audit.append("run all -- true", [], "ok", {"actor": {"uid": 0, "user": "root"}})
    assert not log_path.exists() or lines_of(log_path) == []


def test_entries_written_before_the_actor_existed_still_verify(
    audit: AuditLog, log_path: Path
) -> None:
    """A line without details["actor"] (an older opsctl's) verifies, and new ones chain on it."""
    audit.append("lab up", [], "ok")
    first = json.loads(lines_of(log_path)[0])
    del first["details"]["actor"]
    body = {key: value for key, value in first.items() if key != "hash"}
    first["hash"] = entry_hash(body)
    log_path.write_text(json.dumps(first) + "\n")
    audit.store.set_anchor(1, first["hash"], audit.log_id or "")

    second = audit.append("lab down", [], "ok")
    assert audit.verify().ok
    assert audit.entries()[0].actor is None and second.actor is not None


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


# ----------------------------------------------------------------------------- a forged tail is refused


def forge(line: str, **changes: object) -> str:
    """``line`` with ``changes`` made and its hash recomputed, as a careful forger would."""
    body = {key: value for key, value in json.loads(line).items() if key != "hash"}
    body.update(changes)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body["hash"] = hashlib.sha256((str(body["prev"]) + canonical).encode()).hexdigest()
    return json.dumps(body) + "\n"


def refusal(audit: AuditLog) -> str:
    """The message of the AuditError the next append raises (and that it leaves the log alone)."""
    before = audit.path.read_bytes() if audit.path.exists() else None
    with pytest.raises(AuditError) as refused:
        audit.append("run web* -- after", ["web1"], "ok")
    assert (audit.path.read_bytes() if audit.path.exists() else None) == before
    assert "opsctl audit verify" in (refused.value.hint or "")
    assert "opsctl audit acknowledge" in (refused.value.hint or "")
    return str(refused.value)


def test_a_forged_line_appended_with_a_correct_hash_is_never_chained_over(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 3)
    last = lines_of(log_path)[-1]
    forged = forge(last, seq=4, prev=json.loads(last)["hash"], command="run all -- nothing to see")
    with log_path.open("a", encoding="utf-8") as stream:
        stream.write(forged)

    assert refusal(audit) == (
        f"audit log {log_path}: line 4 (seq 4) does not match the anchor seq 3: "
        "lines were added outside opsctl"
    )
    # and again: the anchor never moves over the forged line, so verify keeps reporting it
    with pytest.raises(AuditError, match="line 4 \\(seq 4\\) does not match the anchor seq 3"):
        audit.check_appendable()
    assert messages(audit.verify()) == [
        "line 4: the log ends at seq 4 but the state store's anchor is seq 3: lines were added "
        "without moving the anchor (lines added outside opsctl)"
    ]


def test_an_edited_last_line_is_refused_with_or_without_a_new_hash(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 3)
    original = lines_of(log_path)
    log_path.write_text("".join([*original[:2], original[2].replace('"ok"', '"failed"')]))
    assert refusal(audit) == (
        f"audit log {log_path}: line 3 (seq 3) was edited: its hash does not match its content"
    )

    log_path.write_text("".join([*original[:2], forge(original[2], outcome="failed")]))
    assert refusal(audit) == (
        f"audit log {log_path}: line 3 (seq 3) does not match the anchor seq 3: "
        "the line was replaced outside opsctl"
    )
    assert messages(audit.verify()) == [
        "line 3: the last line (seq 3) does not match the state store's anchor: "
        "the end of the log was rewritten"
    ]


def test_a_deleted_or_emptied_log_is_refused_not_started_again(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 2)
    log_path.unlink()
    assert refusal(audit) == (
        f"audit log {log_path}: the log is missing but its anchor is seq 2: "
        "it was deleted or moved outside opsctl"
    )
    assert not log_path.exists()

    log_path.write_bytes(b"")
    assert refusal(audit) == (
        f"audit log {log_path}: the log has no entries but its anchor is seq 2: "
        "it was emptied or replaced outside opsctl"
    )


def test_a_line_that_is_not_an_entry_after_the_tail_is_refused(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 2)
    with log_path.open("a", encoding="utf-8") as stream:
        stream.write("not json at all\n")
    assert refusal(audit) == (
        f"audit log {log_path}: line 3 is not an audit entry (malformed JSON): "
        "it was written outside opsctl"
    )


def test_a_log_without_its_anchor_is_refused(log_path: Path, db_url: str, tmp_path: Path) -> None:
    fill(AuditLog(log_path, StateStore(db_url), operator="alice"), 2)
    other = AuditLog(log_path, StateStore(f"sqlite:///{tmp_path / 'other.db'}"))
    message = refusal(other)
    assert message.startswith(
        f"audit log {log_path}: line 2 (seq 2) has no anchor in the state store"
    )
    assert "the store was reset, is not this log's, or the log's id file was lost" in message


# ----------------------------------------------------------------------------- a crash is not forgery


def _append_killed_at(path: str, url: str, where: str) -> None:
    """Append one entry and SIGKILL this process at ``where``: before the write, or after it."""
    import os
    import signal

    from opsctl.core import audit as module

    log = AuditLog(Path(path), StateStore(url), operator="doomed")
    if where == "before the write":
        module._write_all = lambda fd, data: os.kill(os.getpid(), signal.SIGKILL)
    else:

        def set_anchor(seq: int, hash: str, log_id: str = "") -> None:
            os.kill(os.getpid(), signal.SIGKILL)

        log.store.set_anchor = set_anchor  # type: ignore[method-assign]
    log.append("run web* -- killed", ["web1"], "ok")


def _killed_append(audit: AuditLog, db_url: str, where: str) -> None:
    import signal

    child = multiprocessing.get_context("fork").Process(
        target=_append_killed_at, args=(str(audit.path), db_url, where)
    )
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL


def test_a_kill_between_the_write_and_the_anchor_is_completed_on_the_next_append(
    audit: AuditLog, db_url: str
) -> None:
    fill(audit, 2)
    _killed_append(audit, db_url, "after the write")
    assert [entry.command for entry in audit.entries()][-1] == "run web* -- killed"
    anchor = audit.store.get_anchor(audit.log_id or "")
    assert anchor is not None and (anchor.seq, anchor.pending_seq) == (2, 3)

    report = audit.verify()
    assert report.ok and report.anchor_seq == 3
    assert report.notes == [
        "seq 3 was written by an append stopped before it moved the anchor (the process was "
        "killed): the next append completes it"
    ]

    entry = audit.append("run web* -- next", ["web1"], "ok")

    assert entry.seq == 4
    assert audit.verify() == AuditReport(ok=True, entries=4, problems=[], anchor_seq=4)
    anchor = audit.store.get_anchor(audit.log_id or "")
    assert anchor is not None and (anchor.seq, anchor.pending_seq) == (4, None)


def test_a_kill_before_the_write_leaves_nothing_to_complete(audit: AuditLog, db_url: str) -> None:
    fill(audit, 2)
    _killed_append(audit, db_url, "before the write")
    assert audit.verify() == AuditReport(ok=True, entries=2, problems=[], anchor_seq=2)
    assert audit.append("run web* -- next", ["web1"], "ok").seq == 3
    assert audit.verify().ok


def test_a_kill_before_the_anchor_of_a_new_log_s_first_line(audit: AuditLog, db_url: str) -> None:
    _killed_append(audit, db_url, "after the write")
    assert audit.verify().ok
    assert audit.append("second", [], "ok").seq == 2
    assert audit.verify() == AuditReport(ok=True, entries=2, problems=[], anchor_seq=2)


# ----------------------------------------------------------------------------- acknowledge


def test_acknowledge_records_the_break_and_appends_go_on(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 3)
    anchor_hash = json.loads(lines_of(log_path)[-1])["hash"]
    forged = forge(lines_of(log_path)[-1], seq=4, prev=anchor_hash, command="forged")
    with log_path.open("a", encoding="utf-8") as stream:
        stream.write(forged)

    done = audit.acknowledge("the backup tool appended by hand; ticket 42")

    assert done.found == (
        "line 4 (seq 4) does not match the anchor seq 3: lines were added outside opsctl"
    )
    entry = done.entry
    assert (entry.seq, entry.command, entry.outcome, entry.prev) == (
        5,
        "audit acknowledge",
        "ok",
        json.loads(forged)["hash"],
    )
    assert entry.details["reason"] == "the backup tool appended by hand; ticket 42"
    assert entry.details["anchor"] == {"seq": 3, "hash": anchor_hash}
    assert entry.details["tail"] == {"line": 4, "seq": 4, "hash": json.loads(forged)["hash"]}
    assert entry.details["log_id"] == audit.log_id
    assert [problem["line"] for problem in entry.details["problems"]] == [4]

    report = audit.verify()
    assert report.ok and report.anchor_seq == 5
    assert [(a.line, a.seq) for a in report.acknowledged] == [(4, 5)]
    assert audit.append("run web* -- after", ["web1"], "ok").seq == 6
    assert audit.verify().ok


def test_acknowledge_a_cut_off_tail_chains_onto_what_is_left(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 5)
    log_path.write_text("".join(lines_of(log_path)[:-2]), encoding="utf-8")

    done = audit.acknowledge()

    assert done.entry.seq == 4 and done.entry.details["anchor"]["seq"] == 5
    assert "lines were removed from the end" in (done.found or "")
    report = audit.verify()
    assert (report.ok, report.entries, report.problems, report.anchor_seq) == (True, 4, [], 4)
    assert [(a.line, a.message, a.seq) for a in report.acknowledged] == [
        (
            4,
            "the log ends at seq 3 but the state store's anchor is seq 5: lines were removed from the end",
            4,
        )
    ]


def test_an_edited_line_in_the_middle_stays_reported_until_acknowledged(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 4)
    lines = lines_of(log_path)
    lines[1] = lines[1].replace('"ok"', '"failed"')
    log_path.write_text("".join(lines), encoding="utf-8")
    assert audit.append("run -- 5", [], "ok").seq == 5  # the tail is intact: appends go on
    assert messages(audit.verify()) == ["line 2: seq 2: hash mismatch: the line was edited"]

    done = audit.acknowledge("restored from the paper copy")

    assert done.found is None
    report = audit.verify()
    assert report.ok and report.problems == []
    assert [(a.line, a.message, a.seq) for a in report.acknowledged] == [
        (2, "seq 2: hash mismatch: the line was edited", 6)
    ]
    lines = lines_of(log_path)
    lines[2] = lines[2].replace('"ok"', '"failed"')  # a new edit is a new problem
    log_path.write_text("".join(lines), encoding="utf-8")
    report = audit.verify()
    assert messages(report) == ["line 3: seq 3: hash mismatch: the line was edited"]
    assert [a.line for a in report.acknowledged] == [2]
    lines.append(lines[-1])  # and anything wrong after an acknowledgement voids it
    log_path.write_text("".join(lines), encoding="utf-8")
    assert messages(audit.verify())[:2] == [
        "line 2: seq 2: hash mismatch: the line was edited",
        "line 3: seq 3: hash mismatch: the line was edited",
    ]


def test_a_forged_acknowledgement_hides_nothing(audit: AuditLog, log_path: Path) -> None:
    fill(audit, 3)
    lines = lines_of(log_path)
    lines[0] = lines[0].replace('"ok"', '"failed"')
    last = json.loads(lines[-1])
    lines.append(
        forge(
            lines[-1],
            seq=4,
            prev=last["hash"],
            command="audit acknowledge",
            details={
                "problems": [{"line": 1, "message": "seq 1: hash mismatch: the line was edited"}]
            },
        )
    )
    log_path.write_text("".join(lines), encoding="utf-8")

    problems = messages(audit.verify())

    assert problems[0] == "line 1: seq 1: hash mismatch: the line was edited"
    assert "lines were added without moving the anchor" in problems[1]


def test_acknowledge_refuses_when_there_is_nothing_to_acknowledge(audit: AuditLog) -> None:
    from opsctl.core.errors import ExitCode, UsageError

    fill(audit, 2)
    with pytest.raises(UsageError, match="nothing to acknowledge") as refused:
        audit.acknowledge("just in case")
    assert refused.value.exit_code == ExitCode.USAGE
    assert [entry.seq for entry in audit.entries()] == [1, 2]


# ----------------------------------------------------------------------------- the log's identity


def test_two_logs_in_one_store_keep_their_own_chains(tmp_path: Path, db_url: str) -> None:
    store = StateStore(db_url)
    first = AuditLog(tmp_path / "ctl1" / "audit.jsonl", store, operator="ctl1")
    second = AuditLog(tmp_path / "ctl2" / "audit.jsonl", store, operator="ctl2")
    for number in range(3):
        first.append(f"first {number}", [], "ok")
        second.append(f"second {number}", [], "ok")
    second.append("second 3", [], "ok")

    assert first.log_id and second.log_id and first.log_id != second.log_id
    assert (tmp_path / "ctl1" / "audit.jsonl.id").read_text().strip() == first.log_id
    assert first.verify() == AuditReport(ok=True, entries=3, problems=[], anchor_seq=3)
    assert second.verify() == AuditReport(ok=True, entries=4, problems=[], anchor_seq=4)
    # a break in one chain leaves the other alone
    (tmp_path / "ctl1" / "audit.jsonl").write_text("".join(lines_of(first.path)[:-1]))
    with pytest.raises(AuditError):
        first.append("first 3", [], "ok")
    assert second.append("second 4", [], "ok").seq == 5


def test_a_log_restored_from_a_backup_reports_what_it_lost(
    audit: AuditLog, log_path: Path, tmp_path: Path
) -> None:
    fill(audit, 2)
    backup = tmp_path / "backup"
    backup.mkdir()
    for path in (log_path, audit.id_path):
        (backup / path.name).write_bytes(path.read_bytes())
    fill(audit, 2)
    for path in (log_path, audit.id_path):
        path.write_bytes((backup / path.name).read_bytes())

    restored = AuditLog(log_path, audit.store)
    assert "line 2 (seq 2) does not match the anchor seq 2" not in refusal(restored)
    assert refusal(restored).endswith(
        "does not match the anchor seq 4: lines were removed from the end"
    )
    restored.acknowledge("restored from last night's backup")
    assert restored.verify().ok


def test_a_log_moved_without_its_id_file_is_refused_until_acknowledged(
    audit: AuditLog, log_path: Path, tmp_path: Path
) -> None:
    fill(audit, 2)
    moved = tmp_path / "elsewhere" / "audit.jsonl"
    moved.parent.mkdir()
    log_path.rename(moved)
    log = AuditLog(moved, audit.store)

    assert "has no anchor in the state store" in refusal(log)
    assert log.acknowledge("moved to the new disk").entry.seq == 3
    assert log.log_id != audit.log_id
    report = log.verify()
    assert (report.ok, report.entries, report.anchor_seq) == (True, 3, 3)
    assert [(a.line, a.seq) for a in report.acknowledged] == [(2, 3)]
    assert report.acknowledged[0].message.startswith("no anchor in the state store")


def test_the_anchor_of_a_store_from_before_log_ids_is_claimed_by_the_first_append(
    log_path: Path, tmp_path: Path
) -> None:
    fill(AuditLog(log_path, StateStore(f"sqlite:///{tmp_path / 'scratch.db'}")), 3)
    log_path.with_name("audit.jsonl.id").unlink()  # as the current release leaves it: no id
    store = StateStore(f"sqlite:///{tmp_path / 'old.db'}")
    store.set_anchor(3, json.loads(lines_of(log_path)[-1])["hash"], LEGACY_AUDIT_LOG_ID)
    log = AuditLog(log_path, store)

    assert log.log_id is None
    assert log.verify() == AuditReport(ok=True, entries=3, problems=[], anchor_seq=3)
    assert log.append("after the upgrade", [], "ok").seq == 4

    assert store.get_anchor(LEGACY_AUDIT_LOG_ID) is None
    anchor = store.get_anchor(log.log_id or "")
    assert anchor is not None and anchor.seq == 4
    assert AuditLog(log_path, store).verify().ok


def test_the_legacy_anchor_still_catches_a_cut_tail_at_the_upgrade(
    log_path: Path, tmp_path: Path
) -> None:
    fill(AuditLog(log_path, StateStore(f"sqlite:///{tmp_path / 'scratch.db'}")), 3)
    log_path.with_name("audit.jsonl.id").unlink()
    store = StateStore(f"sqlite:///{tmp_path / 'old.db'}")
    store.set_anchor(3, json.loads(lines_of(log_path)[-1])["hash"], LEGACY_AUDIT_LOG_ID)
    log_path.write_text("".join(lines_of(log_path)[:-1]))

    assert refusal(AuditLog(log_path, store)).endswith(
        "line 2 (seq 2) does not match the anchor seq 3: lines were removed from the end"
    )


# ----------------------------------------------------------------------------- runs begun, never ended


def test_verify_lists_runs_that_began_and_never_ended(audit: AuditLog) -> None:
    import subprocess
    import sys

    from opsctl.core.owner import ProcessIdentity

    fill(audit, 1)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        owner = ProcessIdentity.of_pid(child.pid)
        audit.store.begin_run("killed", "run", "sleep 60", "web*", "alice", owner=owner)
        audit.store.begin_run("running", "run", "sleep 61", "db", "bob")
        audit.store.begin_run(
            "elsewhere",
            "run",
            "sleep 62",
            "all",
            "carol",
            owner=ProcessIdentity("ctl2", 4242, 1.0, "boot"),
        )
        audit.store.begin_run("ended", "run", "true", "all", "dave")
        audit.store.finish_run("ended", "ok")
    finally:
        child.kill()
        child.wait()

    report = audit.verify()

    assert report.ok and report.exit_code == 0
    assert [(s.run.run_id, s.state) for s in report.unfinished_runs] == [
        ("killed", "dead"),
        ("running", "running"),
        ("elsewhere", "unknown"),
    ]
    assert len(report.warnings) == 1
    assert report.warnings[0].startswith("run killed (run web* -- sleep 60) began ")
    assert f"its owner (pid {child.pid} on " in report.warnings[0]
    assert "is dead: it was killed (SIGKILL, the OOM killer, a reboot)" in report.warnings[0]
    assert report.to_dict()["unfinished_runs"][2]["owner"]["host"] == "ctl2"

    done = audit.acknowledge()  # the dead run is recorded and ended; the others are left

    assert [run["run_id"] for run in done.entry.details["runs"]] == ["killed"]
    assert [(s.run.run_id, s.state) for s in audit.verify().unfinished_runs] == [
        ("running", "running"),
        ("elsewhere", "unknown"),
    ]
    with pytest.raises(Exception, match="nothing to acknowledge"):
        audit.acknowledge()


def test_acknowledge_covers_a_line_a_crash_left_half_written(
    audit: AuditLog, log_path: Path
) -> None:
    fill(audit, 2)
    with log_path.open("ab") as stream:
        stream.write(b'{"seq":3,"time":"2026-')  # a crash mid-write: appends go on after it
    assert audit.append("run web* -- next", ["web1"], "ok").seq == 3
    assert messages(audit.verify()) == ["line 3: malformed JSON"]
    with log_path.open("ab") as stream:
        stream.write(b'{"seq":4,"time":"2026-')

    audit.acknowledge("power cut twice")

    report = audit.verify()
    assert report.ok, messages(report)
    assert [(a.line, a.message) for a in report.acknowledged] == [
        (3, "malformed JSON"),
        (5, "malformed JSON"),
    ]
