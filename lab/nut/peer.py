"""The NUT peer: ``upsd`` with the ``dummy-ups`` driver on ``{prefix}.80.1:13493``, one UPS called ``lab-ups``.

The peer's process is a small supervisor (``python -m lab.nut supervise``) that runs the driver,
then upsd, both in the foreground with ``NUT_CONFPATH``/``NUT_STATEPATH`` in the peer's
directory, and stops both when it is stopped. The monitor user's password is made per lab
(``secrets/nut-password``, 0600) and published only as a ``file:`` reference. Ready means
``upsc`` read a real status of the UPS (not upsd's ``WAIT`` before the driver has delivered).
:func:`set_ups_state` rewrites the driver's ``.dev`` file (dummy-ups re-reads it when its mtime
changes) and waits until upsd reports the new status.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lab.errors import LabError
from lab.files import ensure_dir, ensure_secret, write_atomic
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.nut.config import (
    DEV_FILE,
    MONITOR_USER,
    NUT_NAME,
    NUT_PORT,
    STATES,
    UPS_NAME,
    nut_address,
    nut_environment,
    parse_upsc,
    render_dev,
    render_ups_conf,
    render_upsd_conf,
    render_upsd_users,
    state_of_status,
)
from lab.peer import RECORD_FILE, Answer, Peer, PeerRecord, ProcessPeer, peer_from_record
from lab.publish import PublishedService
from lab.tools import find_program
from opsctl.core.errors import OpsctlError
from opsctl.core.execute import execute

if TYPE_CHECKING:
    from opsctl.core.settings import Settings

KIND = "nut"


@dataclass(frozen=True)
class NutPeer(ProcessPeer):
    """The lab's UPS server: upsd and dummy-ups under one supervisor process."""

    name: str
    address: str
    port: int
    peer_dir: Path
    layout: LabLayout
    kind: str = KIND

    @property
    def conf_dir(self) -> Path:
        return self.peer_dir / "conf"

    @property
    def state_dir(self) -> Path:
        return self.peer_dir / "state"

    @property
    def dev_path(self) -> Path:
        return self.conf_dir / DEV_FILE

    @property
    def password_path(self) -> Path:
        return self.layout.secrets_dir / "nut-password"

    @property
    def marker(self) -> str:
        return f"--dir={self.peer_dir}"

    def command(self) -> tuple[str, ...]:
        return (sys.executable, "-m", "lab.nut", "supervise", f"--dir={self.peer_dir}")

    def environment(self) -> dict[str, str]:
        return {**nut_environment(self.conf_dir, self.state_dir), "PYTHONPATH": os.pathsep.join(sys.path)}

    def prepare(self) -> None:
        for program in ("dummy-ups", "upsd"):
            if not (Path("/lib/nut") / program).is_file():
                raise LabError(f"NUT's {program} is not installed", hint="install the Debian package nut-server")
        find_program("upsc", package="nut-client")
        ensure_dir(self.peer_dir, 0o700)
        ensure_dir(self.conf_dir, 0o700)
        ensure_dir(self.state_dir, 0o700)
        ensure_secret(self.password_path, nbytes=16, hex_only=True)
        password = self.password_path.read_text(encoding="utf-8").strip()
        write_atomic(self.conf_dir / "nut.conf", "MODE=netserver\n", mode=0o600)
        write_atomic(self.conf_dir / "ups.conf", render_ups_conf(), mode=0o600)
        write_atomic(self.conf_dir / "upsd.conf", render_upsd_conf(self.address, self.port), mode=0o600)
        write_atomic(self.conf_dir / "upsd.users", render_upsd_users(password), mode=0o600)
        if not self.dev_path.exists():
            write_atomic(self.dev_path, render_dev("online"), mode=0o600)
        self.write_record()

    def read_ups(self, timeout: float) -> tuple[dict[str, str] | None, str]:
        """``upsc lab-ups@ADDRESS:PORT`` once: the UPS's variables, or ``(None, why)``."""
        argv = (find_program("upsc", package="nut-client"), f"{UPS_NAME}@{self.address}:{self.port}")
        try:
            result = execute(argv, env=nut_environment(self.conf_dir, self.state_dir), timeout=timeout)
        except OpsctlError as error:
            return None, error.message
        if result.timed_out:
            return None, f"upsc gave no answer within {timeout:g} s"
        if not result.ok:
            lines = [line for line in result.stderr_text.splitlines() if line.strip() and "SSL" not in line]
            return None, lines[-1] if lines else f"upsc exited {result.exit_status}"
        return parse_upsc(result.stdout_text), ""

    def ready(self, timeout: float) -> Answer:
        """upsc reads the UPS's status, and it is a real one (not WAIT)."""
        variables, why = self.read_ups(max(1.0, timeout))
        if variables is None:
            return Answer(False, f"upsc {UPS_NAME}: {why}")
        status = variables.get("ups.status", "")
        if not status or status == "WAIT":
            return Answer(False, f"upsd has no data from dummy-ups yet (ups.status {status or 'missing'})")
        return Answer(True, f"{UPS_NAME}: ups.status {status}, battery.charge {variables.get('battery.charge', '?')}")

    def published_services(self) -> list[PublishedService]:
        """The UPS server as the ``ups`` service: where upsd listens, the UPS, the monitor user and password reference."""
        return [PublishedService(name=self.name, kind=self.kind, purpose="ups", details={
            "address": self.address, "port": self.port, "ups": UPS_NAME, "username": MONITOR_USER,
            "password": f"file:{self.password_path}",
        })]


@dataclass(frozen=True)
class NutKind:
    """The registry entry for NUT: ``lab-nut`` at ``{prefix}.80.1:13493``."""

    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        return None

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [NutPeer(name=NUT_NAME, address=nut_address(lab.prefix), port=NUT_PORT,
                        peer_dir=lab.layout.peer_dir(NUT_NAME), layout=lab.layout)]

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        return peer_from_record(NutPeer, layout, record, peer_dir)


# registered in lab.kinds.PEER_KINDS by reference ("lab.nut.peer:NUT"), like an entry point
NUT = NutKind()


@dataclass(frozen=True)
class UpsChange:
    """What ``opsctl lab ups STATE`` did: the state asked for, the status upsd now reports, and how long that took."""

    state: str
    status: str
    elapsed_seconds: float

    def to_dict(self) -> dict[str, object]:
        return {"state": self.state, "status": self.status, "elapsed_seconds": round(self.elapsed_seconds, 3)}


def _running_peer(layout: LabLayout) -> NutPeer:
    import json

    peer_dir = layout.peer_dir(NUT_NAME)
    try:
        record = PeerRecord.from_mapping(json.loads((peer_dir / RECORD_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        raise LabError(f"the lab runs no NUT server ({peer_dir} has no record)", hint="run `opsctl lab up`") from None
    peer = NUT.load(layout, record, peer_dir)
    assert isinstance(peer, NutPeer)
    if peer.running_pid() is None:
        raise LabError(f"the lab's NUT server {peer.name} is not running", hint="run `opsctl lab up`")
    return peer


def set_ups_state(settings: Settings, state: str, *, wait_seconds: float = 15.0) -> UpsChange:
    """Put the lab's UPS in ``state`` (online, on-battery, low-battery) and wait until upsd reports it.

    Raise LabError for an unknown state, a lab without its NUT server, or a status that does not
    change within ``wait_seconds`` (naming what upsd reports instead).
    """
    from lab.settings import lab_dir

    if state not in STATES:
        raise LabError(f"no UPS state {state!r}", hint=f"one of {', '.join(STATES)}")
    started = time.monotonic()
    peer = _running_peer(LabLayout(lab_dir(settings).absolute()))
    previous = peer.dev_path.stat().st_mtime if peer.dev_path.exists() else 0.0
    write_atomic(peer.dev_path, render_dev(state), mode=0o600)
    # dummy-ups re-reads the file when its mtime changes, at one-second resolution: move it on strictly
    stamp = max(time.time(), previous + 1.0)
    os.utime(peer.dev_path, (stamp, stamp))
    wanted = STATES[state]["ups.status"]
    status = ""
    deadline = started + wait_seconds
    while time.monotonic() < deadline:
        variables, _why = peer.read_ups(2.0)
        status = (variables or {}).get("ups.status", "")
        if state_of_status(status) == state:
            return UpsChange(state, status, time.monotonic() - started)
        time.sleep(0.25)
    raise LabError(f"the lab's UPS still reports {status or 'nothing'!r}, not {wanted!r}, after {wait_seconds:g} s",
                   hint=f"see {peer.log_path}")


__all__ = ["NUT", "NutPeer", "UpsChange", "set_ups_state"]
