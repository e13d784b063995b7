"""The lab's monitoring daemon: ``opsctl monitor serve`` on ``{prefix}.90.1:19102``, reading the lab's own configuration.

It is the last peer ``lab up`` starts (:attr:`MonitorPeer.starts_after_publish`): after every
peer it polls answers and after the lab has published ``opsctl.yaml``, which it runs with
(``opsctl -c LAB/opsctl.yaml monitor serve``). That configuration's ``monitoring:`` section
(:func:`monitoring_document`) names the daemon's address as ``listen`` and ``endpoint``, so
``opsctl -c LAB/opsctl.yaml health`` reads the daemon, and sets the lab's short intervals: a
UPS flip shows within ``nut_interval_seconds``. The daemon re-reads the inventory and the
state store's scanned devices every ``reload_seconds``, so the agents ``opsctl agent install``
adds after ``lab up`` and the devices a later scan finds are polled without a restart. It runs
with the state directory of the settings ``lab up`` was given (``OPSCTL_STATE__DIR``), where
``opsctl inventory scan`` keeps the devices. Ready means ``/metrics`` answers and ``/readings``
holds a finished pass of every source.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.files import ensure_dir
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.peer import Answer, Peer, PeerRecord, ProcessPeer, peer_from_record

KIND = "monitor"
MONITOR_NAME = "lab-monitor"
MONITOR_PORT = 19102
# the lab's pace: short enough that a flip of the lab's UPS shows in `opsctl health` within seconds
LAB_INTERVALS: dict[str, float] = {
    "probe_interval_seconds": 3.0,
    "nut_interval_seconds": 2.0,
    "poll_interval_seconds": 10.0,
    "reload_seconds": 3.0,
}


def monitor_address(prefix: str) -> str:
    """The daemon's address in the lab at ``prefix``."""
    return f"{prefix}.90.1"


def opsctl_command() -> tuple[str, ...]:
    """How to run opsctl: the console script beside this interpreter, else the same code through ``-c``."""
    script = Path(sys.executable).parent / "opsctl"
    if script.is_file() and os.access(script, os.X_OK):
        return (str(script),)
    found = shutil.which("opsctl")
    if found:
        return (found,)
    return (sys.executable, "-c", "import sys; from opsctl.cli.main import main; sys.exit(main())")


def monitoring_document(address: str, port: int) -> dict[str, Any]:
    """The ``monitoring:`` keys the lab's configuration gets for a daemon on ``address:port``."""
    return {"listen": f"{address}:{port}", "endpoint": f"http://{address}:{port}", **LAB_INTERVALS}


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "opsctl-lab"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return int(response.status), bytes(response.read())


def readiness(metrics: tuple[int, bytes], readings: tuple[int, bytes]) -> Answer:
    """Whether the answers of ``/metrics`` and ``/readings`` (status, body) make a ready daemon.

    Ready: ``/metrics`` answered 200 with the daemon's own families, and in ``/readings`` every
    source the daemon started with has finished a pass (one a later reload added, such as an
    agent installed after ``lab up``, may still be on its first), and at least one has.
    """
    if metrics[0] != 200 or b"opsctl_monitor_build_info" not in metrics[1]:
        return Answer(False, f"/metrics answered HTTP {metrics[0]} without opsctl_monitor_build_info")
    try:
        document = json.loads(readings[1])
        sources = [(str(source["name"]), int(source["passes"]), bool(source.get("added_by_reload")))
                   for source in document["sources"]]
    except (ValueError, KeyError, TypeError):
        return Answer(False, f"/readings answered HTTP {readings[0]} without a readings document")
    waiting = [name for name, passes, added_later in sources if passes < 1 and not added_later]
    if waiting or not any(passes for _, passes, _ in sources):
        return Answer(False, f"no finished pass yet of {', '.join(waiting) or 'any source'}")
    return Answer(True, f"{len(document.get('readings', []))} readings from {len(sources)} sources: "
                        f"{', '.join(name for name, _, _ in sources)}")


@dataclass(frozen=True)
class MonitorPeer(ProcessPeer):
    """``opsctl monitor serve`` with the lab's configuration, on its own lab address."""

    name: str
    address: str
    port: int
    peer_dir: Path
    layout: LabLayout
    state_dir: Path | None = None
    kind: str = KIND
    starts_after_publish: bool = True

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def marker(self) -> str:
        return f"--listen={self.address}:{self.port}"

    def command(self) -> tuple[str, ...]:
        return (*opsctl_command(), "-c", str(self.layout.config_file), "monitor", "serve", self.marker)

    def environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        if self.state_dir is not None:
            environment["OPSCTL_STATE__DIR"] = str(self.state_dir)
        return environment

    def prepare(self) -> None:
        ensure_dir(self.peer_dir, 0o700)
        self.write_record()

    def ready(self, timeout: float) -> Answer:
        try:
            metrics = _get(f"{self.url}/metrics", timeout)
            readings = _get(f"{self.url}/readings", timeout)
        except (OSError, urllib.error.URLError) as error:
            return Answer(False, f"{self.url}: {getattr(error, 'reason', None) or error}")
        return readiness(metrics, readings)

    def published_monitoring(self) -> dict[str, Any]:
        """The configuration's ``monitoring:`` keys for this daemon (:func:`monitoring_document`)."""
        return monitoring_document(self.address, self.port)


@dataclass(frozen=True)
class MonitorKind:
    """The registry entry for the daemon: ``lab-monitor`` at ``{prefix}.90.1:19102``."""

    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        return None

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [MonitorPeer(name=MONITOR_NAME, address=monitor_address(lab.prefix), port=MONITOR_PORT,
                            peer_dir=lab.layout.peer_dir(MONITOR_NAME), layout=lab.layout, state_dir=lab.state_dir)]

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        return peer_from_record(MonitorPeer, layout, record, peer_dir)


# registered in lab.kinds.PEER_KINDS by reference ("lab.monitor:MONITOR"), like an entry point
MONITOR = MonitorKind()

__all__ = ["MONITOR", "MonitorPeer", "monitor_address", "monitoring_document", "readiness"]
