"""The last evidence for a model: the product code a sysDescr names right after the maker's name.

When nothing else gave a model (no profile, no ENTITY-MIB chassis, no product MIB, no harvested
identity object, no sysDescr form discovery knows), the manufacturer already known from the
sysObjectID's enterprise anchors a search in sysDescr. The recordings are written for this test
(an Omnitron media converter's sysDescr format; numbers invented).
"""

from __future__ import annotations

from datetime import UTC, datetime

from inventory.scan_convert import device_from_snapshot
from inventory.snmp.enterprises import EnterpriseRegistry
from inventory.snmp.recording import parse_snmprec
from inventory.snmp.snapshot import build_snapshot

SEEN = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
REGISTRY = EnterpriseRegistry(
    registered={7342: "Omnitron Systems Technology, Inc."}, short_names={}
)


def _scan(text: str) -> tuple[str | None, str | None, str]:
    recording = parse_snmprec(text)
    device = device_from_snapshot("d1", None, build_snapshot("d1", recording.rows), SEEN, registry=REGISTRY).device
    origin = device.provenance["model"].origin if "model" in device.provenance else ""
    return device.manufacturer, device.model, origin


def test_the_code_after_the_makers_name_is_the_model_and_says_where_it_came_from() -> None:
    manufacturer, model, origin = _scan(
        "1.3.6.1.2.1.1.1.0|4|Omnitron iConverter GM4-HPOE 8991T11D v5.2.14 s/n 00421337\n"
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.7342.1.1\n"
        "1.3.6.1.2.1.1.5.0|4|conv-3\n"
    )
    assert (manufacturer, model) == ("Omnitron Systems Technology", "GM4-HPOE")  # the registry's name, no "Inc."
    assert origin.startswith("1.3.6.1.2.1.1.1.0 (sysDescr: the product code after")


def test_a_sysdescr_that_does_not_name_the_maker_gives_no_model() -> None:
    manufacturer, model, _origin = _scan(
        "1.3.6.1.2.1.1.1.0|4|Media converter; firmware v5.2.14; GM4-HPOE\n"
        "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.7342.1.1\n"
    )
    assert (manufacturer, model) == ("Omnitron Systems Technology", None)
