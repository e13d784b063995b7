"""opsctl audit log / verify, run in-process with the state directory in tmp_path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from opsctl.cli.main import main
from opsctl.core.audit import AuditLog
from opsctl.core.state import StateStore


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("OPSCTL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "state"


def append(state_dir: Path, count: int, *, targets: list[str] | None = None) -> AuditLog:
    audit = AuditLog(
        state_dir / "audit.jsonl", StateStore(f"sqlite:///{state_dir / 'state.db'}"), "alice"
    )
    for number in range(1, count + 1):
        audit.append(f"run web* -- step-{number}", targets or ["web1"], "ok")
    return audit


def test_log_of_an_empty_audit_log(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "log"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "the audit log is empty" in captured.err


def test_log_shows_the_newest_entries_as_a_table(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    append(state_dir, 4, targets=["web1", "web2", "db1", "db2", "ups1"])

    assert main(["audit", "log", "--limit", "2"]) == 0

    out = capsys.readouterr().out
    assert "step-1" not in out and "step-2" not in out
    assert "step-3" in out and "step-4" in out
    assert "alice" in out
    assert "web1, web2, db1 (+2 more)" in out


def test_log_json_prints_one_document(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    append(state_dir, 3)

    assert main(["audit", "log", "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "opsctl.audit.log/v1"
    assert [entry["seq"] for entry in document["entries"]] == [1, 2, 3]
    assert document["entries"][0]["targets"] == ["web1"]


def test_verify_an_intact_log(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    append(state_dir, 3)
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out == "audit log OK: 3 entries, anchored at seq 3\n"


def test_verify_a_tampered_log_lists_problems_and_exits_1(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    append(state_dir, 3)
    path = state_dir / "audit.jsonl"
    path.write_text(path.read_text().replace("step-2", "step-X"))

    assert main(["audit", "verify"]) == 1

    captured = capsys.readouterr()
    assert captured.out == "line 2: seq 2: hash mismatch: the line was edited\n"
    assert "FAILED verification: 1 problem(s)" in captured.err


def test_verify_json_reports_a_cut_off_tail(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    append(state_dir, 3)
    path = state_dir / "audit.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))

    assert main(["audit", "verify", "--json"]) == 1

    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "opsctl.audit.verify/v1"
    assert (document["ok"], document["entries"], document["anchor_seq"]) == (False, 2, 3)
    assert document["problems"] == [
        {
            "line": 3,
            "message": "the log ends at seq 2 but the state store's anchor is seq 3: "
            "lines were removed from the end",
        }
    ]


def test_an_invalid_configuration_stops_the_command_with_exit_2(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPSCTL_AUDIT__OPERATOR", "x")
    monkeypatch.setenv("OPSCTL_AUDIT__COLOUR", "always")

    assert main(["audit", "verify"]) == 2

    err = capsys.readouterr().err
    assert "audit.colour: unknown key; expected one of: operator, path" in err
    assert "OPSCTL_AUDIT__COLOUR" in err
    assert not (state_dir / "state.db").exists()


# ----------------------------------------------------------------------------- a forged tail, acknowledged


def forge_next(state_dir: Path, command: str) -> None:
    """Append a line with a correct hash and link, as a forger who read the format would."""
    import hashlib

    path = state_dir / "audit.jsonl"
    last = json.loads(path.read_text().splitlines()[-1])
    body = {**last, "seq": last["seq"] + 1, "prev": last["hash"], "command": command}
    del body["hash"]
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body["hash"] = hashlib.sha256((body["prev"] + canonical).encode()).hexdigest()
    with path.open("a") as stream:
        stream.write(json.dumps(body) + "\n")


def test_a_forged_tail_refuses_the_next_command_until_acknowledged(
    state_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    append(state_dir, 3)
    forge_next(state_dir, "run web* -- nothing happened here")
    forged = (state_dir / "audit.jsonl").read_bytes()
    source = tmp_path / "inventory.ini"
    source.write_text("[web]\nweb1 ansible_host=10.0.0.1\n")

    # an ordinary command that records a change is refused, and the log stays as it is
    assert main(["inventory", "import", str(source), "-o", str(tmp_path / "out.yaml")]) == 1
    err = capsys.readouterr().err
    assert (
        f"opsctl: error: audit log {state_dir / 'audit.jsonl'}: line 4 (seq 4) does not match "
        "the anchor seq 3: lines were added outside opsctl\n"
    ) in err
    assert "opsctl audit verify" in err and "opsctl audit acknowledge" in err
    assert (state_dir / "audit.jsonl").read_bytes() == forged
    assert not (tmp_path / "out.yaml").exists()  # the change was refused too, not made unrecorded
    assert main(["audit", "verify"]) == 1
    assert "lines were added without moving the anchor" in capsys.readouterr().out

    assert main(["audit", "acknowledge", "--reason", "found by the nightly check"]) == 0
    out = capsys.readouterr().out
    assert "found: line 4 (seq 4) does not match the anchor seq 3" in out
    assert "acknowledged at seq 5" in out

    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("audit log OK: 5 entries, anchored at seq 5\n")
    assert "line 4: acknowledged at seq 5: the log ends at seq 4 but the state store's anchor is seq 3" in out
    assert main(["inventory", "import", str(source), "-o", str(tmp_path / "out.yaml")]) == 0
    assert (tmp_path / "out.yaml").exists()
    capsys.readouterr()

    assert main(["audit", "log", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [entry["command"] for entry in entries[3:]] == [
        "run web* -- nothing happened here", "audit acknowledge", "inventory import"
    ]
    acknowledgement = entries[4]
    assert acknowledgement["targets"] == [str(state_dir / "audit.jsonl")]
    assert acknowledgement["details"]["reason"] == "found by the nightly check"
    assert acknowledgement["details"]["anchor"]["seq"] == 3
    assert acknowledgement["details"]["tail"]["seq"] == 4


def test_acknowledge_with_nothing_to_acknowledge_is_refused(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    append(state_dir, 2)
    assert main(["audit", "acknowledge"]) == 2
    assert "nothing to acknowledge" in capsys.readouterr().err
    assert len((state_dir / "audit.jsonl").read_text().splitlines()) == 2


def test_acknowledge_json(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    append(state_dir, 3)
    path = state_dir / "audit.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:2]))

    assert main(["audit", "acknowledge", "--json"]) == 0

    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "opsctl.audit.acknowledge/v1"
    assert document["entry"]["seq"] == 3 and document["entry"]["details"]["anchor"]["seq"] == 3
    assert document["found"].endswith("lines were removed from the end")


# ----------------------------------------------------------------------------- SIGKILL leaves a trace


def test_a_run_killed_with_sigkill_shows_as_begun_and_never_ended(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import signal
    import subprocess
    import sys

    append(state_dir, 1)
    child = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("recorded_sleeper.py")), "r-oom"],
        stdout=subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "begun\n"
        assert main(["audit", "log", "--json"]) == 0  # while it runs: its owner is alive
        running = json.loads(capsys.readouterr().out)["unfinished_runs"]
        assert [(run["run_id"], run["state"]) for run in running] == [("r-oom", "running")]
        assert running[0]["owner"]["pid"] == child.pid
    finally:
        child.send_signal(signal.SIGKILL)  # as the OOM killer does: no handler runs
        child.wait()

    assert main(["audit", "log"]) == 0
    captured = capsys.readouterr()
    assert "step-1" in captured.out
    warning = " ".join(captured.err.split())
    assert "warning: run r-oom (run web* -- sleep 600) began " in warning
    assert f"its owner (pid {child.pid} on " in warning and "is dead" in warning

    assert main(["audit", "verify"]) == 0  # not tampering: a warning, not a failure
    captured = capsys.readouterr()
    assert captured.out == "audit log OK: 1 entries, anchored at seq 1\n"
    assert "warning: run r-oom" in captured.err

    assert main(["audit", "verify", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["ok"] is True
    assert [(run["run_id"], run["state"]) for run in document["unfinished_runs"]] == [("r-oom", "dead")]
    assert len(document["warnings"]) == 1

    assert main(["audit", "acknowledge", "--reason", "OOM killer, see dmesg"]) == 0
    assert "found: run r-oom" in capsys.readouterr().out
    assert main(["audit", "verify", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["unfinished_runs"] == []
    store = StateStore(f"sqlite:///{state_dir / 'state.db'}")
    last = store.last_run("run")
    assert last is not None and (last.run_id, last.outcome) == ("r-oom", "killed")


def test_a_run_that_ends_is_not_listed(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from opsctl.core.recorder import AuditRecorder

    recorder = AuditRecorder(lambda: append(state_dir, 0))
    recorder.begin_run("r-1", "run", "true", "all")
    recorder.finish_run("r-1", "ok", "run all -- true", ["web1"], {"counts": {"ok": 1}})
    recorder.close()

    assert main(["audit", "log", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["unfinished_runs"] == []
    details = document["entries"][-1]["details"]
    assert {k: v for k, v in details.items() if k != "actor"} == {"run_id": "r-1", "counts": {"ok": 1}}
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().err == ""


def test_log_shows_a_sudo_user_as_declared_beside_the_real_uid_and_user(
    state_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import pwd

    monkeypatch.setenv("SUDO_USER", "mallory")
    real_user = pwd.getpwuid(os.getuid()).pw_name
    store = StateStore(f"sqlite:///{state_dir / 'state.db'}")
    AuditLog(state_dir / "audit.jsonl", store).append("run web* -- true", ["web1"], "ok")

    assert main(["audit", "log", "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["entries"][-1]
    assert entry["operator"] == "mallory"
    actor = entry["details"]["actor"]
    assert actor["operator_declared_by"] == "SUDO_USER"
    assert (actor["uid"], actor["user"]) == (os.getuid(), real_user)

    assert main(["audit", "log"]) == 0
    out = capsys.readouterr().out
    if real_user != "mallory":
        assert f"mallory (declared by SUDO_USER; ran as {real_user})" in out
    assert main(["audit", "verify"]) == 0
