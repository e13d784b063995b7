"""Pure parts of the lab's NUT peer: its address, NUT's files, the dummy UPS's states and upsc's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.nut.config import (
    STATES,
    driver_command,
    nut_address,
    nut_environment,
    parse_upsc,
    render_dev,
    render_upsd_conf,
    render_upsd_users,
    state_of_status,
    upsd_command,
)


def test_address_under_the_prefix() -> None:
    assert nut_address("127.33") == "127.33.80.1"
    with pytest.raises(ValueError):
        nut_address("10.0")


def test_each_state_is_a_dev_file_in_nut_names() -> None:
    for state, values in STATES.items():
        text = render_dev(state)
        assert f"ups.status: {values['ups.status']}\n" in text
        assert state_of_status(values["ups.status"]) == state
    assert "battery.charge: 9\n" in render_dev("low-battery")
    with pytest.raises(KeyError, match="online, on-battery, low-battery"):
        render_dev("on-fire")


def test_upsd_listens_on_loopback_only_and_the_user_may_log_in() -> None:
    assert render_upsd_conf("127.33.80.1", 13493).endswith("LISTEN 127.33.80.1 13493\n")
    with pytest.raises(ValueError):
        render_upsd_conf("0.0.0.0", 13493)
    users = render_upsd_users("0123456789abcdef")
    assert "[opsctl-monitor]" in users and "upsmon secondary" in users
    with pytest.raises(ValueError):
        render_upsd_users("two words")


def test_programs_in_the_foreground_with_their_own_config() -> None:
    assert driver_command("/lib/nut/dummy-ups") == ("/lib/nut/dummy-ups", "-a", "lab-ups", "-u", "root", "-F")
    assert upsd_command("/lib/nut/upsd")[-1] == "-F"
    environment = nut_environment(Path("/lab/conf"), Path("/lab/state"))
    assert environment["NUT_CONFPATH"] == "/lab/conf" and environment["NUT_STATEPATH"] == "/lab/state"


def test_upsc_output() -> None:
    # upsc lab-ups@127.33.90.1:13493 as it printed here (NUT 2.8.0), abridged
    text = "battery.charge: 100\nbattery.runtime: 2400\ndevice.mfr: Dummy Manufacturer\nups.status: OL CHRG\n"
    assert parse_upsc(text) == {"battery.charge": "100", "battery.runtime": "2400",
                                "device.mfr": "Dummy Manufacturer", "ups.status": "OL CHRG"}
