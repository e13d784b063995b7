"""A controller with a policy over an Orthanc of its own (the small lab's prefix), for the Orthanc
hook and drill tests: stopping a PACS breaks it, so never the session lab's."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetcli import Cli

import lab as lab_api
from backup.restic import Restic
from backup.targets import Repository
from lab.orthanc.peer import OrthancPeer, orthanc_peer
from lab.peer import wait_ready
from opsctl.core.secrets import SecretRef
from opsctl.core.settings import Settings

SMALL_LAB_PREFIX = os.environ.get("TEST_SMALL_LAB_PREFIX", "127.4")


@dataclass
class PacsSite:
    root: Path
    cli: Cli
    config: Path
    peer: OrthancPeer
    details: dict[str, Any]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return self.cli("-c", str(self.config), *args, timeout=timeout)

    def json(self, *args: str) -> tuple[int, dict[str, Any]]:
        return self.cli.json("-c", str(self.config), *args)

    def restic(self) -> Restic:
        return Restic(Repository(str(self.root / "repo"), {"RESTIC_PASSWORD": SecretRef("file", str(self.root / "pw"))}),
                      cache_dir=self.root / "restic-cache")

    def statistics(self) -> dict[str, Any]:
        from lab.orthanc.dicom import rest_get

        password = SecretRef.parse(self.details["password"]).resolve()
        return dict(rest_get(self.details["rest_url"], "/statistics", user=self.details["user"], password=password,
                             timeout=10))

    def metrics(self, name: str) -> dict[str, float]:
        path = self.root / "textfile" / name
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in path.read_text().splitlines() if line and not line.startswith("#")}


def orthanc_policy(details: dict[str, Any], *, max_downtime: str = "5m") -> str:
    """The policy's ``orthanc:`` section (YAML flow) from what the lab publishes."""
    return ("      orthanc:\n"
            f"        url: {details['rest_url']}\n"
            f"        username: {details['user']}\n"
            f"        password: {details['password']}\n"
            f"        storage_dir: {details['storage_dir']}\n"
            f"        index_dir: {details['index_dir']}\n"
            f"        stop_command: {json.dumps(details['stop_command'])}\n"
            f"        start_command: {json.dumps(details['start_command'])}\n"
            f"        dicom_aet: {details['dicom']['aet']}\n"
            f"        max_downtime: {max_downtime}\n")


@dataclass
class OwnOrthanc:
    settings: Settings
    peer: OrthancPeer

    def details(self) -> dict[str, Any]:
        (service,) = self.peer.published_services()
        return dict(service.to_dict())


def start_own_orthanc(state_dir: Path) -> OwnOrthanc:
    """An Orthanc peer alone in a lab directory of its own, started and ready."""
    settings = Settings(state={"dir": state_dir}, lab={"prefix": SMALL_LAB_PREFIX})
    peer = orthanc_peer(lab_api.LabLayout(lab_api.lab_dir(settings).absolute()), SMALL_LAB_PREFIX)
    peer.prepare()
    peer.start()
    answer = wait_ready(peer, wait_seconds=90)
    assert answer.ok, peer.failure(answer.detail).describe()
    return OwnOrthanc(settings, peer)


def own_orthanc_fixture(state_dir: Path) -> Iterator[OwnOrthanc]:
    own = start_own_orthanc(state_dir)
    try:
        yield own
    finally:
        lab_api.down(own.settings)
