"""NUT's network protocol as upsd 2.8 speaks it (lines in the form the lab's upsd answered, values varied), and the
same ``opsctl_ups_*`` values the SNMP UPS profiles give, with garbage counted as invalid."""

from __future__ import annotations

from monitoring.nut import parse_list_ups, parse_list_var, split_words, ups_samples
from monitoring.settings import MonitoringSettings, NutServerSettings

LIST_UPS = ['UPS lab-ups "opsctl lab UPS (dummy-ups)"', 'UPS spare ""']
LIST_VAR = [
    'VAR lab-ups battery.charge "100"',
    'VAR lab-ups battery.runtime "2400"',
    'VAR lab-ups device.mfr "opsctl lab"',
    'VAR lab-ups driver.name "dummy-ups"',
    'VAR lab-ups ups.status "OL CHRG"',
    'VAR lab-ups ups.load "23"',
    'VAR lab-ups input.voltage "230.0"',
    'VAR lab-ups output.voltage "229.5"',
    'VAR lab-ups battery.temperature "25.1"',
]


def test_words_keep_quoted_spaces_and_escapes() -> None:
    assert split_words('VAR ups ups.mfr "American \\"Power\\" Conversion"') == [
        "VAR", "ups", "ups.mfr", 'American "Power" Conversion']
    assert split_words('UPS spare ""') == ["UPS", "spare", ""]


def test_list_ups_and_list_var() -> None:
    assert parse_list_ups(LIST_UPS) == {"lab-ups": "opsctl lab UPS (dummy-ups)", "spare": ""}
    variables = parse_list_var(LIST_VAR, "lab-ups")
    assert variables["ups.status"] == "OL CHRG" and variables["device.mfr"] == "opsctl lab"
    assert parse_list_var(LIST_VAR, "other") == {}


def test_variables_become_the_ups_families() -> None:
    samples, flags, invalid = ups_samples(parse_list_var(LIST_VAR, "lab-ups"))
    assert flags == ("OL", "CHRG")
    values = {sample.family: sample.value for sample in samples}
    assert values == {
        "opsctl_ups_battery_charge_ratio": 1.0,
        "opsctl_ups_battery_runtime_seconds": 2400.0,
        "opsctl_ups_battery_temperature_celsius": 25.1,
        "opsctl_ups_load_ratio": 0.23,
        "opsctl_ups_input_voltage_volts": 230.0,
        "opsctl_ups_output_voltage_volts": 229.5,
    }
    assert invalid == ()


def test_garbage_and_wait_are_not_values() -> None:
    samples, flags, invalid = ups_samples({"ups.status": "WAIT", "battery.charge": "NaN", "ups.load": "-5",
                                           "battery.runtime": "soon"})
    assert samples == () and flags is None
    assert invalid == ("battery.charge: nan is outside 0..1", "battery.runtime: 'soon' is not a number",
                       "ups.load: -0.05 is outside 0..5")


def test_settings_keep_the_password_a_reference() -> None:
    section = MonitoringSettings.model_validate({"nut_servers": [
        {"address": "127.0.0.1", "port": 13493, "username": "monitor", "password": "file:/etc/opsctl/nut.pw"}]})
    server: NutServerSettings = section.nut_servers[0]
    assert str(server.password) == "file:/etc/opsctl/nut.pw" and server.label == "127.0.0.1:13493"
