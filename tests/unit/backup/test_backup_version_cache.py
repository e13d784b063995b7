"""restic's version is probed once per installed binary, not once per opsctl run: a backup run
adds no restic call of its own, and installing another restic is noticed.

The "restic" here is a shell script that answers like ``restic version`` and counts its calls:
what is tested is when opsctl runs it, which the real restic cannot tell us.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backup import restic
from backup.restic import ResticVersion, probe_version


def _fake_restic(path: Path, version: str, calls: Path) -> None:
    path.write_text(f'#!/bin/sh\necho call >> {calls}\necho "restic {version} compiled with go1.19.8 on linux/amd64"\n')
    path.chmod(0o755)


@pytest.fixture(autouse=True)
def _no_process_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(restic, "_probed", {})  # each call below is a new opsctl process


def _calls(calls: Path) -> int:
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def test_a_second_process_reuses_the_probe_of_the_same_binary(tmp_path: Path) -> None:
    binary, calls, cache = tmp_path / "restic", tmp_path / "calls", tmp_path / "cache" / "versions.json"
    _fake_restic(binary, "0.16.4", calls)
    assert probe_version(str(binary), cache=cache) == ResticVersion(0, 16, 4)
    restic._probed.clear()
    assert probe_version(str(binary), cache=cache) == ResticVersion(0, 16, 4)
    assert _calls(calls) == 1


def test_a_new_restic_installed_over_the_old_one_is_probed_again(tmp_path: Path) -> None:
    binary, calls, cache = tmp_path / "restic", tmp_path / "calls", tmp_path / "versions.json"
    _fake_restic(binary, "0.14.0", calls)
    assert probe_version(str(binary), cache=cache) == ResticVersion(0, 14, 0)
    restic._probed.clear()
    binary.unlink()
    _fake_restic(binary, "0.17.3", calls)  # a new file: another inode, size and mtime
    assert probe_version(str(binary), cache=cache) == ResticVersion(0, 17, 3)
    assert _calls(calls) == 2


@pytest.mark.parametrize("content", ["not json", "[]", '{"%s": {"binary": "x", "version": [0, 14, 0]}}',
                                     '{"%s": {"binary": "%s", "version": ["0", "14", "0"]}}'])
def test_a_cache_that_is_not_ours_or_is_stale_means_a_probe(tmp_path: Path, content: str) -> None:
    binary, calls, cache = tmp_path / "restic", tmp_path / "calls", tmp_path / "versions.json"
    _fake_restic(binary, "0.15.2", calls)
    status = os.stat(binary)
    identity = f"{status.st_dev}:{status.st_ino}:{status.st_size}:{status.st_mtime_ns}"
    cache.write_text(content.replace("%s", str(binary), 1).replace("%s", identity, 1))
    assert probe_version(str(binary), cache=cache) == ResticVersion(0, 15, 2)
    assert _calls(calls) == 1
    restic._probed.clear()
    assert probe_version(str(binary), cache=cache) == ResticVersion(0, 15, 2)  # and now it is remembered
    assert _calls(calls) == 1


def test_an_unwritable_cache_still_gives_the_version(tmp_path: Path) -> None:
    binary, calls = tmp_path / "restic", tmp_path / "calls"
    _fake_restic(binary, "0.14.0", calls)
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert probe_version(str(binary), cache=blocker / "versions.json") == ResticVersion(0, 14, 0)
