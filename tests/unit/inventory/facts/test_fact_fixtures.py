"""Every Linux fact against its recorded fixtures: the command it runs, and what it reads from real
and edge-case output (pyinfra style: tests/fixtures/facts/<Fact>/<case>.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inventory.facts import linux
from inventory.facts.base import Fact, FactParseError, to_jsonable

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "facts"
CASES = sorted(FIXTURES.glob("*/*.json"))


def _fact(class_name: str) -> Fact[Any]:
    fact_class = getattr(linux, class_name)
    assert issubclass(fact_class, Fact)
    return fact_class()  # type: ignore[no-any-return]


def test_every_fact_has_a_fixture_from_a_real_host() -> None:
    with_real_output = {path.parent.name for path in CASES if path.stem == "debian12"}
    assert with_real_output == {type(fact).__name__ for fact in linux.ALL_FACTS}


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fact_fixture(path: Path) -> None:
    case = json.loads(path.read_text(encoding="utf-8"))
    fact = _fact(path.parent.name)
    assert fact.command() == case["command"]
    if "error" in case:
        with pytest.raises(FactParseError, match=case["error"]):
            fact.process(case["output"])
    else:
        assert to_jsonable(fact.process(case["output"])) == case["expected"]


def _case(fact_class: str, name: str) -> Any:
    case = json.loads((FIXTURES / fact_class / f"{name}.json").read_text(encoding="utf-8"))
    return _fact(fact_class).process(case["output"])


def test_a_degraded_array_is_reported_degraded_and_a_healthy_one_is_not() -> None:
    mdstat = _case("MdRaid", "degraded_raid5_recovering")
    assert [a.name for a in mdstat.degraded] == ["md1"]
    md1 = mdstat.arrays[0]
    assert [m.name for m in md1.members if m.role == "faulty"] == ["sdd1"]
    assert (md1.sync_action, md1.sync_percent) == ("recovery", 8.5)
    assert [a.name for a in _case("MdRaid", "raid1_missing_member").degraded] == ["md0"]
    assert _case("MdRaid", "no_md_driver").arrays == ()


def test_real_debian_outputs_read_as_a_user_would_expect() -> None:
    os_release = _case("OsRelease", "debian12")
    assert (os_release.id, os_release.version_id) == ("debian", "12")
    assert _case("Memory", "debian12").total_bytes > 0
    assert _case("Cpu", "debian12").count >= 1
    assert _case("Packages", "debian12").installed > 100
    updates = _case("Updates", "debian12")
    assert updates.count == len(updates.packages) and updates.security is not None
    assert any(d.mountpoint == "/" for d in _case("DiskUsage", "debian12").filesystems)
    assert any(i.name == "lo" for i in _case("Interfaces", "debian12").interfaces)


def test_partitions_hang_off_their_disk() -> None:
    devices = _case("Disks", "partitions_old_lsblk_string_sizes")
    assert [d.name for d in devices.disks] == ["sda"]
    assert {d.name: d.parent for d in devices.devices} == {"sda": None, "sda1": "sda", "sda2": "sda", "md0": "sda2"}
    assert devices.disks[0].size_bytes == 500107862016
    assert devices.disks[0].model == "Samsung SSD 860"
