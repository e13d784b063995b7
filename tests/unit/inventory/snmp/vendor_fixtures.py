"""What the test_vendor_* tests share: scan one small recording of a vendor family, as a scan does.

The recordings live in ``tests/fixtures/snmp-identity/<family>/``, one directory per profile file
family; each holds only the system group and the OIDs its profile reads (written for these tests
from the vendors' MIBs). A recording is parsed into rows, classified, assembled into a snapshot and
converted into an inventory device, as ``opsctl inventory scan`` does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from inventory.devices import DeviceScan
from inventory.scan_convert import device_from_snapshot
from inventory.snmp.classify import PROFILE_DIR
from inventory.snmp.enterprises import (
    MANUFACTURERS_PATH,
    EnterpriseRegistry,
    parse_aliases,
    parse_short_names,
)
from inventory.snmp.recording import read_snmprec
from inventory.snmp.snapshot import build_snapshot

IDENTITY_FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "snmp-identity"
SEEN = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
# the registry's names for the enterprises these recordings answer under, so no test reads the system's, and
# opsctl's short names for them (inventory/profiles/manufacturers.tsv), as a scan shows them
SHORT_NAMES = MANUFACTURERS_PATH.read_text(encoding="utf-8")
REGISTRY = EnterpriseRegistry(
    registered={
        8072: "net-snmp",
        2634: "Western Telematic, Inc.",
        3052: "Asentria Corporation",
        8741: "SonicWALL, Inc.",
        10456: "PLANET Technology Corp.",
        31034: "Schleifenbauer Products BV",
    },
    short_names=parse_short_names(SHORT_NAMES),
    aliases=parse_aliases(SHORT_NAMES),
)

Identity = tuple[str, str | None, str | None, str | None, str | None]


def fixture_names(family: str) -> list[str]:
    """Return the names of the recordings in ``family``'s directory, sorted."""
    return sorted(path.stem for path in (IDENTITY_FIXTURES / family).glob("*.snmprec"))


def scan_fixture(family: str, name: str) -> DeviceScan:
    """Return the inventory scan of recording ``name`` of ``family``; fail when the recording is unreadable."""
    recording = read_snmprec(IDENTITY_FIXTURES / family / f"{name}.snmprec")
    assert not recording.notes, recording.notes
    snapshot = build_snapshot(name, recording.rows)
    return device_from_snapshot(name, None, snapshot, SEEN, registry=REGISTRY)


def identity_of(scan: DeviceScan) -> Identity:
    """Return (role, manufacturer, model, serial, version) as the inventory stores them."""
    device = scan.device
    return (device.role, device.manufacturer, device.model, device.serial, device.os_version)


def profile_names(*files: str) -> set[str]:
    """Return the names of the shipped profiles in the profile ``files`` (``power-ups.yaml``, ...)."""
    from ruamel.yaml import YAML

    loader = YAML(typ="safe", pure=True)
    return {
        str(item["name"])
        for file in files
        for item in loader.load((PROFILE_DIR / file).read_text(encoding="utf-8"))["profiles"]
    }


def profile_matched(family: str, name: str) -> str | None:
    """Return the name of the profile that recording ``name`` of ``family`` matches, or None."""
    snapshot = build_snapshot(
        name, read_snmprec(IDENTITY_FIXTURES / family / f"{name}.snmprec").rows
    )
    return snapshot.classification.profile if snapshot.classification else None


def profiles_matched(*families: str) -> set[str]:
    """Return the profiles that the recordings of ``families`` (directories; ``.`` the top one) match."""
    return {
        profile
        for family in families
        for name in fixture_names(family)
        if (profile := profile_matched(family, name)) is not None
    }
