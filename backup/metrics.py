"""The ``opsctl_backup_*`` metrics, written for node_exporter's textfile collector.

One file per policy (``opsctl_backup_<policy>.prom`` in ``backup.textfile_dir``), written
atomically by prometheus-client's :func:`~prometheus_client.write_to_textfile` from a registry
of the policy's own, after every run, a failed or misconfigured one included. Values that
outlive a run (the last success) come from the state store, so a failed run keeps them.
Names follow Prometheus's conventions and DESIGN.md's contract names
(``opsctl_backup_last_success_timestamp_seconds{policy}``,
``opsctl_backup_snapshot_age_seconds{policy,repository}``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: a run needs prometheus-client only once restic is done
    from prometheus_client import CollectorRegistry

METRIC_FAMILIES = (
    "opsctl_backup_last_success_timestamp_seconds",
    "opsctl_backup_last_run_timestamp_seconds",
    "opsctl_backup_last_run_success",
    "opsctl_backup_last_run_duration_seconds",
    "opsctl_backup_last_run_added_bytes",
    "opsctl_backup_last_run_files",
    "opsctl_backup_snapshot_age_seconds",
    "opsctl_backup_rpo_seconds",
    "opsctl_backup_last_check_success",
    "opsctl_backup_pacs_downtime_seconds",
    "opsctl_backup_offsite_last_success_timestamp_seconds",
    "opsctl_backup_offsite_last_copy_timestamp_seconds",
    "opsctl_backup_offsite_last_copy_success",
)
"""Every family this module writes (the monitoring catalogue may list them)."""


@dataclass(frozen=True)
class PolicyMetrics:
    """What one policy's file says after a run.

    ``last_success`` and ``latest_snapshot`` are None when there never was one (the gauges
    are then left out, which an ``absent()`` rule sees); ``repository`` None for a run that
    failed before its repository was known (misconfiguration). ``has_run`` False leaves the
    last run's gauges out (a copy or check republishing a policy that never ran); ages are
    measured at ``written_at`` (default: ``run_finished``). The ``offsite_*`` fields are the
    off-site copy's (``offsite_repository`` None: the policy has none).
    """

    policy: str
    run_finished: datetime
    run_ok: bool
    run_duration_seconds: float = 0.0
    added_bytes: int = 0
    files: int = 0
    last_success: datetime | None = None
    repository: str | None = None
    latest_snapshot: datetime | None = None
    rpo_seconds: float | None = None
    last_check_ok: bool | None = None
    pacs_downtime_seconds: float | None = None  # the run stopped the PACS this long (Orthanc hook)
    has_run: bool = True
    written_at: datetime | None = None
    offsite_repository: str | None = None
    offsite_latest_snapshot: datetime | None = None
    offsite_last_success: datetime | None = None
    offsite_last_copy: datetime | None = None
    offsite_last_copy_ok: bool | None = None


def metrics_path(textfile_dir: Path, policy: str) -> Path:
    """The policy's textfile: ``opsctl_backup_<policy>.prom`` (policy names are file-name safe)."""
    return textfile_dir / f"opsctl_backup_{policy}.prom"


def registry_for(metrics: PolicyMetrics) -> CollectorRegistry:
    """A registry holding the policy's gauges (pure: nothing is written)."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry(auto_describe=True)
    policy = metrics.policy

    def gauge(name: str, documentation: str, value: float, **labels: str) -> None:
        family = Gauge(name, documentation, labelnames=["policy", *labels], registry=registry)
        family.labels(policy=policy, **labels).set(value)

    if metrics.has_run:
        gauge("opsctl_backup_last_run_timestamp_seconds", "When the policy's last backup run ended (Unix time).",
              metrics.run_finished.timestamp())
        gauge("opsctl_backup_last_run_success", "Whether the policy's last backup run succeeded (1) or not (0).",
              1.0 if metrics.run_ok else 0.0)
        gauge("opsctl_backup_last_run_duration_seconds", "How long the policy's last backup run took.",
              metrics.run_duration_seconds)
        gauge("opsctl_backup_last_run_added_bytes", "Bytes the policy's last backup run added to its repository.",
              float(metrics.added_bytes))
        gauge("opsctl_backup_last_run_files", "Files the policy's last backup run processed.", float(metrics.files))
    written_at = metrics.written_at or metrics.run_finished
    if metrics.last_success is not None:
        gauge("opsctl_backup_last_success_timestamp_seconds",
              "When the policy's last successful backup run ended (Unix time).", metrics.last_success.timestamp())
    ages: list[tuple[str, datetime]] = []
    if metrics.latest_snapshot is not None and metrics.repository is not None:
        ages.append((metrics.repository, metrics.latest_snapshot))
    if metrics.offsite_latest_snapshot is not None and metrics.offsite_repository is not None:
        ages.append((metrics.offsite_repository, metrics.offsite_latest_snapshot))
    if ages:
        family = Gauge("opsctl_backup_snapshot_age_seconds",
                       "Age of the policy's newest good snapshot in the repository when the file was written.",
                       labelnames=["policy", "repository"], registry=registry)
        for repository, taken_at in ages:
            family.labels(policy=policy, repository=repository).set(
                max(0.0, (written_at - taken_at).total_seconds()))
    if metrics.rpo_seconds is not None:
        gauge("opsctl_backup_rpo_seconds", "The policy's recovery point objective.", metrics.rpo_seconds)
    if metrics.last_check_ok is not None and metrics.repository is not None:
        gauge("opsctl_backup_last_check_success", "Whether the last restic check of the repository found no error.",
              1.0 if metrics.last_check_ok else 0.0, repository=metrics.repository)
    if metrics.pacs_downtime_seconds is not None:
        gauge("opsctl_backup_pacs_downtime_seconds", "How long the policy's last run kept the PACS stopped.",
              metrics.pacs_downtime_seconds)
    if metrics.offsite_repository is not None:
        if metrics.offsite_last_success is not None:
            gauge("opsctl_backup_offsite_last_success_timestamp_seconds",
                  "When the policy's last successful off-site copy ended (Unix time).",
                  metrics.offsite_last_success.timestamp())
        if metrics.offsite_last_copy is not None and metrics.offsite_last_copy_ok is not None:
            gauge("opsctl_backup_offsite_last_copy_timestamp_seconds",
                  "When the policy's last off-site copy ended (Unix time).", metrics.offsite_last_copy.timestamp())
            gauge("opsctl_backup_offsite_last_copy_success",
                  "Whether the policy's last off-site copy succeeded (1) or not (0).",
                  1.0 if metrics.offsite_last_copy_ok else 0.0)
    return registry


def write_policy_metrics(textfile_dir: Path, metrics: PolicyMetrics) -> Path:
    """Write the policy's textfile atomically (creating ``textfile_dir``); return its path.

    Raise OSError when the directory cannot be written.
    """
    textfile_dir.mkdir(parents=True, exist_ok=True)
    path = metrics_path(textfile_dir, metrics.policy)
    from prometheus_client import write_to_textfile

    write_to_textfile(str(path), registry_for(metrics))
    return path


DRILL_METRIC_FAMILIES = (
    "opsctl_drill_last_run_timestamp_seconds",
    "opsctl_drill_last_run_success",
    "opsctl_drill_last_success_timestamp_seconds",
    "opsctl_drill_rto_seconds",
    "opsctl_drill_rpo_seconds",
)
"""Every family :func:`write_drill_metrics` writes."""


@dataclass(frozen=True)
class DrillMetrics:
    """What one policy's drill file says after a drill: the drill's end and verdict, the last
    passed drill (None: never, the gauge left out for ``absent()``), and the measured RTO and
    RPO (None when the drill never measured them)."""

    policy: str
    run_finished: datetime
    run_ok: bool
    last_success: datetime | None = None
    rto_seconds: float | None = None
    rpo_seconds: float | None = None


def drill_metrics_path(textfile_dir: Path, policy: str) -> Path:
    """The policy's drill textfile: ``opsctl_drill_<policy>.prom``."""
    return textfile_dir / f"opsctl_drill_{policy}.prom"


def drill_registry_for(metrics: DrillMetrics) -> CollectorRegistry:
    """A registry holding the policy's drill gauges (pure)."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry(auto_describe=True)

    def gauge(name: str, documentation: str, value: float) -> None:
        Gauge(name, documentation, labelnames=["policy"], registry=registry).labels(policy=metrics.policy).set(value)

    gauge("opsctl_drill_last_run_timestamp_seconds", "When the policy's last restore drill ended (Unix time).",
          metrics.run_finished.timestamp())
    gauge("opsctl_drill_last_run_success", "Whether the policy's last restore drill passed (1) or not (0).",
          1.0 if metrics.run_ok else 0.0)
    if metrics.last_success is not None:
        gauge("opsctl_drill_last_success_timestamp_seconds",
              "When the policy's last passed restore drill ended (Unix time).", metrics.last_success.timestamp())
    if metrics.rto_seconds is not None:
        gauge("opsctl_drill_rto_seconds", "The recovery time the policy's last drill measured.", metrics.rto_seconds)
    if metrics.rpo_seconds is not None:
        gauge("opsctl_drill_rpo_seconds", "The age of the data the policy's last drill restored.",
              metrics.rpo_seconds)
    return registry


def write_drill_metrics(textfile_dir: Path, metrics: DrillMetrics) -> Path:
    """Write the policy's drill textfile atomically (creating ``textfile_dir``); return its path.

    Raise OSError when the directory cannot be written.
    """
    textfile_dir.mkdir(parents=True, exist_ok=True)
    path = drill_metrics_path(textfile_dir, metrics.policy)
    from prometheus_client import write_to_textfile

    write_to_textfile(str(path), drill_registry_for(metrics))
    return path


def published_timestamp(path: Path, family: str) -> datetime | None:
    """The Unix-time value of ``family`` in the textfile at ``path`` (the first sample), or None
    when the file or the family is missing or unreadable: what a failed run keeps publishing."""
    prefix = f"{family}{{"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(prefix):
            with contextlib.suppress(ValueError, OverflowError, OSError):
                return datetime.fromtimestamp(float(line.rsplit(" ", 1)[1]), UTC)
    return None


__all__ = [
    "DRILL_METRIC_FAMILIES",
    "METRIC_FAMILIES",
    "DrillMetrics",
    "PolicyMetrics",
    "drill_metrics_path",
    "drill_registry_for",
    "metrics_path",
    "published_timestamp",
    "registry_for",
    "write_drill_metrics",
    "write_policy_metrics",
]
