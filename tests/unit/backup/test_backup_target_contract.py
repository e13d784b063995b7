"""The shared contract every registered backup target passes: a pure repository without secrets, bad options named, an unreachable place reported.

No backup target exists yet: the backup issue's targets (and third parties' entry points in
``opsctl.backup_targets``) are picked up here once registered, each with a case in ``CASES``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import pytest

from backup.targets import BACKUP_TARGETS, BackupTarget, Repository
from opsctl.core.errors import ConfigError, UsageError

TARGET_NAMES = list(BACKUP_TARGETS.names())
CANARY = "s3cret-backup-canary"


@dataclass(frozen=True)
class ContractCase:
    """A target's options: valid ones for a place that does not answer (secrets as references to
    ``env:OPSCTL_TEST_BACKUP_SECRET``), and ones missing or spoiling ``bad_option``."""

    unreachable: Mapping[str, str]
    bad: Mapping[str, str]
    bad_option: str


CASES: dict[str, ContractCase] = {
    # port 9 (discard) on loopback: nothing listens, so the store is refused at once
    "s3": ContractCase(
        unreachable={
            "endpoint": "http://127.0.0.1:9",
            "bucket": "opsctl-contract",
            "access_key_id": "env:OPSCTL_TEST_BACKUP_SECRET",
            "secret_access_key": "env:OPSCTL_TEST_BACKUP_SECRET",
        },
        bad={"endpoint": "http://127.0.0.1:9", "bucket": "opsctl-contract",
             "access_key_id": "env:OPSCTL_TEST_BACKUP_SECRET"},
        bad_option="secret_access_key",
    ),
    # a directory whose parent does not exist: restic init could not create it
    "local": ContractCase(unreachable={"path": "/nonexistent-opsctl-test/parent/repo"},
                          bad={"path": "relative/repo"}, bad_option="path"),
}


def _case(name: str) -> ContractCase:
    case = CASES.get(name)
    if case is None:
        pytest.fail(f"backup target {name} has no contract case: add it to CASES")
    return case


def test_the_kind_is_declared_under_its_entry_point_group() -> None:
    assert (BACKUP_TARGETS.kind, BACKUP_TARGETS.group, BACKUP_TARGETS.protocol) == (
        "backup target", "opsctl.backup_targets", BackupTarget,
    )  # fmt: skip


@pytest.fixture
def scratch_target() -> Iterator[BackupTarget]:
    class Scratch:
        name = "test-scratch"

        def repository(self, options: Mapping[str, str]) -> Repository:
            return Repository(location=options["path"])

        def check(self, repository: Repository) -> tuple[str, ...]:
            return ()

    target = Scratch()
    BACKUP_TARGETS.register(target)
    yield target
    BACKUP_TARGETS.deregister(target.name)


def test_a_backup_target_registers_like_any_plugin(scratch_target: BackupTarget) -> None:
    assert BACKUP_TARGETS.get("test-scratch") is scratch_target
    with pytest.raises(UsageError, match="does not satisfy BackupTarget"):
        BACKUP_TARGETS.register(object())  # type: ignore[arg-type]


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_satisfies_the_protocol_and_is_found_by_name(name: str) -> None:
    target = BACKUP_TARGETS.get(name)
    assert isinstance(target, BackupTarget)
    assert target.name == name


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_the_repository_is_pure_and_holds_no_secret(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_TEST_BACKUP_SECRET", CANARY)
    target = BACKUP_TARGETS.get(name)
    first = target.repository(_case(name).unreachable)
    assert first == target.repository(_case(name).unreachable)
    assert CANARY not in first.location
    assert all(CANARY not in str(value) for value in first.environment.values())


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_a_bad_option_is_a_config_error_naming_it(name: str) -> None:
    case = _case(name)
    with pytest.raises(ConfigError, match=case.bad_option):
        BACKUP_TARGETS.get(name).repository(case.bad)


@pytest.mark.parametrize("name", TARGET_NAMES)
def test_an_unreachable_place_is_reported_not_raised(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_TEST_BACKUP_SECRET", CANARY)
    target = BACKUP_TARGETS.get(name)
    problems = target.check(target.repository(_case(name).unreachable))
    assert problems
    assert all(CANARY not in problem for problem in problems)
