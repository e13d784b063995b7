"""The drill's throwaway PostgreSQL against the real PostgreSQL 15: loopback only, gone on every way
out (a killed drill's cluster removed by the next), pg_restore from a file or a stream, sanity
queries and row counts. It needs no lab: each test makes its own clusters."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from backup.scratch import (
    Expectation,
    RestoreFailed,
    SanityQuery,
    ScratchCluster,
    ScratchError,
    ScratchRefused,
    count_rows,
    remove_stale_clusters,
    restore_dump,
    run_sanity_queries,
    scratch_postgres,
)
from opsctl.core.errors import ExitCode
from opsctl.core.execute import RESTIC_EXIT_CODES, Program

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/usr/lib/postgresql").is_dir(), reason="PostgreSQL is not installed"),
]

PATIENTS, ENCOUNTERS = 1200, 3100


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    """A work directory the postgres user can pass through (pytest's own is root's 0700)."""
    path = Path(tempfile.mkdtemp(prefix="opsctl-test-scratch-", dir="/var/tmp"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def clusters_in(workdir: Path) -> list[Path]:
    return sorted(workdir.glob("scratch-postgres-*"))


def listening(pid: int) -> set[tuple[str, int]]:
    """Every TCP/UDP socket the postmaster and its children listen on."""
    processes = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    found = set()
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            for connection in process.net_connections(kind="inet"):
                if connection.status == psutil.CONN_LISTEN or not connection.raddr:
                    found.add((connection.laddr.ip, connection.laddr.port))
    return found


def gone(cluster: ScratchCluster) -> bool:
    assert cluster.postmaster_pid is not None
    try:
        return psutil.Process(cluster.postmaster_pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def hospital_dump(workdir: Path) -> Path:
    """A custom-format pg_dump of a small hospital database, made in a scratch cluster of its own."""
    dump = workdir / "his.dump"
    with scratch_postgres(workdir / "source") as cluster:
        with psycopg.connect(cluster.conninfo(), autocommit=True) as connection:
            connection.execute("CREATE DATABASE his")
        with psycopg.connect(cluster.conninfo("his"), autocommit=True) as connection:
            connection.execute(
                "CREATE TABLE patients (id int PRIMARY KEY, name text NOT NULL, born date);"
                "CREATE TABLE encounters (id int PRIMARY KEY, patient int REFERENCES patients, at timestamptz);"
                f"INSERT INTO patients SELECT g, 'patient ' || g, date '1950-01-01' + g FROM generate_series(1, {PATIENTS}) g;"
                f"INSERT INTO encounters SELECT g, 1 + g % {PATIENTS}, timestamptz '2026-01-01' + g * interval '1 hour' "
                f"FROM generate_series(1, {ENCOUNTERS}) g;"
            )
        subprocess.run([cluster.binaries.program("pg_dump"), "--format=custom", "--file", str(dump),
                        cluster.conninfo("his")], check=True, capture_output=True)
    return dump


# -- where it listens ------------------------------------------------------------------------------


def test_a_scratch_cluster_listens_on_its_loopback_address_only_then_is_gone(workdir: Path) -> None:
    with scratch_postgres(workdir, bind="127.0.0.1") as cluster:
        assert cluster.postmaster_pid is not None and cluster.host == "127.0.0.1"
        assert listening(cluster.postmaster_pid) == {("127.0.0.1", cluster.port)}
        # a client of the restored service: over TCP, with the password
        with psycopg.connect(host=cluster.host, port=cluster.port, user=cluster.superuser, dbname="postgres",
                             password=cluster.password) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(host=cluster.host, port=cluster.port, user=cluster.superuser, dbname="postgres",
                            password="wrong", connect_timeout=5)
        assert cluster.password not in repr(cluster)
        assert cluster.server_version.startswith(f"{cluster.binaries.major_version}.")
        directory = cluster.directory
        assert (directory.stat().st_mode & 0o777) == 0o700
    assert gone(cluster) and not directory.exists() and clusters_in(workdir) == []


def test_a_socket_only_cluster_listens_on_no_network_address_at_all(workdir: Path) -> None:
    with scratch_postgres(workdir, bind=None) as cluster:
        assert cluster.host is None and cluster.postmaster_pid is not None
        assert listening(cluster.postmaster_pid) == set()
        with psycopg.connect(cluster.conninfo()) as connection:
            assert connection.execute("SHOW listen_addresses").fetchone() == ("",)
    assert gone(cluster)


def test_a_work_directory_too_long_for_a_socket_path_still_gets_a_cluster(workdir: Path) -> None:
    """A long state directory (the socket path may hold 107 bytes): the socket goes to a private
    directory under /tmp, linked from the cluster's, and both are gone afterwards."""
    deep = workdir / ("a-long-state-directory-" * 4) / "drill-scratch"
    deep.mkdir(parents=True)
    for parent in (deep, deep.parent):
        parent.chmod(0o711)
    with scratch_postgres(deep, bind=None) as cluster:
        assert len(str(cluster.directory / "socket" / ".s.PGSQL.5432")) > 107
        assert (cluster.directory / "socket").is_symlink()
        socket_dir = cluster.socket_dir
        assert socket_dir.parent == Path("/tmp") and (socket_dir.stat().st_mode & 0o777) == 0o700
        with psycopg.connect(cluster.conninfo()) as connection:
            assert connection.execute("SELECT 1").fetchone() == (1,)
    assert gone(cluster) and not cluster.directory.exists() and not socket_dir.exists()


@pytest.mark.parametrize("bind", ["0.0.0.0", "::", "10.20.30.40", "localhost"])
def test_an_address_beyond_loopback_is_refused_before_anything_starts(workdir: Path, bind: str) -> None:
    with pytest.raises(ScratchRefused) as refused, scratch_postgres(workdir, bind=bind):
        pytest.fail("the cluster must not start")
    assert refused.value.exit_code == ExitCode.REFUSED
    assert "loopback" in str(refused.value)
    assert clusters_in(workdir) == []


def test_a_work_directory_postgres_cannot_reach_is_named(tmp_path: Path) -> None:
    # pytest's temporary directories sit under a 0700 directory of root's
    with pytest.raises(ScratchError, match="postgres user cannot reach") as refused, scratch_postgres(tmp_path):
        pytest.fail("the cluster must not start")
    assert "is closed to it" in str(refused.value)
    assert clusters_in(tmp_path) == []


# -- every way out ---------------------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError("drill step failed"), KeyboardInterrupt()])
def test_the_cluster_is_stopped_and_removed_when_the_drill_fails_or_is_interrupted(
    workdir: Path, error: BaseException,
) -> None:
    with pytest.raises(type(error)), scratch_postgres(workdir) as cluster:
        raise error
    assert gone(cluster) and not cluster.directory.exists()


def test_a_killed_drills_cluster_is_stopped_and_removed_by_the_next_one(workdir: Path) -> None:
    killed_dir = workdir / "killed"
    script = (
        "import sys, time; from pathlib import Path; from backup.scratch import scratch_postgres\n"
        f"with scratch_postgres(Path({str(killed_dir)!r})) as c:\n"
        "    print(c.postmaster_pid, c.directory, flush=True); time.sleep(600)\n"
    )
    drill = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert drill.stdout is not None
        pid_text, directory_text = drill.stdout.readline().split()
    finally:
        drill.send_signal(signal.SIGKILL)
        drill.wait()
    postmaster = psutil.Process(int(pid_text))
    assert postmaster.is_running()  # SIGKILL left it behind

    with scratch_postgres(killed_dir) as cluster:
        assert not Path(directory_text).exists()
        assert clusters_in(killed_dir) == [cluster.directory]
        assert remove_stale_clusters(killed_dir) == []  # a running drill's cluster is left alone
    with contextlib.suppress(psutil.NoSuchProcess):
        assert postmaster.status() == psutil.STATUS_ZOMBIE
    assert clusters_in(killed_dir) == []


# -- restore and checks ----------------------------------------------------------------------------


QUERIES = [
    SanityQuery("patients", "SELECT count(*) FROM patients", Expectation.parse(f"== {PATIENTS}")),
    SanityQuery("encounters this year", "SELECT count(*) FROM encounters WHERE at >= '2026-01-01'",
                Expectation.parse(">= 3000")),
    SanityQuery("newest encounter", "SELECT max(at)::date::text FROM encounters", Expectation.parse("== '2026-05-10'")),
    SanityQuery("a patient too many", "SELECT count(*) FROM patients", Expectation.parse(f"> {PATIENTS}")),
    SanityQuery("a misspelt table", "SELECT count(*) FROM patient", Expectation.parse(">= 1")),
    SanityQuery("a write", "DELETE FROM patients RETURNING 1", Expectation.parse("== 1")),
]


def test_a_dump_file_is_restored_counted_and_checked(workdir: Path, hospital_dump: Path) -> None:
    with scratch_postgres(workdir) as cluster:
        timing = restore_dump(cluster, hospital_dump, "his")
        counts = count_rows(cluster, "his", ["patients", "public.encounters"])
        results = run_sanity_queries(cluster, "his", QUERIES)

    assert timing.database == "his" and timing.source == str(hospital_dump)
    assert timing.dump_bytes == hospital_dump.stat().st_size and timing.duration_seconds > 0
    assert timing.started.tzinfo is not None
    assert counts == {"patients": PATIENTS, "public.encounters": ENCOUNTERS}
    outcome = {result.name: (result.passed, result.seen) for result in results}
    assert outcome["patients"] == (True, str(PATIENTS))
    assert outcome["encounters this year"] == (True, str(ENCOUNTERS))
    assert outcome["newest encounter"] == (True, "2026-05-10")
    assert outcome["a patient too many"] == (False, str(PATIENTS))
    assert outcome["a misspelt table"][0] is False and 'relation "patient" does not exist' in outcome[
        "a misspelt table"][1]
    assert outcome["a write"][0] is False and "read-only transaction" in outcome["a write"][1]
    check = results[3].check()
    assert (check.name, check.expected, check.seen, check.passed) == (
        "a patient too many", f"> {PATIENTS}", str(PATIENTS), False)


def test_a_dump_streamed_from_a_program_is_restored(workdir: Path, hospital_dump: Path) -> None:
    with scratch_postgres(workdir, bind=None) as cluster:
        timing = restore_dump(cluster, Program(("cat", str(hospital_dump))), "his_stream")
        assert count_rows(cluster, "his_stream", ["patients"]) == {"patients": PATIENTS}
    assert timing.source == f"cat {hospital_dump}" and timing.dump_bytes is None


def test_a_cut_short_dump_fails_the_restore_naming_pg_restore(workdir: Path, hospital_dump: Path) -> None:
    cut = workdir / "cut.dump"
    cut.write_bytes(hospital_dump.read_bytes()[: hospital_dump.stat().st_size // 2])
    with scratch_postgres(workdir) as cluster, pytest.raises(RestoreFailed) as failed:
        restore_dump(cluster, cut, "his")
    message = str(failed.value)
    assert "pg_restore exited 1 (failed)" in message and "into database his" in message
    assert not failed.value.result.ok


def test_a_failing_source_program_fails_the_restore_naming_it(workdir: Path, hospital_dump: Path) -> None:
    source = Program(("sh", "-c", f"head -c 4096 {hospital_dump}; echo 'restic: repository damaged' >&2; exit 1"))
    with scratch_postgres(workdir) as cluster, pytest.raises(RestoreFailed) as failed:
        restore_dump(cluster, source, "his")
    message = str(failed.value)
    assert "into database his" in message and ": sh exited 1 (failed): " in message
    assert "restic: repository damaged" in message
    assert [member.status_name for member in failed.value.result.members] == ["failed", "failed"]


def test_counting_a_missing_table_is_an_error_naming_it(workdir: Path) -> None:
    with scratch_postgres(workdir, bind=None) as cluster, pytest.raises(ScratchError, match="rows of nope"):
        count_rows(cluster, "postgres", ["nope"])


def test_a_finished_drill_leaves_no_process_and_no_file_behind(workdir: Path, hospital_dump: Path) -> None:
    before = {p.name for p in workdir.iterdir()}
    with scratch_postgres(workdir) as cluster:
        restore_dump(cluster, hospital_dump, "his")
        assert {p.name for p in workdir.iterdir()} == before | {cluster.directory.name}
    assert {p.name for p in workdir.iterdir()} == before
    assert not [p.pid for p in psutil.process_iter(["cmdline"])
                if str(cluster.directory) in " ".join(p.info["cmdline"] or [])]


@pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed (Debian package restic)")
def test_a_dump_kept_by_restic_is_streamed_into_the_cluster_with_the_password_in_the_environment_only(
    workdir: Path, hospital_dump: Path, tmp_path: Path,
) -> None:
    password = "drill-canary-0c5e7a"
    repository = tmp_path / "repo"
    environment = {**os.environ, "RESTIC_PASSWORD": password}
    subprocess.run(["restic", "-r", str(repository), "init", "-q"], env=environment, check=True, capture_output=True)
    with hospital_dump.open("rb") as dump:
        subprocess.run(["restic", "-r", str(repository), "backup", "-q", "--stdin", "--stdin-filename", "his.dump"],
                       stdin=dump, env=environment, check=True, capture_output=True)
    source = Program(("restic", "-r", str(repository), "--no-cache", "dump", "latest", "/his.dump"),
                     RESTIC_EXIT_CODES)

    with scratch_postgres(workdir) as cluster:
        timing = restore_dump(cluster, source, "his", secret_env={"RESTIC_PASSWORD": password})
        assert count_rows(cluster, "his", ["patients", "encounters"]) == {
            "patients": PATIENTS, "encounters": ENCOUNTERS}
        with pytest.raises(RestoreFailed, match=r"restic exited 1 \(failed\)"):
            restore_dump(cluster, source, "his_wrong", secret_env={"RESTIC_PASSWORD": "not-the-password"})
    assert password not in timing.source and timing.source.startswith("restic -r ")
