"""What the poller exposes and what `opsctl health` reads from it, built from recordings: lint-clean under
``promtool check metrics``, every family in the catalogue with its labels, and readings that say what
an on-call engineer needs (a UPS on battery is a warning, low battery critical, a silent device critical)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from inventory.snmp.client import SnmpTarget
from inventory.snmp.credentials import SnmpCredentialSet
from inventory.snmp.recording import read_snmprec
from monitoring.catalogue import FAMILIES
from monitoring.poller.expose import DeviceSeries, device_families, device_reading, poller_families
from monitoring.poller.poll import FAILED, OK, TIMED_OUT, DevicePoll, DeviceState, PollTarget
from monitoring.poller.profiles import Evaluation, evaluate, load_profiles
from opsctl.core.secrets import SecretRef

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "poller"
LAB_RECORDINGS = Path(__file__).resolve().parents[3] / "lab" / "snmp" / "recordings"
PROFILES = load_profiles()


def _target(name: str, role: str) -> PollTarget:
    return PollTarget(name, role, "main", "A1", None, SnmpTarget("127.0.0.1", 11161),
                      SnmpCredentialSet("2c", community=SecretRef("env", "UNUSED")))


def _poll(name: str, role: str, recording: Path, outcome: str = OK) -> DevicePoll:
    evaluation = evaluate(PROFILES, read_snmprec(recording).rows) if outcome == OK else Evaluation((), None, frozenset())
    return DevicePoll(_target(name, role), outcome, "no answer within 2 s" if outcome != OK else "", evaluation, 0.25)


class _Collected:
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def _exposition(polls: list[DevicePoll]) -> tuple[str, list[Metric]]:
    series = [DeviceSeries(p.target.labels(), p.evaluation.samples, p.evaluation.status_flags) for p in polls if p.answered]
    states = {p.target.device: DeviceState(timeouts=0 if p.answered else 3, errors=1, invalid_values=2) for p in polls}
    metrics = [*device_families(series), *poller_families(polls, states, source="snmp", pass_seconds=1.5)]
    registry = CollectorRegistry()
    registry.register(_Collected(metrics))  # type: ignore[arg-type]
    return generate_latest(registry).decode(), metrics


def _polls() -> list[DevicePoll]:
    return [
        _poll("ups-basement", "ups", FIXTURES / "ups-mib-on-battery.snmprec"),
        _poll("ups-a1", "ups", LAB_RECORDINGS / "opsctl-apc-smart-ups.snmprec"),
        _poll("env-a1", "sensor", LAB_RECORDINGS / "opsctl-akcp-sensorprobe.snmprec"),
        _poll("access-1", "switch", FIXTURES / "if-mib-32bit.snmprec"),
        _poll("fw-1", "firewall", FIXTURES / "entity-sensors.snmprec"),
        _poll("core-1", "switch", FIXTURES / "lldp-and-host-resources.snmprec"),
        _poll("silent-1", "switch", FIXTURES / "if-mib-32bit.snmprec", outcome=TIMED_OUT),
    ]


def test_exposition_is_clean_under_promtool_and_matches_the_catalogue() -> None:
    text, metrics = _exposition(_polls())
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: ./bootstrap installs Debian's prometheus package"
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    for metric in metrics:
        name = metric.name.removesuffix("_info")
        assert name in FAMILIES, name
        assert metric.type == FAMILIES[name].type.replace("info", "gauge")
        for sample in metric.samples:
            assert tuple(sample.labels) == FAMILIES[name].labels
    assert 'opsctl_ups_status{device="ups-basement",flag="OB",rack="A1",role="ups",site="main"} 1.0' in text
    assert 'opsctl_ups_status{device="ups-basement",flag="OL",rack="A1",role="ups",site="main"} 0.0' in text
    assert 'opsctl_poller_up{device="silent-1",rack="A1",role="switch",site="main"} 0.0' in text
    assert 'opsctl_poller_timeouts_total{device="silent-1",rack="A1",role="switch",site="main"} 3.0' in text


def test_readings_say_what_matters_for_each_kind() -> None:
    readings = {reading.target: reading for reading in map(device_reading, _polls())}
    basement = readings["ups-basement"]
    assert (basement.kind, basement.state) == ("ups", "critical")
    assert basement.summary == "OB LB, charge 18%, runtime 4 min, load 41%"
    assert basement.values["battery_runtime_seconds"] == 240.0
    a1 = readings["ups-a1"]
    assert (a1.state, a1.summary) == ("ok", "OL, charge 100%, runtime 53 min, load 27%")
    assert (readings["env-a1"].kind, readings["env-a1"].state) == ("sensor", "ok")
    assert readings["env-a1"].summary == "22.4 C, humidity 41%"
    access = readings["access-1"]
    assert access.values["ports_down"] == 1.0  # Fa0/2 enabled and down; Fa0/3 is shut
    assert access.values["interface_errors"] == 4.0
    assert readings["silent-1"].state == "critical" and "does not answer SNMP" in readings["silent-1"].summary
    assert readings["fw-1"].state == "warning"  # an absurd humidity is reported, not shown as a value


def test_an_error_poll_is_down_with_its_reason() -> None:
    failed = _poll("fw-2", "firewall", FIXTURES / "entity-sensors.snmprec", outcome=FAILED)
    reading = device_reading(failed)
    assert reading.state == "critical" and reading.target == "fw-2"
