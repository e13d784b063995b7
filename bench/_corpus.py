"""Pure helpers of ``bench/corpus-accuracy``: what LibreNMS found on a recording, in opsctl's vocabulary,
and whether what opsctl found matches it, field by field.

The measuring stick is kept apart from what it measures: the vendor aliases and the rules below
are the bench's own, not imported from ``inventory`` (only its snmprec reader is). Every rule is
documented in bench/README.md ("bench/corpus-accuracy"); each function here states one of them.

Fields: role, manufacturer, model, serial, version, sys_name. A field is ``right``, ``wrong`` or
``excluded`` (the device does not expose it: LibreNMS found nothing, or only an anonymised
placeholder), and only ``right`` and ``wrong`` count in a field's denominator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from inventory.snmp.recording import parse_snmprec

FIELDS = ("role", "manufacturer", "model", "serial", "version", "sys_name")
RIGHT, WRONG, EXCLUDED = "right", "wrong", "excluded"

# LibreNMS's test data replaces private values with these; a field holding one is not exposed.
ANONYMISED = re.compile(r"^<(private|serial|hostname|[a-z_]+)>$", re.IGNORECASE)
# Values that say nothing: LibreNMS keeps some of them as it read them.
PLACEHOLDERS = frozenset({"", "n/a", "na", "none", "unknown", "not available", "not set", "-", "0", "000000000"})

# Enterprise numbers of SNMP agents' software, not of a device's maker: a sysObjectID under one
# of them says nothing about who made the device (net-snmp, its UCD-SNMP ancestor, "Reserved",
# Microsoft's SNMP service, which names the Windows edition and not the machine).
AGENT_ENTERPRISES = frozenset({0, 311, 2021, 8072})

# Short vendor names and the words that name them: in LibreNMS's `os`, in its `hardware`, in
# IANA's registry names and in what opsctl reports. Matched case-insensitively on word bounds.
VENDOR_ALIASES: tuple[tuple[str, str], ...] = (
    ("APC", r"apc|american power conversion|schneider(?: electric)?|mge|netbotz"),
    ("Cisco", r"cisco(?:systems)?|ios|iosxe|iosxr|nxos|nx-os|asa|ftd|cimc|ciscosb|ciscome\d*|viptela"),
    ("Eaton", r"eaton|powerware|xups"),
    ("Vertiv", r"vertiv|liebert|emerson(?: network power| computer power)?|geist|avocent|ees"),
    ("Dell", r"dell|idrac|force10|ftos|dnos|powerconnect"),
    ("HPE", r"hpe|hp|hewlett[- ]packard(?: enterprise)?|compaq|ilo|proliant|procurve|aruba|arubaos(?:-cx)?|comware|h3c"),
    ("Lenovo", r"lenovo|xclarity|xcc|thinksystem|imm"),
    ("IBM", r"ibm|aix"),
    ("Supermicro", r"supermicro|super micro"),
    ("NetApp", r"netapp"),
    ("Synology", r"synology|dsm"),
    ("QNAP", r"qnap"),
    ("Fortinet", r"fortinet|forti\w*"),
    ("Palo Alto Networks", r"palo ?alto(?: networks)?|pan-?os"),
    ("Check Point", r"check ?point|gaia|splat"),
    ("Sophos", r"sophos|cyberoam|elitecore"),
    ("Huawei", r"huawei|vrp|ibmc|yunshan"),
    ("Juniper", r"juniper|junos|screenos|netscreen"),
    ("Arista", r"arista|eos|metamako"),
    ("Raritan", r"raritan"),
    ("ServerTech", r"server ?tech(?:nology)?|sentry\d*"),
    ("AKCP", r"akcp|sensorprobe"),
    ("Riello", r"riello"),
    ("Socomec", r"socomec|netys"),
    ("Delta", r"delta(?: electronics)?|deltaups"),
    ("CyberPower", r"cyber ?power(?: systems?)?"),
    ("Tripp Lite", r"tripp ?lite"),
    ("Rittal", r"rittal"),
    ("Eltek", r"eltek|enexus|valere"),
    ("ZyXEL", r"zyxel|zywall|zynos"),
    ("MikroTik", r"mikrotik|routeros|swos"),
    ("Ubiquiti", r"ubiquiti|unifi|edgeos\w*|edgeswitch|airos|ufiber|uisp"),
    ("Peplink", r"peplink|pepwave|fusionhub"),
    ("Microsoft", r"microsoft"),  # not "windows": the operating system is not the machine's maker
    ("Nokia", r"nokia|timos|alcatel-lucent"),
    ("Extreme Networks", r"extreme networks|exos|xos|voss|enterasys"),
    ("Brocade", r"brocade|fabos|ironware"),
    ("Allied Telesis", r"allied(?: telesis)?|awplus"),
    ("TP-Link", r"tp-?link|jetstream"),
    ("D-Link", r"d-?link"),
    ("Opengear", r"opengear"),
    ("Gude", r"gude"),
    ("Schleifenbauer", r"schleifenbauer"),
    ("Asentria", r"asentria|siteboss\d*"),
    ("Stormshield", r"stormshield|ns-bsd"),
    ("Barracuda", r"barracuda\w*"),
    ("Moxa", r"moxa"),
    ("Pure Storage", r"pure ?storage|purity"),
    ("Hikvision", r"hikvision"),
    ("Axis", r"axis(?: communications)?|axiscam"),
    ("iXsystems", r"ixsystems|truenas|freenas"),
    ("Panasonic", r"panasonic|matsushita(?: electric)?"),  # Matsushita Electric Industrial became Panasonic in 2008
    ("DCN", r"dcn|digital china"),  # Digital China Networks, whose switches carry the DCN brand
)
_ALIAS_PATTERNS = tuple(
    (short, re.compile(rf"(?<![a-z0-9])(?:{words})(?![a-z0-9])", re.IGNORECASE)) for short, words in VENDOR_ALIASES
)
# Corporate suffixes stripped before two vendor names are compared word by word.
_CORPORATE = re.compile(
    r"\b(inc|incorporated|corp|corporation|co|company|ltd|limited|llc|gmbh|ag|sa|s\.a|bv|b\.v|ab|as|plc|"
    r"kg|oy|srl|spa|technolog(?:y|ies)|systems?|networks?|electronics?|international|group)\b\.?",
    re.IGNORECASE,
)

# LibreNMS `type` -> opsctl roles; power, appliance and management are decided by the words below.
_TYPE_ROLES: Mapping[str, frozenset[str]] = {
    # LibreNMS does not tell a switch from a router or a wireless controller: the class is judged
    "network": frozenset({"switch", "router", "wireless"}),
    "firewall": frozenset({"firewall"}),
    "server": frozenset({"server"}),
    "storage": frozenset({"storage"}),
    "environment": frozenset({"sensor"}),
    "wireless": frozenset({"wireless"}),
    "printer": frozenset({"printer"}),
}
# a power device that distributes power (outlets, transfer switches), not one that makes or stores it
PDU_WORDS = re.compile(
    r"pdu|outlet|power ?control|rack power|switched|metered|sentry\d*|schleifenbauer|\bats\b|"
    r"transfer switch|iboot|wti|gude|epc|ipm-\d+|vmr-|rn\d{4}|ap\d{4}|apdu",
    re.IGNORECASE,
)
# management controllers of servers, which opsctl records as the server they manage
BMC_WORDS = re.compile(
    r"\b(ilo|idrac|xcc|xclarity|imm2?|ibmc|cimc|bmc|openbmc|ipmi|proliant|poweredge|thinksystem|"
    r"supermicro|rh\d{4})\b",
    re.IGNORECASE,
)
FIREWALL_WORDS = re.compile(
    r"firewall|\butm\b|fortigate|sophos|cyberoam|\bxg\b|check ?point|palo ?alto|\bngfw\b|fireeye|\bips\b",
    re.IGNORECASE,
)
STORAGE_WORDS = re.compile(r"\bnas\b|storage|synology|qnap|netapp|truenas|\bsan\b", re.IGNORECASE)


@dataclass(frozen=True)
class FieldResult:
    """One field of one recording: ``status`` is right, wrong or excluded; ``note`` says why when not right."""

    field: str
    status: str
    expected: str | None
    got: str | None
    note: str = ""
    # model, serial, version: whether a string the recording answers holds the expected value
    # (:func:`held_verbatim`); None when not looked at
    verbatim: bool | None = None


@dataclass(frozen=True)
class RecordingResult:
    """Every field of one recording, with LibreNMS's type and what opsctl's scan said of the device."""

    name: str
    librenms_type: str
    outcome: str
    fields: tuple[FieldResult, ...]
    messages: tuple[str, ...] = ()
    # the provenance of opsctl's role: what decided it ("" when nothing did)
    role_evidence: str = ""


@dataclass
class Tally:
    """Right and total (right plus wrong) per field."""

    right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))


# ----------------------------------------------------------------------------- registry


def parse_enterprises(text: str) -> dict[int, str]:
    """Return enterprise number -> organisation from the text of Wireshark's ``enterprises.tsv``.

    Lines are ``NUMBER<spaces or tabs>NAME`` with an optional ``# comment``; others are skipped.
    """
    found: dict[int, str] = {}
    for line in text.splitlines():
        match = re.match(r"^(\d+)\s+(.*?)\s*(?:#.*)?$", line)
        if match and match[2]:
            found[int(match[1])] = match[2]
    return found


def enterprise_number(sys_object_id: str | None) -> int | None:
    """Return N of a sysObjectID under 1.3.6.1.4.1.N, else None."""
    match = re.match(r"^\.?1\.3\.6\.1\.4\.1\.(\d+)(?:\.|$)", (sys_object_id or "").strip())
    return int(match[1]) if match else None


# ----------------------------------------------------------------------------- normalising


def is_exposed(value: Any) -> bool:
    """Whether a LibreNMS value says something: not empty, not a placeholder, not anonymised."""
    if value is None:
        return False
    text = " ".join(str(value).split())
    return text.casefold() not in PLACEHOLDERS and not ANONYMISED.match(text)


def vendor_short_name(text: str | None) -> str | None:
    """Return the short vendor name the first alias found in ``text`` stands for, else None.

    Separators ``-`` and ``_`` of an ``os`` name count as spaces (``dell-ups`` names Dell).
    """
    if not text:
        return None
    spaced = re.sub(r"[_]", " ", text)
    best: tuple[int, str] | None = None
    for short, pattern in _ALIAS_PATTERNS:
        match = pattern.search(spaced)
        if match and (best is None or match.start() < best[0]):
            best = (match.start(), short)
    return best[1] if best else None


def _vendor_words(name: str) -> list[str]:
    cleaned = _CORPORATE.sub(" ", re.sub(r"\(.*?\)|'.*?'", " ", name))
    return [word for word in re.split(r"[^a-z0-9]+", cleaned.casefold()) if word]


def normalise_text(value: str | None) -> str:
    """Casefold, collapse whitespace, and drop quotes and trailing punctuation."""
    text = " ".join((value or "").replace('"', " ").split()).casefold()
    return text.strip(" .,;:")


def strip_vendor(text: str) -> str:
    """Drop a leading vendor name (any alias) and what separates it from the rest of a model name."""
    for _short, pattern in _ALIAS_PATTERNS:
        match = pattern.match(text)
        if match:
            rest = text[match.end():].lstrip(" -_:/,")
            if rest:
                return rest
    return text


def _contains(longer: str, shorter: str, boundary: str) -> bool:
    if not shorter:
        return False
    return re.search(rf"(?<![{boundary}]){re.escape(shorter)}(?![{boundary}])", longer) is not None


# ----------------------------------------------------------------------------- expectations


def expected_roles(expected: Mapping[str, Any]) -> tuple[frozenset[str] | None, str]:
    """Return the roles that are right for a recording, or None when its type has no counterpart, and the rule.

    ``power`` is a pdu when os, hardware or sysDescr name a distribution unit (:data:`PDU_WORDS`),
    else a ups. ``appliance`` and ``management`` are decided by words: a firewall, a server's
    management controller (a server), storage; else they have no counterpart in opsctl's vocabulary.
    """
    kind = str(expected.get("type") or "")
    words = " ".join(str(expected.get(key) or "") for key in ("os", "hardware", "sysDescr"))
    if kind == "power":
        return (frozenset({"pdu"}), "power: PDU words") if PDU_WORDS.search(words) else (
            frozenset({"ups"}), "power: no PDU words, so a UPS")
    if kind in ("appliance", "management"):
        if FIREWALL_WORDS.search(words):
            return frozenset({"firewall"}), f"{kind}: firewall words"
        if BMC_WORDS.search(words):
            return frozenset({"server"}), f"{kind}: a server's management controller"
        if STORAGE_WORDS.search(words):
            return frozenset({"storage"}), f"{kind}: storage words"
        return None, f"{kind}: no counterpart in opsctl's roles"
    if kind in _TYPE_ROLES:
        return _TYPE_ROLES[kind], kind
    return None, f"type {kind or '(none)'}: no counterpart in opsctl's roles"


def expected_manufacturer(expected: Mapping[str, Any], registry: Mapping[int, str]) -> tuple[str | None, str]:
    """Return the manufacturer LibreNMS's record implies, and where it came from; None when nothing says.

    First a vendor named by LibreNMS's ``os`` or ``hardware``; else IANA's name for the
    sysObjectID's enterprise number, unless that number is an agent's (:data:`AGENT_ENTERPRISES`).
    """
    for key in ("os", "hardware"):
        short = vendor_short_name(str(expected.get(key) or ""))
        if short:
            return short, f"named by LibreNMS {key}"
    number = enterprise_number(expected.get("sysObjectID"))
    if number is None or number in AGENT_ENTERPRISES or number not in registry:
        return None, "not exposed: no vendor named and no maker's enterprise number"
    name = registry[number]
    return vendor_short_name(name) or name, f"IANA registry, enterprise {number}"


# ----------------------------------------------------------------------------- comparing


def same_manufacturer(expected: str, got: str) -> bool:
    """Equal names, else equal short names (via the aliases), else the same first significant word once
    corporate suffixes are gone (all words when nothing else is left: "Network Technologies Inc"), else the
    same words written together ("Efficient IP" is "EfficientIP")."""
    if normalise_text(expected) == normalise_text(got):
        return True
    short_expected, short_got = vendor_short_name(expected), vendor_short_name(got)
    if short_expected and short_got:
        return short_expected == short_got
    words_expected = _vendor_words(expected) or normalise_text(expected).split()
    words_got = _vendor_words(got) or normalise_text(got).split()
    if not (words_expected and words_got):
        return False
    return words_expected[0] == words_got[0] or "".join(words_expected) == "".join(words_got)


def same_model(expected: str, got: str) -> bool:
    """Equal once normalised and a leading vendor name is dropped, or one holds the other on word bounds.

    The part held must say something: a digit in it, or six characters (``UPS`` alone is not a model).
    """
    left, right = strip_vendor(normalise_text(expected)), strip_vendor(normalise_text(got))
    if left == right:
        return True
    shorter, longer = sorted((left, right), key=len)
    telling = any(character.isdigit() for character in shorter) or len(shorter) >= 6
    return len(shorter) >= 2 and telling and _contains(longer, shorter, "a-z0-9")


def same_serial(expected: str, got: str) -> bool:
    """Equal ignoring case and whitespace, or one holds the other on word bounds (``System:123 Product:456``)."""
    left, right = normalise_text(expected).replace(" ", ""), normalise_text(got).replace(" ", "")
    if left == right:
        return True
    shorter, longer = sorted((normalise_text(expected), normalise_text(got)), key=len)
    return len(shorter) >= 4 and _contains(longer, shorter, "a-z0-9")


_V_BEFORE_DIGIT = re.compile(r"(?<![a-z0-9])v(?=\d)")
_VERSION_WORDS = re.compile(r"^(?:software |firmware |version |release |ver |rev |fw |sw |v(?=\d))+", re.IGNORECASE)


def same_version(expected: str, got: str) -> bool:
    """Equal once normalised (``v`` before a digit, a leading ``version``, ``firmware`` dropped), or one holds the other.

    Holding is on version bounds: ``15.2(4)E7`` is in ``Version 15.2(4)E7, RELEASE``, ``1.0`` is not in ``1.0.2``.
    """
    left = _VERSION_WORDS.sub("", _V_BEFORE_DIGIT.sub("", normalise_text(expected)))
    right = _VERSION_WORDS.sub("", _V_BEFORE_DIGIT.sub("", normalise_text(got)))
    if left == right:
        return True
    shorter, longer = sorted((left, right), key=len)
    return len(shorter) >= 2 and _contains(longer, shorter, "a-z0-9.")


def same_sys_name(expected: str, got: str) -> bool:
    """Equal ignoring case, or one is the other's first label (a host name and its FQDN)."""
    left, right = normalise_text(expected), normalise_text(got)
    return left == right or left.split(".")[0] == right or right.split(".")[0] == left


def recorded_strings(text: str) -> tuple[str, ...]:
    """Return every OCTET STRING value of a recording's text (``OID|4|text``, ``OID|4x|hex``), decoded; the
    recording is read by opsctl's own snmprec reader (a reader, not a rule being measured)."""
    rows = parse_snmprec(text).rows
    return tuple(value.decode("utf-8", errors="replace") for value in rows.values() if isinstance(value, bytes))


def held_verbatim(expected: str, strings: Iterable[str]) -> bool:
    """Return whether one of a recording's strings holds ``expected``, once normalised, on word bounds.

    A second lens on "where the device exposes them": LibreNMS's value is then something the
    device answers as it is, not something LibreNMS made (a sysObjectID looked up in its own
    tables, a value decoded from a number, pieces put together).
    """
    wanted = normalise_text(expected)
    if not wanted:
        return False
    return any(
        (text := normalise_text(value)) == wanted or _contains(text, wanted, "a-z0-9") for value in strings
    )


def compare(
    expected: Mapping[str, Any],
    got: Mapping[str, str | None],
    registry: Mapping[int, str],
    *,
    recorded_sys_name: str | None = None,
    strings: Sequence[str] | None = None,
) -> tuple[FieldResult, ...]:
    """Return each field of :data:`FIELDS` judged: LibreNMS's ``expected`` record against opsctl's ``got``.

    ``got`` holds opsctl's role, manufacturer, model, serial, version and sys_name (None when it
    found none). A field the device does not expose is excluded; an unexposed expectation never
    counts a value opsctl found as wrong. sysName counts when the recording answers a non-empty
    sysName.0 (``recorded_sys_name``), even an anonymised one: LibreNMS's test data replaced it by
    the same placeholder in both files, and reporting it is reporting what the device said.
    With the recording's ``strings`` (:func:`recorded_strings`), model, serial and version also say
    whether the recording holds the expected value verbatim (:func:`held_verbatim`).
    """
    results: list[FieldResult] = []
    roles, rule = expected_roles(expected)
    got_role = got.get("role")
    if roles is None:
        results.append(FieldResult("role", EXCLUDED, None, got_role, rule))
    else:
        shown = "|".join(sorted(roles))
        status = RIGHT if got_role in roles else WRONG
        results.append(FieldResult("role", status, shown, got_role, "" if status == RIGHT else rule))
    manufacturer, source = expected_manufacturer(expected, registry)
    judged = _judge("manufacturer", manufacturer, got.get("manufacturer"), same_manufacturer, source)
    results.append(FieldResult(judged.field, judged.status, judged.expected, judged.got, source))  # always the source
    checks = (
        ("model", "hardware", same_model),
        ("serial", "serial", same_serial),
        ("version", "version", same_version),
    )
    for name, key, same in checks:
        value = expected.get(key)
        judged = _judge(name, str(value) if is_exposed(value) else None, got.get(name), same, "")
        if strings is not None and judged.expected is not None:
            judged = replace(judged, verbatim=held_verbatim(judged.expected, strings))
        results.append(judged)
    sys_name = expected.get("sysName")
    shown = str(sys_name) if sys_name and (recorded_sys_name or "").strip() else None
    results.append(_judge("sys_name", shown, got.get("sys_name"), same_sys_name, "the recording has no sysName.0"))
    return tuple(results)


def _judge(name: str, expected: str | None, got: str | None, same: Any, source: str) -> FieldResult:
    if expected is None:
        return FieldResult(name, EXCLUDED, None, got, source or "not exposed")
    if got is None or not got.strip():
        return FieldResult(name, WRONG, expected, got, "opsctl found none")
    status = RIGHT if same(expected, got) else WRONG
    return FieldResult(name, status, expected, got, "" if status == RIGHT else source)


# ----------------------------------------------------------------------------- totals


def tally(results: Iterable[RecordingResult], *, by_type: bool = False, verbatim: bool = False) -> dict[str, Tally]:
    """Return right/total per field, over all recordings (key ``all``) or per LibreNMS type.

    ``verbatim``: count only the fields whose expected value the recording holds verbatim (model,
    serial and version judged with the recording's strings; the other fields count as always).
    """
    found: dict[str, Tally] = {}
    for recording in results:
        key = recording.librenms_type if by_type else "all"
        counts = found.setdefault(key, Tally())
        for item in recording.fields:
            if item.status == EXCLUDED or (verbatim and item.verbatim is False):
                continue
            counts.total[item.field] += 1
            counts.right[item.field] += item.status == RIGHT
    return found


def miss_kinds(results: Iterable[RecordingResult]) -> dict[str, dict[str, int]]:
    """Return, per field, how its wrong answers fall: ``none`` (opsctl said it did not know: no value, or role
    ``unknown``, which the scan reports as partial unless a profile named a kind the roles do not have, a camera)
    or ``other`` (opsctl gave another value: a silent error)."""
    found: dict[str, dict[str, int]] = {name: {"none": 0, "other": 0} for name in FIELDS}
    for recording in results:
        for item in recording.fields:
            if item.status == WRONG:
                found[item.field]["none" if item.got in (None, "", "unknown") else "other"] += 1
    return found


def role_confusions(results: Iterable[RecordingResult]) -> dict[str, int]:
    """Return how many recordings got each wrong role, keyed ``expected -> got`` (LibreNMS's type mapped to opsctl's
    roles, as :func:`expected_roles` maps it)."""
    found: dict[str, int] = {}
    for recording in results:
        for item in recording.fields:
            if item.field == "role" and item.status == WRONG:
                key = f"{item.expected} -> {item.got}"
                found[key] = found.get(key, 0) + 1
    return dict(sorted(found.items(), key=lambda pair: (-pair[1], pair[0])))


# what decided a role, from the words of its provenance (inventory/snmp/role.py writes them); the first that matches
ROLE_EVIDENCE_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("profile", r"^1\.3\.6\.1\.2\.1\.1\.2\.0 profile "),
        ("product MIB branch", r"a product of its \w+ branch"),
        ("answered enterprise", r"its sysObjectID (names its SNMP agent|is its maker's bare enterprise number)|it answers no sysObjectID"),
        ("registered node", r"a node of a MIB about"),
        ("maker's role objects", r"in a MIB about \w+ devices alone|object of its maker's MIB"),
        ("maker's name (a guess)", r"a guess"),
        ("sysServices", r"\(sysServices \d+"),
        ("sysDescr words", r"sysDescr matches"),
        ("HOST-RESOURCES", r"HOST-RESOURCES-MIB\) on a general-purpose OS"),
        ("LLDP", r"lldpLocSysCapEnabled|LLDP"),
        ("radios", r"IEEE 802\.11"),
        ("bridge", r"dot1dBaseNumPorts|VLAN-aware|PoE"),
        ("routing", r"ipForwarding|BGP|OSPF|access or WAN"),
        ("Ethernet ports", r"Ethernet ports"),
        ("probe tables", r"\((UPS-MIB|XUPS-MIB|PowerNet-MIB|MG-SNMP|CPS-MIB|DeltaUPS|SOCOMEC|PDU2?-MIB|Sentry|EATON|VERTIV|"
                         r"NETBOTZ|SPAGENT|Printer-MIB|[A-Za-z0-9-]+ \w+ \()"),
    )
)


def role_evidence_kind(origin: str) -> str:
    """Return the kind of evidence a role's provenance names (:data:`ROLE_EVIDENCE_KINDS`), ``unknown`` for none."""
    if not origin:
        return "unknown"
    return next((kind for kind, pattern in ROLE_EVIDENCE_KINDS if pattern.search(origin)), "other")


def roles_by_evidence(results: Iterable[RecordingResult]) -> dict[str, dict[str, int]]:
    """Return right and total of the role per kind of evidence that decided it (``role_evidence`` of each recording),
    most decided first: which rules hold on devices they were not tuned on."""
    found: dict[str, dict[str, int]] = {}
    for recording in results:
        for item in recording.fields:
            if item.field == "role" and item.status != EXCLUDED:
                counts = found.setdefault(role_evidence_kind(recording.role_evidence), {"right": 0, "total": 0})
                counts["total"] += 1
                counts["right"] += item.status == RIGHT
    return dict(sorted(found.items(), key=lambda pair: (-pair[1]["total"], pair[0])))


def named_manufacturers(results: Iterable[RecordingResult]) -> tuple[int, int]:
    """Return (right, total) of the manufacturers LibreNMS's ``os`` or ``hardware`` named.

    The others were expected from IANA's registry, which opsctl reads too: those measure that
    opsctl named nobody else, not that it knew the vendor.
    """
    right = total = 0
    for recording in results:
        for item in recording.fields:
            if item.field == "manufacturer" and item.status != EXCLUDED and item.note.startswith("named by"):
                total += 1
                right += item.status == RIGHT
    return right, total


def percent(right: int, total: int) -> str:
    """``right/total (P%)``, or ``-`` when nothing counted."""
    return f"{right}/{total} ({100 * right / total:.0f}%)" if total else "-"


def table_lines(counts: Mapping[str, Tally], order: Sequence[str] | None = None) -> list[str]:
    """Return a Markdown table: one row per key of ``counts``, one column per field."""
    lines = ["| part | " + " | ".join(FIELDS) + " |", "| --- |" + " --- |" * len(FIELDS)]
    for key in order or sorted(counts):
        if key not in counts:
            continue
        tallied = counts[key]
        cells = [percent(tallied.right[name], tallied.total[name]) for name in FIELDS]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return lines
