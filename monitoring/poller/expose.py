"""What a pass of the poller shows: Prometheus families for ``/metrics`` and readings for ``opsctl health``.

Pure functions of the pass's results and the devices' running counters. Families follow the
catalogue (:mod:`monitoring.catalogue`): counters are exposed raw (Prometheus's ``rate`` handles
wraps and resets: no rate is ever computed here, so none can be negative); a UPS's status is one
``opsctl_ups_status{flag}`` series per flag, 1 for those it reports and 0 for the usual others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from monitoring.catalogue import DEVICE_LABELS, FAMILIES, family
from monitoring.poller.poll import PARTIAL, DevicePoll, DeviceState
from monitoring.poller.profiles import Sample
from monitoring.poller.types import Reading

# the flags every UPS series shows, 0 when absent, so an alert can match OB == 1 and see it go back to 0
USUAL_FLAGS = ("OL", "OB", "LB", "CHRG", "DISCHRG", "BYPASS")

# Thresholds of a reading's state. A UPS: on battery is a warning, a low battery critical (upsmon
# shuts systems down on OB LB). A room sensor: ASHRAE's recommended envelope for data centres ends
# at 27 C (a warning from there) and humidity is kept away from condensation and static (here
# 20-80 %); 32 C or more is critical.
SENSOR_WARNING_CELSIUS = 27.0
SENSOR_CRITICAL_CELSIUS = 32.0
HUMIDITY_RANGE = (0.20, 0.80)


MetricFamily = GaugeMetricFamily | CounterMetricFamily


@dataclass(frozen=True)
class DeviceSeries:
    """A device's labels and what its last poll gave, as the exposition and the readings need them."""

    labels: tuple[str, ...]
    samples: tuple[Sample, ...]
    status_flags: tuple[str, ...] | None


def new_family(name: str) -> MetricFamily:
    """An empty family of the catalogue's ``name`` (a counter, a gauge, or an info gauge named ``*_info``)."""
    spec = family(name)
    if spec.type == "counter":
        return CounterMetricFamily(name, spec.help, labels=list(spec.labels))
    exposed = f"{name}_info" if spec.type == "info" else name
    return GaugeMetricFamily(exposed, spec.help, labels=list(spec.labels))


def device_families(devices: Iterable[DeviceSeries]) -> list[Metric]:
    """The families of every device's samples and UPS status, in catalogue order, each family once."""
    families: dict[str, MetricFamily] = {}
    for device in devices:
        for sample in device.samples:
            metric = families.get(sample.family) or families.setdefault(sample.family, new_family(sample.family))
            metric.add_metric([*device.labels, *(value for _name, value in sample.labels)], sample.value)
        if device.status_flags is not None:
            status = families.get("opsctl_ups_status") or families.setdefault(
                "opsctl_ups_status", new_family("opsctl_ups_status"))
            for flag in dict.fromkeys((*USUAL_FLAGS, *device.status_flags)):
                status.add_metric([*device.labels, flag], 1.0 if flag in device.status_flags else 0.0)
    order = list(FAMILIES)
    return [families[name] for name in sorted(families, key=order.index)]


def poller_families(results: Sequence[DevicePoll], states: Mapping[str, DeviceState], *, source: str,
                    pass_seconds: float) -> list[Metric]:
    """The poller's own families: per device up, poll duration, timeouts, errors, invalid values, GETBULK size."""
    own = {name: new_family(name) for name in (
        "opsctl_poller_up", "opsctl_poller_duration_seconds", "opsctl_poller_timeouts", "opsctl_poller_errors",
        "opsctl_poller_invalid_values", "opsctl_poller_max_repetitions")}
    for result in results:
        labels = list(result.target.labels())
        state = states.get(result.target.device) or DeviceState()
        own["opsctl_poller_up"].add_metric(labels, 1.0 if result.answered else 0.0)
        own["opsctl_poller_duration_seconds"].add_metric(labels, result.duration_seconds)
        own["opsctl_poller_timeouts"].add_metric(labels, state.timeouts)
        own["opsctl_poller_errors"].add_metric(labels, state.errors)
        own["opsctl_poller_invalid_values"].add_metric(labels, state.invalid_values)
        own["opsctl_poller_max_repetitions"].add_metric(labels, state.repetitions)
    duration = new_family("opsctl_poller_pass_duration_seconds")
    duration.add_metric([source], pass_seconds)
    return [*own.values(), duration]


def _values(samples: Iterable[Sample], name: str) -> list[float]:
    return [sample.value for sample in samples if sample.family == name]


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def ups_reading(target: str, flags: Sequence[str] | None, samples: Sequence[Sample]) -> Reading:
    """A UPS's reading: status (NUT's flags), charge and runtime; LB critical, OB or BYPASS a warning."""
    values: dict[str, float] = {}
    charge = _values(samples, "opsctl_ups_battery_charge_ratio")
    runtime = _values(samples, "opsctl_ups_battery_runtime_seconds")
    load = _values(samples, "opsctl_ups_load_ratio")
    parts = [" ".join(flags) if flags else "status unknown"]
    if charge:
        values["battery_charge_ratio"] = charge[0]
        parts.append(f"charge {charge[0] * 100:.0f}%")
    if runtime:
        values["battery_runtime_seconds"] = runtime[0]
        parts.append(f"runtime {_minutes(runtime[0])}")
    if load:
        values["load_ratio"] = load[0]
        parts.append(f"load {load[0] * 100:.0f}%")
    flag_set = set(flags or ())
    for flag in ("OL", "OB", "LB"):
        values[f"status_{flag.lower()}"] = 1.0 if flag in flag_set else 0.0
    state = "unknown" if flags is None else "critical" if "LB" in flag_set else \
        "warning" if flag_set & {"OB", "BYPASS", "RB", "OFF"} else "ok"
    return Reading(target, "ups", state, ", ".join(parts), values)


def interfaces_reading(target: str, kind: str, samples: Sequence[Sample]) -> Reading:
    """A switch's (or any device's) reading from its interfaces: ports up, ports down that are enabled, error counts."""
    up = {s.labels: s.value for s in samples if s.family == "opsctl_snmp_interface_up"}
    admin = {s.labels: s.value for s in samples if s.family == "opsctl_snmp_interface_admin_up"}
    down = sum(1 for labels, value in up.items() if value == 0 and admin.get(labels, 1.0) == 1)
    errors = sum(_values(samples, "opsctl_snmp_interface_receive_errors")) + \
        sum(_values(samples, "opsctl_snmp_interface_transmit_errors"))
    values = {"ports_up": float(sum(1 for v in up.values() if v == 1)), "ports_down": float(down),
              "interface_errors": errors}
    summary = f"{values['ports_up']:.0f} ports up, {down} enabled ports down, {errors:.0f} errors since counters reset"
    return Reading(target, kind, "ok", summary, values)


def sensor_reading(target: str, samples: Sequence[Sample]) -> Reading:
    """A room sensor's reading: the warmest temperature and the humidity furthest from the middle of its range."""
    temperatures = _values(samples, "opsctl_snmp_sensor_temperature_celsius")
    humidities = _values(samples, "opsctl_snmp_sensor_humidity_ratio")
    values: dict[str, float] = {}
    parts: list[str] = []
    state = "ok"
    if temperatures:
        warmest = max(temperatures)
        values["temperature_celsius"] = warmest
        parts.append(f"{warmest:.1f} C")
        state = "critical" if warmest >= SENSOR_CRITICAL_CELSIUS else "warning" if warmest >= SENSOR_WARNING_CELSIUS else state
    if humidities:
        worst = max(humidities, key=lambda value: abs(value - sum(HUMIDITY_RANGE) / 2))
        values["humidity_ratio"] = worst
        parts.append(f"humidity {worst * 100:.0f}%")
        if not HUMIDITY_RANGE[0] <= worst <= HUMIDITY_RANGE[1] and state == "ok":
            state = "warning"
    if not parts:
        return Reading(target, "sensor", "unknown", "no valid temperature or humidity reading", values)
    return Reading(target, "sensor", state, ", ".join(parts), values)


def device_reading(result: DevicePoll) -> Reading:
    """The reading ``opsctl health`` shows for one polled device, by what it is and what it answered."""
    target = result.target
    if not result.answered:
        return Reading(target.device, target.role, "critical", f"does not answer SNMP: {result.message}", {})
    evaluation = result.evaluation
    samples = evaluation.samples
    if target.role == "ups" or evaluation.status_flags is not None:
        return ups_reading(target.device, evaluation.status_flags, samples)
    # a room sensor's temperatures are the room's; a firewall's are its CPU's, judged by its maker
    if target.role == "sensor" or (target.role == "unknown" and not _values(samples, "opsctl_snmp_interface_up") and (
            _values(samples, "opsctl_snmp_sensor_temperature_celsius")
            or _values(samples, "opsctl_snmp_sensor_humidity_ratio"))):
        return sensor_reading(target.device, samples)
    reading = interfaces_reading(target.device, target.role, samples)
    if result.outcome == PARTIAL:
        return Reading(reading.target, reading.kind, "warning", f"{reading.summary}; cut short: {result.message}",
                       reading.values)
    if evaluation.invalid:
        return Reading(reading.target, reading.kind, "warning",
                       f"{reading.summary}; {len(evaluation.invalid)} invalid values", reading.values)
    return reading


__all__ = [
    "DEVICE_LABELS",
    "USUAL_FLAGS",
    "DeviceSeries",
    "device_families",
    "device_reading",
    "interfaces_reading",
    "new_family",
    "poller_families",
    "sensor_reading",
    "ups_reading",
]
