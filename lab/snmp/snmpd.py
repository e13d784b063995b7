"""The net-snmp agent peer: one ``snmpd -f -Lo -C -c CONF`` on ``{prefix}.20.1:11161``.

v2c with a random community, and a v3 user with authPriv (SHA/AES) and random passphrases.
Ready means a real GET of sysDescr.0 answered over v2c and over v3.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.files import ensure_dir, write_atomic
from lab.kinds import LabContext
from lab.layout import LabLayout
from lab.peer import Answer, Peer, PeerRecord, ProcessPeer, peer_from_record
from lab.publish import PublishedDevice
from lab.snmp.config import (
    DISTRO_SCRIPT,
    NET_SNMP_SYS_OBJECT_ID,
    SNMP_GROUP,
    SNMP_PORT,
    SNMPD_NAME,
    SYS_DESCR,
    V3_AUTH_PROTOCOL,
    V3_PRIV_PROTOCOL,
    V3_USER,
    render_snmpd_conf,
    snmpd_address,
    snmpd_command,
)
from lab.snmp.credentials import (
    answer_from,
    ensure_snmp_secrets,
    snmp_get_patiently,
    snmp_group_vars,
    write_client_confs,
)
from lab.tools import find_program

KIND = "snmpd"
_SERVER_ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class SnmpdPeer(ProcessPeer):
    """The lab's net-snmp agent."""

    name: str
    address: str
    port: int
    peer_dir: Path
    layout: LabLayout
    kind: str = KIND

    @property
    def config_path(self) -> Path:
        return self.peer_dir / "snmpd.conf"

    @property
    def distro_script(self) -> Path:
        """What the agent's ``extend distro`` runs: the machine's distribution, from /etc/os-release."""
        return self.peer_dir / "distro"

    @property
    def persistent_dir(self) -> Path:
        """snmpd's own state (engine boots, users); never the machine's /var/lib/snmp."""
        return self.peer_dir / "persist"

    @property
    def marker(self) -> str:
        return str(self.config_path)

    def command(self) -> tuple[str, ...]:
        return snmpd_command(snmpd=find_program("snmpd", package="snmpd"), config=self.config_path)

    def environment(self) -> dict[str, str]:
        # MIBS empty: Debian ships no IETF MIB files, and loading the others only adds noise
        return {**_SERVER_ENVIRONMENT, "SNMP_PERSISTENT_DIR": str(self.persistent_dir), "MIBS": ""}

    def prepare(self) -> None:
        ensure_dir(self.peer_dir, 0o755)
        ensure_dir(self.persistent_dir, 0o700)
        snmp_secrets = ensure_snmp_secrets(self.layout)
        config = render_snmpd_conf(
            name=self.name,
            address=self.address,
            port=self.port,
            community=snmp_secrets.community,
            v3_user=snmp_secrets.v3_user,
            auth_key=snmp_secrets.auth_key,
            priv_key=snmp_secrets.priv_key,
            distro_script=self.distro_script,
        )
        write_atomic(self.distro_script, DISTRO_SCRIPT, mode=0o755)
        write_atomic(self.config_path, config, mode=0o600)
        write_client_confs(self.peer_dir, snmp_secrets)
        self.write_record()

    def ready(self, timeout: float) -> Answer:
        """GET sysDescr.0 over v2c, then over v3 authPriv; both must answer."""
        per_try = max(0.5, timeout / 2)
        answers = []
        for label in ("v2c", "v3"):
            values, why = snmp_get_patiently(
                self.address, self.port, (SYS_DESCR,),
                conf_dir=self.peer_dir / f"client-{label}", timeout=per_try,
            )  # fmt: skip
            answer = answer_from(values, why, oid=SYS_DESCR, label=label)
            if not answer.ok:
                return answer
            answers.append(answer)
        return Answer(True, "v2c and v3 answered: " + " ".join(answers[0].detail.split()[1:3]))

    def published_devices(self) -> list[PublishedDevice]:
        """This agent in the inventory's ``snmp_agents`` and in ``devices.json``."""
        host_vars = {
            "ansible_host": self.address,
            "opsctl_snmp_port": self.port,
            "opsctl_snmp_version": "3",
            "opsctl_snmp_community": f"file:{self.layout.snmp_community}",
        }
        return [
            PublishedDevice(
                group=SNMP_GROUP,
                name=self.name,
                host_vars=host_vars,
                device=self.device(),
                group_vars=snmp_group_vars(self.layout),
            )
        ]

    def device(self) -> dict[str, Any]:
        """This agent in ``devices.json``: what a discovery should find."""
        return {
            "name": self.name,
            "kind": self.kind,
            "address": self.address,
            "port": self.port,
            "protocols": ["snmp-v2c", "snmp-v3"],
            "recording": None,
            "role": "server",
            "vendor": "net-snmp",
            "sys_object_id": NET_SNMP_SYS_OBJECT_ID,
            "sys_descr_prefix": "Linux ",
            "sys_name": self.name,
            "ups_mib": False,
            "snmp": {
                "community": f"file:{self.layout.snmp_community}",
                "v3_user": V3_USER,
                "v3_auth_protocol": V3_AUTH_PROTOCOL,
                "v3_auth_key": f"file:{self.layout.snmp_v3_auth_key}",
                "v3_priv_protocol": V3_PRIV_PROTOCOL,
                "v3_priv_key": f"file:{self.layout.snmp_v3_priv_key}",
                "context": None,
            },
        }


@dataclass(frozen=True)
class SnmpdKind:
    """The registry entry for the net-snmp agent: ``lab-snmpd`` at ``{prefix}.20.1:11161``."""

    kind: str = KIND

    def prepare(self, lab: LabContext) -> None:
        ensure_snmp_secrets(lab.layout)

    def desired_peers(self, lab: LabContext) -> list[Peer]:
        return [
            SnmpdPeer(
                name=SNMPD_NAME,
                address=snmpd_address(lab.prefix),
                port=SNMP_PORT,
                peer_dir=lab.layout.peer_dir(SNMPD_NAME),
                layout=lab.layout,
            )
        ]

    def load(self, layout: LabLayout, record: PeerRecord, peer_dir: Path) -> Peer:
        return peer_from_record(SnmpdPeer, layout, record, peer_dir)


# registered in lab.kinds.PEER_KINDS by reference ("lab.snmp.snmpd:SNMPD"), like an entry point
SNMPD = SnmpdKind()

