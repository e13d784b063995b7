"""The Orthanc peer: Debian's Orthanc 1.10 in a network namespace of its own, reached on
``{prefix}.60.1`` (REST on 18042, DICOM on 14242) through two loopback forwarders.

Orthanc 1.10 cannot bind one address, so it runs in its own namespace
(:mod:`opsctl.core.netns`), where it listens on that namespace's ``lo`` only; two forwarder
processes listen on the lab address and connect into it. Nothing listens on the machine's
external interface. Its storage and SQLite index live in the peer's directory; its one REST
user's password is a 0600 secret of the lab, in a 0600 ``credentials.json`` of its config
directory, and published only as a ``file:`` reference in ``services.json``.

At its first start the lab loads three sample studies (pydicom's test files, sent by
C-STORE) and records them in ``samples.json``. Ready means a C-ECHO answered, an
authenticated ``GET /system`` answered, and the samples were loaded once.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.files import ensure_dir, ensure_secret, write_atomic
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.orthanc.config import (
    CLIENT_AET,
    CREDENTIALS_CONFIG,
    DICOM_AET,
    DICOM_PORT,
    HTTP_PORT,
    MAIN_CONFIG,
    ORTHANC_NAME,
    ORTHANC_PROGRAM,
    REST_USER,
    orthanc_address,
    orthanc_command,
    render_credentials_config,
    render_orthanc_config,
    rest_url,
)
from lab.peer import Answer, Peer, PeerRecord, ProcessPeer, peer_from_record
from lab.process import read_pid
from lab.publish import PublishedService
from lab.tools import find_program
from opsctl.core.netns import ForwarderHandle, NetnsError, start_forwarder, start_in_namespace

KIND = "orthanc"
PURPOSE = "pacs"
SAMPLES_FILE = "samples.json"
_SERVER_ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "TZ": "UTC"}
_LOAD_WAIT_SECONDS = 60.0
_STOP_SECONDS = 15.0


@dataclass(frozen=True)
class OrthancPeer(ProcessPeer):
    """The lab's Orthanc, its two forwarders and its sample studies."""

    name: str
    address: str
    port: int  # the REST port; the DICOM port is dicom_port
    peer_dir: Path
    layout: LabLayout
    dicom_port: int = DICOM_PORT
    aet: str = DICOM_AET
    user: str = REST_USER
    kind: str = KIND

    @property
    def config_dir(self) -> Path:
        return self.peer_dir / "config"

    @property
    def storage_dir(self) -> Path:
        return self.peer_dir / "storage"

    @property
    def index_dir(self) -> Path:
        return self.peer_dir / "index"

    @property
    def password_path(self) -> Path:
        """The 0600 file holding the REST user's password."""
        return self.layout.secrets_dir / "orthanc-password"

    @property
    def samples_path(self) -> Path:
        return self.peer_dir / SAMPLES_FILE

    @property
    def marker(self) -> str:
        return str(self.config_dir)

    @property
    def rest_url(self) -> str:
        return rest_url(self.address, self.port)

    def forwarder_pid_path(self, port: int) -> Path:
        return self.peer_dir / f"forward-{port}.pid"

    def command(self) -> tuple[str, ...]:
        return orthanc_command(
            find_program(ORTHANC_PROGRAM, package="orthanc"), self.config_dir
        )

    def environment(self) -> dict[str, str]:
        return dict(_SERVER_ENVIRONMENT)

    def prepare(self) -> None:
        find_program(ORTHANC_PROGRAM, package="orthanc")
        for directory in (self.peer_dir, self.storage_dir, self.index_dir):
            ensure_dir(directory, 0o700)
        ensure_dir(self.config_dir, 0o700)
        ensure_secret(self.password_path, hex_only=True)
        write_atomic(
            self.config_dir / MAIN_CONFIG,
            render_orthanc_config(
                name=self.name,
                storage_dir=self.storage_dir,
                index_dir=self.index_dir,
                http_port=self.port,
                dicom_port=self.dicom_port,
                aet=self.aet,
            ),
            mode=0o600,
        )
        write_atomic(
            self.config_dir / CREDENTIALS_CONFIG,
            render_credentials_config(self.user, self._password()),
            mode=0o600,
        )
        self.write_record()

    def _password(self) -> str:
        return self.password_path.read_text(encoding="utf-8").strip()

    def _log(self, text: str) -> None:
        with open(self.log_path, "a", encoding="utf-8") as log:
            log.write(f"--- opsctl lab: {text}\n")

    def start(self) -> int:
        """Start Orthanc in a new namespace, its forwarders, and load the samples on first start.

        A forwarder or sample load that fails is written to the peer's log (the readiness
        check then fails and names it); only a namespace that cannot be made raises
        ``LabError``.
        """
        self._log(f"starting {self.name} at {time.strftime('%Y-%m-%dT%H:%M:%S%z')}")
        try:
            process = start_in_namespace(
                self.command(),
                env=self.environment(),
                cwd=self.peer_dir,
                log_path=self.log_path,
                marker=self.marker,
            )
        except NetnsError as error:
            raise LabError(f"{self.name}: {error}", hint=error.hint) from None
        self.pid_path.write_text(f"{process.pid}\n", encoding="utf-8")
        for port in (self.port, self.dicom_port):
            try:
                forwarder = start_forwarder(
                    self.address, port, process.pid, port, log_path=self.log_path
                )
            except NetnsError as error:
                self._log(f"cannot forward {self.address}:{port}: {error}")
                continue
            self.forwarder_pid_path(port).write_text(f"{forwarder.pid}\n", encoding="utf-8")
        if not self.samples_path.exists():
            try:
                self._load_samples()
            except LabError as error:
                self._log(f"cannot load the sample studies: {error}")
        return process.pid

    def _load_samples(self) -> None:
        """Wait for the REST API, C-STORE the sample instances, check the count, record them."""
        from lab.orthanc.dicom import DicomError, c_store, rest_get, sample_datasets

        deadline = time.monotonic() + _LOAD_WAIT_SECONDS
        while True:
            try:
                rest_get(self.rest_url, "/system", user=self.user, password=self._password(),
                         timeout=3)  # fmt: skip
                break
            except DicomError as error:
                if self.running_pid() is None or time.monotonic() >= deadline:
                    raise LabError(f"Orthanc never answered: {error}") from None
                time.sleep(0.2)
        samples = sample_datasets()
        try:
            c_store(
                self.address, self.dicom_port, [dataset for _, dataset in samples],
                called_aet=self.aet, calling_aet=CLIENT_AET, timeout=30,
            )  # fmt: skip
            statistics = self.statistics(timeout=10)
        except DicomError as error:
            raise LabError(str(error)) from None
        studies = {sample.study_uid for sample, _ in samples}
        if statistics.get("CountStudies", 0) < len(studies):
            raise LabError(f"after C-STORE Orthanc counts {statistics.get('CountStudies')} studies")
        document = {
            "studies": len(studies),
            "series": len({sample.series_uid for sample, _ in samples}),
            "instances": len(samples),
            "loaded": [
                {
                    "file": sample.file_name,
                    "study": sample.study_uid,
                    "series": sample.series_uid,
                    "sop": sample.sop_uid,
                }
                for sample, _ in samples
            ],
        }
        write_atomic(self.samples_path, json.dumps(document, indent=2) + "\n")
        self._log(f"loaded {len(samples)} sample instances in {len(studies)} studies")

    def statistics(self, *, timeout: float = 5.0) -> dict[str, Any]:
        """Orthanc's ``/statistics`` (counts of patients, studies, series, instances, disk size).

        Raise ``DicomError`` if it does not answer.
        """
        from lab.orthanc.dicom import rest_get

        answer = rest_get(self.rest_url, "/statistics", user=self.user,
                          password=self._password(), timeout=timeout)  # fmt: skip
        return dict(answer)

    def forwarders(self) -> list[ForwarderHandle]:
        """The forwarders this peer recorded (running or not)."""
        handles = []
        for port in (self.port, self.dicom_port):
            pid = read_pid(self.forwarder_pid_path(port))
            if pid is not None:
                handles.append(ForwarderHandle(pid=pid, listen_host=self.address, listen_port=port))
        return handles

    def stop(self, timeout: float = _STOP_SECONDS) -> bool:
        """Stop the forwarders and Orthanc (which then leaves its namespace); True if Orthanc ran."""
        for handle in self.forwarders():
            try:
                handle.stop()
            except NetnsError as error:
                raise LabError(f"{self.name}: {error}") from None
            self.forwarder_pid_path(handle.listen_port).unlink(missing_ok=True)
        return super().stop(timeout=max(timeout, _STOP_SECONDS))

    def ready(self, timeout: float) -> Answer:
        """A C-ECHO, an authenticated ``GET /system`` and the counts, all through the forwarders."""
        from lab.orthanc.dicom import DicomError, c_echo, rest_get

        try:
            c_echo(self.address, self.dicom_port, called_aet=self.aet, calling_aet=CLIENT_AET,
                   timeout=timeout)  # fmt: skip
            system = rest_get(self.rest_url, "/system", user=self.user, password=self._password(),
                              timeout=timeout)  # fmt: skip
            statistics = self.statistics(timeout=timeout)
        except (DicomError, OSError) as error:
            return Answer(False, str(error))
        if not self.samples_path.exists():
            return Answer(False, f"the sample studies were never loaded (see {self.log_path})")
        return Answer(
            True,
            f"Orthanc {system.get('Version', '?')}: C-ECHO and REST answered, "
            f"{statistics.get('CountStudies')} studies, {statistics.get('CountInstances')} instances",
        )

    def control_command(self, action: str) -> list[str]:
        """The argv that stops or starts this peer from any process (for a backup hook)."""
        return [sys.executable, "-m", "lab.orthanc", action, "--lab-dir", str(self.layout.root)]

    def published_services(self) -> list[PublishedService]:
        """The PACS as ``services.json`` holds it (password by reference only)."""
        samples: dict[str, Any] = {}
        if self.samples_path.exists():
            loaded = json.loads(self.samples_path.read_text(encoding="utf-8"))
            samples = {key: loaded[key] for key in ("studies", "series", "instances")}
        return [
            PublishedService(
                name=self.name,
                kind=self.kind,
                purpose=PURPOSE,
                details={
                    "rest_url": self.rest_url,
                    "address": self.address,
                    "http_port": self.port,
                    "dicom": {"host": self.address, "port": self.dicom_port, "aet": self.aet},
                    "user": self.user,
                    "password": f"file:{self.password_path}",
                    "storage_dir": str(self.storage_dir),
                    "index_dir": str(self.index_dir),
                    "index": "sqlite",
                    "config_dir": str(self.config_dir),
                    "stop_command": self.control_command("stop"),
                    "start_command": self.control_command("start"),
                    "samples_at_load": samples,
                },
            )
        ]


def orthanc_peer(layout: LabLayout, prefix: str) -> OrthancPeer:
    """The lab's Orthanc peer for the lab in ``layout`` under address ``prefix``."""
    return OrthancPeer(
        name=ORTHANC_NAME,
        address=orthanc_address(prefix),
        port=HTTP_PORT,
        peer_dir=layout.peer_dir(ORTHANC_NAME),
        layout=layout,
    )


@dataclass(frozen=True)
class OrthancKind:
    """The registry entry for Orthanc: ``lab-orthanc`` at ``{prefix}.60.1:18042`` (DICOM 14242)."""

    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        find_program(ORTHANC_PROGRAM, package="orthanc")

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [orthanc_peer(lab.layout, lab.prefix)]

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        return peer_from_record(OrthancPeer, layout, record, peer_dir)


ORTHANC = OrthancKind()
