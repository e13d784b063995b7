"""The lab's SNMP secrets, and asking an agent for values with them through ``snmpget``.

The community and the v3 passphrases are random, made once and kept (0600) in the lab's
secrets directory. ``snmpget`` takes them from a 0600 ``snmp.conf`` through
``SNMPCONFPATH``, never from its command line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lab.files import ensure_dir, ensure_secret, write_atomic
from lab.layout import LabLayout
from lab.peer import Answer
from lab.snmp.config import (
    V3_AUTH_PROTOCOL,
    V3_PRIV_PROTOCOL,
    V3_USER,
    parse_snmpget_output,
    render_client_conf_v2c,
    render_client_conf_v3,
    snmpget_command,
)
from lab.tools import find_program
from opsctl.core.errors import OpsctlError
from opsctl.core.execute import execute

if TYPE_CHECKING:
    from inventory.snmp.credentials import SnmpCredentialSet

_CLIENT_ENVIRONMENT = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def ensure_hex_secret(path: Path, *, nbytes: int = 16) -> Path:
    """Create ``path`` (0600) with a new random hex secret unless it exists; return it.

    Hex, because a community or passphrase must be one word for snmpd's config parser.
    """
    return ensure_secret(path, nbytes=nbytes, hex_only=True)


@dataclass(frozen=True)
class SnmpSecrets:
    """The lab's SNMP credentials, read from their files."""

    community: str
    v3_user: str
    auth_key: str
    priv_key: str


def ensure_snmp_secrets(layout: LabLayout) -> SnmpSecrets:
    """Make the community and v3 passphrases once (kept across runs); return them."""
    paths = (layout.snmp_community, layout.snmp_v3_auth_key, layout.snmp_v3_priv_key)
    community, auth_key, priv_key = (
        ensure_hex_secret(path).read_text(encoding="utf-8").strip() for path in paths
    )
    return SnmpSecrets(community=community, v3_user=V3_USER, auth_key=auth_key, priv_key=priv_key)


def read_snmp_secrets(layout: LabLayout) -> SnmpSecrets:
    """The credentials ``ensure_snmp_secrets`` made (empty strings where a file is missing)."""

    def read(path: Path) -> str:
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    return SnmpSecrets(
        community=read(layout.snmp_community),
        v3_user=V3_USER,
        auth_key=read(layout.snmp_v3_auth_key),
        priv_key=read(layout.snmp_v3_priv_key),
    )


def write_client_confs(
    directory: Path, snmp_secrets: SnmpSecrets, *, v2c: bool = True
) -> None:
    """Write ``client-v3/snmp.conf`` (and ``client-v2c/snmp.conf``) 0600 under ``directory``."""
    if v2c:
        v2c_dir = ensure_dir(directory / "client-v2c", 0o700)
        write_atomic(
            v2c_dir / "snmp.conf", render_client_conf_v2c(snmp_secrets.community), mode=0o600
        )
    v3_dir = ensure_dir(directory / "client-v3", 0o700)
    write_atomic(
        v3_dir / "snmp.conf",
        render_client_conf_v3(
            user=snmp_secrets.v3_user,
            auth_key=snmp_secrets.auth_key,
            priv_key=snmp_secrets.priv_key,
        ),
        mode=0o600,
    )


def snmp_get(
    address: str,
    port: int,
    oids: tuple[str, ...],
    *,
    conf_dir: Path,
    timeout: float,
    community: str | None = None,
    context: str | None = None,
) -> tuple[dict[str, str] | None, str]:
    """One ``snmpget`` try; return ``({oid: value}, '')`` or ``(None, why not)``."""
    argv = snmpget_command(
        snmpget=find_program("snmpget", package="snmp"),
        address=address,
        port=port,
        oids=oids,
        timeout_seconds=timeout,
        community=community,
        context=context,
    )
    environment = {**_CLIENT_ENVIRONMENT, "SNMPCONFPATH": str(conf_dir), "HOME": str(conf_dir)}
    try:
        result = execute(argv, env=environment, timeout=timeout + 5)
    except OpsctlError as error:
        return None, error.message
    if result.timed_out:
        return None, f"snmpget gave no answer within {timeout + 5:g} s"
    values = parse_snmpget_output(result.stdout_text)
    if not result.ok or not all(oid in values for oid in oids):
        errors = [line for line in result.stderr_text.splitlines() if line.strip()]
        return None, errors[-1] if errors else f"snmpget exited {result.exit_status}"
    return values, ""


def snmp_get_patiently(
    address: str,
    port: int,
    oids: tuple[str, ...],
    *,
    conf_dir: Path,
    timeout: float,
    community: str | None = None,
    context: str | None = None,
) -> tuple[dict[str, str] | None, str]:
    """``snmp_get`` with growing tries (0.25 s, 0.5 s, 1 s, ...) until ``timeout`` is spent.

    A UDP request sent before the agent has bound is simply lost, so short first tries keep
    a starting agent from costing a whole long timeout, and later ones allow a busy agent.
    """
    deadline = time.monotonic() + timeout
    per_try = 0.25
    while True:
        remaining = deadline - time.monotonic()
        values, why = snmp_get(
            address, port, oids, conf_dir=conf_dir, timeout=max(0.1, min(per_try, remaining)),
            community=community, context=context,
        )  # fmt: skip
        if values is not None or deadline - time.monotonic() < 0.1:
            return values, why
        per_try *= 2


def answer_from(values: dict[str, str] | None, why: str, *, oid: str, label: str) -> Answer:
    """An ``Answer`` for one GET: the first 60 characters of the value, or the failure."""
    if values is None:
        return Answer(False, f"{label}: {why}")
    return Answer(True, f"{label}: {values[oid][:60]}")


def lab_v3_credentials(layout: LabLayout) -> SnmpCredentialSet:
    """The lab's v3 user and its keys, as ``file:`` references to the secrets ``ensure_snmp_secrets`` made."""
    from inventory.snmp.credentials import SnmpCredentialSet
    from opsctl.core.secrets import SecretRef

    return SnmpCredentialSet(
        "3",
        user=V3_USER,
        auth_key=SecretRef("file", str(layout.snmp_v3_auth_key)),
        priv_key=SecretRef("file", str(layout.snmp_v3_priv_key)),
        auth_protocol=V3_AUTH_PROTOCOL,
        priv_protocol=V3_PRIV_PROTOCOL,
    )


def snmp_group_vars(layout: LabLayout) -> dict[str, Any]:
    """The ``snmp_agents`` group vars: no SSH logins, the v3 user and its keys as ``file:`` references."""
    from inventory.snmp.credentials import host_variables_of

    # each agent says its own opsctl_snmp_version: the group gives the v3 user every agent has
    return {"opsctl_ssh": False, **host_variables_of(lab_v3_credentials(layout), with_version=False)}
