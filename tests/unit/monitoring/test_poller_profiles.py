"""The metric profiles (monitoring/profiles/*.yaml) read on recordings: the values a user would see in
Prometheus, with each table's own scale and precision, and garbage counted as invalid, never exposed."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.snmp.recording import read_snmprec
from monitoring.catalogue import DEVICE_LABELS, FAMILIES
from monitoring.poller.profiles import (
    Evaluation,
    evaluate,
    load_profiles,
    profile_from_mapping,
    redundant_columns,
)
from opsctl.core.errors import ConfigError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "poller"
LAB_RECORDINGS = Path(__file__).resolve().parents[3] / "lab" / "snmp" / "recordings"
PROFILES = {profile.name: profile for profile in load_profiles()}


def _evaluate(path: Path, *names: str) -> Evaluation:
    return evaluate([PROFILES[name] for name in names], read_snmprec(path).rows)


def _values(evaluation: Evaluation, family: str) -> dict[tuple[str, ...], float]:
    return {tuple(value for _name, value in s.labels): s.value for s in evaluation.samples if s.family == family}


def test_every_profile_names_its_mib_and_catalogued_families() -> None:
    for profile in PROFILES.values():
        text = Path(profile.path).read_text(encoding="utf-8")
        assert text.startswith("# ") and profile.mib in text.splitlines()[0], profile.path
        for table in profile.tables:
            for metric in table.metrics:
                assert metric.family in FAMILIES
    assert {"if-mib", "host-resources", "entity-sensor", "ups-mib", "apc-powernet-ups", "eaton-xups",
            "apc-environment", "geist", "akcp", "lldp"} <= set(PROFILES)


def test_ups_mib_on_battery_with_a_low_battery() -> None:
    evaluation = _evaluate(FIXTURES / "ups-mib-on-battery.snmprec", "ups-mib")
    assert evaluation.status_flags == ("OB", "LB")
    assert _values(evaluation, "opsctl_ups_battery_charge_ratio") == {(): 0.18}
    assert _values(evaluation, "opsctl_ups_battery_runtime_seconds") == {(): 240.0}  # 4 minutes
    assert _values(evaluation, "opsctl_ups_battery_temperature_celsius") == {(): 29.0}
    assert _values(evaluation, "opsctl_ups_load_ratio") == {(): 0.41}
    assert _values(evaluation, "opsctl_ups_output_voltage_volts") == {(): 229.0}
    assert evaluation.invalid == ()


def test_apc_powernet_prefers_high_precision_values_and_maps_status() -> None:
    evaluation = _evaluate(LAB_RECORDINGS / "opsctl-apc-smart-ups.snmprec", "apc-powernet-ups", "ups-mib")
    assert evaluation.status_flags == ("OL",)
    assert _values(evaluation, "opsctl_ups_battery_charge_ratio") == {(): 1.0}
    assert _values(evaluation, "opsctl_ups_battery_runtime_seconds") == {(): 3180.0}  # 318000 TimeTicks
    assert _values(evaluation, "opsctl_ups_battery_temperature_celsius") == {(): pytest.approx(24.3)}
    assert _values(evaluation, "opsctl_ups_input_voltage_volts") == {(): pytest.approx(231.2)}
    assert _values(evaluation, "opsctl_ups_load_ratio") == {(): pytest.approx(0.274)}
    assert evaluation.answered_tables == {"apc-powernet-ups/ups"}  # it serves no RFC 1628 rows


def test_eaton_xups_online_and_charging() -> None:
    evaluation = _evaluate(FIXTURES / "eaton-xups-online.snmprec", "eaton-xups")
    assert evaluation.status_flags == ("OL", "CHRG")
    assert _values(evaluation, "opsctl_ups_battery_runtime_seconds") == {(): 3960.0}
    assert _values(evaluation, "opsctl_ups_battery_charge_ratio") == {(): 0.87}
    assert _values(evaluation, "opsctl_ups_input_voltage_volts") == {(): 232.0}


def test_entity_sensors_apply_scale_and_precision_and_refuse_an_absurd_humidity() -> None:
    evaluation = _evaluate(FIXTURES / "entity-sensors.snmprec", "entity-sensor")
    assert _values(evaluation, "opsctl_snmp_sensor_temperature_celsius") == {
        ("Cpu temp sensor",): pytest.approx(51.2), ("Inlet temp sensor",): 24.0}
    assert _values(evaluation, "opsctl_snmp_sensor_humidity_ratio") == {("Inlet humidity sensor",): pytest.approx(0.412)}
    assert _values(evaluation, "opsctl_snmp_sensor_fan_rpm") == {("PowerSupply1 fan 1",): 8160.0}
    assert _values(evaluation, "opsctl_snmp_sensor_voltage_volts") == {("PowerSupply1 input voltage",): pytest.approx(229.5)}
    assert evaluation.invalid == (
        "opsctl_snmp_sensor_humidity_ratio at 1.3.6.1.2.1.99.1.1.1.4.100711102: 65.535 is outside 0..1",)


def test_palo_alto_recording_reads_its_temperatures() -> None:
    snmpsim_data = pytest.importorskip("snmpsim_data")
    recording = Path(next(iter(snmpsim_data.__path__))) / "data" / "network" / "firewall" / "paloalto-pa-5000.snmprec.bz2"
    evaluation = _evaluate(recording, "entity-sensor")
    temperatures = _values(evaluation, "opsctl_snmp_sensor_temperature_celsius")
    fans = _values(evaluation, "opsctl_snmp_sensor_fan_rpm")
    # the recording's raw rows: four celsius sensors and ten rpm fans, scale units, precision 0
    assert len(temperatures) == 4 and all(15 <= value <= 80 for value in temperatures.values())
    assert len(fans) == 10
    assert ("Temperature @ Tiger [U173]",) in temperatures


def test_if_mib_falls_back_to_32_bit_counters_and_reads_ports_down() -> None:
    evaluation = _evaluate(FIXTURES / "if-mib-32bit.snmprec", "if-mib")
    assert _values(evaluation, "opsctl_snmp_interface_receive_bytes") == {("Fa0/1",): 4294967000.0, ("Fa0/2",): 0.0,
                                                                          ("Fa0/3",): 0.0}
    assert _values(evaluation, "opsctl_snmp_interface_up") == {("Fa0/1",): 1.0, ("Fa0/2",): 0.0, ("Fa0/3",): 0.0}
    assert _values(evaluation, "opsctl_snmp_interface_admin_up")[("Fa0/3",)] == 0.0
    assert _values(evaluation, "opsctl_snmp_interface_speed_bytes")[("Fa0/3",)] == 1_250_000.0  # 10 Mb/s


def test_if_mib_prefers_64_bit_counters_and_high_speed() -> None:
    evaluation = _evaluate(FIXTURES / "if-mib-64bit.snmprec", "if-mib")
    assert _values(evaluation, "opsctl_snmp_interface_receive_bytes") == {("Gi1/0/1",): 18446744073709550000.0}
    assert _values(evaluation, "opsctl_snmp_interface_speed_bytes") == {("Gi1/0/1",): 1.25e9}  # 10 Gb/s


def test_a_counter_that_wrapped_or_reset_is_exposed_raw_never_as_a_negative_rate() -> None:
    rows = dict(read_snmprec(FIXTURES / "if-mib-32bit.snmprec").rows)
    before = _values(evaluate([PROFILES["if-mib"]], rows), "opsctl_snmp_interface_receive_bytes")
    rows["1.3.6.1.2.1.2.2.1.10.1"] = 120  # ifInOctets wrapped past 2^32 (or the switch rebooted)
    after = _values(evaluate([PROFILES["if-mib"]], rows), "opsctl_snmp_interface_receive_bytes")
    assert before[("Fa0/1",)] == 4294967000.0 and after[("Fa0/1",)] == 120.0
    assert all(value >= 0 for value in after.values())


def test_geist_tenths_of_a_degree() -> None:
    evaluation = _evaluate(FIXTURES / "geist-watchdog.snmprec", "geist")
    assert _values(evaluation, "opsctl_snmp_sensor_temperature_celsius") == {
        ("Watchdog Rack 01",): pytest.approx(21.5), ("Above Rack 02",): pytest.approx(26.2)}
    assert _values(evaluation, "opsctl_snmp_sensor_humidity_ratio") == {("Watchdog Rack 01",): 0.39}


def test_akcp_garbage_is_counted_invalid_and_fahrenheit_converted() -> None:
    evaluation = _evaluate(FIXTURES / "akcp-garbage.snmprec", "akcp")
    assert _values(evaluation, "opsctl_snmp_sensor_temperature_celsius") == {("Rack B2 outlet",): pytest.approx(27.2222, abs=1e-3)}
    assert _values(evaluation, "opsctl_snmp_sensor_humidity_ratio") == {}
    assert evaluation.invalid == (
        "opsctl_snmp_sensor_temperature_celsius at 1.3.6.1.4.1.3854.1.2.2.1.16.1.3.1: not a finite number",
        "opsctl_snmp_sensor_humidity_ratio at 1.3.6.1.4.1.3854.1.2.2.1.17.1.3.1: -0.01 is outside 0..1",
    )


def test_akcp_lab_recording_skips_the_offline_probe() -> None:
    evaluation = _evaluate(LAB_RECORDINGS / "opsctl-akcp-sensorprobe.snmprec", "akcp")
    assert _values(evaluation, "opsctl_snmp_sensor_temperature_celsius") == {("Rack A1 cold aisle",): pytest.approx(22.4)}
    assert _values(evaluation, "opsctl_snmp_sensor_humidity_ratio") == {("Rack A1 cold aisle",): 0.41}


def test_lldp_neighbours_and_host_resources() -> None:
    evaluation = _evaluate(FIXTURES / "lldp-and-host-resources.snmprec", "lldp", "host-resources")
    assert _values(evaluation, "opsctl_snmp_lldp_neighbor") == {
        ("GigabitEthernet1/0/1", "core-sw1", "uplink to access-1"): 1.0,
        ("GigabitEthernet1/0/2", "pacs-01", "eth0"): 1.0,
    }
    assert _values(evaluation, "opsctl_snmp_storage_size_bytes")[("/",)] == 7607238 * 4096
    assert _values(evaluation, "opsctl_snmp_storage_used_bytes")[("Physical memory",)] == 5123123 * 1024
    assert _values(evaluation, "opsctl_snmp_processor_load_ratio") == {("196608",): 0.07, ("196609",): 0.93}


def test_selection_by_role_vendor_and_standard() -> None:
    standard = {name for name, profile in PROFILES.items() if profile.applies_to("unknown", None)}
    assert standard == {"if-mib", "host-resources", "entity-sensor", "ups-mib", "lldp"}
    apc_ups = {name for name, profile in PROFILES.items() if profile.applies_to("ups", "APC")}
    assert {"apc-powernet-ups", "apc-environment"} <= apc_ups and "eaton-xups" not in apc_ups
    assert not PROFILES["apc-powernet-ups"].applies_to("switch", "APC")
    assert PROFILES["geist"].applies_to("sensor", "Vertiv (Geist)")


def test_a_profile_naming_a_family_outside_the_catalogue_is_refused(tmp_path: Path) -> None:
    bad = {"name": "x", "mib": "X-MIB", "select": {"standard": True},
           "tables": [{"name": "t", "metrics": [{"family": "opsctl_snmp_made_up", "sources": [{"oid": "1.3.6.1"}]}]}]}
    with pytest.raises(ConfigError, match="not in the monitoring catalogue"):
        profile_from_mapping(bad, tmp_path / "x.yaml")
    bad["tables"][0]["metrics"][0] = {"family": "opsctl_snmp_interface_up", "sources": [{"oid": "1.3.6.1"}]}  # type: ignore[index]
    with pytest.raises(ConfigError, match="labels"):
        profile_from_mapping(bad, tmp_path / "x.yaml")


def test_device_labels_lead_every_polled_family() -> None:
    for name, family in FAMILIES.items():
        if name.startswith(("opsctl_snmp_", "opsctl_ups_")):
            assert family.labels[: len(DEVICE_LABELS)] == DEVICE_LABELS


def test_fallback_columns_a_device_does_not_need_are_named() -> None:
    with_hc = read_snmprec(FIXTURES / "if-mib-64bit.snmprec").rows
    # ifHCInOctets, ifHCOutOctets, ifHighSpeed and ifName answer for every row: their fallbacks go
    assert redundant_columns([PROFILES["if-mib"]], dict(with_hc)) == {
        "1.3.6.1.2.1.2.2.1.10", "1.3.6.1.2.1.2.2.1.16", "1.3.6.1.2.1.2.2.1.5", "1.3.6.1.2.1.2.2.1.2"}
    without = read_snmprec(FIXTURES / "if-mib-32bit.snmprec").rows
    assert redundant_columns([PROFILES["if-mib"]], dict(without)) == frozenset()
    # a device whose names are empty keeps the column the names fall back to
    entity = dict(read_snmprec(FIXTURES / "entity-sensors.snmprec").rows)
    entity["1.3.6.1.2.1.47.1.1.1.1.7.100006001"] = b""
    assert "1.3.6.1.2.1.47.1.1.1.1.2" not in redundant_columns([PROFILES["entity-sensor"]], entity)
