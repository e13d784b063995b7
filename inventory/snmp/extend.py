"""What a Linux or BSD host's own net-snmp agent was set up to say about its hardware and distribution.

A host whose sysObjectID is net-snmp's names no maker and no model: the agent is software. Sites that monitor such
hosts over SNMP commonly add the extends of LibreNMS's ``snmpd.conf.example`` (public; the same names are used by
Observium's ``distro`` script)::

    extend distro /usr/bin/distro
    extend manufacturer '/bin/cat /sys/devices/virtual/dmi/id/sys_vendor'
    extend hardware '/bin/cat /sys/devices/virtual/dmi/id/product_name'
    extend serial '/bin/cat /sys/devices/virtual/dmi/id/product_serial'

(on ARM, ``hardware`` and ``serial`` read ``/sys/firmware/devicetree/base/model`` and ``serial-number``). net-snmp
answers each command's first line of output as NET-SNMP-EXTEND-MIB ``nsExtendOutput1Line``, indexed by the extend's
name as an OCTET STRING (its length, then its bytes): ``1.3.6.1.4.1.8072.1.3.2.3.1.1.8.104.97.114.100.119.97.114.101``
is ``nsExtendOutput1Line."hardware"``. Discovery asks for these four, and each one's ``nsExtendResult`` (the
command's exit status), in the probe GET of a device no specific profile decided; an agent without them answers
noSuchInstance and nothing changes. net-snmp answers a command's error output as its output: on a virtual machine
without DMI, ``hardware`` says "/bin/cat: /sys/devices/virtual/dmi/id/product_name: No such file or directory", so
an output whose command exited non-zero gives nothing. The firmware's placeholders ("To Be Filled By O.E.M.",
"System Product Name", "Default string") say nothing and are dropped, as everywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from inventory.snmp.identity import says_nothing
from inventory.snmp.values import RawValue, Sourced, integer_value, text_value
from opsctl.core.output import short

NS_EXTEND_OUTPUT_1LINE = "1.3.6.1.4.1.8072.1.3.2.3.1.1"
NS_EXTEND_RESULT = "1.3.6.1.4.1.8072.1.3.2.3.1.4"
# the extend's name -> the identity field its output is
EXTEND_FIELDS: Mapping[str, str] = {
    "hardware": "model",
    "manufacturer": "manufacturer",
    "serial": "serial",
    "distro": "distribution",
}
# a value longer than this is not one line of identity (a script that printed its error, a dump)
MAX_LENGTH = 128
# the release in a distribution's name: the first word that starts with a digit ("OpenWrt 21.02.0-rc4",
# "Debian GNU/Linux 12 (bookworm)", "Ubuntu 22.04.4 LTS", "FreeBSD 14.1-RELEASE-p5")
_RELEASE = re.compile(r"(?<![\w.])(\d[\w.+~:-]*)")


def extend_oid(name: str, column: str = NS_EXTEND_OUTPUT_1LINE) -> str:
    """Return the instance OID of ``nsExtendOutput1Line`` (or another ``column``) for the extend called ``name``."""
    encoded = name.encode("ascii")
    return ".".join((column, str(len(encoded)), *(str(byte) for byte in encoded)))


EXTEND_IDENTITY_OIDS: tuple[str, ...] = tuple(
    extend_oid(name, column) for name in EXTEND_FIELDS for column in (NS_EXTEND_OUTPUT_1LINE, NS_EXTEND_RESULT)
)


def describe(name: str) -> str:
    """The provenance of an extend's value: its OID and what it is."""
    return f'{extend_oid(name)} (NET-SNMP-EXTEND-MIB nsExtendOutput1Line."{name}")'


def extend_identity(rows: Mapping[str, RawValue], notes: list[str]) -> dict[str, Sourced[str]]:
    """Return the identity fields (model, manufacturer, serial, distribution) the host's extends answered.

    A value that says nothing, the output of a command that exited non-zero (its error message), or a value longer
    than :data:`MAX_LENGTH` gives nothing (the last two with a note).
    """
    found: dict[str, Sourced[str]] = {}
    for name, field in EXTEND_FIELDS.items():
        oid = extend_oid(name)
        value = text_value(rows.get(oid), oid, notes)
        if value is None or says_nothing(value.value):
            continue
        result_oid = extend_oid(name, NS_EXTEND_RESULT)
        result = integer_value(rows.get(result_oid), result_oid, notes)
        if result is not None and result.value != 0:
            # what the command said is why the field stays unknown (a serial readable by root alone: "Permission
            # denied"); shown cut short, it is the agent's text
            said = short(value.value, 80)
            notes.append(f'extend "{name}" ({oid}) exited {result.value}: "{said}"; its {field} left unknown')
            continue
        text = value.value.strip()
        if len(text) > MAX_LENGTH:
            notes.append(f'extend "{name}" ({oid}) answered {len(text)} characters, not one line of identity; '
                         f"its {field} left unknown")
            continue
        found[field] = Sourced(text, describe(name))
    return found


def release_of(distribution: str) -> str | None:
    """Return the release a distribution's name states (``OpenWrt 21.02.0-rc4`` -> ``21.02.0-rc4``), else None."""
    match = _RELEASE.search(distribution)
    return match.group(1) if match else None
