"""Where the lab keeps its runtime state inside ``settings.lab_dir``.

Everything the lab creates lives under one directory, so ``down`` (from any process) finds
exactly what ``up`` started, and keys survive a ``down`` so fingerprints stay the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LabLayout:
    """The paths of one lab directory; building it touches nothing on disk."""

    root: Path

    @property
    def peers_dir(self) -> Path:
        """One directory per lab peer (config, keys, pid file, log)."""
        return self.root / "peers"

    @property
    def extras_dir(self) -> Path:
        """Peers started one by one by tests; ``down`` stops them, ``up``/``status`` ignore them."""
        return self.root / "extra"

    @property
    def keys_dir(self) -> Path:
        return self.root / "keys"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def client_key(self) -> Path:
        return self.keys_dir / "id_ed25519"

    @property
    def authorized_keys(self) -> Path:
        return self.keys_dir / "authorized_keys"

    @property
    def key_passphrase(self) -> Path:
        return self.secrets_dir / "key-passphrase"

    @property
    def sudo_password(self) -> Path:
        return self.secrets_dir / "sudo-password"

    @property
    def snmp_community(self) -> Path:
        """The v2c community of the lab's snmpd (a secret)."""
        return self.secrets_dir / "snmp-community"

    @property
    def snmp_v3_auth_key(self) -> Path:
        """The SNMPv3 authentication passphrase of the lab's agents (a secret)."""
        return self.secrets_dir / "snmp-v3-auth-key"

    @property
    def snmp_v3_priv_key(self) -> Path:
        """The SNMPv3 privacy passphrase of the lab's agents (a secret)."""
        return self.secrets_dir / "snmp-v3-priv-key"

    @property
    def snmpsim_communities_dir(self) -> Path:
        """One file per snmpsim recording holding its v2c community (the recording's name)."""
        return self.secrets_dir / "snmpsim-communities"

    @property
    def switch_password(self) -> Path:
        """The login and enable password of the lab's fake switches (a secret)."""
        return self.secrets_dir / "switch-password"

    @property
    def backup_dir(self) -> Path:
        """What the lab's published ``backup:`` section points at: repository, metrics, cache."""
        return self.root / "backup"

    @property
    def restic_repository(self) -> Path:
        """The local restic repository of the lab's backup configuration."""
        return self.backup_dir / "restic-local"

    @property
    def backup_textfile_dir(self) -> Path:
        """Where the lab's backups publish their metrics (node_exporter's textfile format)."""
        return self.backup_dir / "textfile"

    @property
    def restic_cache_dir(self) -> Path:
        return self.backup_dir / "restic-cache"

    @property
    def restic_password(self) -> Path:
        """The password of the lab's local restic repository (a secret)."""
        return self.secrets_dir / "restic-password"

    @property
    def restic_offsite_password(self) -> Path:
        """The password of the lab's off-site restic repository on its S3 store (a secret)."""
        return self.secrets_dir / "restic-offsite-password"

    @property
    def devices_inventory(self) -> Path:
        """``devices.yaml``: an Ansible inventory of the SNMP agents and switches."""
        return self.root / "devices.yaml"

    @property
    def devices(self) -> Path:
        """``devices.json``: every simulated device and what a discovery should find."""
        return self.root / "devices.json"

    @property
    def askpass(self) -> Path:
        return self.bin_dir / "askpass"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yaml"

    @property
    def fingerprints(self) -> Path:
        return self.root / "fingerprints.json"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def config_file(self) -> Path:
        return self.root / "opsctl.yaml"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def peer_dir(self, name: str) -> Path:
        return self.peers_dir / name

    def extra_dir(self, name: str) -> Path:
        return self.extras_dir / name
