"""The lab's credentials that opsctl really uses are canaries: none may leak anywhere.

The test runs the suite's kinds of commands (trust, run, run through sudo, JSON and table
output, output dirs, audit log and verify, a failing host, the lab's backup policy run by
restic, inventory exports, and exports and scans of an inventory holding the SNMP secrets as
literals, which are refused), and the backup commands (init, run, copy to the lab's S3 store
with its backup keys, status, check, prune, restore) with a restic repository password of the
test's own, snapshots every process's command line while a sudo command and the backups run,
then scans every output, log, state, metrics and audit file for the canaries. A positive
control plants a canary on purpose and proves the scan finds it.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from fleetcli import Cli

pytestmark = pytest.mark.integration


# the lab's device, clinical and S3 credentials, in its secrets directory (the recordings' names
# are not secret): the PACS's REST password, the hospital database's owner and backup role, the
# standby's replication role, the S3 store's keys (ids too: botocore's messages can carry them),
# the passwords of the restic repositories of the lab's backup configuration, the NUT monitor
# user's password (upsd.users, 0600)
DEVICE_SECRETS = ("snmp-community", "snmp-v3-auth-key", "snmp-v3-priv-key", "switch-password",
                  "orthanc-password", "postgres-hospital-password", "postgres-backup-password",
                  "postgres-replicator-password",
                  "s3-admin-access-key-id", "s3-admin-secret-access-key",
                  "s3-backup-access-key-id", "s3-backup-secret-access-key",
                  "restic-password", "restic-offsite-password", "nut-password")
# Orthanc reads its password from credentials.json (0600) in its own config directory, SeaweedFS
# its identities from s3.json (0600)
CREDENTIAL_FILES = {"snmpd.conf", "snmpsim.args", "snmp.conf", "credentials.json", "s3.json", "upsd.users"}


def _canaries(lab: Any) -> dict[str, bytes]:
    found = {
        "ssh key passphrase": lab.publication.passphrase_path.read_bytes().strip(),
        "sudo password": lab.publication.sudo_password_path.read_bytes().strip(),
    }
    secrets_dir = lab.publication.passphrase_path.parent
    for name in DEVICE_SECRETS:
        found[name] = (secrets_dir / name).read_bytes().strip()
    assert all(len(value) >= 8 for value in found.values())
    return found


def _files_under(roots: Iterable[Path], exclude: Iterable[Path]) -> Iterable[Path]:
    excluded = [e.resolve() for e in exclude]
    for root in roots:
        for path in root.rglob("*"):
            resolved = path.resolve()
            if path.is_file() and not any(resolved == e or e in resolved.parents for e in excluded):
                yield path


def scan(blobs: dict[str, bytes], canaries: dict[str, bytes]) -> list[str]:
    """Return 'what: where' for every canary found in any blob."""
    return [f"{what}: {where}" for where, blob in blobs.items()
            for what, secret in canaries.items() if secret in blob]


def _process_command_lines(stop: threading.Event, into: dict[str, bytes]) -> None:
    while not stop.is_set():
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                into[str(cmdline)] = into.get(str(cmdline), b"") + cmdline.read_bytes() + b"\n"
            except OSError:
                continue
        time.sleep(0.05)


def _with_snmp_literals(lab: Any, tmp_path: Path, canaries: dict[str, bytes]) -> dict[str, bytes]:
    """The outputs of exports and scans of an inventory that holds the SNMP canaries as literals (each refused)."""
    import yaml

    literals = {"opsctl_snmp_community": canaries["snmp-community"], "opsctl_snmp_v3_auth_key":
                canaries["snmp-v3-auth-key"], "opsctl_snmp_v3_priv_key": canaries["snmp-v3-priv-key"]}
    outputs: dict[str, bytes] = {}
    for variable, literal in literals.items():
        inventory = tmp_path / f"literal-{variable}.yaml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {"snmp-literal": {
            "ansible_host": lab.prefix + ".20.1", "opsctl_ssh": False, "opsctl_snmp_version": "2c",
            "opsctl_snmp_v3_user": "opsctl-lab", variable: literal.decode()}}}}))
        cli = Cli.create(tmp_path / f"literal-{variable}", inventory)
        for args in [("inventory", "export", "ansible-json"), ("inventory", "export", "ansible-ini"),
                     ("inventory", "scan", "--json")]:
            done = cli(*args)
            assert done.returncode == 2, (variable, args, done.stderr)
            outputs[f"stdout of {' '.join(args)} with {variable}"] = done.stdout.encode()
            outputs[f"stderr of {' '.join(args)} with {variable}"] = done.stderr.encode()
    return outputs


def _backup_outputs(lab: Any, root: Path, password: bytes, command_lines: dict[str, bytes]) -> dict[str, bytes]:
    """Every backup command's output, against a local repository and an off-site one on the lab's S3 store."""
    store = lab.publication.object_store
    assert store is not None
    root.mkdir()
    (root / "data").mkdir()
    (root / "data" / "ward.txt").write_text("ward 3\n")
    secret_dir = root / "secret"
    secret_dir.mkdir(mode=0o700)
    (secret_dir / "restic-pw").write_bytes(password + b"\n")
    (secret_dir / "restic-pw").chmod(0o600)
    bucket = f"opsctl-secrets-{uuid.uuid4().hex[:10]}"
    config = root / "opsctl.yaml"
    config.write_text(
        "backup:\n"
        f"  textfile_dir: {root}/textfile\n"
        f"  cache_dir: {root}/restic-cache\n"
        "  repositories:\n"
        f"    local: {{type: local, path: {root}/repo, password: 'file:{secret_dir}/restic-pw'}}\n"
        f"    offsite: {{type: s3, endpoint: '{store.endpoint}', bucket: {bucket}, "
        f"access_key_id: '{store.backup_access_key_id}', secret_access_key: '{store.backup_secret_access_key}', "
        f"password: 'file:{secret_dir}/restic-pw'}}\n"
        "  policies:\n"
        f"    files: {{paths: ['{root}/data'], repository: local, offsite: offsite, copy_after_run: true}}\n"
    )
    cli = Cli.create(root / "cli", root / "no-inventory.yaml")
    commands = [
        ("backup", "init", "local"),
        ("backup", "offsite", "setup", "files", "--admin-access-key-id", store.admin_access_key_id,
         "--admin-secret-access-key", store.admin_secret_access_key, "--retention-days", "1"),
        ("backup", "run", "files", "--full"), ("backup", "run", "files", "--json"), ("backup", "copy", "files"),
        ("backup", "status"), ("backup", "status", "--json"), ("backup", "check", "files", "--on", "offsite"),
        ("backup", "prune", "files", "--on", "offsite", "--json"),
        ("backup", "restore", "files", "--from", "offsite", "--target", str(root / "restored")),
        ("backup", "restore", "files", "--target", str(root / "restored")),  # refused: not empty
        ("backup", "snapshots", "files", "--from", "offsite"), ("backup", "ls", "files", "--from", "offsite", "--json"),
    ]
    outputs: dict[str, bytes] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_process_command_lines, args=(stop, command_lines))
    watcher.start()
    try:
        for args in commands:
            done = cli("-c", str(config), *args, timeout=300)
            assert done.returncode == (5 if args[-1] == str(root / "restored") and "--from" not in args else 0), \
                (args, done.stderr, done.stdout)
            outputs[f"stdout of {' '.join(args)}"] = done.stdout.encode()
            outputs[f"stderr of {' '.join(args)}"] = done.stderr.encode()
    finally:
        stop.set()
        watcher.join()
    assert any(b"restic" in line for line in command_lines.values()), "the watcher saw restic"
    return outputs


def test_no_canary_leaks_and_the_scan_would_find_one(lab: Any, tmp_path: Path) -> None:
    canaries = _canaries(lab)
    canaries["restic repository password"] = secrets.token_urlsafe(24).encode()
    cli = Cli.create(tmp_path, lab.publication.inventory_path)
    outputs: dict[str, bytes] = {}
    commands = [
        ("hosts", "trust", "all", "--fingerprints-from", str(lab.publication.fingerprints_path)),
        ("hosts", "list"),
        ("run", "ssh_hosts", "--", "hostname"),
        ("run", "ssh_hosts", "--json", "--output-dir", str(tmp_path / "out"), "--", "id; env"),
        ("run", "db", "--become", "--json", "--", "id -un; cat"),
        ("run", "db", "--become", "--jsonl", "--", "sudo -n true; whoami"),
        ("run", "web", "--become", "--", "false"),
        ("audit", "log"),
        ("audit", "log", "--json"),
        ("audit", "verify"),
        ("lab", "status", "--json"),
        ("inventory", "export", "ansible-json"),
        ("inventory", "export", "opsctl-json"),
        ("inventory", "export", "ansible-ini"),
    ]
    config = str(lab.publication.config_path)
    store = lab.publication.object_store
    assert store is not None, "the lab publishes no S3 store"
    backup_commands = [("-c", config, "backup", "init", "local"), ("-c", config, "backup", "run", "his", "--full"),
                       ("-c", config, "backup", "run", "his", "--json"),
                       ("-c", config, "backup", "offsite", "setup", "his",
                        "--admin-access-key-id", store.admin_access_key_id,
                        "--admin-secret-access-key", store.admin_secret_access_key, "--retention-days", "1"),
                       ("-c", config, "backup", "init", "offsite"), ("-c", config, "backup", "copy", "his"),
                       ("-c", config, "backup", "status", "his")]
    trust = cli(*commands[0])
    assert trust.returncode == 0, trust.stderr
    stop = threading.Event()
    command_lines: dict[str, bytes] = {}
    watcher = threading.Thread(target=_process_command_lines, args=(stop, command_lines))
    watcher.start()
    try:
        slow = cli("run", "db", "--become", "--", "sleep 1; id -u")
        assert slow.returncode == 0, slow.stderr
        # the lab's backup policy: restic's password and the dump's in children's environments only
        for args in backup_commands:
            done = cli(*args, timeout=300)
            assert done.returncode == 0, (args, done.stderr)
            outputs[f"stdout of {' '.join(args)}"] = done.stdout.encode()
            outputs[f"stderr of {' '.join(args)}"] = done.stderr.encode()
    finally:
        stop.set()
        watcher.join()
    outputs["sudo run stdout"] = slow.stdout.encode()
    outputs["sudo run stderr"] = slow.stderr.encode()
    assert any(b"sudo" in line for line in command_lines.values()), "the watcher saw the sudo command"
    assert any(b"restic" in line for line in command_lines.values()), "the watcher saw restic run"
    for args in commands:
        done = cli(*args)
        outputs[f"stdout of {' '.join(args)}"] = done.stdout.encode()
        outputs[f"stderr of {' '.join(args)}"] = done.stderr.encode()
    outputs.update(_with_snmp_literals(lab, tmp_path, canaries))
    outputs.update(_backup_outputs(lab, tmp_path / "backup", canaries["restic repository password"], command_lines))

    # where secrets belong: the lab's secrets directory, and the peers' own credential files
    # (a server's configuration, and the client configuration that keeps them off argv), all 0600
    credential_files = [p for p in (lab.lab_dir / "peers").rglob("*")
                        if p.name in CREDENTIAL_FILES]
    assert credential_files
    for path in credential_files:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is readable by others"
    literal_state_dirs = [path for path in tmp_path.glob("literal-*") if path.is_dir()]  # if refusing wrote any
    files = list(_files_under([cli.state_dir, tmp_path / "out", lab.lab_dir, *literal_state_dirs, tmp_path / "backup"],
                              exclude=[lab.publication.passphrase_path.parent, *credential_files,
                                       tmp_path / "backup" / "secret"]))
    assert any(f.name == "audit.jsonl" for f in files) and any(f.suffix == ".db" for f in files)
    blobs = {**outputs, **{f"cmdline {k}": v for k, v in command_lines.items()},
             **{str(f): f.read_bytes() for f in files}}
    assert scan(blobs, canaries) == []

    # positive control: a canary planted on purpose in a scanned place is found
    planted = cli.state_dir / "planted.log"
    planted.write_bytes(b"log line with " + canaries["sudo password"] + b" in it\n")
    files = list(_files_under([cli.state_dir], exclude=[]))
    assert scan({str(f): f.read_bytes() for f in files}, canaries) == [f"sudo password: {planted}"]
