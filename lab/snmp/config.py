"""Pure parts of the lab's SNMP agents: names, addresses, recordings, configs and command lines.

Nothing here touches the disk or runs a program, so every piece is unit-tested on its own.
Secrets never appear in a command line: ``snmpd`` reads them from its 0600 config, snmpsim
from a 0600 ``--args-from-file`` file, and ``snmpget`` from a 0600 ``snmp.conf`` found through
``SNMPCONFPATH``.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

SNMP_PORT = 11161
SNMP_GROUP = "snmp_agents"
SNMP_SUBNET = 20  # third octet: snmpd is {prefix}.20.1, snmpsim devices {prefix}.20.2...
SNMPD_NAME = "lab-snmpd"
SNMPSIM_NAME = "lab-snmpsim"
V3_USER = "opsctl-lab"
V3_AUTH_PROTOCOL = "SHA"
V3_PRIV_PROTOCOL = "AES"
NET_SNMP_SYS_OBJECT_ID = "1.3.6.1.4.1.8072.3.2.10"  # net-snmp on Linux
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
UPS_IDENT_MANUFACTURER = "1.3.6.1.2.1.33.1.1.1.0"


@dataclass(frozen=True)
class Recording:
    """One snmpsim-data recording the lab serves: where it is in the package and what it is."""

    name: str  # the file name without .snmprec: snmpsim's community and v3 context name
    source: str  # path inside snmpsim_data/data, .snmprec or .snmprec.bz2
    role: str  # the inventory role a discovery should give it
    vendor: str
    ups_mib: bool = False  # carries RFC 1628 UPS-MIB (1.3.6.1.2.1.33)
    bundled: bool = False  # written for the lab: ``source`` is in lab/snmp/recordings, not snmpsim-data

    @property
    def device_name(self) -> str:
        """The inventory name of the simulated device: ``sim-`` plus the recording name."""
        return f"sim-{self.name}"


# Small recordings only: snmpsim indexes each on first start and big ones make it CPU-bound.
RECORDINGS: tuple[Recording, ...] = (
    Recording("cisco-c3750", "network/switch/cisco-c3750.snmprec.bz2", "switch", "Cisco"),
    Recording("eaton-93e-80", "UPS/eaton-93e-80.snmprec.bz2", "ups", "Eaton", ups_mib=True),
    Recording("apc-8641", "UPS/apc-8641.snmprec", "pdu", "APC"),
    Recording("isilon-onefs", "storage/isilon-onefs.snmprec.bz2", "storage", "Isilon"),
    Recording(
        "hp-onboard-administrator", "bmc/hp-onboard-administrator.snmprec.bz2", "bmc", "HPE"
    ),
    Recording("geist-temperature-sensor", "iot/geist-temperature-sensor.snmprec", "sensor", "Geist"),
    # for the SNMP poller: ENTITY-SENSOR-MIB temperatures and fans, and (written for the lab, as
    # snmpsim-data's APC recordings are rack PDUs) an APC UPS on PowerNet-MIB and an AKCP sensor
    Recording("paloalto-pa-5000", "network/firewall/paloalto-pa-5000.snmprec.bz2", "firewall", "Palo Alto"),
    Recording("opsctl-apc-smart-ups", "opsctl-apc-smart-ups.snmprec", "ups", "APC", bundled=True),
    Recording("opsctl-akcp-sensorprobe", "opsctl-akcp-sensorprobe.snmprec", "sensor", "AKCP", bundled=True),
)
BUNDLED_RECORDINGS = Path(__file__).resolve().parent / "recordings"


def _check_prefix(prefix: str) -> None:
    first, _, second = prefix.partition(".")
    if first != "127" or not second.isdigit() or not 0 <= int(second) <= 255:
        raise ValueError(f"lab prefix {prefix!r} is not 127.N")


def snmpd_address(prefix: str) -> str:
    """The address of the lab's net-snmp agent: ``{prefix}.20.1``."""
    _check_prefix(prefix)
    return f"{prefix}.{SNMP_SUBNET}.1"


def snmpsim_address(prefix: str, index: int) -> str:
    """The address of simulated device ``index`` (0-based): ``{prefix}.20.(2 + index)``."""
    _check_prefix(prefix)
    if not 0 <= index <= 252:
        raise ValueError(f"simulated device index {index} is outside 0..252")
    return f"{prefix}.{SNMP_SUBNET}.{2 + index}"


# the extends of LibreNMS's snmpd.conf.example that read the firmware's names (inventory/snmp/extend.py)
DMI_EXTENDS = (("manufacturer", "sys_vendor"), ("hardware", "product_name"), ("serial", "product_serial"))
# the distribution's name, as LibreNMS's ``distro`` script prints it for a Debian host
DISTRO_SCRIPT = """#!/bin/sh
# opsctl lab: the distribution's name for the agent's `extend distro` (generated; rewritten by `opsctl lab up`)
. /etc/os-release && printf '%s\\n' "$PRETTY_NAME"
"""


def _check_config_word(value: str, what: str) -> None:
    # a secret or name that snmpd's config parser would split, or read as an option
    if not value or value.startswith("-") or any(c.isspace() or c in "\"'#" for c in value):
        raise ValueError(f"unusable {what} for an SNMP config (empty, spaces, quotes or '-')")


def render_snmpd_conf(
    *,
    name: str,
    address: str,
    port: int,
    community: str,
    v3_user: str,
    auth_key: str,
    priv_key: str,
    distro_script: Path | None = None,
) -> str:
    """The text of the lab snmpd's config (0600: it holds the community and v3 passphrases).

    v2c read-only for loopback clients with ``community``; v3 ``v3_user`` with authPriv only
    (SHA/AES). The address is given here and never again on the command line (a double bind
    fails). snmpd keeps its state where ``SNMP_PERSISTENT_DIR`` says (set by the peer).

    The extends a site adds so a host says what it is (LibreNMS's ``snmpd.conf.example``): the
    machine's DMI maker, product and serial (nothing where the machine has no DMI, as here), and its
    distribution from ``distro_script`` when given (:data:`DISTRO_SCRIPT`).
    """
    if not address.startswith("127."):
        raise ValueError(f"the lab binds to loopback only, not {address}")
    for value, what in ((community, "community"), (v3_user, "v3 user"),
                        (auth_key, "auth key"), (priv_key, "priv key")):
        _check_config_word(value, what)
    if len(auth_key) < 8 or len(priv_key) < 8:
        raise ValueError("net-snmp needs v3 passphrases of at least 8 characters")
    lines = [
        f"# {name}: generated by opsctl lab; rewritten on every `opsctl lab up`",
        f"agentAddress udp:{address}:{port}",
        f"rocommunity {community} 127.0.0.0/8",
        f"createUser {v3_user} {V3_AUTH_PROTOCOL} {auth_key} {V3_PRIV_PROTOCOL} {priv_key}",
        f"rouser {v3_user} priv",
        f"sysName {name}",
        "sysLocation opsctl lab, server room 1, rack A1",
        "sysContact lab@opsctl.invalid",
        "sysServices 72",
        "dontLogTCPWrappersConnects yes",
        *(f"extend {name} /bin/cat /sys/devices/virtual/dmi/id/{source}" for name, source in DMI_EXTENDS),
    ]
    if distro_script is not None:
        _check_config_word(str(distro_script), "distro script path")
        lines.append(f"extend distro {distro_script}")
    return "\n".join(lines) + "\n"


def snmpd_command(*, snmpd: str, config: Path) -> tuple[str, ...]:
    """snmpd in the foreground, logging to stdout, reading only ``config`` (no address here).

    Without the SMUX module: it would listen on 0.0.0.0:199 (and clash with a second lab).
    """
    return (snmpd, "-f", "-Lo", "-C", "-c", str(config), "-I", "-smux")


def render_client_conf_v2c(community: str) -> str:
    """A net-snmp client ``snmp.conf`` (0600) that supplies the v2c community."""
    _check_config_word(community, "community")
    return f"# opsctl lab SNMP client settings\nmibs :\ndefVersion 2c\ndefCommunity {community}\n"


def render_client_conf_v3(*, user: str, auth_key: str, priv_key: str) -> str:
    """A net-snmp client ``snmp.conf`` (0600) that supplies the v3 authPriv credentials."""
    for value, what in ((user, "v3 user"), (auth_key, "auth key"), (priv_key, "priv key")):
        _check_config_word(value, what)
    return (
        "# opsctl lab SNMP client settings\nmibs :\ndefVersion 3\n"
        f"defSecurityName {user}\ndefSecurityLevel authPriv\n"
        f"defAuthType {V3_AUTH_PROTOCOL}\ndefPrivType {V3_PRIV_PROTOCOL}\n"
        f"defAuthPassphrase {auth_key}\ndefPrivPassphrase {priv_key}\n"
    )


def snmpget_command(
    *,
    snmpget: str,
    address: str,
    port: int,
    oids: Sequence[str],
    timeout_seconds: float,
    community: str | None = None,
    context: str | None = None,
) -> tuple[str, ...]:
    """snmpget arguments for one try, numeric output; credentials come from ``SNMPCONFPATH``.

    ``community`` is only for snmpsim, whose community is the (public) recording name.
    """
    argv = [snmpget, "-On", "-t", f"{max(0.1, timeout_seconds):g}", "-r", "0"]
    if community is not None:
        argv += ["-v2c", "-c", community]
    if context is not None:
        argv += ["-n", context]
    argv.append(f"udp:{address}:{port}")
    argv.extend(oids)
    return tuple(argv)


def parse_snmpget_output(text: str) -> dict[str, str]:
    """``{oid: value}`` from ``snmpget -On`` output (``.1.3.6... = TYPE: value``)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        oid, separator, rest = line.partition(" = ")
        if not separator:
            continue
        _, colon, value = rest.partition(": ")
        values[oid.strip().lstrip(".")] = (value if colon else rest).strip().strip('"')
    return values


@dataclass(frozen=True)
class SimEngine:
    """One snmpsim engine: its own data directory (one recording) and endpoint."""

    data_dir: Path
    address: str
    port: int


def render_snmpsim_args(
    engines: Sequence[SimEngine], *, v3_user: str, auth_key: str, priv_key: str
) -> str:
    """The ``--args-from-file`` text (0600: it holds the v3 keys), one option a line.

    snmpsim reads the options of each engine in this order: engine id, data dir, users,
    endpoint. Each engine serves only its own recording, on its own address.
    """
    for value, what in ((v3_user, "v3 user"), (auth_key, "auth key"), (priv_key, "priv key")):
        _check_config_word(value, what)
    lines: list[str] = []
    for engine in engines:
        if not engine.address.startswith("127."):
            raise ValueError(f"the lab binds to loopback only, not {engine.address}")
        if any(c.isspace() for c in str(engine.data_dir)):
            raise ValueError(f"snmpsim splits its args file on spaces: {engine.data_dir}")
        lines += [
            "--v3-engine-id=auto",
            f"--data-dir={engine.data_dir}",
            f"--v3-user={v3_user}",
            f"--v3-auth-key={auth_key}",
            f"--v3-auth-proto={V3_AUTH_PROTOCOL}",
            f"--v3-priv-key={priv_key}",
            f"--v3-priv-proto={V3_PRIV_PROTOCOL}",
            f"--agent-udpv4-endpoint={engine.address}:{engine.port}",
        ]
    return "\n".join(lines) + "\n"


def snmpsim_command(
    *, responder: str, args_file: Path, cache_dir: Path, user: str = "nobody", group: str = "nogroup"
) -> tuple[str, ...]:
    """snmpsim-command-responder dropping to ``user``, engines from ``args_file``, log to stdout."""
    return (
        responder,
        f"--process-user={user}",
        f"--process-group={group}",
        f"--cache-dir={cache_dir}",
        "--logging-method=stdout",
        "--log-level=error",
        f"--args-from-file={args_file}",
    )


def _decode_value(tag: str, value: str) -> str:
    if tag.endswith("x"):
        try:
            return bytes.fromhex(value).decode("utf-8", "replace")
        except ValueError:
            return value
    return value


def parse_snmprec_values(text: str, oids: Sequence[str]) -> dict[str, str]:
    """The values of ``oids`` in the text of an ``.snmprec`` file (``OID|TAG|VALUE`` lines).

    Hex-encoded strings (tag ending in ``x``) are decoded; a missing OID is left out.
    """
    wanted = set(oids)
    found: dict[str, str] = {}
    for line in text.splitlines():
        oid, _, rest = line.partition("|")
        if oid in wanted and oid not in found:
            tag, _, value = rest.partition("|")
            found[oid] = _decode_value(tag, value).strip()
            if len(found) == len(wanted):
                break
    return found


def has_subtree(text: str, prefix: str) -> bool:
    """True if the ``.snmprec`` text has an OID under ``prefix`` (e.g. UPS-MIB 1.3.6.1.2.1.33)."""
    return any(line.startswith(prefix + ".") for line in text.splitlines())


def unreachable_by_others(modes: Mapping[Path, int], *, readable: Sequence[Path] = ()) -> list[Path]:
    """The paths among ``modes`` (path to ``st_mode``) that another user cannot use.

    Every directory needs ``o+x`` (to pass through); a path in ``readable`` also needs
    ``o+r``; a regular file not in ``readable`` needs nothing.
    """
    blocked = []
    for path, mode in modes.items():
        needed = 0o001 if stat.S_ISDIR(mode) else 0
        if path in readable:
            needed |= 0o004
        if mode & needed != needed:
            blocked.append(path)
    return blocked
