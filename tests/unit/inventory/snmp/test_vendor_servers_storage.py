"""Storage, hosts and management controllers that answer like a plain Linux host, and are not one.

The identity of each recording of ``tests/fixtures/snmp-identity/storage`` and ``servers`` is in
``test_vendor_identity.py``; these are the behaviours behind it.
"""

from __future__ import annotations

from tests.unit.inventory.snmp.vendor_fixtures import profile_matched, scan_fixture


def test_quantastor_under_net_snmp_is_storage_with_no_manufacturer_of_its_own() -> None:
    # net-snmp's sysObjectID and a Linux sysDescr: QuantaStor's own MIB, probed, says storage;
    # OSNEXUS wrote the software, not the server it runs on
    scanned = scan_fixture("storage", "quantastor")
    assert profile_matched("storage", "quantastor") == "quantastor"
    assert (scanned.device.role, scanned.device.manufacturer) == ("storage", None)
    # a plain Linux host under the same agent stays a server
    assert profile_matched(".", "linux-host-resources") == "net-snmp-linux"
    assert scan_fixture(".", "linux-host-resources").device.role == "server"


def test_an_insyde_bmc_is_the_server_it_manages() -> None:
    device = scan_fixture("servers", "insyde-supervyse").device
    assert device.role == "server"
    assert device.custom_fields.extra["management_controller"] is True
    assert device.manufacturer is None  # Insyde writes the firmware, another maker builds the board


def test_a_3par_names_model_serial_and_version_in_sysdescr() -> None:
    scanned = scan_fixture("storage", "hpe-3par")
    assert scanned.device.provenance["serial"].origin == "1.3.6.1.2.1.1.1.0"
    assert (scanned.device.model, scanned.device.serial) == ("3PAR 8200", "4UW0001234")
