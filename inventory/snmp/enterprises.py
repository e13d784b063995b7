"""Who made a device, from the enterprise number in its sysObjectID, through IANA's registry.

A sysObjectID under ``1.3.6.1.4.1.N`` was assigned by enterprise N. IANA's Private Enterprise
Numbers registry names N; Debian's ``libwireshark-data`` ships it as
``/usr/share/wireshark/enterprises.tsv``. Registered names are often long or historical
("American Power Conversion Corp.", "Compaq"), so ``inventory/profiles/manufacturers.tsv``
shortens the ones a hospital meets to the names their products carry (APC, HPE), keyed by
number because registered names change from one edition of the registry to the next. The same
table normalises a maker's name a device answers itself (UPS-MIB upsIdentManufacturer "CPS",
"EATON", an ENTITY-MIB entPhysicalMfgName): its third column lists other names a maker's
devices give, and a registered name is known by its number's short name too.

Some numbers belong to SNMP agents, not to makers (:data:`AGENT_ENTERPRISES`): a device whose
sysObjectID is the agent's default says which software answers, not who made it, so its
manufacturer stays unknown. The registry is read once, lazily; a missing file is a warning and
leaves manufacturers unknown, never an error.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REGISTRY_PATH = Path("/usr/share/wireshark/enterprises.tsv")
MANUFACTURERS_PATH = Path(__file__).resolve().parent.parent / "profiles" / "manufacturers.tsv"
ENTERPRISES = "1.3.6.1.4.1."
logger = logging.getLogger("inventory.snmp")

# Enterprise numbers that name an SNMP agent's software, with the evidence:
AGENT_ENTERPRISES: Mapping[int, str] = {
    # "Reserved" in IANA's registry: agents that leave sysObjectID at 1.3.6.1.4.1.0 name nobody
    # (the corpus's dantherm-os recording answers 1.3.6.1.4.1.0)
    0: "IANA's reserved number",
    # UCD-SNMP, net-snmp's predecessor: ucdavis.250.N are its platform OIDs (UCD-SNMP-MIB
    # ucdSnmpAgent), kept by embedded agents built on it (the corpus's ird recording)
    2021: "the UCD-SNMP agent",
    # net-snmp: NET-SNMP-MIB netSnmpAgentOIDs 8072.3.2.N (10 = Linux) is snmpd's default
    # sysObjectID on any hardware (25 of the corpus's 240 tuning recordings, from NAS to UPS cards)
    8072: "the net-snmp agent",
    # Microsoft's SNMP service: 311.1.1.3.1.N names the Windows edition (workstation, server,
    # domain controller), never the machine it runs on
    311: "Microsoft's SNMP service (Windows)",
}


@dataclass(frozen=True)
class EnterpriseRegistry:
    """Enterprise numbers to registered names and short names; ``problem`` says why the registry is empty."""

    registered: Mapping[int, str] = field(default_factory=dict)
    short_names: Mapping[int, str] = field(default_factory=dict)
    problem: str | None = None
    aliases: Mapping[int, tuple[str, ...]] = field(default_factory=dict)

    def manufacturer(self, number: int) -> str | None:
        """Return the maker enterprise ``number`` stands for: its short name, else its registered name without
        its legal form ("SonicWALL, Inc." is SonicWALL, "Moxa Technologies Co., Ltd." Moxa Technologies).

        None for an agent's number (:data:`AGENT_ENTERPRISES`) and for a number the registry does
        not hold (so with no registry at all, every manufacturer from a number is unknown).
        """
        if number in AGENT_ENTERPRISES or number not in self.registered:
            return None
        return self.short_names.get(number) or _without_suffix(self.registered[number])

    @functools.cached_property
    def _short_by_name(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for number, short in self.short_names.items():
            names = [short, *self.aliases.get(number, ())]
            if number in self.registered:
                names += [self.registered[number], _without_suffix(self.registered[number])]
            for name in names:
                found.setdefault(_name_key(name), short)
        return found

    def short_name(self, name: str) -> str:
        """Return the short name of a maker named ``name`` by a device (``CPS`` gives ``CyberPower``, ``EATON``
        gives ``Eaton``, ``American Power Conversion Corp.`` gives ``APC``), else ``name`` stripped.

        Matched whole, ignoring case, spacing and a corporate suffix, against each short name of
        ``manufacturers.tsv``, its aliases (third column) and its number's registered name.
        """
        cleaned = " ".join(name.split())
        key = _name_key(cleaned)
        return self._short_by_name.get(key) or self._short_by_name.get(_name_key(_without_suffix(cleaned))) or cleaned


# corporate suffixes a maker's name may carry or not ("Eaton Corporation", "Delta Electronics, Inc.")
# ("Richard Hirschmann GmbH & Co.", "Moxa Technologies Co., Ltd.", "Schleifenbauer Products BV"), each word in turn
_CORPORATE_SUFFIX = re.compile(
    r"(?:[\s,]+(?:&\s*)?(?:inc|incorporated|corp|corporation|co|company|ltd|limited|llc|plc|gmbh|ag|kg|sa|s\.?p\.?a"
    r"|bv|b\.v|ab|as|oy)\.?)+$",
    re.IGNORECASE,
)


def _without_suffix(name: str) -> str:
    return _CORPORATE_SUFFIX.sub("", name.strip())


def _name_key(name: str) -> str:
    return " ".join(name.casefold().split())


def enterprise_number(sys_object_id: str | None) -> int | None:
    """Return N of a sysObjectID under 1.3.6.1.4.1.N (leading dot allowed), else None."""
    text = (sys_object_id or "").strip().lstrip(".")
    if not text.startswith(ENTERPRISES):
        return None
    first = text[len(ENTERPRISES):].split(".", 1)[0]
    return int(first) if first.isdigit() else None


def _clean_name(name: str) -> str:
    # "A10 Networks (previously 'Raksha Networks Inc.')", "IBM (https://w3.ibm.com/standards )"
    cleaned = re.sub(r"\s*\((?:previous|formerly|http)[^)]*\)", "", name)
    return " ".join(cleaned.split())


def parse_registry(text: str) -> dict[int, str]:
    """Return number -> registered name from ``enterprises.tsv`` text (``N<spaces>NAME [# comment]``).

    Comment lines, blank lines and lines without a number and a name are skipped.
    """
    found: dict[int, str] = {}
    for line in text.splitlines():
        # plain string operations: the registry has some 60,000 lines and is read on a scan's path
        parts = line.split(None, 1)
        if len(parts) != 2 or not parts[0].isdigit():
            continue
        name = parts[1].split("#", 1)[0].strip()
        if "(" in name:
            name = _clean_name(name)
        if name:
            found[int(parts[0])] = name
    return found


def parse_short_names(text: str) -> dict[int, str]:
    """Return number -> short name from ``manufacturers.tsv`` text (``N<TAB>SHORT NAME[<TAB># note]``)."""
    found: dict[int, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        number, _, rest = line.partition("\t")
        short = rest.split("\t", 1)[0].strip()
        if number.strip().isdigit() and short:
            found[int(number)] = short
    return found


def parse_aliases(text: str) -> dict[int, tuple[str, ...]]:
    """Return number -> other names its maker's devices give, from ``manufacturers.tsv``'s optional third column
    (``N<TAB>SHORT<TAB>NAME|NAME<TAB># note``); a third column that is the note gives none."""
    found: dict[int, tuple[str, ...]] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) < 3 or not columns[0].strip().isdigit() or columns[2].lstrip().startswith("#"):
            continue
        names = tuple(name.strip() for name in columns[2].split("|") if name.strip())
        if names:
            found[int(columns[0])] = names
    return found


def load_registry(path: Path = REGISTRY_PATH, short_names_path: Path = MANUFACTURERS_PATH) -> EnterpriseRegistry:
    """Return the registry read from ``path`` with the short names of ``short_names_path``.

    A registry that cannot be read gives an empty registry whose ``problem`` says why (and one
    logged warning); it never raises.
    """
    table = short_names_path.read_text(encoding="utf-8")
    short_names, aliases = parse_short_names(table), parse_aliases(table)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        problem = (
            f"IANA enterprise registry {path} unreadable ({error.strerror or error}): manufacturers "
            "from sysObjectID unknown (apt-get install libwireshark-data)"
        )
        logger.warning("%s", problem)
        return EnterpriseRegistry({}, short_names, problem, aliases)
    return EnterpriseRegistry(parse_registry(text), short_names, aliases=aliases)


@functools.cache
def default_registry() -> EnterpriseRegistry:
    """Return the system's registry, read on first use and kept for the process."""
    return load_registry()
