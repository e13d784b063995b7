"""The snmpsim peer: one ``snmpsim-command-responder`` serving recordings of real devices.

One process runs one SNMP engine per recording, each with its own data directory and its own
address (``{prefix}.20.2`` onwards, port 11161), so each address is one device. v2c takes the
recording's name as community; v3 (authPriv SHA/AES, the lab's v3 user) needs the recording's
name as context. snmpsim refuses root and drops to nobody:nogroup, so its recordings, index
cache and Python must be reachable by nobody: the recordings live in a world-readable runtime
directory under ``/run/opsctl-lab`` (a lab directory may sit under a 0700 directory), and
``prepare`` refuses with a clear error when the Python environment is not reachable.
"""

from __future__ import annotations

import bz2
import hashlib
import importlib.util
import os
import pwd
import shutil
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.files import ensure_dir, write_atomic
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.peer import Answer, Peer, PeerRecord, ProcessPeer, peer_from_record
from lab.publish import PublishedDevice
from lab.snmp.config import (
    BUNDLED_RECORDINGS,
    RECORDINGS,
    SNMP_GROUP,
    SNMP_PORT,
    SNMPSIM_NAME,
    SYS_DESCR,
    SYS_OBJECT_ID,
    V3_AUTH_PROTOCOL,
    V3_PRIV_PROTOCOL,
    V3_USER,
    Recording,
    SimEngine,
    has_subtree,
    parse_snmprec_values,
    render_snmpsim_args,
    snmpsim_address,
    snmpsim_command,
    unreachable_by_others,
)
from lab.snmp.credentials import (
    ensure_snmp_secrets,
    snmp_get_patiently,
    snmp_group_vars,
    write_client_confs,
)

KIND = "snmpsim"
RUNTIME_ROOT = Path("/run/opsctl-lab")
PROCESS_USER = "nobody"
PROCESS_GROUP = "nogroup"
UPS_MIB = "1.3.6.1.2.1.33"


def recordings_source() -> Path:
    """The ``data`` directory of the installed snmpsim-data package."""
    spec = importlib.util.find_spec("snmpsim_data")
    if spec is None or not spec.submodule_search_locations:
        raise LabError("snmpsim-data is not installed", hint="pip install snmpsim-data")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def responder_program() -> Path:
    """snmpsim's responder script, next to this environment's Python."""
    script = Path(sys.executable).with_name("snmpsim-command-responder")
    if not script.exists():
        raise LabError(
            f"snmpsim is not installed in {sys.prefix}", hint="pip install snmpsim snmpsim-data"
        )
    return script


# A checkout under a private directory (/root, say) cannot be read by nobody; ./bootstrap then
# builds this small world-readable environment with snmpsim alone, from the same lock.
LAB_VENV = Path("/opt/opsctl-lab/venv")


def _ancestors(path: Path) -> list[Path]:
    return [*reversed(path.parents), path]


def _blocked_for_nobody(paths: list[Path]) -> list[Path]:
    modes: dict[Path, int] = {}
    for path in paths:
        for part in _ancestors(path):
            try:
                modes[part] = part.stat().st_mode
            except OSError:
                continue
    return unreachable_by_others(modes, readable=paths)


def check_reachable_by_nobody(paths: list[Path]) -> None:
    """Raise ``LabError`` naming the first blocking directory when nobody cannot read ``paths``."""
    blocked = _blocked_for_nobody(paths)
    if blocked:
        raise LabError(
            f"snmpsim drops to {PROCESS_USER} and then cannot read its Python environment: "
            f"{blocked[0]} is not readable by other users",
            hint=(
                f"run the lab from an environment in a world-readable path (e.g. `chmod o+rx "
                f"{blocked[0]}`, or build the venv from /usr/bin/python3 under /opt or /srv)"
            ),
        )


def lab_venv_paths(venv: Path = LAB_VENV) -> list[Path]:
    """What snmpsim reads from the lab's own environment: its script, Python, stdlib and packages."""
    return [
        venv / "bin" / "snmpsim-command-responder",
        Path(os.path.realpath(venv / "bin" / "python3")),
        Path(sysconfig.get_paths()["stdlib"]),
        venv / "lib",
    ]


def responder_for_nobody(venv: Path = LAB_VENV) -> Path:
    """The snmpsim responder nobody can run: this environment's, else the lab's own venv.

    Raise ``LabError`` naming the blocking directory when neither can be read.
    """
    own = python_paths()
    if not _blocked_for_nobody(own):
        return own[0]
    fallback = lab_venv_paths(venv)
    if fallback[0].exists() and not _blocked_for_nobody(fallback):
        return fallback[0]
    check_reachable_by_nobody(own)
    return own[0]


def python_paths() -> list[Path]:
    """What snmpsim's Python reads after dropping privileges: script, stdlib, site-packages."""
    spec = importlib.util.find_spec("snmpsim")
    if spec is None or spec.origin is None:
        raise LabError(f"snmpsim is not installed in {sys.prefix}", hint="pip install snmpsim")
    return [
        responder_program(),
        Path(os.path.realpath(sys.executable)),
        Path(sysconfig.get_paths()["stdlib"]),
        Path(spec.origin).parent,
    ]


def runtime_dir(layout: LabLayout) -> Path:
    """This lab's world-readable directory for recordings and index cache (one per lab dir)."""
    digest = hashlib.sha256(str(layout.root).encode()).hexdigest()[:12]
    return RUNTIME_ROOT / f"snmpsim-{digest}"


OWNER_FILE = "lab-dir"


def remove_orphaned_runtime_dirs(root: Path = RUNTIME_ROOT) -> list[Path]:
    """Remove the runtime directories of labs whose lab directory is gone; return them."""
    removed = []
    for directory in sorted(root.glob("snmpsim-*")) if root.is_dir() else []:
        try:
            owner = Path((directory / OWNER_FILE).read_text(encoding="utf-8").strip())
        except OSError:
            continue
        if not owner.is_absolute() or owner.exists():
            continue
        shutil.rmtree(directory, ignore_errors=True)
        removed.append(directory)
    return removed


def copy_recording(source: Path, target: Path) -> None:
    """Copy (decompressing ``.bz2``) a recording to ``target`` (0644) unless it is there."""
    if target.exists():
        return
    temporary = target.with_name(f".{target.name}.tmp{os.getpid()}")
    try:
        if source.suffix == ".bz2":
            with bz2.open(source, "rb") as reader, open(temporary, "wb") as writer:
                shutil.copyfileobj(reader, writer)
        else:
            shutil.copyfile(source, temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@dataclass(frozen=True)
class SnmpsimPeer(ProcessPeer):
    """The lab's snmpsim responder: ``address`` is the first device's, the others follow it."""

    name: str
    address: str
    port: int
    peer_dir: Path
    layout: LabLayout
    recordings: tuple[Recording, ...] = RECORDINGS
    kind: str = KIND

    @property
    def args_path(self) -> Path:
        return self.peer_dir / "snmpsim.args"

    @property
    def marker(self) -> str:
        return str(self.args_path)

    @property
    def runtime_dir(self) -> Path:
        return runtime_dir(self.layout)

    @property
    def cache_dir(self) -> Path:
        return self.runtime_dir / "cache"

    def device_address(self, index: int) -> str:
        """The address of recording ``index``: this peer's address plus ``index``."""
        network, _, last = self.address.rpartition(".")
        return f"{network}.{int(last) + index}"

    def data_dir(self, recording: Recording) -> Path:
        return self.runtime_dir / "data" / recording.name

    def data_file(self, recording: Recording) -> Path:
        return self.data_dir(recording) / f"{recording.name}.snmprec"

    def engines(self) -> list[SimEngine]:
        return [
            SimEngine(self.data_dir(recording), self.device_address(index), self.port)
            for index, recording in enumerate(self.recordings)
        ]

    def command(self) -> tuple[str, ...]:
        return snmpsim_command(
            responder=str(responder_for_nobody()),
            args_file=self.args_path,
            cache_dir=self.cache_dir,
            user=PROCESS_USER,
            group=PROCESS_GROUP,
        )

    def environment(self) -> dict[str, str]:
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "HOME": "/"}

    def prepare(self) -> None:
        responder_for_nobody()
        ensure_dir(self.peer_dir, 0o755)
        ensure_dir(RUNTIME_ROOT, 0o755)
        ensure_dir(self.runtime_dir, 0o755)
        write_atomic(self.runtime_dir / OWNER_FILE, f"{self.layout.root}\n")
        ensure_dir(self.runtime_dir / "data", 0o755)
        ensure_dir(self.cache_dir, 0o755)
        nobody = pwd.getpwnam(PROCESS_USER)
        os.chown(self.cache_dir, nobody.pw_uid, nobody.pw_gid)
        source = recordings_source()
        for recording in self.recordings:
            ensure_dir(self.data_dir(recording), 0o755)
            root = BUNDLED_RECORDINGS if recording.bundled else source
            copy_recording(root / recording.source, self.data_file(recording))
        snmp_secrets = ensure_snmp_secrets(self.layout)
        args = render_snmpsim_args(
            self.engines(),
            v3_user=snmp_secrets.v3_user,
            auth_key=snmp_secrets.auth_key,
            priv_key=snmp_secrets.priv_key,
        )
        write_atomic(self.args_path, args, mode=0o600)
        # v2c needs no secret here: the community is the recording's name, given to snmpget
        write_client_confs(self.peer_dir, snmp_secrets, v2c=False)
        ensure_dir(self.peer_dir / "client-v2c", 0o700)
        write_atomic(self.peer_dir / "client-v2c" / "snmp.conf", "mibs :\n", mode=0o600)
        ensure_dir(self.layout.snmpsim_communities_dir, 0o700)
        for recording in self.recordings:
            write_atomic(self.community_path(recording), recording.name, mode=0o600)
        self.write_record()

    def community_path(self, recording: Recording) -> Path:
        return self.layout.snmpsim_communities_dir / recording.name

    def facts(self, recording: Recording) -> dict[str, str]:
        """sysObjectID and sysDescr as the copied recording holds them."""
        try:
            text = self.data_file(recording).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return {}
        values = parse_snmprec_values(text, (SYS_OBJECT_ID, SYS_DESCR))
        values["ups_mib"] = "yes" if has_subtree(text, UPS_MIB) else ""
        return values

    def ready(self, timeout: float) -> Answer:
        """GET sysObjectID.0 of every recording over v2c and over v3; all must answer."""
        per_try = max(0.5, min(2.0, timeout / 2))
        for index, recording in enumerate(self.recordings):
            address = self.device_address(index)
            for label, community, context in (
                ("v2c", recording.name, None),
                ("v3", None, recording.name),
            ):
                values, why = snmp_get_patiently(
                    address, self.port, (SYS_OBJECT_ID,),
                    conf_dir=self.peer_dir / f"client-{label}", timeout=per_try,
                    community=community, context=context,
                )  # fmt: skip
                if values is None:
                    return Answer(False, f"{recording.name} at {address} ({label}): {why}")
        count = len(self.recordings)
        last = self.device_address(count - 1).rpartition(".")[2]
        return Answer(True, f"{count} devices (.{self.address.rpartition('.')[2]}-.{last}) answer v2c, v3")

    def published_devices(self) -> list[PublishedDevice]:
        """Each recording as a host of ``snmp_agents`` (v2c; the group's v3 vars also apply)."""
        return [
            PublishedDevice(
                group=SNMP_GROUP,
                name=recording.device_name,
                host_vars={
                    "ansible_host": self.device_address(index),
                    "opsctl_snmp_port": self.port,
                    "opsctl_snmp_version": "2c",
                    "opsctl_snmp_community": f"file:{self.community_path(recording)}",
                    "opsctl_snmp_context": recording.name,
                },
                device=device,
                group_vars=snmp_group_vars(self.layout),
            )
            for index, (recording, device) in enumerate(
                zip(self.recordings, self.devices(), strict=True)
            )
        ]

    def devices(self) -> list[dict[str, Any]]:
        """Every recording in ``devices.json``: what a discovery should find there."""
        found = []
        for index, recording in enumerate(self.recordings):
            facts = self.facts(recording)
            found.append(
                {
                    "name": recording.device_name,
                    "kind": self.kind,
                    "address": self.device_address(index),
                    "port": self.port,
                    "protocols": ["snmp-v2c", "snmp-v3"],
                    "recording": recording.name,
                    "recording_source": f"lab/snmp/recordings/{recording.source}" if recording.bundled
                    else f"snmpsim_data/data/{recording.source}",
                    "role": recording.role,
                    "vendor": recording.vendor,
                    "sys_object_id": facts.get(SYS_OBJECT_ID),
                    "sys_descr": facts.get(SYS_DESCR),
                    "ups_mib": bool(facts.get("ups_mib")),
                    "snmp": {
                        "community": f"file:{self.community_path(recording)}",
                        "v3_user": V3_USER,
                        "v3_auth_protocol": V3_AUTH_PROTOCOL,
                        "v3_auth_key": f"file:{self.layout.snmp_v3_auth_key}",
                        "v3_priv_protocol": V3_PRIV_PROTOCOL,
                        "v3_priv_key": f"file:{self.layout.snmp_v3_priv_key}",
                        "context": recording.name,
                    },
                }
            )
        return found


@dataclass(frozen=True)
class SnmpsimKind:
    """The registry entry for snmpsim: ``lab-snmpsim`` at ``{prefix}.20.2..10:11161``."""

    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        ensure_snmp_secrets(lab.layout)
        remove_orphaned_runtime_dirs()

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [
            SnmpsimPeer(
                name=SNMPSIM_NAME,
                address=snmpsim_address(lab.prefix, 0),
                port=SNMP_PORT,
                peer_dir=lab.layout.peer_dir(SNMPSIM_NAME),
                layout=lab.layout,
            )
        ]

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        return peer_from_record(SnmpsimPeer, layout, record, peer_dir)


# registered in lab.kinds.PEER_KINDS by reference ("lab.snmp.snmpsim:SNMPSIM"), like an entry point
SNMPSIM = SnmpsimKind()
