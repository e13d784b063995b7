"""The catalogue of metric families that alert rules may name (DESIGN.md, "Metrics and alerting").

Each producer lists its families here with their type, help and labels, and its tests check
that what it exposes matches. This holds the SNMP poller's and NUT's families (``opsctl_snmp_*``,
``opsctl_ups_*``, ``opsctl_poller_*``, ``opsctl_nut_*``); the other producers add theirs.
Names follow the Prometheus conventions: base units (seconds, bytes, volts, celsius, ratios
for percentages), ``_total`` for counters, ``_info`` for an info series whose value is 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# every series of a polled device carries these, from its inventory record
DEVICE_LABELS = ("device", "role", "site", "rack")


@dataclass(frozen=True)
class Family:
    """One metric family: its name (without the ``_total`` a counter's samples add), type, help and labels."""

    name: str
    type: str  # gauge | counter | info (exposed as a gauge named *_info)
    help: str
    labels: tuple[str, ...]


def _device(name: str, type_: str, help_: str, *extra: str) -> Family:
    return Family(name, type_, help_, (*DEVICE_LABELS, *extra))


_FAMILIES = (
    # IF-MIB / ifXTable
    _device("opsctl_snmp_interface_receive_bytes", "counter",
            "Octets received on the interface (ifHCInOctets, else the 32-bit ifInOctets).", "interface"),
    _device("opsctl_snmp_interface_transmit_bytes", "counter",
            "Octets sent on the interface (ifHCOutOctets, else the 32-bit ifOutOctets).", "interface"),
    _device("opsctl_snmp_interface_receive_errors", "counter", "Inbound packets with errors (ifInErrors).",
            "interface"),
    _device("opsctl_snmp_interface_transmit_errors", "counter", "Outbound packets with errors (ifOutErrors).",
            "interface"),
    _device("opsctl_snmp_interface_receive_discards", "counter", "Inbound packets discarded (ifInDiscards).",
            "interface"),
    _device("opsctl_snmp_interface_transmit_discards", "counter", "Outbound packets discarded (ifOutDiscards).",
            "interface"),
    _device("opsctl_snmp_interface_up", "gauge", "1 if the interface's ifOperStatus is up, else 0.", "interface"),
    _device("opsctl_snmp_interface_admin_up", "gauge", "1 if the interface's ifAdminStatus is up, else 0.",
            "interface"),
    _device("opsctl_snmp_interface_speed_bytes", "gauge",
            "The interface's speed in bytes per second (ifHighSpeed in Mb/s, else ifSpeed in b/s, over 8), "
            "as node_exporter's node_network_speed_bytes.", "interface"),
    # HOST-RESOURCES-MIB
    _device("opsctl_snmp_storage_size_bytes", "gauge", "Size of the storage area (hrStorageSize x units).",
            "storage"),
    _device("opsctl_snmp_storage_used_bytes", "gauge", "Used part of the storage area (hrStorageUsed x units).",
            "storage"),
    _device("opsctl_snmp_processor_load_ratio", "gauge",
            "Average load of the processor over the last minute (hrProcessorLoad), 0 to 1.", "processor"),
    # ENTITY-SENSOR-MIB and vendor sensor tables
    _device("opsctl_snmp_sensor_temperature_celsius", "gauge", "Temperature a sensor reads.", "sensor"),
    _device("opsctl_snmp_sensor_humidity_ratio", "gauge", "Relative humidity a sensor reads, 0 to 1.", "sensor"),
    _device("opsctl_snmp_sensor_fan_rpm", "gauge", "Fan speed a sensor reads, in revolutions per minute.", "sensor"),
    _device("opsctl_snmp_sensor_voltage_volts", "gauge", "Voltage a sensor reads.", "sensor"),
    _device("opsctl_snmp_sensor_current_amperes", "gauge", "Current a sensor reads.", "sensor"),
    _device("opsctl_snmp_sensor_power_watts", "gauge", "Power a sensor reads.", "sensor"),
    # LLDP-MIB
    _device("opsctl_snmp_lldp_neighbor", "info", "A neighbour the device hears on a port over LLDP.",
            "local_port", "remote_system", "remote_port"),
    # UPS: RFC 1628 UPS-MIB, APC PowerNet-MIB, Eaton XUPS-MIB and NUT
    _device("opsctl_ups_status", "gauge",
            "1 for each status flag the UPS reports now, in NUT's vocabulary (OL, OB, LB, CHRG, BYPASS...), "
            "0 for the usual flags it does not.", "flag"),
    _device("opsctl_ups_battery_charge_ratio", "gauge", "Battery charge, 0 to 1."),
    _device("opsctl_ups_battery_runtime_seconds", "gauge", "Estimated runtime on battery at the present load."),
    _device("opsctl_ups_battery_temperature_celsius", "gauge", "Battery temperature."),
    _device("opsctl_ups_load_ratio", "gauge", "Output load as a share of the UPS's capacity (1 = full)."),
    _device("opsctl_ups_input_voltage_volts", "gauge", "Input voltage (the first input line).", ),
    _device("opsctl_ups_output_voltage_volts", "gauge", "Output voltage (the first output line)."),
    # the poller's own
    _device("opsctl_poller_up", "gauge", "1 if the device answered the last poll, else 0."),
    _device("opsctl_poller_duration_seconds", "gauge", "How long the last poll of the device took."),
    _device("opsctl_poller_timeouts", "counter", "Polls of the device that ran out of time (no answer or cut short)."),
    _device("opsctl_poller_errors", "counter",
            "Polls of the device that failed otherwise (refused credentials, garbage, agent errors)."),
    _device("opsctl_poller_invalid_values", "counter",
            "Values the device answered that were not exposed: NaN, negative or absurd readings."),
    _device("opsctl_poller_max_repetitions", "gauge", "The GETBULK size the poller now uses for the device."),
    Family("opsctl_poller_pass_duration_seconds", "gauge", "How long the last pass over every device took.",
           ("source",)),
    # NUT's upsd
    Family("opsctl_nut_up", "gauge", "1 if the NUT server answered the last pass, else 0.", ("server",)),
    Family("opsctl_nut_errors", "counter", "Passes in which the NUT server could not be read.", ("server",)),
)

FAMILIES: Mapping[str, Family] = MappingProxyType({family.name: family for family in _FAMILIES})


def family(name: str) -> Family:
    """The catalogue's family called ``name``; raise KeyError naming it if there is none."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"metric family {name!r} is not in the monitoring catalogue") from None


__all__ = ["DEVICE_LABELS", "FAMILIES", "Family", "family"]
