"""``opsctl backup prune``, ``check`` and ``restore --target`` against restic 0.14 and a local repository.

Retention forgets only the policy's snapshots; check rotates through the data and finds a
pack file whose bytes were flipped (status failed, the check metric 0); a wrong repository
password is one line and a failed check; restore never writes into a non-empty directory
without --replace; a full disk during a restore (a 1 MiB tmpfs of the test's own) is a clear
error naming the target, a failed exit, and nothing left looking restored.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_backup_run import Site, make_site

pytestmark = pytest.mark.integration


@pytest.fixture
def site(tmp_path: Path) -> Site:
    made = make_site(tmp_path / "site")
    (made.data / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    (made.data / "notes.txt").write_text("ward 3\n")
    assert made.run("init", "local").returncode == 0
    return made


def _metric(site: Site, name: str) -> float:
    return next(value for key, value in site.metrics().items() if key.startswith(name + "{"))


def test_prune_applies_the_keep_policy_to_the_policy_s_snapshots_only(site: Site) -> None:
    site.config.write_text(site.config.read_text() + "      keep: {last: 1, daily: 0, weekly: 0, monthly: 0}\n")
    for ward in ("3", "4", "5"):
        (site.data / "notes.txt").write_text(f"ward {ward}\n")
        code, result = site.json("run", "files")
        assert code == 0, result
    other = site.restic().backup_bytes(b"not ours", "other.txt", tags=("someone-else",))
    before = len(site.restic().snapshots(tags=("opsctl", "policy=files")))
    assert before == 3  # three paths snapshots, each with its run's manifest inside

    code, pruned = site.json("prune", "files")
    assert code == 0, pruned
    assert len(pruned["removed_snapshots"]) == 2  # type: ignore[arg-type]
    assert pruned["size_kind"] == "repository" and pruned["notes"] == []
    assert pruned["size_after_bytes"] < pruned["size_before_bytes"]  # type: ignore[operator]
    kept = site.restic().snapshots(tags=("opsctl", "policy=files"))
    assert len(kept) == 1
    assert any(s.id.startswith(other.snapshot_id) for s in site.restic().snapshots())  # another's stays
    code, status = site.json("status")
    latest = status["policies"][0]["latest_snapshot"]["snapshot_id"]  # type: ignore[index]
    assert any(s.id.startswith(latest) for s in kept)


def test_check_rotates_by_default_and_reads_what_it_is_told(site: Site) -> None:
    code, result = site.json("run", "files", "--full")  # reads part 1/3
    assert code == 0, result
    subsets = []
    for _ in range(3):
        code, checked = site.json("check", "files")
        assert code == 0, checked
        subsets.append(checked["read_data_subset"])
    assert subsets == ["2/3", "3/3", "1/3"]
    code, checked = site.json("check", "files", "--read-data-subset", "1/1")
    assert (code, checked["outcome"], checked["errors"]) == (0, "ok", [])
    assert _metric(site, "opsctl_backup_last_check_success") == 1.0
    done = site.run("check", "files", "--read-data-subset", "3/2")
    assert done.returncode == 2 and "expected n/m" in done.stderr


def test_a_corrupted_pack_file_is_found_reported_and_fails_the_check(site: Site) -> None:
    code, result = site.json("run", "files")
    assert code == 0, result
    packs = sorted((site.repo / "data").rglob("*"), key=lambda p: p.stat().st_size if p.is_file() else 0)
    pack = packs[-1]  # the biggest pack: the 2 MiB file's data
    assert pack.is_file()
    pack.chmod(0o600)
    with pack.open("r+b") as handle:  # flip bytes in the middle of the pack
        handle.seek(pack.stat().st_size // 2)
        chunk = handle.read(64)
        handle.seek(pack.stat().st_size // 2)
        handle.write(bytes(b ^ 0xFF for b in chunk))

    code, checked = site.json("check", "files", "--read-data-subset", "1/1")
    assert code == 1, checked
    assert checked["outcome"] == "failed"
    assert any(pack.name[:8] in error for error in checked["errors"]), checked["errors"]  # type: ignore[attr-defined]
    assert _metric(site, "opsctl_backup_last_check_success") == 0.0
    code, status = site.json("status")
    assert status["policies"][0]["last_check"]["outcome"] == "failed"  # type: ignore[index]
    done = site.run("check", "files", "--read-data-subset", "1/1")
    assert done.returncode == 1 and "error(s)" in done.stdout, done.stdout


def test_a_wrong_password_fails_the_check_in_one_line(site: Site) -> None:
    assert site.json("run", "files")[0] == 0
    (site.root / "wrong").write_text("not the password\n")
    site.config.write_text(site.config.read_text().replace(f"file:{site.root}/pw", f"file:{site.root}/wrong"))
    code, checked = site.json("check", "files")
    assert code == 1
    assert checked["errors"] == [f"restic repository {site.repo}: wrong password or no key found"]
    assert _metric(site, "opsctl_backup_last_check_success") == 0.0
    done = site.run("restore", "files", "--target", str(site.root / "out"))
    assert done.returncode == 1 and "wrong password" in done.stderr, done.stderr
    assert not (site.root / "out").exists() or not any((site.root / "out").iterdir())


def test_files_are_restored_into_a_new_directory_and_never_over_one_without_replace(site: Site) -> None:
    assert site.json("run", "files")[0] == 0
    target = site.root / "restored"
    code, restored = site.json("restore", "files", "--target", str(target))
    assert code == 0, restored
    copy = target / str(site.data).lstrip("/")
    assert (copy / "notes.txt").read_text() == "ward 3\n"
    assert (copy / "big.bin").read_bytes() == (site.data / "big.bin").read_bytes()
    # the two files, and the run's manifest that rides in the paths snapshot
    assert restored["files_restored"] == 3 and restored["replaced"] is False

    (copy / "notes.txt").write_text("changed since\n")
    done = site.run("restore", "files", "--target", str(target))
    assert done.returncode == 5, done.stderr
    assert f"restore target {target} is not empty" in done.stderr
    assert (copy / "notes.txt").read_text() == "changed since\n"
    code, restored = site.json("restore", "files", "--target", str(target), "--replace")
    assert code == 0 and restored["replaced"] is True
    assert (copy / "notes.txt").read_text() == "ward 3\n"
    entries = [json.loads(line) for line in (site.cli.state_dir / "audit.jsonl").read_text().splitlines()]
    restores = [entry for entry in entries if entry["command"] == "backup restore"]
    assert [(entry["outcome"], entry["details"]["replaced"]) for entry in restores] == [
        ("changed", False), ("changed", True)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_full_disk_during_a_restore_is_a_clear_failure_and_nothing_counts_as_restored(
        site: Site, small_disk: Path) -> None:
    assert site.json("run", "files")[0] == 0
    target = small_disk / "restored"
    done = site.run("restore", "files", "--target", str(target))
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""  # nothing reported as restored
    assert f"into {target} failed: no space left on device" in done.stderr, done.stderr
    assert not target.exists()  # the new target's partial content is gone
