"""Probes: each checks that one kind of application answers (PostgreSQL a query, Orthanc a DICOM echo, a web server its TLS and status).

The built-ins (``postgres``, ``orthanc``, ``http``, ``agent``: ``monitoring/probes_*.py``) and
third parties through an entry point in the ``opsctl.probes`` group register in :data:`PROBES`
(a registry of :mod:`opsctl.core.plugins`), by reference, so a module is imported when its
probe is first asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from opsctl.core.plugins import PluginRegistry


@dataclass(frozen=True)
class ProbeTarget:
    """What one probe checks: the host's inventory name, where to connect, and the probe's configured options (secrets as references)."""

    host: str
    address: str
    port: int | None = None
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeResult:
    """What one probe found: whether the application answered as it should, how long that took, why not, and extra samples.

    ``samples`` maps metric family names (from the monitoring catalogue, in base units) to
    their value for this target.
    """

    success: bool
    duration_seconds: float
    detail: str = ""
    samples: Mapping[str, float] = field(default_factory=dict)


@runtime_checkable
class Probe(Protocol):
    """Checks that one kind of application answers on a target.

    Contract: ``probe`` returns within about ``timeout`` seconds and never raises because the
    target is down, slow or answers wrongly: that is a result with ``success`` false and a
    ``detail`` saying why (exported as a failed probe, so that an alert rule sees it). Secrets
    are references in ``target.options``, resolved at use, and never appear in ``detail``.
    """

    @property
    def name(self) -> str:
        """The probe type, as configuration names it (``postgres``, ``dicom-echo``, ``https``)."""
        ...

    def probe(self, target: ProbeTarget, timeout: float) -> ProbeResult:
        """Check ``target`` once, within about ``timeout`` seconds."""
        ...


PROBES: PluginRegistry[Probe] = PluginRegistry(
    "probe", "opsctl.probes", Probe, name_of=lambda probe: probe.name
)

# the built-ins, imported when first asked for (third parties' entry points follow)
for _name, _reference in (
    ("postgres", "monitoring.probes_postgres:POSTGRES"),
    ("orthanc", "monitoring.probes_orthanc:ORTHANC"),
    ("http", "monitoring.probes_http:HTTP"),
    ("agent", "monitoring.probes_agent:AGENT"),
):
    PROBES.register_reference(_name, _reference)

__all__ = ["PROBES", "Probe", "ProbeResult", "ProbeTarget"]
