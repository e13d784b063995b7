"""restic's exit codes by version, as one table (only 0.14 runs here), and the one-line errors they become."""

from __future__ import annotations

from pathlib import Path

import pytest

from backup.restic import (
    RepositoryLocked,
    RepositoryMissing,
    RepositoryUnreachable,
    RepositoryWrongPassword,
    ResticError,
    classify_failure,
)
from opsctl.core.execute import ExecResult, restic_exit_codes

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "restic"

V0_14, V0_17_0, V0_17_1, V0_18 = (0, 14, 0), (0, 17, 0), (0, 17, 1), (0, 18, 0)

# (version, exit code, its name, whether it is a success)
TABLE = [
    (V0_14, 0, "ok", True), (V0_14, 1, "failed", False), (V0_14, 2, "runtime_error", False),
    (V0_14, 3, "partial", False), (V0_14, 10, "failed", False), (V0_14, 11, "failed", False),
    (V0_14, 12, "failed", False), (V0_14, 130, "interrupted", False), (V0_14, 99, "failed", False),
    (V0_17_0, 10, "no_repository", False), (V0_17_0, 11, "lock_failed", False), (V0_17_0, 12, "failed", False),
    (V0_17_1, 12, "wrong_password", False), (V0_17_1, 3, "partial", False),
    (V0_18, 0, "ok", True), (V0_18, 10, "no_repository", False), (V0_18, 11, "lock_failed", False),
    (V0_18, 12, "wrong_password", False), (V0_18, 130, "interrupted", False), (V0_18, 13, "failed", False),
]


@pytest.mark.parametrize(("version", "code", "name", "ok"), TABLE)
def test_the_exit_code_table(version: tuple[int, int, int], code: int, name: str, ok: bool) -> None:
    table = restic_exit_codes(version)
    assert table.classify(code) == name
    assert table.is_ok(table.classify(code)) is ok


def _result(version: tuple[int, int, int], code: int, stderr: str) -> ExecResult:
    table = restic_exit_codes(version)
    return ExecResult(argv=("restic", "snapshots"), exit_status=code, status_name=table.classify(code),
                      stdout=b"", stderr=stderr.encode(), duration_seconds=0.1)


def recorded(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(("version", "code", "fixture", "kind", "message"), [
    (V0_14, 1, "wrong-password-0.14.0.stderr", RepositoryWrongPassword,
     "restic repository /srv/repo: wrong password or no key found"),
    (V0_17_1, 12, None, RepositoryWrongPassword, "restic repository /srv/repo: wrong password or no key found"),
    (V0_14, 1, "no-repository-0.14.0.stderr", RepositoryMissing, "restic repository /srv/repo: no repository there"),
    (V0_17_0, 10, None, RepositoryMissing, "restic repository /srv/repo: no repository there"),
    (V0_14, 1, "locked-0.14.0.stderr", RepositoryLocked, "restic repository /srv/repo: locked by PID "),
    (V0_17_0, 11, None, RepositoryLocked, "restic repository /srv/repo: locked"),
])
def test_failures_become_one_line_errors_by_words_or_code(
        version: tuple[int, int, int], code: int, fixture: str | None, kind: type[ResticError], message: str) -> None:
    error = classify_failure(_result(version, code, recorded(fixture) if fixture else ""), "/srv/repo", "snapshots")
    assert type(error) is kind
    assert error.message.startswith(message)
    assert "\n" not in error.message


def test_a_lock_error_names_the_holder() -> None:
    error = classify_failure(_result(V0_14, 1, recorded("locked-0.14.0.stderr")), "/srv/repo", "check")
    assert isinstance(error, RepositoryLocked)
    assert error.holder is not None
    assert f"PID {error.holder.pid} on vm (root)" in error.message


def test_an_unreachable_store_is_named_so() -> None:
    stderr = ("Fatal: unable to open config file: Stat: Get \"http://127.0.40.2:18333/b/?location=\": "
              "dial tcp 127.0.40.2:18333: connect: connection refused\nIs there a repository at the following "
              "location?\ns3:http://127.0.40.2:18333/b\n")
    error = classify_failure(_result(V0_14, 1, stderr), "s3:http://127.0.40.2:18333/b", "snapshots")
    assert isinstance(error, RepositoryUnreachable)
    assert "connection refused" in error.message


def test_an_unknown_failure_keeps_restic_s_fatal_line() -> None:
    error = classify_failure(_result(V0_14, 1, "Fatal: something new\n"), "/srv/repo", "forget")
    assert type(error) is ResticError
    assert error.message == "restic repository /srv/repo: restic forget exited 1 (failed): something new"
