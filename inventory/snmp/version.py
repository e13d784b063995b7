"""What vendors write in sysDescr: the firmware version (IOS, NX-OS, Junos, EOS, PAN-OS, ...), and a model
when the whole sysDescr is one product code (``ECS2100-10T``, ``IKS-6728A``)."""

from __future__ import annotations

import re

# (pattern, what it reads): the first that matches wins, vendor-specific forms before the generic ones
_VERSION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"Cisco (?:IOS|Internetwork Operating System|NX-OS|Adaptive Security Appliance).*?Version ([0-9][\w.()]*)",
        r"\bJUNOS ([0-9][\w.-]*)",
        r"Arista Networks EOS version ([0-9][\w.-]*)",
        r"\bPAN-OS ([0-9][\w.-]*)",
        r"\bFortiOS v?([0-9][\w.,-]*)",
        r"\bAOS-CX\b.*?\b([A-Z]{2}\.[0-9][\w.]*)",
        r"\b(?:ArubaOS|AW\+|ExtremeXOS \([^)]*\)|RouterOS|SwOS|VRP|ACOS|OcNOS,?|DmOS|TiMOS-\w-)\s*(?:version\s*)?v?([0-9][\w.()-]*)",
        r"\b(?:firmware|software|SW|FW|Ver|Version|Release|Rel)\s*(?:version)?\s*[:=]?\s*v?([0-9]+\.[0-9][\w.()-]*)",
        r"\bv([0-9]+\.[0-9]+[\w.()-]*)",
    )
)


def version_from_descr(descr: str) -> str | None:
    """Return the firmware version a sysDescr states (``Version 15.2(4)E7`` gives ``15.2(4)E7``), else ``None``.

    Text that is not a vendor's version statement (a Linux kernel's release) gives ``None``.
    """
    if re.match(r"^(Linux|FreeBSD|Hardware: )", descr):
        return None
    for pattern in _VERSION_PATTERNS:
        match = pattern.search(descr)
        if match:
            return match.group(1).rstrip(".,;")
    return None


_PRODUCT_CODE = re.compile(r"^(?=[^ ]*[0-9])(?=[^ ]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9+/_.-]{2,30}$")


def model_from_descr(descr: str) -> str | None:
    """Return sysDescr as the model when it is a single product code (letters and digits, no spaces), else ``None``."""
    text = descr.strip()
    if _PRODUCT_CODE.match(text) and not re.match(r"^v?[0-9.]+$", text):
        return text
    return None
