"""``opsctl monitor once --prometheus`` against the lab, with the configuration the lab publishes (its
SNMP agents, once scanned, through the poller, its NUT server, its PostgreSQL primary and standby
through the probes): every family it prints is in the one catalogue with the catalogued type and
labels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from monitoring.catalogue import exposed_families, mismatches

if TYPE_CHECKING:
    from tests.integration.conftest import RunningLab

pytestmark = pytest.mark.integration

OPSCTL = str(Path(sys.executable).parent / "opsctl")


def test_monitor_once_against_the_lab_exposes_only_catalogued_families(lab: RunningLab,
                                                                        lab_env: dict[str, str]) -> None:
    config = str(lab.publication.config_path)
    # the poller polls the devices the inventory's scans hold
    scan = subprocess.run([OPSCTL, "-c", config, "inventory", "scan", "snmp_agents", "--json"], capture_output=True,
                          text=True, env=lab_env, timeout=180)
    assert scan.returncode == 0, scan.stderr
    done = subprocess.run([OPSCTL, "-c", config, "monitor", "once", "--prometheus"], capture_output=True, text=True,
                          env=lab_env, timeout=180)
    assert done.returncode == 0, done.stderr
    families = exposed_families(done.stdout)
    assert mismatches(families, {"poller", "probes"}) == []
    # the lab's devices, UPS and both PostgreSQL servers really were read
    assert {"opsctl_snmp_interface_receive_bytes", "opsctl_ups_battery_charge_ratio", "opsctl_nut_up",
            "opsctl_probe_postgres_wal_receiver_streaming"} <= set(families)
    assert 'opsctl_probe_postgres_in_recovery{host="his-db-standby",probe="his-db-standby",type="postgres"} 1.0' \
        in done.stdout
