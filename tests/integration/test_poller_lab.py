"""The SNMP poller and the NUT source against the lab's real snmpsim, net-snmp and upsd.

The lab's SNMP agents are scanned into the inventory first (as an engineer would), and the
poller gets the devices the inventory holds (:func:`inventory.queries.list_devices`) through
``monitoring.poller.metric_sources`` with the configuration the lab published (``opsctl.yaml``:
the NUT server among ``monitoring.nut_servers``, its password by reference). Readings are checked
against the recordings' raw values; the exposition against ``promtool check metrics``.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fleetcli import OPSCTL, Cli
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric

from inventory.devices import Device
from inventory.queries import list_devices
from monitoring.nut import NutSource, read_server
from monitoring.poller import SnmpPoller, metric_sources
from monitoring.poller.poll import PollTarget
from monitoring.settings import NutServerSettings, monitoring_settings
from opsctl.core.config import load_settings
from opsctl.core.errors import OpsctlError
from opsctl.core.secrets import SecretRef
from opsctl.core.settings import Settings
from tests.integration.conftest import LAB_PREFIX
from tests.unit.inventory.snmp.snmp_responders import random_bytes, sequence_of_noise, udp_responder

pytestmark = pytest.mark.integration


class _Collected:
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def _exposition(metrics: Iterable[Metric]) -> str:
    registry = CollectorRegistry()
    registry.register(_Collected(metrics))  # type: ignore[arg-type]
    return generate_latest(registry).decode()


def _samples(metrics: Iterable[Metric], name: str) -> dict[str, float]:
    """``{device[/label...]: value}`` of one exposed sample name."""
    found = {}
    for metric in metrics:
        for sample in metric.samples:
            if sample.name == name:
                extra = [value for key, value in sample.labels.items() if key not in ("device", "role", "site", "rack")]
                found["/".join([sample.labels["device"], *extra])] = sample.value
    return found


@pytest.fixture(scope="module")
def scanned(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, list[Device]]]:
    """The lab's SNMP agents scanned into a fresh state store, and the settings the lab published."""
    root = tmp_path_factory.mktemp("poller")
    cli = Cli.create(root, lab.publication.inventory_path)
    config = lab.publication.config_path
    done = cli("-c", str(config), "inventory", "scan", "snmp_agents", timeout=300)
    assert done.returncode == 0, done.stderr
    settings = load_settings(config, environ={"OPSCTL_STATE__DIR": str(cli.state_dir)},
                             system_file=root / "none.yaml", user_file=root / "none.yaml")
    yield settings, list_devices(settings)


@pytest.fixture(scope="module")
def poller(scanned: tuple[Settings, list[Device]]) -> Iterator[tuple[SnmpPoller, list[Metric]]]:
    settings, devices = scanned
    sources = metric_sources(settings, devices)
    snmp = next(source for source in sources if isinstance(source, SnmpPoller))
    metrics = snmp.collect()
    yield snmp, metrics
    snmp.close()


def test_every_lab_snmp_device_answers_the_poller(lab: Any, poller: tuple[SnmpPoller, list[Metric]]) -> None:
    snmp, metrics = poller
    assert lab.publication.devices_path is not None
    published = json.loads(lab.publication.devices_path.read_text(encoding="utf-8"))["devices"]
    lab_devices = {device["name"] for device in published if "snmp-v2c" in device.get("protocols", ())}
    up = _samples(metrics, "opsctl_poller_up")
    assert up and all(value == 1.0 for value in up.values()), {d: r.message for d, r in
                                                              ((r.target.device, r) for r in snmp.results)}
    assert lab_devices and lab_devices <= set(up)
    assert {"sim-opsctl-apc-smart-ups", "sim-opsctl-akcp-sensorprobe", "sim-paloalto-pa-5000",
            "sim-eaton-93e-80", "sim-cisco-c3750", "lab-snmpd"} <= set(up)


def test_readings_match_the_recordings_raw_values(poller: tuple[SnmpPoller, list[Metric]]) -> None:
    _snmp, metrics = poller
    # opsctl-apc-smart-ups: upsBasicOutputStatus 2 (onLine), upsHighPrecBatteryCapacity 1000,
    # upsAdvBatteryRunTimeRemaining 318000 TimeTicks, upsHighPrecOutputLoad 274
    assert _samples(metrics, "opsctl_ups_status")["sim-opsctl-apc-smart-ups/OL"] == 1.0
    assert _samples(metrics, "opsctl_ups_status")["sim-opsctl-apc-smart-ups/OB"] == 0.0
    assert _samples(metrics, "opsctl_ups_battery_charge_ratio")["sim-opsctl-apc-smart-ups"] == 1.0
    assert _samples(metrics, "opsctl_ups_battery_runtime_seconds")["sim-opsctl-apc-smart-ups"] == 3180.0
    assert _samples(metrics, "opsctl_ups_load_ratio")["sim-opsctl-apc-smart-ups"] == pytest.approx(0.274)
    # opsctl-akcp-sensorprobe: sensorProbeTempDegreeRaw 224 (tenths), humidity 41 %, the offline probe left out
    temperatures = _samples(metrics, "opsctl_snmp_sensor_temperature_celsius")
    assert temperatures["sim-opsctl-akcp-sensorprobe/Rack A1 cold aisle"] == pytest.approx(22.4)
    assert "sim-opsctl-akcp-sensorprobe/Rack A1 hot aisle" not in temperatures
    assert _samples(metrics, "opsctl_snmp_sensor_humidity_ratio")["sim-opsctl-akcp-sensorprobe/Rack A1 cold aisle"] == 0.41
    # paloalto-pa-5000: ENTITY-SENSOR-MIB celsius rows (scale units, precision 0)
    palo = {key: value for key, value in temperatures.items() if key.startswith("sim-paloalto-pa-5000/")}
    assert len(palo) == 4 and all(0 < value < 100 for value in palo.values())
    assert len([k for k in _samples(metrics, "opsctl_snmp_sensor_fan_rpm") if k.startswith("sim-paloalto")]) == 10
    # eaton-93e-80 serves RFC 1628 UPS-MIB: a status, and charge as a ratio
    assert any(key.startswith("sim-eaton-93e-80/") for key in _samples(metrics, "opsctl_ups_status"))
    charge = _samples(metrics, "opsctl_ups_battery_charge_ratio")["sim-eaton-93e-80"]
    assert 0.0 <= charge <= 1.0
    # the Cisco switch: 64-bit octet counters per interface, and net-snmp's HOST-RESOURCES
    assert len([k for k in _samples(metrics, "opsctl_snmp_interface_receive_bytes_total") if k.startswith("sim-cisco")]) > 10
    assert any(key.startswith("lab-snmpd/") for key in _samples(metrics, "opsctl_snmp_storage_size_bytes"))


def test_exposition_is_clean_under_promtool(poller: tuple[SnmpPoller, list[Metric]]) -> None:
    _snmp, metrics = poller
    text = _exposition(metrics)
    promtool = shutil.which("promtool")
    assert promtool
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr


def test_health_readings_of_the_lab(poller: tuple[SnmpPoller, list[Metric]]) -> None:
    snmp, _metrics = poller
    readings = {reading.target: reading for reading in snmp.readings()}
    apc = readings["sim-opsctl-apc-smart-ups"]
    assert (apc.kind, apc.state) == ("ups", "ok") and apc.summary.startswith("OL, charge 100%, runtime 53 min")
    akcp = readings["sim-opsctl-akcp-sensorprobe"]
    assert (akcp.kind, akcp.state, akcp.summary) == ("sensor", "ok", "22.4 C, humidity 41%")
    assert readings["sim-cisco-c3750"].kind == "switch"


def test_a_silent_device_is_reported_and_the_others_still_served(scanned: tuple[Settings, list[Device]]) -> None:
    settings, devices = scanned
    (snmp,) = [source for source in metric_sources(settings, devices) if isinstance(source, SnmpPoller)]
    try:
        akcp = next(target for target in snmp.targets if target.device == "sim-opsctl-akcp-sensorprobe")
        # nothing listens on port 9 of the device's address: the poll times out
        silent = PollTarget("silent-ups", "ups", "lab", "", "APC", replace(akcp.target, port=9, timeout=0.3, retries=0),
                            akcp.credentials)
        snmp.targets = (*snmp.targets, silent)
        snmp._plans["silent-ups"] = tuple(p for p in snmp.profiles if p.applies_to("ups", "APC"))
        metrics = snmp.collect()
        up = _samples(metrics, "opsctl_poller_up")
        assert up["silent-ups"] == 0.0 and up["sim-opsctl-akcp-sensorprobe"] == 1.0
        assert _samples(metrics, "opsctl_poller_timeouts_total")["silent-ups"] == 1.0
        reading = next(r for r in snmp.readings() if r.target == "silent-ups")
        assert reading.state == "critical" and "does not answer SNMP" in reading.summary
    finally:
        snmp.close()


def test_a_second_pass_asks_only_what_answered_and_keeps_its_bulk_size(poller: tuple[SnmpPoller, list[Metric]]) -> None:
    snmp, _metrics = poller
    first = {result.target.device: result for result in snmp.results}
    state = snmp.states["sim-opsctl-akcp-sensorprobe"]
    assert state.answered_tables is not None and "akcp/temperature" in state.answered_tables
    assert "ups-mib/ups" not in state.answered_tables  # asked once, not served: dropped
    again = snmp.collect()
    assert all(value == 1.0 for value in _samples(again, "opsctl_poller_up").values())
    second = {result.target.device: result for result in snmp.results}
    cisco_before, cisco_after = first["sim-cisco-c3750"], second["sim-cisco-c3750"]
    # ENTITY-MIB names came back in the first pass, but no sensor rows: that table is not asked again
    assert cisco_after.varbinds < cisco_before.varbinds
    assert {(s.family, s.labels) for s in cisco_after.evaluation.samples} == \
        {(s.family, s.labels) for s in cisco_before.evaluation.samples}
    # GETBULK fitted to the device: one more than its longest column, so each column is one request
    interfaces = [k for k in _samples(again, "opsctl_snmp_interface_up") if k.startswith("sim-cisco-c3750/")]
    assert snmp.states["sim-cisco-c3750"].repetitions == len(interfaces) + 1


def _relay_then_silence(agent: tuple[str, int], answers: int) -> Callable[[bytes], list[bytes]]:
    """A device that answers its first ``answers`` requests (relayed to a real agent) and then stops."""
    count = [0]

    def answer(request: bytes) -> list[bytes]:
        count[0] += 1
        if count[0] > answers:
            return []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as relay:
            relay.settimeout(2)
            relay.sendto(request, agent)
            return [relay.recvfrom(65535)[0]]

    return answer


def test_a_device_that_answers_garbage_or_stops_mid_walk_is_reported(scanned: tuple[Settings, list[Device]]) -> None:
    settings, devices = scanned
    (snmp,) = [source for source in metric_sources(settings, devices) if isinstance(source, SnmpPoller)]
    cisco = next(target for target in snmp.targets if target.device == "sim-cisco-c3750")
    try:
        with (
            udp_responder(f"{LAB_PREFIX}.252.1", lambda request: random_bytes(request) + sequence_of_noise(request))
            as noisy,
            udp_responder(f"{LAB_PREFIX}.252.2", _relay_then_silence((cisco.target.host, cisco.target.port), 4))
            as stopping,
        ):
            extra = [PollTarget(name, "switch", "lab", "", "Cisco",
                                replace(cisco.target, host=address, port=port, timeout=0.3, retries=0),
                                cisco.credentials)
                     for name, (address, port) in (("garbage-switch", noisy), ("stopping-switch", stopping))]
            snmp.targets = (*snmp.targets, *extra)
            for target in extra:
                snmp._plans[target.device] = snmp._plans["sim-cisco-c3750"]
            metrics = snmp.collect()
            readings = {reading.target: reading for reading in snmp.readings()}
        up = _samples(metrics, "opsctl_poller_up")
        assert up["garbage-switch"] == 0.0 and up["sim-cisco-c3750"] == 1.0
        assert _samples(metrics, "opsctl_poller_errors_total")["garbage-switch"] == 1.0
        assert readings["garbage-switch"].state == "critical"
        assert "answers with malformed SNMP" in readings["garbage-switch"].summary
        # the stopping switch answered the first walks: what came is served, the cut is reported
        assert up["stopping-switch"] == 1.0
        assert _samples(metrics, "opsctl_poller_timeouts_total")["stopping-switch"] == 1.0
        stopped = next(result for result in snmp.results if result.target.device == "stopping-switch")
        assert stopped.outcome == "partial" and stopped.varbinds > 0
        assert readings["stopping-switch"].state == "warning" and "cut short" in readings["stopping-switch"].summary
        assert snmp.states["stopping-switch"].ceiling == snmp.states["sim-cisco-c3750"].ceiling  # silence is no tooBig
        assert _exposition(metrics)  # the rest is still served
    finally:
        snmp.close()


# --- NUT ------------------------------------------------------------------------------------


def test_nut_source_reads_the_lab_ups_with_its_password(scanned: tuple[Settings, list[Device]], lab: Any) -> None:
    settings, _devices = scanned
    section = monitoring_settings(settings)
    assert section.nut_servers, "the lab publishes its NUT server in opsctl.yaml"
    source = NutSource(section.nut_servers)
    metrics = source.collect()
    server = section.nut_servers[0].label
    assert [s.value for m in metrics for s in m.samples if s.name == "opsctl_nut_up"] == [1.0]
    assert _samples(metrics, "opsctl_ups_status")[f"lab-ups@{server}/OL"] == 1.0
    assert _samples(metrics, "opsctl_ups_battery_charge_ratio")[f"lab-ups@{server}"] == 1.0
    text = _exposition(metrics)
    password = Path(str(section.nut_servers[0].password).removeprefix("file:")).read_text().strip()
    assert password not in text


def test_nut_wrong_password_is_one_line_naming_the_server(scanned: tuple[Settings, list[Device]], tmp_path: Path) -> None:
    settings, _devices = scanned
    server = monitoring_settings(settings).nut_servers[0]
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password\n")
    wrong.chmod(0o600)
    bad = NutServerSettings.model_validate({**server.model_dump(), "password": f"file:{wrong}"})
    with pytest.raises(OpsctlError) as raised:
        read_server(bad)
    message = raised.value.message
    assert message == (f"NUT server {server.label}: login as opsctl-monitor refused: wrong password, "
                       "or the user may not log in (upsd.users: upsmon secondary)")
    source = NutSource([bad])
    metrics = source.collect()
    assert [s.value for m in metrics for s in m.samples if s.name == "opsctl_nut_errors_total"] == [1.0]
    (reading,) = source.readings()
    assert reading.state == "critical" and reading.summary == message
    assert isinstance(server.password, SecretRef)


def test_nut_server_that_is_not_there(tmp_path: Path) -> None:
    nobody = NutServerSettings(address="127.0.0.1", port=9, timeout_seconds=1)
    with pytest.raises(OpsctlError, match=r"^NUT server 127\.0\.0\.1:9: cannot connect: Connection refused$"):
        read_server(nobody)


def test_lab_ups_state_flips_and_the_nut_source_sees_it(lab: Any, lab_env: dict[str, str],
                                                       scanned: tuple[Settings, list[Device]]) -> None:
    settings, _devices = scanned
    source = NutSource(monitoring_settings(settings).nut_servers)
    try:
        for state, status, flag, reading_state in (("on-battery", "OB DISCHRG", "OB", "warning"),
                                                   ("low-battery", "OB DISCHRG LB", "LB", "critical"),
                                                   ("online", "OL", "OL", "ok")):
            done = subprocess.run([OPSCTL, "lab", "ups", state], env=lab_env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr
            assert done.stdout.startswith(f"lab UPS {state}: upsd reports ups.status {status} after ")
            metrics = source.collect()
            flags = {key.rsplit("/", 1)[1]: value for key, value in _samples(metrics, "opsctl_ups_status").items()}
            assert flags[flag] == 1.0
            (reading,) = source.readings()
            assert reading.state == reading_state, reading
    finally:
        subprocess.run([OPSCTL, "lab", "ups", "online"], env=lab_env, capture_output=True, timeout=60)


def test_lab_ups_refuses_an_unknown_state(lab_env: dict[str, str]) -> None:
    done = subprocess.run([OPSCTL, "lab", "ups", "on-fire"], env=lab_env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "on-fire" in done.stderr
