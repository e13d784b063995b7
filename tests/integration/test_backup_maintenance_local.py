"""``opsctl backup prune``, ``check``, ``restore --target`` and ``snapshots`` against restic 0.14 and a local repository.

Retention forgets only the policy's snapshots; check rotates through the data and finds a
pack file whose bytes were flipped (status failed, the check metric 0); a wrong repository
password is one line and a failed check; restore never writes into a non-empty directory
without --replace, and ``--include`` restores one file (an include that matches nothing
fails, never an empty "restored"); ``snapshots`` lists the policy's, newest first, marking the
ones its runs recorded good, and ``ls`` what one holds; a full disk during a restore (a 1 MiB tmpfs of the test's own) is a clear
error naming the target, a failed exit, and nothing left looking restored.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetcli import OPSCTL
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


def test_one_file_is_restored_by_include_and_an_include_that_matches_nothing_fails(site: Site) -> None:
    assert site.json("run", "files")[0] == 0
    target = site.root / "one-file"
    notes = site.data / "notes.txt"
    code, restored = site.json("restore", "files", "--target", str(target), "--include", str(notes))
    assert code == 0, restored
    copy = target / str(site.data).lstrip("/")
    assert (copy / "notes.txt").read_text() == "ward 3\n"
    assert not (copy / "big.bin").exists()
    assert restored["files_restored"] == 1 and restored["include"] == [str(notes)]
    # a pattern, restored over what is there: only what it matches is counted
    code, again = site.json("restore", "files", "--target", str(target), "--include", str(site.data / "*.bin"),
                            "--replace")
    assert code == 0, again
    assert (copy / "big.bin").read_bytes() == (site.data / "big.bin").read_bytes()
    assert (again["files_restored"], again["bytes_restored"], again["replaced"]) == (1, 2 * 1024 * 1024, True)

    missing = site.root / "nothing"
    done = site.run("restore", "files", "--target", str(missing), "--include", "/no/such/file")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""  # nothing reported as restored
    assert "no file of the snapshot matches --include /no/such/file" in done.stderr, done.stderr
    assert f"under the policy's paths: {site.data}" in done.stderr
    assert not missing.exists()
    wrong = site.run("restore", "files", "--database", "x", "--include", str(notes))
    assert wrong.returncode == 2 and "--include limits a files restore" in wrong.stderr
    entries = [json.loads(line) for line in (site.cli.state_dir / "audit.jsonl").read_text().splitlines()]
    restores = [(entry["outcome"], entry["details"].get("include")) for entry in entries
                if entry["command"] == "backup restore"]
    assert restores == [("changed", [str(notes)]), ("changed", [str(site.data / "*.bin")]),
                        ("failed", ["/no/such/file"])]


def test_ls_lists_what_the_newest_good_snapshot_holds_and_refuses_a_path_it_does_not(site: Site) -> None:
    assert site.json("run", "files")[0] == 0
    code, listing = site.json("ls", "files")
    assert code == 0, listing
    nodes = {node["path"]: node for node in listing["nodes"]}  # type: ignore[union-attr]
    assert nodes[str(site.data)]["type"] == "dir"
    assert nodes[str(site.data / "big.bin")]["size"] == 2 * 1024 * 1024
    assert nodes[str(site.data / "notes.txt")]["size"] == len("ward 3\n")
    people = site.run("ls", "files", str(site.data / "notes.txt"))
    assert people.returncode == 0, people.stderr
    assert re.fullmatch(rf"f +7 bytes \d{{4}}-\d\d-\d\d \d\d:\d\d  {re.escape(str(site.data / 'notes.txt'))}\n",
                        people.stdout), people.stdout
    missing = site.run("ls", "files", str(site.data / "notes.doc"))
    assert missing.returncode == 1 and missing.stdout == ""
    assert f"holds no {site.data / 'notes.doc'}" in missing.stderr
    relative = site.run("ls", "files", "notes.txt")
    assert relative.returncode == 2 and "absolute (from /)" in relative.stderr


def test_snapshots_lists_the_policy_s_newest_first_and_which_runs_recorded_good(site: Site) -> None:
    code, full = site.json("run", "files", "--full")
    assert code == 0, full
    (site.data / "notes.txt").write_text("ward 4\n")
    code, incremental = site.json("run", "files")
    assert code == 0, incremental
    # a snapshot with the policy's tags that no run of this controller recorded (another's, or a failed run's)
    stray = site.restic().backup_bytes(b"stray", "stray.txt", tags=("opsctl", "policy=files", "kind=full",
                                                                       "run=elsewhere"))
    site.restic().backup_bytes(b"not ours", "other.txt", tags=("someone-else",))

    code, listing = site.json("snapshots", "files")
    assert code == 0, listing
    rows = [(row["run_id"], row["kind"], row["source"], row["recorded_good"])
            for row in listing["snapshots"]]  # type: ignore[union-attr]
    assert rows == [("elsewhere", "full", "paths", False),
                    (incremental["run_id"], "incremental", "paths", True),
                    (full["run_id"], "full", "paths", True)]
    assert listing["snapshots"][0]["snapshot_id"].startswith(stray.snapshot_id)  # type: ignore[index]
    ours = full["snapshots"][0]["snapshot_id"]  # type: ignore[index]
    assert listing["snapshots"][2]["snapshot_id"].startswith(ours)  # type: ignore[index]

    people = subprocess.run([OPSCTL, "-c", str(site.config), "backup", "snapshots", "files"],
                            env={**site.cli.env, "COLUMNS": "80"}, capture_output=True, text=True, timeout=60)
    assert people.returncode == 0, people.stderr
    assert all(len(line) <= 80 for line in people.stdout.splitlines())
    assert ours[:8] in people.stdout and stray.snapshot_id[:8] in people.stdout
    assert "no run that recorded it good" in people.stderr
    none = site.run("snapshots", "nope")
    assert none.returncode == 2 and "no backup policy named 'nope'" in none.stderr


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
