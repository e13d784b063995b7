"""The ``dmi`` Linux fact on recorded /sys/class/dmi/id trees (tests/fixtures/dmi/): servers get a
manufacturer, model and serial from their firmware.

This machine has no /sys/class/dmi/id, so the fact's real command runs here (``gather_facts``
without a connection, /bin/sh) against the recorded trees instead of the real directory; on
this machine itself, and so on the lab's hosts, it finds nothing and a host keeps no manufacturer.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from inventory.facts.gather import gather_facts
from inventory.facts.linux import DMI_ROOT, Dmi, DmiInfo
from inventory.scan_convert import device_from_facts

TREES = Path(__file__).resolve().parents[3] / "fixtures" / "dmi"
SEEN = datetime.datetime(2026, 12, 5, 9, 0, tzinfo=datetime.UTC)


def _gathered(root: str) -> DmiInfo:
    facts = gather_facts(None, (Dmi(root),))
    assert not facts.missing, facts.missing
    value = facts.get(Dmi)
    assert isinstance(value, DmiInfo)
    return value


@pytest.mark.parametrize(("tree", "expected"), [
    ("dell-poweredge-r740", DmiInfo("Dell Inc.", "PowerEdge R740", "7XK4QF2", True)),
    ("hpe-proliant-dl380-gen10", DmiInfo("HPE", "ProLiant DL380 Gen10", "CZJ9420ABC", True)),
    # the board maker's placeholders are not a model or a serial
    ("supermicro-placeholders", DmiInfo("Supermicro", None, None, True)),
    ("qemu-vm", DmiInfo("QEMU", "Standard PC (i440FX + PIIX, 1996)", None, True)),
])
def test_dmi_reads_a_recorded_tree(tree: str, expected: DmiInfo) -> None:
    assert _gathered(str(TREES / tree)) == expected


def test_dmi_of_a_server_becomes_its_manufacturer_model_and_serial_with_provenance() -> None:
    facts = gather_facts(None, (Dmi(str(TREES / "dell-poweredge-r740")),))

    device = device_from_facts("db-1", "192.0.2.7", facts, SEEN).device

    assert (device.manufacturer, device.model, device.serial) == ("Dell Inc.", "PowerEdge R740", "7XK4QF2")
    assert device.provenance["manufacturer"].origin == Dmi(str(TREES / "dell-poweredge-r740")).command()


@pytest.mark.skipif(Path(DMI_ROOT).exists(), reason="this machine has DMI; the test is about one without")
def test_dmi_on_this_machine_without_dmi_leaves_the_host_without_a_manufacturer() -> None:
    facts = gather_facts(None, (Dmi(),))

    device = device_from_facts("lab-ssh-01", "127.0.10.1", facts, SEEN).device

    assert facts.get(Dmi) == DmiInfo(None, None, None, True)
    assert (device.manufacturer, device.model, device.serial) == (None, None, None)
    assert "manufacturer" not in device.provenance
