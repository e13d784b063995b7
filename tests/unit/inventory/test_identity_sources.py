"""A profile's identity sources: an OID, an OID through a regex, sysDescr through a regex, or a list of them.

Site profiles here are written in tmp_path the way a site writes one in /etc/opsctl/profiles; the
devices are small recordings parsed from text, assembled and converted as ``opsctl inventory
scan`` does, so each test shows what a user sees in the inventory.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from inventory.devices import Device
from inventory.scan_convert import device_from_snapshot
from inventory.snmp.classify import Profile, load_profiles
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.identity import says_nothing
from inventory.snmp.recording import parse_snmprec
from inventory.snmp.snapshot import build_snapshot
from opsctl.core.errors import ConfigError

SEEN = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
REGISTRY = EnterpriseRegistry(registered={99999: "Acme Power"}, short_names={})

# ACME-UPS-MIB (a site's own device): upsModel .1.1.0, upsSerial .1.2.0, upsFirmware .1.3.0,
# upsFirmwareOld .1.4.0 (moved in firmware 3), cardFirmware .2.1.0, cardBanner .2.2.0
SITE_PROFILES = """\
profiles:
  # a UPS whose model sits in a banner, whose firmware moved between releases
  - name: acme-ups
    vendor: Acme
    platform: Acme UPS
    role: ups
    tables: []
    identity:
      model: {oid: 1.3.6.1.4.1.99999.1.1.0, regex: 'Model[: ]+(\\S+)'}
      serial: 1.3.6.1.4.1.99999.1.2.0
      version: [1.3.6.1.4.1.99999.1.3.0, 1.3.6.1.4.1.99999.1.4.0, {sys_descr: 'FW ([0-9.]+)'}]
      card_version: {oid: 1.3.6.1.4.1.99999.2.2.0, regex: 'NMC v[0-9.]+'}
      manufacturer: {sys_descr: '^(Acme \\w+)'}
    discovery:
      - sys_object_id: 1.3.6.1.4.1.99999.1
"""


def recording(*lines: str) -> str:
    return "\n".join(
        (
            "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1.7",
            "1.3.6.1.2.1.1.5.0|4|ups-b2",
            *lines,
        )
    )


@pytest.fixture()
def site_profiles(tmp_path: Path) -> tuple[Profile, ...]:
    (tmp_path / "acme.yaml").write_text(SITE_PROFILES, encoding="utf-8")
    return load_profiles(tmp_path)


def device_of(text: str, profiles: tuple[Profile, ...]) -> Device:
    parsed = parse_snmprec(text)
    assert not parsed.notes, parsed.notes
    snapshot = build_snapshot("ups-b2", parsed.rows, profiles=profiles)
    return device_from_snapshot("ups-b2", None, snapshot, SEEN, registry=REGISTRY).device


def test_each_kind_of_source_gives_its_value_and_names_the_oid(site_profiles: tuple[Profile, ...]) -> None:
    device = device_of(
        recording(
            "1.3.6.1.2.1.1.1.0|4|Acme Power UPS FW 1.0",
            "1.3.6.1.4.1.99999.1.1.0|4|Acme UPS, Model: AX-3000",
            "1.3.6.1.4.1.99999.1.2.0|4|AX3K0012345",
            "1.3.6.1.4.1.99999.1.3.0|4|3.2.1",
            "1.3.6.1.4.1.99999.2.2.0|4|Acme NMC v2.4 (build 7)",
        ),
        site_profiles,
    )
    assert (device.manufacturer, device.model, device.serial, device.os_version) == (
        "Acme Power",
        "AX-3000",
        "AX3K0012345",
        "3.2.1",
    )
    assert device.provenance["model"].origin == "1.3.6.1.4.1.99999.1.1.0"
    assert device.provenance["os_version"].origin == "1.3.6.1.4.1.99999.1.3.0"
    # no group in the card's pattern: the whole match is the value
    assert device.custom_fields.extra["card_firmware"] == "NMC v2.4"
    assert device.custom_fields.extra["firmware_of"] == "ups"
    assert device.provenance["custom_fields/card_firmware"].origin == "1.3.6.1.4.1.99999.2.2.0"


def test_the_first_source_of_a_list_that_gives_a_value_wins(site_profiles: tuple[Profile, ...]) -> None:
    older = device_of(
        recording(
            "1.3.6.1.2.1.1.1.0|4|Acme Power UPS FW 1.0",
            "1.3.6.1.4.1.99999.1.3.0|4|N/A",
            "1.3.6.1.4.1.99999.1.4.0|4|2.9.0",
        ),
        site_profiles,
    )
    assert older.os_version == "2.9.0"
    assert older.provenance["os_version"].origin == "1.3.6.1.4.1.99999.1.4.0"
    oldest = device_of(recording("1.3.6.1.2.1.1.1.0|4|Acme Power UPS FW 1.0"), site_profiles)
    assert oldest.os_version == "1.0"
    assert oldest.provenance["os_version"].origin == "1.3.6.1.2.1.1.1.0"


def test_a_regex_that_does_not_match_gives_nothing(site_profiles: tuple[Profile, ...]) -> None:
    device = device_of(
        recording(
            "1.3.6.1.2.1.1.1.0|4|UPS",
            "1.3.6.1.4.1.99999.1.1.0|4|Acme UPS",
            "1.3.6.1.4.1.99999.2.2.0|4|no card",
        ),
        site_profiles,
    )
    assert (device.model, device.os_version) == (None, None)
    assert "card_firmware" not in device.custom_fields.extra
    assert "firmware_of" not in device.custom_fields.extra


@pytest.mark.parametrize(
    "placeholder",
    ["", "   ", "n/a", "N/A", "NA", "unknown", "Unknown", "0", "0000000000", "00:00:00:00:00:00",
     "reserved", "Reserved", "none", "Not Available", "Not Specified", "To Be Filled By O.E.M.",
     "Default string", "XXXXXXXX", "???", "-", "System Serial Number"],
)  # fmt: skip
def test_a_value_that_says_nothing_gives_nothing(site_profiles: tuple[Profile, ...], placeholder: str) -> None:
    assert says_nothing(placeholder)
    device = device_of(
        recording(
            "1.3.6.1.2.1.1.1.0|4|UPS",
            f"1.3.6.1.4.1.99999.1.2.0|4|{placeholder}",
        ),
        site_profiles,
    )
    assert device.serial is None


@pytest.mark.parametrize("value", ["AX3K0012345", "0A12", "10.2.9-h1", "R81.10", "3.0", "n/a1", "DS920+"])
def test_a_real_value_is_kept(value: str) -> None:
    assert not says_nothing(value)


def test_a_card_firmware_alone_is_the_version_and_says_whose(site_profiles: tuple[Profile, ...]) -> None:
    device = device_of(
        recording(
            "1.3.6.1.2.1.1.1.0|4|UPS",
            "1.3.6.1.4.1.99999.2.2.0|4|NMC v2.4",
        ),
        site_profiles,
    )
    assert device.os_version == "NMC v2.4"
    assert device.custom_fields.extra["firmware_of"] == "network card"
    assert "card_firmware" not in device.custom_fields.extra


def test_the_oids_a_profile_reads_are_asked_once(site_profiles: tuple[Profile, ...]) -> None:
    snapshot = build_snapshot("ups-b2", parse_snmprec(recording()).rows, profiles=site_profiles)
    assert snapshot.classification is not None
    assert [oid for _field, oid in snapshot.classification.identity_oids] == [
        "1.3.6.1.4.1.99999.2.2.0",
        "1.3.6.1.4.1.99999.1.1.0",
        "1.3.6.1.4.1.99999.1.2.0",
        "1.3.6.1.4.1.99999.1.3.0",
        "1.3.6.1.4.1.99999.1.4.0",
    ]


@pytest.mark.parametrize(
    ("identity", "complaint"),
    [
        ("{colour: 1.3.6.1.4.1.1.0}", "unknown fields ['colour']"),
        ("{model: 'not an oid'}", "identity.model: expected a numeric OID"),
        ("{model: {oid: 1.3.6.1.4.1.1.0, regex: '(unclosed'}}", "identity.model.regex: invalid regular"),
        ("{model: {sys_descr: 'x', oid: 1.3.6.1.4.1.1.0}}", "identity.model: give either"),
        ("{model: {regex: 'x'}}", "identity.model: an identity source needs oid or sys_descr"),
        ("{model: {oid: 1.3.6.1.4.1.1.0, pattern: 'x'}}", "identity.model: unknown keys ['pattern']"),
        ("{model: []}", "identity.model: an empty list"),
        ("{serial: [1.3.6.1.4.1.1.0, 7]}", "identity.serial[1]: expected an OID"),
        ("[1.3.6.1.4.1.1.0]", "identity: a mapping of"),
    ],
)
def test_an_invalid_identity_is_refused_naming_the_file_and_profile(
    tmp_path: Path, identity: str, complaint: str
) -> None:
    (tmp_path / "site.yaml").write_text(
        "profiles:\n"
        f"  - {{name: broken-box, vendor: V, platform: P, role: ups, identity: {identity},\n"
        "     discovery: [{sys_object_id: 1.3.6.1.4.1.99999}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as raised:
        load_profiles(tmp_path)
    message = str(raised.value)
    assert "site.yaml" in message and "(broken-box)" in message and complaint in message, message
