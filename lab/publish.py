"""What the lab publishes for the rest of opsctl: inventory, fingerprints, known_hosts, a
config file (the inventory, discovery's SNMP credentials, backups of the lab), the databases it serves (``databases.json``: the PostgreSQL state store's URL,
the hospital database), its other services (``services.json``: the PACS) and its object
stores (``object_stores.json``: the S3 endpoint and its identities' keys).
Secrets appear only as ``file:`` references, never as values."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from lab.agents import agent_variables
from lab.errors import LabError, LabNotPublished
from lab.files import ensure_dir, ensure_secret, write_atomic
from lab.layout import LabLayout
from lab.ssh.config import ssh_host_number
from lab.ssh.keys import PublicKey
from opsctl.core.known_hosts import host_key_name, host_key_names

if TYPE_CHECKING:
    from lab.peer import Peer

_Entry = TypeVar("_Entry")
SSH_GROUP = "ssh_hosts"
DATABASES_FILE = "databases.json"
SERVICES_FILE = "services.json"
OBJECT_STORES_FILE = "object_stores.json"
# What an inventory declares and no scan can learn (inventory/declared.py): where the lab's
# hosts stand and what they are for, as a hospital's inventory would say it.
LAB_PLACEMENT = {"opsctl_site": "lab", "opsctl_building": "Lab building", "opsctl_room": "Server room"}
WEB_VARS = {"opsctl_patch_group": "web", "opsctl_clinical_criticality": "high"}
# the lab's backup configuration (config_document's ``backup:`` section)
LOCAL_REPOSITORY = "local"
OFFSITE_REPOSITORY = "offsite"
HIS_POLICY = "his"
# The policy's ``orthanc:`` keys and the services.json keys they take their values from; the
# policy backs up the PACS unless ``backup_orthanc=False`` is passed.
ORTHANC_KEYS = {"url": "rest_url", "username": "user", "password": "password", "storage_dir": "storage_dir",
                "index_dir": "index_dir", "index": "index", "stop_command": "stop_command",
                "start_command": "start_command"}
ORTHANC_MAX_DOWNTIME = "5m"
BACKUP_ORTHANC = True
DB_VARS = {
    "opsctl_patch_group": "db",
    "opsctl_clinical_criticality": "critical",
    "opsctl_backup_policy": "postgres-nightly",
}


@dataclass(frozen=True)
class PublishedHost:
    """One SSH host as published: where it listens and its host key fingerprints."""

    name: str
    address: str
    port: int
    fingerprints: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "port": self.port, "fingerprints": list(self.fingerprints)}


@dataclass(frozen=True)
class LabPublication:
    """The published files of a lab (absolute paths) and the hosts they describe."""

    lab_dir: Path
    inventory_path: Path
    fingerprints_path: Path
    known_hosts_path: Path
    config_path: Path
    key_path: Path
    passphrase_path: Path
    sudo_password_path: Path
    user: str
    hosts: tuple[PublishedHost, ...]
    devices_path: Path | None = None
    devices_inventory_path: Path | None = None
    databases: tuple[PublishedDatabase, ...] = ()
    services: tuple[PublishedService, ...] = ()
    object_stores: tuple[PublishedObjectStore, ...] = ()

    def service(self, purpose: str) -> PublishedService | None:
        """The service published for ``purpose`` (``pacs``: the lab's Orthanc), if one runs."""
        return next((service for service in self.services if service.purpose == purpose), None)

    def database(self, purpose: str) -> PublishedDatabase | None:
        """The database published for ``purpose`` (``state``, ``hospital``), if one is served."""
        return next((db for db in self.databases if db.purpose == purpose), None)

    @property
    def object_store(self) -> PublishedObjectStore | None:
        """The lab's S3 store (SeaweedFS), if it runs one."""
        return next((store for store in self.object_stores if store.kind == "s3"), None)

    @property
    def state_store(self) -> PublishedDatabase | None:
        """The database the lab serves for opsctl's state store (PostgreSQL), if it runs one."""
        return next((db for db in self.databases if db.purpose == "state"), None)

    @property
    def fingerprints(self) -> dict[str, list[str]]:
        """Host name to its SHA256 host key fingerprints (the content of fingerprints.json)."""
        return {host.name: list(host.fingerprints) for host in self.hosts}

    def to_dict(self) -> dict[str, Any]:
        return {
            "lab_dir": str(self.lab_dir),
            "inventory": str(self.inventory_path),
            "fingerprints": str(self.fingerprints_path),
            "known_hosts": str(self.known_hosts_path),
            "config": str(self.config_path),
            "key": str(self.key_path),
            "key_passphrase": f"file:{self.passphrase_path}",
            "sudo_password": f"file:{self.sudo_password_path}",
            "user": self.user,
            "hosts": {host.name: host.to_dict() for host in self.hosts},
            "devices": str(self.devices_path) if self.devices_path else None,
            "devices_inventory": (
                str(self.devices_inventory_path) if self.devices_inventory_path else None
            ),
            "databases": [database.to_dict() for database in self.databases],
            "services": [service.to_dict() for service in self.services],
            "object_stores": [store.to_dict() for store in self.object_stores],
        }


@dataclass(frozen=True)
class PublishedService:
    """A service a lab peer serves besides databases (the PACS), as ``services.json`` holds it.

    ``details`` is the kind's own document (endpoints, user, directories, how to stop and
    start it); secrets in it are ``file:`` references only.
    """

    name: str
    kind: str
    purpose: str  # "pacs": the lab's Orthanc
    details: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "purpose": self.purpose, **self.details}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PublishedService:
        details = {key: value for key, value in data.items() if key not in ("name", "kind", "purpose")}
        return cls(
            name=str(data["name"]), kind=str(data["kind"]), purpose=str(data["purpose"]),
            details=details,
        )  # fmt: skip


@runtime_checkable
class PublishesServices(Protocol):
    """A peer that serves something other than databases and devices (the lab's Orthanc)."""

    def published_services(self) -> list[PublishedService]: ...


@dataclass(frozen=True)
class PublishedDatabase:
    """A database a lab peer serves: its URL for opsctl (no password) and its password's reference."""

    name: str
    role: str
    purpose: str  # "state": opsctl's state store
    address: str
    port: int
    url: str
    password: str  # a file: reference
    # the database's own facts (the hospital database: its backup role, row counts at load)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "purpose": self.purpose,
            "address": self.address,
            "port": self.port,
            "url": self.url,
            "password": self.password,
            **self.extra,
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PublishedDatabase:
        return cls(
            name=str(data["name"]),
            role=str(data["role"]),
            purpose=str(data["purpose"]),
            address=str(data["address"]),
            port=int(data["port"]),
            url=str(data["url"]),
            password=str(data["password"]),
            extra={key: value for key, value in data.items() if key not in _DATABASE_KEYS},
        )


_DATABASE_KEYS = frozenset(("name", "role", "purpose", "address", "port", "url", "password"))


@dataclass(frozen=True)
class PublishedObjectStore:
    """An object store a lab peer serves: where it answers and its identities' keys by reference.

    ``bucket`` is a suggested name: the lab creates no bucket (``backup.s3.ensure_bucket``
    does, with the admin keys); the backup keys are what a backup host would hold.
    """

    name: str
    kind: str  # "s3"
    endpoint: str
    region: str
    bucket: str
    admin_access_key_id: str  # file: references, all four
    admin_secret_access_key: str
    backup_access_key_id: str
    backup_secret_access_key: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "endpoint": self.endpoint,
            "region": self.region,
            "bucket": self.bucket,
            "admin": {
                "access_key_id": self.admin_access_key_id,
                "secret_access_key": self.admin_secret_access_key,
            },
            "backup": {
                "access_key_id": self.backup_access_key_id,
                "secret_access_key": self.backup_secret_access_key,
            },
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> PublishedObjectStore:
        return cls(
            name=str(data["name"]),
            kind=str(data["kind"]),
            endpoint=str(data["endpoint"]),
            region=str(data["region"]),
            bucket=str(data["bucket"]),
            admin_access_key_id=str(data["admin"]["access_key_id"]),
            admin_secret_access_key=str(data["admin"]["secret_access_key"]),
            backup_access_key_id=str(data["backup"]["access_key_id"]),
            backup_secret_access_key=str(data["backup"]["secret_access_key"]),
        )


@runtime_checkable
class PublishesObjectStores(Protocol):
    """A peer that serves object stores (the lab's SeaweedFS)."""

    def published_object_stores(self) -> list[PublishedObjectStore]: ...


@runtime_checkable
class PublishesMonitoring(Protocol):
    """A peer that sets keys of the lab configuration's ``monitoring:`` section (the lab's daemon: where it listens)."""

    def published_monitoring(self) -> dict[str, Any]: ...


@runtime_checkable
class PublishesDatabases(Protocol):
    """A peer that serves databases (the lab's PostgreSQL)."""

    def published_databases(self) -> list[PublishedDatabase]: ...


@dataclass(frozen=True)
class HostKeys:
    """An SSH host with its public host keys: the input of the renderers below."""

    name: str
    address: str
    port: int
    public_keys: tuple[PublicKey, ...]


@dataclass(frozen=True)
class PublishedDevice:
    """One simulated device a non-SSH peer publishes (SNMP agents, switches).

    ``host_vars`` go into the inventory group ``group`` (with ``group_vars``, first one
    wins); ``device`` into ``devices.json``; ``known_hosts_lines`` into known_hosts.
    Secrets only as ``file:`` references.
    """

    group: str
    name: str
    host_vars: Mapping[str, Any]
    device: Mapping[str, Any]
    group_vars: Mapping[str, Any] = field(default_factory=dict)
    known_hosts_lines: tuple[str, ...] = ()


@runtime_checkable
class PublishesDevices(Protocol):
    """A peer that publishes simulated devices besides (or instead of) SSH hosts."""

    def published_devices(self) -> list[PublishedDevice]: ...


def running_devices(layout: LabLayout) -> list[PublishedDevice]:
    """The devices of the lab's running peers (those with a pid file), in the kinds' order."""
    return [
        device
        for peer in _running_peers(layout)
        if isinstance(peer, PublishesDevices)
        for device in peer.published_devices()
    ]


def running_databases(layout: LabLayout) -> list[PublishedDatabase]:
    """The databases of the lab's running peers, in the kinds' order."""
    return [
        database
        for peer in _running_peers(layout)
        if isinstance(peer, PublishesDatabases)
        for database in peer.published_databases()
    ]


def running_services(layout: LabLayout) -> list[PublishedService]:
    """The services of the lab's running peers, in the kinds' order."""
    return [
        service
        for peer in _running_peers(layout)
        if isinstance(peer, PublishesServices)
        for service in peer.published_services()
    ]


def running_object_stores(layout: LabLayout) -> list[PublishedObjectStore]:
    """The object stores of the lab's running peers, in the kinds' order."""
    return [
        store
        for peer in _running_peers(layout)
        if isinstance(peer, PublishesObjectStores)
        for store in peer.published_object_stores()
    ]


def _running_peers(layout: LabLayout) -> list[Peer]:
    """The lab's running peers (those with a pid file), in the kinds' order, then by name."""
    from lab.kinds import peer_kind, peer_kinds
    from lab.peer import RECORD_FILE, PeerRecord

    if not layout.peers_dir.is_dir():
        return []
    order = {kind.kind: index for index, kind in enumerate(peer_kinds())}
    peers = []
    for record_path in sorted(layout.peers_dir.glob(f"*/{RECORD_FILE}")):
        try:
            record = PeerRecord.from_mapping(json.loads(record_path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        peer = peer_kind(record.kind).load(layout, record, record_path.parent)
        if peer.pid_path.exists():
            peers.append((order.get(record.kind, len(order)), record.name, peer))
    peers.sort(key=lambda entry: (entry[0], entry[1]))
    return [peer for _, _, peer in peers]


def device_groups(devices: Sequence[PublishedDevice]) -> dict[str, Any]:
    """Inventory groups of ``devices``: ``{group: {hosts: {...}, vars: {...}}}``."""
    groups: dict[str, dict[str, Any]] = {}
    for device in devices:
        group = groups.setdefault(device.group, {"hosts": {}, "vars": {}})
        group["hosts"][device.name] = dict(device.host_vars)
        for key, value in device.group_vars.items():
            group["vars"].setdefault(key, value)
    return {
        name: {"hosts": group["hosts"], **({"vars": group["vars"]} if group["vars"] else {})}
        for name, group in groups.items()
    }


def devices_document(devices: Sequence[PublishedDevice]) -> dict[str, Any]:
    """The content of ``devices.json``: every simulated device and what discovery should find."""
    return {"devices": [dict(device.device) for device in devices]}


def inventory_document(
    hosts: Sequence[HostKeys], *, user: str, layout: LabLayout
) -> dict[str, Any]:
    """The Ansible YAML inventory: ``ssh_hosts`` with children ``web`` (odd) and ``db`` (even), each
    host with its agent's place (:func:`lab.agents.agent_variables`)."""
    web = [host.name for host in hosts if (ssh_host_number(host.name) or 0) % 2 == 1]
    db = [host.name for host in hosts if (ssh_host_number(host.name) or 1) % 2 == 0]
    return {
        "all": {
            "children": {
                SSH_GROUP: {
                    "hosts": {
                        host.name: {
                            "ansible_host": host.address,
                            "ansible_port": host.port,
                            **agent_variables(layout, host.name, host.address,
                                              ssh_host_number(host.name) or index + 1),
                        }
                        for index, host in enumerate(hosts)
                    },
                    "vars": {
                        "ansible_user": user,
                        "ansible_ssh_private_key_file": str(layout.client_key),
                        "opsctl_ssh_key_passphrase": f"file:{layout.key_passphrase}",
                        "ansible_become_password": f"file:{layout.sudo_password}",
                        **LAB_PLACEMENT,
                    },
                    "children": {
                        "web": {"hosts": dict.fromkeys(web), "vars": WEB_VARS},
                        "db": {"hosts": dict.fromkeys(db), "vars": DB_VARS},
                    },
                }
            }
        }
    }


def render_yaml(document: Mapping[str, Any], *, header: str) -> str:
    """Block-style YAML of ``document`` after a ``#`` comment; None renders as an empty value."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.width = 4096  # never fold a long path onto a second line
    representer = yaml.representer
    representer.sort_base_mapping_type_on_output = False  # keep our order
    representer.add_representer(
        type(None), lambda self, _: self.represent_scalar("tag:yaml.org,2002:null", "")
    )
    stream = io.StringIO()
    yaml.dump(dict(document), stream)
    return f"# {header}\n{stream.getvalue()}"


def render_known_hosts(hosts: Sequence[HostKeys]) -> str:
    """OpenSSH known_hosts text: one ``[name]:port,[address]:port algorithm key`` line per host key,
    so a key belongs to the inventory host and not only to an address."""
    lines = [
        f"{','.join(host_key_names(host.name, host.address, host.port))} {key.algorithm} {key.blob}"
        for host in hosts for key in host.public_keys
    ]
    return "\n".join(lines) + "\n"


def named_known_hosts_line(name: str, line: str) -> str:
    """A device's known_hosts ``line`` (filed under its address) filed under its inventory ``name`` too."""
    names, _, rest = line.partition(" ")
    port = int(names.rsplit("]:", 1)[1]) if names.startswith("[") and "]:" in names else 22
    by_name = host_key_name(name, port)
    return line if by_name in names.split(",") else f"{by_name},{names} {rest}"


def fingerprints_document(
    hosts: Sequence[HostKeys], devices: Sequence[PublishedDevice] = ()
) -> dict[str, dict[str, Any]]:
    """``{name: {address, port, fingerprints}}`` with OpenSSH SHA256 fingerprints.

    Simulated devices with SSH (the switches) follow the hosts, marked with their ``kind``, so
    that ``hosts trust all --fingerprints-from`` enrols them too.
    """
    document: dict[str, dict[str, Any]] = {
        host.name: {
            "address": host.address,
            "port": host.port,
            "fingerprints": [key.fingerprint for key in host.public_keys],
        }
        for host in hosts
    }
    for device in devices:
        if device.device.get("ssh_fingerprints"):
            document[device.name] = {
                "address": device.device["address"],
                "port": device.device["port"],
                "fingerprints": list(device.device["ssh_fingerprints"]),
                "kind": device.device["kind"],
            }
    return document


def config_document(
    layout: LabLayout,
    devices: Sequence[PublishedDevice] = (),
    *,
    databases: Sequence[PublishedDatabase] = (),
    services: Sequence[PublishedService] = (),
    object_stores: Sequence[PublishedObjectStore] = (),
    backup_orthanc: bool | None = None,
    monitoring: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An opsctl configuration that points at the lab's inventory (keys of ``Settings`` only).

    With SNMP devices it also gives ``discovery``: the SNMP port and every credential set the
    devices use (communities first, then the v3 user), so ``inventory scan --subnet`` finds them.
    The devices' variables are read as the scan reads them (:mod:`inventory.snmp.credentials`).
    It always gives ``backup`` (:func:`backup_document`), ``monitoring.nut_servers`` when a
    NUT server runs (the ``ups`` service), ``monitoring.probes`` for a PostgreSQL it serves
    (:func:`postgres_probes`), and the ``monitoring`` keys a peer publishes (the lab's daemon:
    ``listen``, ``endpoint``, the lab's intervals).
    """
    from inventory.snmp.credentials import (
        PORT,
        VERSION,
        SnmpCredentialSet,
        credential_sets_in_variables,
        settings_entry_of,
    )

    document: dict[str, Any] = {"inventory": str(layout.inventory)}
    communities: dict[SnmpCredentialSet, None] = {}
    ports: dict[int, None] = {}
    v3: SnmpCredentialSet | None = None
    for device in devices:
        variables = {**device.group_vars, **device.host_vars}
        if variables.get(VERSION) is None:
            continue
        ports[int(variables.get(PORT, 161))] = None
        for credential_set in credential_sets_in_variables(device.name, variables):
            if credential_set.version == "2c":
                communities[credential_set] = None
            elif v3 is None:
                # one v3 user for a whole subnet: a device's own context name is no sweep's
                v3 = replace(credential_set, context="")
    credentials = [*communities, *([] if v3 is None else [v3])]
    if credentials:
        document["discovery"] = {
            "snmp_port": next(iter(ports), 161),
            "snmp": [settings_entry_of(credential_set) for credential_set in credentials],
        }
    document["backup"] = backup_document(
        layout, databases=databases, services=services, object_stores=object_stores,
        orthanc=BACKUP_ORTHANC if backup_orthanc is None else backup_orthanc,
    )  # fmt: skip
    nut_servers = [nut_server_entry(service) for service in services if service.purpose == "ups"]
    section = {**(monitoring or {}), **({"nut_servers": nut_servers} if nut_servers else {})}
    if probes := postgres_probes(databases):
        section["probes"] = probes
    if section:
        document["monitoring"] = section
    return document


def postgres_probes(databases: Sequence[PublishedDatabase]) -> dict[str, Any]:
    """``monitoring.probes`` for the lab's PostgreSQL: ``his-db`` on the primary's hospital database
    (else its state store's) and ``his-db-standby`` on the same database of its standby."""
    primary = next((db for purpose in ("hospital", "state") for db in databases if db.purpose == purpose), None)
    if primary is None:
        return {}
    standby = next((db for db in databases if db.purpose == "standby" and db.name == primary.name), None)
    return {name: {"type": "postgres", "address": db.address, "port": db.port, "database": db.name,
                   "user": db.role, "password": db.password}
            for name, db in (("his-db", primary), ("his-db-standby", standby)) if db is not None}


def nut_server_entry(service: PublishedService) -> dict[str, Any]:
    """A published NUT server as one ``monitoring.nut_servers`` entry (the password as its reference)."""
    details = service.details
    return {"name": service.name, "address": details["address"], "port": details["port"],
            "username": details["username"], "password": details["password"], "site": "lab", "rack": "A1"}


def sanity_query(sql: str, expectation: str) -> str:
    """A policy's sanity query as the backup section writes it: ``SQL => OP VALUE``
    (``SELECT count(*) FROM patients => == 213108``): the query's first value must meet ``OP VALUE``."""
    return f"{sql} => {expectation}"


def backup_document(
    layout: LabLayout,
    *,
    databases: Sequence[PublishedDatabase] = (),
    services: Sequence[PublishedService] = (),
    object_stores: Sequence[PublishedObjectStore] = (),
    orthanc: bool = False,
) -> dict[str, Any]:
    """The ``backup:`` section of the lab's configuration, as plain data (the lab imports no backup code).

    Always: the metrics directory, restic's cache and a ``local`` repository under the lab
    directory, which also holds the built-in policy. With an S3 store: an ``offsite``
    repository in the store's suggested bucket (prefix ``his``) with the backup identity's keys.
    With the hospital database: the policy ``his`` (the database dumped through its ``backup``
    role, its four tables counted, a sanity query on the patients loaded; with ``orthanc`` and
    a PACS, the PACS's storage and index too). Passwords are ``file:`` references to the
    repository passwords :func:`publish` generates.
    """
    repositories: dict[str, Any] = {
        LOCAL_REPOSITORY: {
            "type": "local",
            "path": str(layout.restic_repository),
            "password": f"file:{layout.restic_password}",
        }
    }
    store = next((store for store in object_stores if store.kind == "s3"), None)
    if store is not None:
        repositories[OFFSITE_REPOSITORY] = {
            "type": "s3",
            "endpoint": store.endpoint,
            "bucket": store.bucket,
            "prefix": HIS_POLICY,
            "region": store.region,
            "access_key_id": store.backup_access_key_id,
            "secret_access_key": store.backup_secret_access_key,
            "password": f"file:{layout.restic_offsite_password}",
        }
    section: dict[str, Any] = {
        "textfile_dir": str(layout.backup_textfile_dir),
        "cache_dir": str(layout.restic_cache_dir),
        "builtin_repository": LOCAL_REPOSITORY,
        "repositories": repositories,
    }
    hospital = next((database for database in databases if database.purpose == "hospital"), None)
    if hospital is None:
        return section
    source: dict[str, Any] = {
        "host": hospital.address,
        "port": hospital.port,
        "database": hospital.name,
        "user": str(hospital.extra.get("backup_user", hospital.role)),
        "password": str(hospital.extra.get("backup_password", hospital.password)),
        "count_tables": [str(table) for table in hospital.extra.get("tables", ())],
    }
    patients = (hospital.extra.get("row_counts") or {}).get("patients")
    if patients is not None:
        source["sanity_queries"] = [sanity_query("SELECT count(*) FROM patients", f"== {int(patients)}")]
    policy: dict[str, Any] = {"postgres": [source]}
    pacs = next((service for service in services if service.purpose == "pacs"), None)
    if orthanc and pacs is not None:
        policy["orthanc"] = {
            **{key: pacs.details[published] for key, published in ORTHANC_KEYS.items() if published in pacs.details},
            **({"dicom_aet": pacs.details["dicom"]["aet"]} if "aet" in (pacs.details.get("dicom") or {}) else {}),
            "max_downtime": ORTHANC_MAX_DOWNTIME,
        }
    policy.update({
        "repository": LOCAL_REPOSITORY,
        **({"offsite": OFFSITE_REPOSITORY} if store is not None else {}),
        "schedule": {"full": "Sun *-*-* 01:00:00", "incremental": "*-*-* 00/4:00:00"},
        "keep": {"daily": 7, "weekly": 4, "monthly": 12, "yearly": 3},
        "objectives": {"rpo": "24h", "rto": "1h"},
    })  # fmt: skip
    section["policies"] = {HIS_POLICY: policy}
    return section


def publish(layout: LabLayout, hosts: Sequence[HostKeys], *, user: str,
            monitoring: Mapping[str, Any] | None = None) -> LabPublication:
    """Write inventory.yaml, fingerprints.json, known_hosts and opsctl.yaml (creating the backup
    repositories' passwords once; ``monitoring``: keys of its ``monitoring:`` section); return them."""
    header = "generated by `opsctl lab up`; rewritten on every run"
    devices = running_devices(layout)
    document = inventory_document(hosts, user=user, layout=layout)
    groups = device_groups(devices)
    # the devices too: fleet commands skip hosts without SSH (opsctl_ssh: false) or a shell
    document["all"]["children"].update(groups)
    write_atomic(layout.inventory, render_yaml(document, header=header))
    write_atomic(
        layout.devices_inventory, render_yaml({"all": {"children": groups}}, header=header)
    )
    write_atomic(
        layout.fingerprints, json.dumps(fingerprints_document(hosts, devices), indent=2) + "\n"
    )
    device_lines = [named_known_hosts_line(device.name, line) for device in devices for line in device.known_hosts_lines]
    write_atomic(
        layout.known_hosts,
        render_known_hosts(hosts) + "".join(f"{line}\n" for line in device_lines),
    )
    write_atomic(layout.devices, json.dumps(devices_document(devices), indent=2) + "\n")
    databases = {"databases": [database.to_dict() for database in running_databases(layout)]}
    write_atomic(layout.root / DATABASES_FILE, json.dumps(databases, indent=2) + "\n")
    services = {"services": [service.to_dict() for service in running_services(layout)]}
    write_atomic(layout.root / SERVICES_FILE, json.dumps(services, indent=2) + "\n")
    stores = {"object_stores": [store.to_dict() for store in running_object_stores(layout)]}
    write_atomic(layout.root / OBJECT_STORES_FILE, json.dumps(stores, indent=2) + "\n")
    # the backup section's repository passwords: random per lab, kept across runs (a new one
    # would lock the lab out of its own repositories)
    ensure_secret(layout.restic_password)
    ensure_secret(layout.restic_offsite_password)
    ensure_dir(layout.backup_dir, 0o700)
    document = config_document(
        layout, devices, databases=running_databases(layout), services=running_services(layout),
        object_stores=running_object_stores(layout), monitoring=monitoring,
    )  # fmt: skip
    write_atomic(layout.config_file, render_yaml(document, header=header))
    return read_publication(layout)


def read_publication(layout: LabLayout) -> LabPublication:
    """Read what ``publish`` wrote; raise ``LabNotPublished`` if the lab was never brought up."""
    try:
        document = json.loads(layout.fingerprints.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LabNotPublished(
            f"no lab has been brought up in {layout.root}", hint="run `opsctl lab up` first"
        ) from None
    except (OSError, ValueError) as error:
        raise LabError(f"cannot read {layout.fingerprints}: {error}") from None
    hosts = tuple(
        PublishedHost(
            name=name,
            address=str(entry["address"]),
            port=int(entry["port"]),
            fingerprints=tuple(str(value) for value in entry["fingerprints"]),
        )
        for name, entry in document.items()
        if "kind" not in entry  # a simulated device, not one of the lab's SSH hosts
    )
    from lab.ssh.login_user import LOGIN_USER

    return LabPublication(
        lab_dir=layout.root,
        inventory_path=layout.inventory,
        fingerprints_path=layout.fingerprints,
        known_hosts_path=layout.known_hosts,
        config_path=layout.config_file,
        key_path=layout.client_key,
        passphrase_path=layout.key_passphrase,
        sudo_password_path=layout.sudo_password,
        user=LOGIN_USER,
        hosts=hosts,
        devices_path=layout.devices if layout.devices.exists() else None,
        devices_inventory_path=(
            layout.devices_inventory if layout.devices_inventory.exists() else None
        ),
        databases=_read_databases(layout.root / DATABASES_FILE),
        services=_read_services(layout.root / SERVICES_FILE),
        object_stores=_read_object_stores(layout.root / OBJECT_STORES_FILE),
    )


def _read_entries(path: Path, key: str, from_mapping: Callable[[Mapping[str, Any]], _Entry]) -> tuple[_Entry, ...]:
    """The entries ``publish`` listed under ``key`` in ``path`` (none if it is missing)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return tuple(from_mapping(entry) for entry in document[key])
    except FileNotFoundError:
        return ()
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise LabError(f"cannot read {path}: {error}") from None


def _read_databases(path: Path) -> tuple[PublishedDatabase, ...]:
    return _read_entries(path, "databases", PublishedDatabase.from_mapping)


def _read_services(path: Path) -> tuple[PublishedService, ...]:
    return _read_entries(path, "services", PublishedService.from_mapping)


def _read_object_stores(path: Path) -> tuple[PublishedObjectStore, ...]:
    return _read_entries(path, "object_stores", PublishedObjectStore.from_mapping)
