"""What vendors write in sysDescr: the firmware version, the model and the serial, in the formats vendors use.

Each reader is an ordered list of patterns, vendor-specific forms before generic ones; the first
that matches wins. Learnt from the sysDescr of real devices (IOS, IOS XR, NX-OS, Junos, EOS,
PAN-OS, FortiOS, ArubaOS-CX, Comware, VRP, Dell OS/FTOS, ExtremeXOS, VOSS, RouterOS/SwOS,
AW+, FSOS, DmOS, OcNOS, TiMOS, and the short ``MODEL VERSION`` form of many small devices).
"""

from __future__ import annotations

import re

# a dotted version token standing alone (``2.10.0.25829``, ``1.4o``, ``R23.6``), not an IPv4 address
_VERSION_TOKEN = r"[RVrv]?[0-9]+\.[0-9]+[\w.-]*|V[0-9]{3}R[0-9]{3}\w*"
_IPV4 = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")

# the first that matches wins: vendor-specific forms, each naming the vendor's system, before the generic ones
_NAMED_OS_VERSION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # Dell Networking OS / FTOS: "Operating System Version: 2.0 Application Software Version: 9.9(0.0P9)"
        r"Application Software Version:\s*([0-9][\w.()]*)",
        r"Cisco (?:IOS|Internetwork Operating System|NX-OS|Adaptive Security Appliance).*?Version ([0-9][\w.()]*)",
        r"\bJUNOS ([0-9][\w.-]*)",
        r"Arista Networks EOS version ([0-9][\w.-]*)",
        r"\bPAN-OS ([0-9][\w.-]*)",
        r"\bFortiOS v?([0-9][\w.,-]*)",
        r"\bAOS-CX\b.*?\b([A-Z]{2}\.[0-9][\w.]*)",
        # ArubaOS-CX without the name: "HPE ANW JL717C 8360-32Y4C v2 Switch LL.10.16.1006"
        r"\bSwitch ([A-Z]{2}\.[0-9]{2}\.[0-9][\w.]*)$",
        r"\b(?:ArubaOS|AW\+|ExtremeXOS \([^)]*\)|RouterOS|SwOS|VRP|ACOS|OcNOS,?|DmOS|TiMOS-\w-)\s*(?:version\s*)?v?([0-9][\w.()-]*)",
        r"\b(?:TrueNAS|FreeNAS)-([0-9][\w.-]*)",
        # ProCurve / ArubaOS-Switch: "Switch 2510-24, revision R.11.07, ROM R.10.06"
        r"\brevision ([A-Z]{1,2}\.[0-9]{2}\.[0-9][\w.]*)",
        # Dell PowerConnect / Networking N-series, Netgear: "PowerConnect 6248, 3.3.13.1, VxWorks 6.5"
        r"^(?:Dell Networking|PowerConnect|Dell EMC Networking) [^,]+, ([0-9][\w.]*),",
        r"^pfSense \S+ ([0-9][\w.-]*)",
        r"Integrated Lights-Out [0-9]+ ([0-9]+\.[0-9]+)",
    )
)
# a version a word announces ("firmware 2.1", "Ver 4.17"), or set where versions go in many vendors' texts
_WORDED_VERSION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\bSW_REV:\s*([\w.-]*[0-9][\w.-]*)",
        r"\b(?:firmware|software|SW|FW|Ver\.?|Version|Release|Rel|Rev)\s*(?:version)?\s*[:=]?\s*v?([0-9]+[._][0-9][\w.()-]*)",
        # a release train's name before the number: "Version: dmr-3.05.00.0007"
        r"\bVersion:\s*([A-Za-z]{2,5}-[0-9]+\.[0-9][\w.-]*)",
        r"\bv([0-9]+\.[0-9]+[\w.()-]*)",
        # a release opening the text: "R6.5.02r NFXS-E FANT-H NOKIA ISAM"
        r"^(R[0-9]+\.[0-9]+[\w.]*)\s",
        # Huawei's release names: "Huawei Optix RTN V100R011C00SPC200"
        r"\b(V[0-9]{3}R[0-9]{3}\w*)",
        # a three-part version as an item of a list, even one that looks like an address:
        # "LANCOM XS-5116QF System - 16XE, 5.20.0316RU6, Linux ...", "GS724Tv4 ProSafe Smart Switch, 6.3.1.4, B1.0.0.4"
        r"(?:^|[,;(])\s*([0-9]+\.[0-9]+\.[0-9]+[\w.-]*)\s*(?=[,;)]|$)",
    )
)
_VERSION_PATTERNS = _NAMED_OS_VERSION_PATTERNS + _WORDED_VERSION_PATTERNS
# a version standing alone, without a word saying so: never an IPv4 address
_BARE_VERSION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        # the short "MODEL VERSION" form: "IPM-8220 1.30.4", "SiteBoss 360 2.12.540 STD", "Nokia 1830 PSD 10G R23.6"
        rf"^[^\n,;:]{{2,40}}?\s({_VERSION_TOKEN})(?:\s+[A-Z]{{2,4}})?$",
    )
)


# control characters other than line breaks and tabs: never part of a value read from sysDescr
# (a terminal's escape sequence goes whole: "\x1b[2J" is not text)
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# what is read of a sysDescr: vendors state what they are at its start; a longer one is text
_READ_CHARACTERS = 1024


def _unquoted(text: str) -> str:
    """Return the first :data:`_READ_CHARACTERS` of ``text``, control characters as spaces, stripped, without
    the quotes some agents put around the whole sysDescr."""
    text = _CONTROL.sub(" ", text[:_READ_CHARACTERS]).strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    return text


def _balanced(text: str) -> str:
    """Return ``text`` without trailing punctuation and an unbalanced closing parenthesis."""
    text = text.rstrip(".,;")
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1].rstrip(".,;")
    return text


def stated_version_from_descr(descr: str) -> str | None:
    """Return the version a sysDescr states of the vendor's own system, by its name (``Cisco IOS ... Version
    15.2(4)E7``, ``JUNOS 21.4R3``, ``Software version: OcNOS,6.5.2.101``), else ``None``.

    As strong as the vendor's identity objects: the running system's version in the vendor's words, where a
    harvested object may be a part's or a hardware revision's. The other forms :func:`version_from_descr` reads
    come after them.
    """
    return _first_version(_NAMED_OS_VERSION_PATTERNS, _unquoted(descr))


def _first_version(patterns: tuple[re.Pattern[str], ...], descr: str) -> str | None:
    """Return the first group of the first of ``patterns`` that matches ``descr`` (unquoted) and leaves a version
    once balanced; None for a kernel's, FreeBSD's or Windows' text, whose numbers are the OS's release."""
    if re.match(r"^(Linux|FreeBSD|Hardware: )", descr):
        return None
    for pattern in patterns:
        match = pattern.search(descr)
        if match and _balanced(match.group(1)):
            return _balanced(match.group(1))
    return None


def version_from_descr(descr: str) -> str | None:
    """Return the firmware version a sysDescr states (``Version 15.2(4)E7`` gives ``15.2(4)E7``), else ``None``.

    Text that is not a vendor's version statement (a Linux or FreeBSD kernel's release, an IPv4
    address, Windows' build) gives ``None``.
    """
    descr = _unquoted(descr)
    if re.match(r"^(Linux|FreeBSD|Hardware: )", descr):
        return None
    worded = _first_version(_VERSION_PATTERNS, descr)
    if worded is not None:
        return worded
    if _NOT_A_PRODUCT.search(descr) and re.search(r"\b(SNMP|Agent)\b", descr, re.IGNORECASE):
        return None  # a bare number in an agent's text is the agent's version ("IMCO SNMP Agent 10.10")
    for pattern in _BARE_VERSION_PATTERNS:
        match = pattern.search(descr)
        if match and _balanced(match.group(1)) and not _IPV4.match(_balanced(match.group(1))):
            return _balanced(match.group(1))
    return None


_PRODUCT_CODE = re.compile(r"^(?=[^ ]*[0-9])(?=[^ ]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9+/_.-]{2,30}$")
# a product code opening a sysDescr: letters then digits ("SG350X-48", "AT-GS950/24", "KX-NS1000")
_LEADING_CODE = re.compile(r"^((?:[A-Z]+-)?[A-Z]{1,8}-?[0-9][A-Za-z0-9+/_-]*)(?=\s|$)")
# stated models: "Series: S4048-ON", "Router Model: Vigor2962", "MODEL: TCM420", "Hardware[IPBS2-C3/1B1]"
_MODEL_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        r"(?i:\b(?:Router Model|Model Name|Product Model|MODEL|Series|System Type))\s*:\s*([A-Za-z0-9][\w/+.-]*[0-9][\w/+.-]*)",
        r"\bHardware\[([^\]]+)\]",
        # Brocade / Ruckus ICX: "Ruckus ICX7150-24P Switch, ...", Dell PowerConnect: "PowerConnect 6248, 3.3.13.1"
        r"\b(ICX[0-9]{4}[\w-]*)",
        r"^(?:Dell Networking|PowerConnect|Dell EMC Networking) ([A-Z]?[0-9]{4}[\w-]*),",
        r"\[([A-Z]{2,}[0-9][\w-]*)\] Switching software",
        r"ExtremeXOS \(([^)]+)\)",
        r"IOS XR Software \((?:Cisco )?([^)]+)\)",
        r"FSOS software, \S+ software \(([^)]+)\)",
        r"Switch(?: PoE)? \(([A-Z][\w-]*[0-9][\w-]*)\) By FS",
        # Comware: the second line names the box ("HPE 5900AF-48G-4XG-2QSFP+ Switch")
        r"Comware Platform Software.*\n\s*(?:HPE?|H3C) ([^\r\n]*[0-9][^\r\n]*?)\s*(?:\r?\n|$)",
        # VRP: the first line is the model ("S5720-56C-PWR-EI-AC\nHuawei Versatile Routing Platform")
        r"^([A-Z][\w-]*[0-9][\w-]*)\s*\r?\n\s*Huawei Versatile Routing Platform",
        # "Ekinops 360 Platform, C600HC, Release 6.3.900", "Ribbon Communications. NPT-2300, V9.1"
        r"^[^,]*(?:Platform,|Communications(?:\.,?|,)) ([A-Z][\w/-]*[0-9][\w/-]*),",
        # "<maker>, Inc. CODE ...": "Enterasys Networks, Inc. G3G124-24P Rev 06.03.08.0012"
        r"^[A-Z][\w&-]*(?: [A-Z][\w&-]*){0,3},? (?:Inc|Corp|Corporation|Ltd|LLC|GmbH|AG|Co)\.?,? "
        r"([A-Z][\w/+-]*[0-9][\w/+-]*)(?=[ ,]|$)",
    )
)
# words that say a sysDescr is an agent's or an operating system's text, not a product name
_NOT_A_PRODUCT = re.compile(
    r"\b(Linux|Windows|FreeBSD|SNMP|Agent|software|version|Copyright|Compiled|Build|kernel)\b", re.IGNORECASE
)


def _short_product(descr: str) -> str | None:
    """Return a short sysDescr that names a product (``Dell UPS Tower 1000W HV``), less a trailing version."""
    text = descr.strip()
    if "\n" in text or len(text) > 48 or re.search(r"[,;:()\[\]<>]", text) or _NOT_A_PRODUCT.search(text):
        return None
    words = text.split()
    if len(words) > 6:
        return None
    if len(words) > 1 and re.fullmatch(_VERSION_TOKEN + r"|Ver[0-9]+", words[-1]):
        words = words[:-1]
    elif len(words) > 2 and re.fullmatch(r"[A-Z]{2,4}", words[-1]) and re.fullmatch(_VERSION_TOKEN, words[-2]):
        words = words[:-2]  # "SiteBoss 571 2.11.380 STD"
    name = " ".join(words)
    if any(word[0].islower() for word in words):
        return None  # "L2 managed 24G" describes a kind of device; a product name is capitalised
    if not any(
        re.search(r"[0-9]", word)
        and not re.fullmatch(_VERSION_TOKEN, word)
        and not re.fullmatch(r"[0-9]+-?(?:Port|Slot)s?", word, re.IGNORECASE)
        for word in words
    ):
        return None
    return name if len(name) >= 3 else None


# what has a model's letters and digits and is no model: an electrical rating ("Model:230V, 32A, 7.4kVA" in an
# HPE PDU's sysDescr) or a build that ``git describe`` named ("4-10-g036b52a", a Montclair EDFA's whole sysDescr)
_NOT_A_MODEL = re.compile(
    r"^[0-9]+(?:[.,][0-9]+)?\s?(?:k|m)?(?:V|A|W|VA|VAC|VDC|Hz)$|-g[0-9a-f]{7,40}(?:-dirty)?$", re.IGNORECASE
)


def stated_model_from_descr(descr: str) -> str | None:
    """Return the model a sysDescr states (``Series: S4048-ON``, ``ExtremeXOS (X440-24p)``, a Comware or VRP
    line), or the whole sysDescr when it is one product code (``ECS2100-10T``); else ``None``. A rating or a
    ``git describe`` build is no model (:data:`_NOT_A_MODEL`)."""
    text = _unquoted(descr)
    for pattern in _MODEL_PATTERNS:
        match = pattern.search(text)
        if match:
            stated = match.group(1).strip()
            return None if _NOT_A_MODEL.search(stated) else stated
    if _PRODUCT_CODE.match(text) and not re.match(r"^v?[0-9.]+$", text) and not _NOT_A_MODEL.search(text):
        return text
    return None


# a product line named as a series: "AOCM3948 Series Software, Version 2.1.0C", "(Cisco ASR9K Series)"
_SERIES = re.compile(r"\b([A-Z][\w-]*[0-9][\w-]*) Series\b")


def model_from_descr(descr: str) -> str | None:
    """Return the model a sysDescr names, else ``None``.

    In order: :func:`stated_model_from_descr`, a product code opening the text (``SG350X-48 48-Port
    Gigabit Stackable Managed Switch``, ``IPM-8220 1.30.4``), a short capitalised product name less its
    version (``SiteBoss 571 2.11.380 STD`` gives ``SiteBoss 571``), a product code after the maker's
    name (``ARRIS APEX1000, VxWorks SNMPv1/v2c Agent`` gives ``APEX1000``), a code named as a series
    (``AOCM3948 Series Software`` gives ``AOCM3948``).
    """
    text = _unquoted(descr)
    stated = stated_model_from_descr(text)
    if stated is not None:
        return stated
    leading = _LEADING_CODE.match(text)
    code = leading.group(1) if leading else ""
    if len(code) >= 4 and not re.search(r"[0-9]+[._][0-9]", code) and not _NOT_A_PRODUCT.match(text) \
            and not _NOT_A_MODEL.search(code):
        return code
    found = _short_product(text) or _code_after_maker(text)
    if found is None:
        series = _SERIES.search(text)
        found = series.group(1) if series else None
    return None if found is None or _NOT_A_MODEL.search(found) else found


# "<Maker> <CODE> ...": a maker's one word, then a product code ("ARRIS APEX1000, VxWorks ...",
# "illustra IFS03D1OCWIT Network camera ...")
_MAKER_THEN_CODE = re.compile(r"^([A-Za-z][A-Za-z&-]{1,20}) ([A-Z][A-Za-z]*[0-9][\w/+-]*)(?=[ ,;(]|$)")


def _code_after_maker(text: str) -> str | None:
    """Return the product code that follows a maker's name opening ``text``, unless it is a version or the
    first word says the text is an operating system's or an agent's (``Linux``, ``SNMP``)."""
    match = _MAKER_THEN_CODE.match(text)
    if match is None or _NOT_A_PRODUCT.fullmatch(match.group(1)):
        return None
    code = match.group(2).rstrip(",;")
    if re.fullmatch(_VERSION_TOKEN, code) or re.match(r"^V[0-9]{3}R[0-9]{3}", code) or len(code) < 3:
        return None
    return code


# what follows a maker's name without naming the product: a company form, an article
_MAKER_FILLER = frozenset({"inc", "inc.", "corp", "corp.", "ltd", "ltd.", "llc", "gmbh", "ag", "co", "co.", "the", "for"})
# where the product's name has ended: a serial, a version, an operating system or an agent is named next
_MAKER_STOP = re.compile(r"^(?:S/?N|serial|version|ver\.?|firmware|release|rev|hw|fw|sw|linux|snmp|agent|build)\b",
                         re.IGNORECASE)
# a processor architecture is not a product ("x86_64", "armv7l", "mips", "ppc64le")
_ARCHITECTURE = re.compile(r"^(?:x86_64|amd64|i[3-6]86|aarch64|arm\w*|mips\w*|ppc\w*|sparc\w*)$", re.IGNORECASE)
# a product code: letters and digits, maybe hyphens or slashes ("GM4-HPOE", "XS-5116QF", "P1375", "myUTN-50a")
# (three characters at least: "G6" or "M2" is a product line's name more often than a model's)
_CODE_TOKEN = re.compile(r"^(?=[^ ]*[0-9])(?=[^ ]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9+/_-]{2,30}$")
# how far after the maker's name the code may come: a product family's words first ("Omnitron iConverter GM4-HPOE")
_WORDS_AFTER_MAKER = 4


def model_after_maker(descr: str, maker: str) -> str | None:
    """Return the product code that follows the maker's name in a sysDescr, else ``None``.

    ``maker`` is the manufacturer discovery already decided (a profile, a vendor object, the
    sysObjectID's enterprise): its first word, at a word boundary, anchors the search; the code is the first of the next few words
    that holds letters and digits and is neither a version, an architecture nor a value that says what
    it is (``SN:``, ``HW=``). A serial, a version, an operating system or an agent named first ends
    the search. ``Omnitron iConverter GM4-HPOE 8991T11D v5.2.14`` gives ``GM4-HPOE``; ``; AXIS P1375;
    Network Camera; 10.1.0`` gives ``P1375``.
    """
    first = maker.split()[0] if maker.split() else ""
    first = first.strip(",.")
    if len(first) < 2:
        return None
    text = _unquoted(descr)
    match = re.search(rf"(?<![A-Za-z0-9]){re.escape(first)}(?![A-Za-z0-9])", text, re.IGNORECASE)
    if match is None:
        return None
    for word in text[match.end() :].split()[:_WORDS_AFTER_MAKER]:
        token = word.strip(",;()[]\"'")
        if not token or token.casefold() in _MAKER_FILLER:
            continue
        if _MAKER_STOP.match(token) or re.search(r"[:=]", token):
            return None
        if _CODE_TOKEN.match(token):
            if re.fullmatch(_VERSION_TOKEN, token) or re.match(r"^[RrVv]?[0-9]+[._][0-9]", token) \
                    or _ARCHITECTURE.match(token):
                return None
            return token
        if word.endswith((",", ";")):
            return None  # the clause that follows the maker's name ended without a code
    return None


# "SN: X", "S/N=X", "(SN X)", "s/n X", "Serial Number: X": a separator is required ("SN710A2" is a model)
_SERIAL_PATTERN = re.compile(
    r"(?:\bS/N|\bSN|\bSerial(?: Number| No\.?)?)(?:\s*[:=]\s*|\s+)([A-Za-z0-9][A-Za-z0-9-]{3,})\b", re.IGNORECASE
)


def serial_from_descr(descr: str) -> str | None:
    """Return the serial number a sysDescr states (``SN: 11230031806015``, ``S/N=000076``), else ``None``."""
    match = _SERIAL_PATTERN.search(_unquoted(descr))
    return match.group(1) if match and re.search(r"[0-9]", match.group(1)) else None


# Windows' builds (Microsoft's release information) named as LibreNMS names them: the server
# edition with its servicing channel, for an agent whose sysObjectID says server or domain
# controller (Microsoft's 311.1.1.3.1.2 and .3)
_WINDOWS_SERVER_BUILDS = {
    "3790": "Server 2003", "6001": "Server 2008", "6002": "Server 2008 SP2", "7600": "Server 2008 R2",
    "7601": "Server 2008 R2 SP1", "9200": "Server 2012", "9600": "Server 2012 R2",
    "14393": "Server 2016 (1607)", "17763": "Server 2019 (1809)", "20348": "Server 2022 (21H2)",
    "26100": "Server 2025 (24H2)",
}  # fmt: skip
_WINDOWS_SERVER_OBJECTS = ("1.3.6.1.4.1.311.1.1.3.1.2", "1.3.6.1.4.1.311.1.1.3.1.3")
_KERNEL_RELEASE = re.compile(r"^[0-9]+\.[0-9]+[\w.+~\[\]-]*$")


def os_release_from_descr(descr: str, object_id: str = "") -> str | None:
    """Return the release of the general-purpose operating system a sysDescr names, else ``None``.

    Linux and FreeBSD: the kernel release that follows the host name (``Linux web-1 6.1.0-13-amd64
    #1 SMP`` gives ``6.1.0-13-amd64``; a host name that is an address is skipped). Windows: the
    build (``Software: Windows Version 6.3 (Build 17763 ...)`` gives ``build 17763``), named
    ``Server 2019 (1809) build 17763`` when ``object_id`` is Microsoft's server or domain controller
    OID. This is the operating system's release, never a vendor's firmware: callers use it only
    for a host whose role is ``server`` from a general-purpose OS.
    """
    text = _unquoted(descr)
    words = text.split()
    if words and words[0] in ("Linux", "FreeBSD"):
        for word in words[1:3]:
            if _KERNEL_RELEASE.match(word) and not _IPV4.match(word):
                return word
        return None
    windows = re.search(r"Software: Windows\b.*?\bBuild ([0-9]{3,5})\b", text)
    if windows is None:
        return None
    build = windows.group(1)
    name = _WINDOWS_SERVER_BUILDS.get(build) if object_id.startswith(_WINDOWS_SERVER_OBJECTS) else None
    return f"{name} build {build}" if name else f"build {build}"
