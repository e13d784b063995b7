"""``opsctl backup run`` of path policies against the real restic 0.14 and a local repository (no lab peers needed).

Full then incremental (tags, parent, what an incremental adds), a missing path, a wrong
password, a stale restic lock of a dead process, and the metrics file after each.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleetcli import Cli

from backup.restic import KeepPolicy, Restic
from backup.runner import manifest_path_in
from backup.targets import Repository
from opsctl.core.secrets import SecretRef

pytestmark = pytest.mark.integration

PASSWORD = "correct horse battery staple"


@dataclass
class Site:
    """A controller with one policy ``files`` over ``data`` into the local repository ``repo``."""

    root: Path
    cli: Cli
    config: Path
    data: Path
    repo: Path
    textfile_dir: Path

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.cli("-c", str(self.config), "backup", *args, timeout=300)

    def json(self, *args: str) -> tuple[int, dict[str, object]]:
        return self.cli.json("-c", str(self.config), "backup", *args)

    def restic(self) -> Restic:
        return Restic(Repository(str(self.repo), {"RESTIC_PASSWORD": SecretRef("file", str(self.root / "pw"))}),
                      cache_dir=self.root / "restic-cache")

    def metrics(self) -> dict[str, float]:
        path = self.textfile_dir / "opsctl_backup_files.prom"
        done = subprocess.run(["promtool", "check", "metrics"], input=path.read_bytes(), capture_output=True,
                              check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in path.read_text().splitlines() if line and not line.startswith("#")}


def make_site(root: Path, *, password_file: str = "pw", paths: tuple[str, ...] = ("data",)) -> Site:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pw").write_text(PASSWORD + "\n")
    (root / "pw").chmod(0o600)
    data = root / "data"
    data.mkdir(exist_ok=True)
    config = root / "opsctl.yaml"
    listed = ", ".join(str(root / path) for path in paths)
    config.write_text(
        "backup:\n"
        f"  textfile_dir: {root}/textfile\n"
        f"  cache_dir: {root}/restic-cache\n"
        "  repositories:\n"
        f"    local: {{type: local, path: {root}/repo, password: file:{root}/{password_file}}}\n"
        "  policies:\n"
        "    files:\n"
        f"      paths: [{listed}]\n"
        "      repository: local\n"
        "      objectives: {rpo: 24h, rto: 4h}\n"
        "      full_read_data_subset: 1/3\n"
    )
    cli = Cli.create(root, root / "no-inventory.yaml")
    return Site(root, cli, config, data, root / "repo", root / "textfile")


@pytest.fixture
def site(tmp_path: Path) -> Site:
    made = make_site(tmp_path / "site")
    (made.data / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    (made.data / "notes.txt").write_text("ward 3\n")
    done = made.run("init", "local")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "repository local: created\n"
    return made


def test_a_full_then_an_incremental_run_tag_their_snapshots_and_chain_them(site: Site) -> None:
    code, full = site.json("run", "files", "--full")
    assert code == 0, full
    assert (full["outcome"], full["kind"], full["exit_code"]) == ("ok", "full", 0)
    assert full["check"]["read_data_subset"] == "1/3" and full["check"]["ok"] is True  # type: ignore[index]
    (site.data / "notes.txt").write_text("ward 3 and ward 4\n")
    code, incremental = site.json("run", "files")
    assert code == 0, incremental
    assert incremental["kind"] == "incremental" and incremental["check"] is None

    snapshots = site.restic().snapshots(tags=("opsctl", "policy=files"))
    assert len(snapshots) == 2  # the manifest rides in the paths snapshot: no restic call of its own
    first, second = snapshots
    assert set(first.tags) == {"opsctl", "policy=files", "kind=full", f"run={full['run_id']}", "manifest"}
    assert set(second.tags) == {"opsctl", "policy=files", "kind=incremental", f"run={incremental['run_id']}",
                                "manifest"}
    assert second.parent == first.id  # the policy's last good paths snapshot
    manifests = site.restic().snapshots(tags=("manifest", "policy=files"))
    assert [m.id for m in manifests] == [first.id, second.id]
    assert [m.short_id for m in manifests] == [full["manifest_snapshot"], incremental["manifest_snapshot"]]
    manifest = json.loads(site.restic().dump(second.id, manifest_path_in(second.paths, "files")))
    assert (manifest["run_id"], manifest["kind"]) == (incremental["run_id"], "incremental")
    full_added = next(s for s in full["snapshots"] if s["source"] == "paths")["bytes_added"]  # type: ignore[attr-defined]
    incremental_added = next(s for s in incremental["snapshots"] if s["source"] == "paths")["bytes_added"]  # type: ignore[attr-defined]
    assert full_added > 2 * 1024 * 1024
    assert incremental_added < full_added / 20  # the 2 MiB file was not stored again

    values = site.metrics()
    assert values['opsctl_backup_last_run_success{policy="files"}'] == 1.0
    assert values['opsctl_backup_last_check_success{policy="files",repository="local"}'] == 1.0

    code, status = site.json("status")
    assert code == 0, status
    (files,) = status["policies"]  # type: ignore[misc]
    assert files["within_rpo"] is True and files["last_run"]["outcome"] == "ok"
    assert files["offsite"] == {"repository": None, "status": "not configured"}
    assert files["repository_size_bytes"] > 2 * 1024 * 1024
    done = site.run("status")
    assert done.returncode == 0, done.stderr
    assert "│ files  " in done.stdout and "ok incr" in done.stdout


def test_the_read_subset_rotates_over_full_runs(site: Site) -> None:
    subsets = []
    for _ in range(4):
        code, result = site.json("run", "files", "--full")
        assert code == 0, result
        subsets.append(result["check"]["read_data_subset"])  # type: ignore[index]
    assert subsets == ["1/3", "2/3", "3/3", "1/3"]


def test_a_missing_source_path_fails_before_restic_runs(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", paths=("data", "gone"))
    assert site.run("init", "local").returncode == 0
    done = site.run("run", "files")
    assert done.returncode == 1
    assert f"error: policy files: source path {site.root / 'gone'} does not exist" in done.stderr
    assert site.restic().snapshots() == ()  # restic 0.14 would have made one and exited 0
    values = site.metrics()
    assert values['opsctl_backup_last_run_success{policy="files"}'] == 0.0
    assert not any(key.startswith("opsctl_backup_last_success_timestamp_seconds") for key in values)


def test_a_wrong_password_is_one_line_and_a_failure_metric(site: Site) -> None:
    code, result = site.json("run", "files")
    assert code == 0, result
    (site.root / "wrong").write_text("not the password\n")
    site.config.write_text(site.config.read_text().replace(f"file:{site.root}/pw", f"file:{site.root}/wrong"))
    done = site.run("run", "files")
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: restic repository {site.repo}: wrong password or no key found"]
    assert "not the password" not in done.stdout + done.stderr
    values = site.metrics()
    assert values['opsctl_backup_last_run_success{policy="files"}'] == 0.0
    # the earlier success is still published, from the state store
    assert values['opsctl_backup_last_success_timestamp_seconds{policy="files"}'] > 0


def test_a_misconfigured_run_exits_2_and_still_publishes_the_failure(site: Site) -> None:
    code, result = site.json("run", "files")
    assert code == 0, result
    succeeded = site.metrics()['opsctl_backup_last_success_timestamp_seconds{policy="files"}']
    site.config.write_text(site.config.read_text().replace("rpo: 24h", "rpo: a day"))
    done = site.run("run", "files")
    assert done.returncode == 2
    assert done.stderr == (f"opsctl: error: {site.config}:10: backup.policies.files.objectives.rpo: "
                           "expected a duration like 30m, 4h or 7d, not 'a day'\n")
    values = site.metrics()
    assert values['opsctl_backup_last_run_success{policy="files"}'] == 0.0
    # the configuration did not load, so no store was read: the published success is kept
    assert values['opsctl_backup_last_success_timestamp_seconds{policy="files"}'] == pytest.approx(succeeded, abs=1e-3)


def test_a_stale_restic_lock_of_a_dead_process_is_removed(site: Site) -> None:
    restic = site.restic()
    env = {**os.environ, "RESTIC_REPOSITORY": str(site.repo), "RESTIC_PASSWORD": PASSWORD,
           "RESTIC_CACHE_DIR": str(site.root / "restic-cache")}
    # a backup that holds its lock while it waits for input, killed outright: its lock stays behind
    holder = subprocess.Popen(["restic", "backup", "--stdin", "--json"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(600):
            if restic.list_locks():
                break
            holder.poll()
            assert holder.returncode is None
            subprocess.run(["sleep", "0.1"], check=True)
        locks = restic.list_locks()
        assert len(locks) == 1
        assert restic.cat_lock(locks[0]).pid == holder.pid
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert restic.list_locks() == locks

    code, result = site.json("run", "files", "--full")  # check needs the exclusive lock
    assert code == 0, result
    assert result["removed_stale_locks"] == list(locks)
    assert restic.list_locks() == ()
    assert restic.check().ok


def test_a_live_lock_is_not_removed_and_names_its_holder(site: Site) -> None:
    env = {**os.environ, "RESTIC_REPOSITORY": str(site.repo), "RESTIC_PASSWORD": PASSWORD,
           "RESTIC_CACHE_DIR": str(site.root / "restic-cache")}
    holder = subprocess.Popen(["restic", "backup", "--stdin", "--json"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(600):
            if site.restic().list_locks():
                break
            subprocess.run(["sleep", "0.1"], check=True)
        code, result = site.json("run", "files", "--full")
        assert code == 1, result
        assert result["error"].startswith(f"restic repository {site.repo}: locked by PID {holder.pid} on ")  # type: ignore[union-attr]
        assert result["removed_stale_locks"] == []
        # the paths snapshot was made (a backup takes a shared lock), only the check was refused
        assert [s["source"] for s in result["snapshots"]] == ["paths"]  # type: ignore[union-attr]
    finally:
        holder.kill()
        holder.wait()


def test_restic_missing_from_the_path_is_a_clear_error(site: Site) -> None:
    site.config.write_text(site.config.read_text().replace("backup:\n", "backup:\n  restic: /nonexistent/restic\n"))
    done = site.run("run", "files")
    assert done.returncode == 1
    assert "/nonexistent/restic: program not found" in done.stderr
    assert shutil.which("restic") is not None


def test_runs_are_audited(site: Site) -> None:
    assert site.run("run", "files").returncode == 0
    (site.data / "notes.txt").unlink()
    site.config.write_text(site.config.read_text().replace(f"paths: [{site.data}]", f"paths: [{site.data}/notes.txt]"))
    assert site.run("run", "files").returncode == 1
    done = site.cli("audit", "log", "--json")
    assert done.returncode == 0, done.stderr
    entries = [e for e in json.loads(done.stdout)["entries"] if e["command"] == "backup run"]
    assert [e["outcome"] for e in entries] == ["ok", "failed"]
    assert site.cli("audit", "verify").returncode == 0


def test_the_built_in_policy_backs_up_opsctl_s_own_state(site: Site) -> None:
    site.config.write_text(site.config.read_text().replace("backup:\n", "backup:\n  builtin_repository: local\n"))
    assert site.run("run", "files").returncode == 0  # the store and the audit log now have something in them
    code, result = site.json("run", "opsctl-state", "--full")
    assert code == 0, result
    restic = site.restic()
    (snapshot,) = restic.snapshots(tags=("policy=opsctl-state",))
    assert "manifest" in snapshot.tags
    copy = site.cli.state_dir / "backup-staging" / "state.db"
    assert str(copy) in snapshot.paths and not copy.exists()  # the consistent copy, removed after
    restored = site.root / "restored"
    summary = restic.restore(snapshot.id, restored)  # restic 0.14: text output parsed
    assert summary.snapshot_id == snapshot.short_id and summary.target == str(restored)
    database = sqlite3.connect(restored / str(copy).lstrip("/"))
    runs = database.execute("SELECT policy, outcome FROM backup_runs ORDER BY started_at").fetchall()
    assert ("files", "ok") in runs
    audit = (restored / str(site.cli.state_dir / "audit.jsonl").lstrip("/")).read_text()
    assert '"backup run"' in audit


def test_retention_and_copies_through_the_runner_api(site: Site, tmp_path: Path) -> None:
    for _ in range(3):
        code, result = site.json("run", "files")
        assert code == 0, result
    restic = site.restic()
    removed = restic.forget_policy(KeepPolicy(last=1), tags=("policy=files",), prune=True)
    # the paths (the manifest inside) keep their newest snapshot
    assert len(removed) == 2
    left = restic.snapshots(tags=("policy=files",))
    manifests = str(site.cli.state_dir / "backup-manifest" / "files")
    assert [sorted(s.paths) for s in left] == [sorted((str(site.data), manifests))]
    other = make_site(tmp_path / "offsite")
    target = other.restic()
    target.init()
    target.copy(restic.repository, tags=("policy=files",))
    assert sorted(s.paths for s in target.snapshots()) == sorted(s.paths for s in left)
    assert target.check().ok


def test_a_file_restic_cannot_read_makes_the_run_partial(site: Site) -> None:
    site.config.write_text(site.config.read_text().replace(f"paths: [{site.data}]", f"paths: [{site.data}, /proc/1/mem]"))
    code, result = site.json("run", "files")
    assert code == 3, result
    assert result["outcome"] == "partial"
    assert result["error"] == "/proc/1/mem: open: Permission denied"
    code, status = site.json("status")
    # the paths snapshot (which holds the manifest) lacks a file: it is not recorded as good
    assert status["policies"][0]["latest_snapshot"] is None  # type: ignore[index]
    assert result["manifest_snapshot"] == result["snapshots"][0]["snapshot_id"]  # type: ignore[index]


def test_the_library_reports_restic_s_progress(site: Site) -> None:
    from backup.runner import BackupProgress, run_policy
    from opsctl.core.config import load_settings
    from opsctl.core.recorder import AuditRecorder
    from opsctl.core.state import open_state

    settings = load_settings(site.config, environ={"OPSCTL_STATE__DIR": str(site.cli.state_dir)},
                             system_file=site.root / "none.yaml", user_file=site.root / "none.yaml")
    events: list[BackupProgress] = []
    recorder = AuditRecorder.for_settings(lambda: settings)
    with open_state(settings) as store:
        result = run_policy(settings, "files", full=True, store=store, recorder=recorder, on_progress=events.append)
    recorder.close()
    assert result.exit_code == 0, result.error
    statuses = [event.status for event in events if event.step == "paths" and event.status is not None]
    # how many status lines restic prints depends on its ticker; that they reach the callback does not
    assert statuses
    assert all(0 <= status.bytes_done <= 3 * 1024 * 1024 for status in statuses)
    assert any(event.step == "check" and event.message for event in events)
    assert {entry.command for entry in recorder.entries} == {"backup run"}
