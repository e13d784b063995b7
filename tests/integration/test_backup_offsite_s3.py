"""Off-site copies to the lab's SeaweedFS (signatures and object lock enforced) with the backup keys.

``offsite setup`` makes the bucket with the admin keys (references); ``copy`` sends the
policy's snapshots and manifests; status shows the off-site copy's age against the RPO, the
bucket's warnings and its real size; a restore comes from the off-site copy; prune there
says the versions stay until the lifecycle rule expires them. The store is reached through a
small TCP proxy of the test's own, so "the store stopped in the middle of a copy" is the
proxy cutting every connection once N bytes went up (a count, not a time): the copy fails,
the metrics say so, and a later copy succeeds.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from test_backup_run import Site, make_site

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

LAB_PREFIX = os.environ.get("TEST_LAB_PREFIX", "127.0")


@dataclass
class CuttingProxy:
    """A TCP proxy to ``upstream`` that, once armed with ``cut_after`` bytes, forwards that many bytes
    client to store and then closes every connection (and every new one) until ``restore`` is called."""

    upstream: tuple[str, int]
    listener: socket.socket = field(init=False)
    cut_after: int | None = None
    sent: int = 0
    cut: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: list[socket.socket] = field(default_factory=list)
    stopped: bool = False

    def __post_init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((f"{LAB_PREFIX}.40.99", 0))
        self.listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        host, port = self.listener.getsockname()
        return f"http://{host}:{port}"

    def arm(self, cut_after: int) -> None:
        with self.lock:
            self.sent, self.cut_after, self.cut = 0, cut_after, False

    def restore(self) -> None:
        with self.lock:
            self.cut_after, self.cut = None, False

    def close(self) -> None:
        self.stopped = True
        self.listener.close()
        self._drop_all()

    def _drop_all(self) -> None:
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self.connections.clear()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            self.connections += [client, server]
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upload: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if upload:
                    with self.lock:
                        if self.cut:
                            break
                        if self.cut_after is not None and self.sent + len(data) >= self.cut_after:
                            self.cut = True
                            allowed = max(0, self.cut_after - self.sent)
                            self.sent = self.cut_after
                            data = data[:allowed]
                        else:
                            self.sent += len(data)
                    if self.cut:
                        if data:
                            sink.sendall(data)
                        self._drop_all()
                        break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


@dataclass
class OffsiteSite:
    site: Site
    proxy: CuttingProxy
    bucket: str
    admin_keys: tuple[str, str]


@pytest.fixture
def offsite(lab: RunningLab, tmp_path: Path) -> Iterator[OffsiteSite]:
    published = lab.publication.object_store
    assert published is not None, "the lab publishes no S3 store"
    upstream = urllib.parse.urlsplit(published.endpoint)
    assert upstream.hostname and upstream.port
    proxy = CuttingProxy((upstream.hostname, upstream.port))
    site = make_site(tmp_path / "site")
    (site.data / "big.bin").write_bytes(os.urandom(2 * 1024 * 1024))
    (site.data / "notes.txt").write_text("ward 3\n")
    bucket = f"opsctl-offsite-{uuid.uuid4().hex[:12]}"
    text = site.config.read_text().replace(
        "  policies:\n",
        f"    offsite: {{type: s3, endpoint: '{proxy.endpoint}', bucket: {bucket}, "
        f"access_key_id: '{published.backup_access_key_id}', "
        f"secret_access_key: '{published.backup_secret_access_key}', password: file:{site.root}/pw}}\n"
        "  policies:\n",
    ) + "      offsite: offsite\n"
    site.config.write_text(text)
    assert site.run("init", "local").returncode == 0
    try:
        yield OffsiteSite(site, proxy, bucket, (published.admin_access_key_id, published.admin_secret_access_key))
    finally:
        proxy.close()


def _setup(offsite: OffsiteSite) -> None:
    done = offsite.site.run("offsite", "setup", "files", "--admin-access-key-id", offsite.admin_keys[0],
                            "--admin-secret-access-key", offsite.admin_keys[1], "--retention-days", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].startswith(f"bucket {offsite.bucket} on {offsite.proxy.endpoint}: created")


def test_copies_go_off_site_and_status_restore_and_prune_use_them(offsite: OffsiteSite) -> None:
    site = offsite.site
    code, before = site.json("status")
    assert code == 1  # never copied: past the RPO off-site
    assert before["policies"][0]["offsite"]["status"] == "never copied"  # type: ignore[index]
    _setup(offsite)
    code, run = site.json("run", "files")
    assert code == 0, run

    code, copied = site.json("copy", "files")
    assert code == 0, copied
    # one snapshot: the paths, with the run's manifest inside (a policy with paths keeps it there)
    assert copied["outcome"] == "ok" and len(copied["copied_snapshots"]) == 1
    code, again = site.json("copy", "files")
    assert code == 0 and again["copied_snapshots"] == []  # restic skipped what is there

    code, status = site.json("status")
    assert code == 0, status
    off = status["policies"][0]["offsite"]  # type: ignore[index]
    assert off["status"] == "ok" and off["within_rpo"] is True and off["warnings"] == []
    assert off["latest_snapshot"]["snapshot_id"] in copied["copied_snapshots"]  # type: ignore[operator]
    assert off["bucket_size_bytes"] > 2 * 1024 * 1024
    values = site.metrics()
    assert values['opsctl_backup_offsite_last_copy_success{policy="files"}'] == 1.0
    assert 'opsctl_backup_offsite_last_success_timestamp_seconds{policy="files"}' in values
    assert values['opsctl_backup_snapshot_age_seconds{policy="files",repository="offsite"}'] >= 0
    assert values['opsctl_backup_last_run_success{policy="files"}'] == 1.0  # the run's gauges kept
    table = site.run("status")
    assert "│ files " in table.stdout and "off-site" in table.stdout

    target = site.root / "from-offsite"
    code, restored = site.json("restore", "files", "--from", "offsite", "--target", str(target))
    assert code == 0, restored
    assert restored["repository"] == "offsite"
    copy = target / str(site.data).lstrip("/")
    assert (copy / "big.bin").read_bytes() == (site.data / "big.bin").read_bytes()

    code, pruned = site.json("prune", "files", "--on", "offsite")
    assert code == 0, pruned
    assert pruned["size_kind"] == "bucket" and pruned["size_before_bytes"] > 2 * 1024 * 1024
    assert "delete markers" in pruned["notes"][0]  # type: ignore[index]
    done = site.run("prune", "files", "--on", "offsite")
    assert "lifecycle rule" in done.stdout

    site.config.write_text(site.config.read_text() + "      copy_after_run: true\n")
    (site.data / "notes.txt").write_text("ward 4\n")
    code, run = site.json("run", "files")
    assert code == 0, run
    assert run["offsite_copy"]["outcome"] == "ok"  # type: ignore[index]
    assert len(run["offsite_copy"]["copied_snapshots"]) == 1  # type: ignore[index]


def test_a_plain_bucket_is_warned_of_in_status(offsite: OffsiteSite) -> None:
    import boto3
    from botocore.config import Config

    from opsctl.core.secrets import SecretRef

    admin = boto3.client("s3", endpoint_url=offsite.proxy.endpoint, region_name="us-east-1",
                         aws_access_key_id=SecretRef.parse(offsite.admin_keys[0]).resolve(),
                         aws_secret_access_key=SecretRef.parse(offsite.admin_keys[1]).resolve(),
                         config=Config(s3={"addressing_style": "path"}))
    admin.create_bucket(Bucket=offsite.bucket)
    code, status = offsite.site.json("status")
    assert code == 1  # and never copied
    warnings = status["policies"][0]["offsite"]["warnings"]  # type: ignore[index]
    assert [warning.split(":")[0] for warning in warnings][:1] == ["versioning off"]
    assert "no lifecycle rule" in [warning.split(":")[0] for warning in warnings]
    done = offsite.site.run("status")
    assert "files: off-site offsite: versioning off: " in done.stderr


def test_the_store_cut_midway_fails_the_copy_and_a_later_copy_succeeds(offsite: OffsiteSite) -> None:
    site = offsite.site
    _setup(offsite)
    assert site.json("run", "files")[0] == 0
    offsite.proxy.arm(cut_after=1024 * 1024)  # half of the 2 MiB pack has gone up
    # restic retries a refused store for minutes: --timeout bounds it; the cut is what fails the copy
    code, failed = site.json("copy", "files", "--timeout", "20")
    assert offsite.proxy.cut, "the proxy never cut: the copy sent less than asked"
    assert code == 1, failed
    assert failed["outcome"] == "failed" and failed["copied_snapshots"] == []
    assert "offsite" in str(failed["error"]) or offsite.proxy.endpoint in str(failed["error"])
    values = site.metrics()
    assert values['opsctl_backup_offsite_last_copy_success{policy="files"}'] == 0.0
    assert 'opsctl_backup_offsite_last_success_timestamp_seconds{policy="files"}' not in values
    code, status = site.json("status")
    assert code == 1 and status["policies"][0]["offsite"]["status"] == "copy failed"  # type: ignore[index]

    offsite.proxy.restore()
    code, copied = site.json("copy", "files")
    assert code == 0, copied
    assert len(copied["copied_snapshots"]) == 1  # the paths snapshot, its manifest inside
    assert site.metrics()['opsctl_backup_offsite_last_copy_success{policy="files"}'] == 1.0
    # the killed copy left its restic lock off-site: check removes it (its holder is gone) and reads all
    check = site.run("check", "files", "--on", "offsite", "--read-data-subset", "1/1")
    assert check.returncode == 0, check.stdout + check.stderr
