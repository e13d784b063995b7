"""The one catalogue of metric families opsctl exposes (DESIGN.md, "Metrics and alerting").

Every family any producer of opsctl exposes is listed here with its type, unit, labels, help
and producers: ``agent`` (opsctl-agent's ``/metrics``), ``poller`` (the SNMP poller and NUT),
``probes`` (the application probes), ``monitor`` (``opsctl monitor serve``'s own health),
``backup`` (the backup and drill textfiles the agent serves) and ``prometheus`` (``up``, which
Prometheus records for every scrape). Alert rules may name these and no other. The poller and
the probes build their families from here; the agent cannot import ``monitoring`` (its import
closure is guarded), so a test scrapes a real agent and checks what it serves against this
list, as other tests do for the daemon, ``monitor once`` against the lab and the textfiles
(tests/unit/monitoring/test_catalogue_*.py, tests/integration/test_catalogue_lab.py); the
README's table is :func:`markdown_table`'s output, checked by a test.

Names follow the Prometheus conventions: base units (seconds, bytes, volts, celsius, ratios
for percentages) as the name's last word, ``_total`` on a counter's samples (not in the
family's name here), ``_info`` on an info family's gauge (value 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

# every series of a polled device carries these, from its inventory record
DEVICE_LABELS = ("device", "role", "site", "rack")
# every series of a probe carries these (monitoring.sources)
PROBE_LABELS = ("probe", "type", "host")
PRODUCERS: Mapping[str, str] = MappingProxyType({
    "agent": "opsctl-agent's /metrics (agents/)",
    "poller": "the SNMP poller and NUT (monitoring/poller/, monitoring/nut.py) in `monitor serve` and `monitor once`",
    "probes": "the application probes (monitoring/probes_*.py) in `monitor serve` and `monitor once`",
    "monitor": "`opsctl monitor serve`'s own health (monitoring/daemon.py)",
    "backup": "the backup and drill textfiles (backup/metrics.py), served by the agent's textfile collector",
    "prometheus": "Prometheus itself, for every target it scrapes",
})
# a name's last word that is a unit (Prometheus's base units, and what opsctl adds)
UNITS = ("seconds", "bytes", "ratio", "celsius", "volts", "amperes", "watts", "rpm")


@dataclass(frozen=True)
class Family:
    """One metric family: its name (without the ``_total`` a counter's samples add), type, help,
    labels, and the producers that expose it."""

    name: str
    type: str  # gauge | counter | info (exposed as a gauge named *_info)
    help: str
    labels: tuple[str, ...]
    producers: tuple[str, ...] = ("poller",)

    @property
    def unit(self) -> str:
        """The unit its name ends in (``seconds``, ``bytes``, ...), or ``""`` for a count or a state."""
        last = self.name.rpartition("_")[2]
        return last if last in UNITS else ""

    @property
    def exposed_name(self) -> str:
        """The family's name in an exposition's ``# TYPE`` line (an info family's gauge ends in ``_info``)."""
        return f"{self.name}_info" if self.type == "info" else self.name

    @property
    def exposed_type(self) -> str:
        """Its type in an exposition's ``# TYPE`` line (an info family is a gauge)."""
        return "gauge" if self.type == "info" else self.type


def _device(name: str, type_: str, help_: str, *extra: str) -> Family:
    return Family(name, type_, help_, (*DEVICE_LABELS, *extra))


_POLLER = (
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


def _of(producers: tuple[str, ...], entries: Iterable[tuple[str, str, tuple[str, ...], str]]) -> tuple[Family, ...]:
    return tuple(Family(name, type_, help_, labels, producers) for name, type_, labels, help_ in entries)


_FS = ("device", "fstype", "mountpoint")
# (diskstats column's name after node_disk_, help): node_exporter's names, as the agent gives them
_DISK_COUNTERS = (
    ("reads_completed", "The total number of reads completed successfully."),
    ("reads_merged", "The total number of reads merged."),
    ("read_bytes", "The total number of bytes read successfully."),
    ("read_time_seconds", "The total number of seconds spent by all reads."),
    ("writes_completed", "The total number of writes completed successfully."),
    ("writes_merged", "The number of writes merged."),
    ("written_bytes", "The total number of bytes written successfully."),
    ("write_time_seconds", "This is the total number of seconds spent by all writes."),
    ("io_time_seconds", "Total seconds spent doing I/Os."),
    ("io_time_weighted_seconds", "The weighted number of seconds spent doing I/Os."),
    ("discards_completed", "The total number of discards completed successfully."),
    ("discards_merged", "The total number of discards merged."),
    ("discarded_sectors", "The total number of sectors discarded successfully."),
    ("discard_time_seconds", "This is the total number of seconds spent by all discards."),
    ("flush_requests", "The total number of flush requests completed successfully"),
    ("flush_requests_time_seconds", "This is the total number of seconds spent by all flush requests."),
)
# /proc/net/dev's columns, per direction
_NETWORK_COUNTERS = {
    "receive": ("bytes", "packets", "errs", "drop", "fifo", "frame", "compressed", "multicast"),
    "transmit": ("bytes", "packets", "errs", "drop", "fifo", "colls", "carrier", "compressed"),
}
# (name after opsctl_agent_memory_, the /proc/meminfo field): the fields of the kernel
# tests/fixtures/agent/debian12-vm was recorded on (the agent serves every field it finds: another
# kernel's extra fields are not catalogued); sizes end in _bytes, counts (HugePages_*) do not
_MEMINFO = (
    ("active_anon_bytes", "Active_anon"), ("active_bytes", "Active"), ("active_file_bytes", "Active_file"),
    ("anon_huge_pages_bytes", "AnonHugePages"), ("anon_pages_bytes", "AnonPages"), ("balloon_bytes", "Balloon"),
    ("bounce_bytes", "Bounce"), ("buffers_bytes", "Buffers"), ("cached_bytes", "Cached"),
    ("commit_limit_bytes", "CommitLimit"), ("committed_as_bytes", "Committed_AS"),
    ("direct_map1g_bytes", "DirectMap1G"), ("direct_map2m_bytes", "DirectMap2M"),
    ("direct_map4k_bytes", "DirectMap4k"), ("dirty_bytes", "Dirty"), ("file_huge_pages_bytes", "FileHugePages"),
    ("file_pmd_mapped_bytes", "FilePmdMapped"), ("huge_pages", "HugePages_Total"),
    ("huge_pages_free", "HugePages_Free"), ("huge_pages_rsvd", "HugePages_Rsvd"),
    ("huge_pages_surp", "HugePages_Surp"), ("hugepagesize_bytes", "Hugepagesize"), ("hugetlb_bytes", "Hugetlb"),
    ("inactive_anon_bytes", "Inactive_anon"), ("inactive_bytes", "Inactive"),
    ("inactive_file_bytes", "Inactive_file"), ("kernel_stack_bytes", "KernelStack"),
    ("kreclaimable_bytes", "KReclaimable"), ("mapped_bytes", "Mapped"), ("mem_available_bytes", "MemAvailable"),
    ("mem_free_bytes", "MemFree"), ("mem_total_bytes", "MemTotal"), ("mlocked_bytes", "Mlocked"),
    ("nfs_unstable_bytes", "NFS_Unstable"), ("page_tables_bytes", "PageTables"), ("percpu_bytes", "Percpu"),
    ("secondary_page_tables_bytes", "SecPageTables"), ("shmem_bytes", "Shmem"),
    ("shmem_huge_pages_bytes", "ShmemHugePages"), ("shmem_pmd_mapped_bytes", "ShmemPmdMapped"),
    ("slab_bytes", "Slab"), ("sreclaimable_bytes", "SReclaimable"), ("sunreclaim_bytes", "SUnreclaim"),
    ("swap_cached_bytes", "SwapCached"), ("swap_free_bytes", "SwapFree"), ("swap_total_bytes", "SwapTotal"),
    ("unevictable_bytes", "Unevictable"), ("vmalloc_chunk_bytes", "VmallocChunk"),
    ("vmalloc_total_bytes", "VmallocTotal"), ("vmalloc_used_bytes", "VmallocUsed"),
    ("writeback_bytes", "Writeback"), ("writeback_tmp_bytes", "WritebackTmp"), ("zswap_bytes", "Zswap"),
    ("zswapped_bytes", "Zswapped"),
)

_AGENT = _of(("agent",), (
    ("node_cpu_seconds", "counter", ("cpu", "mode"), "Seconds each CPU spent in each mode."),
    ("node_load1", "gauge", (), "1m load average."),
    ("node_load5", "gauge", (), "5m load average."),
    ("node_load15", "gauge", (), "15m load average."),
    *((f"opsctl_agent_memory_{name}", "gauge", (),
       f"/proc/meminfo {field}{', in bytes' if name.endswith('_bytes') else ''}.") for name, field in _MEMINFO),
    ("node_filesystem_size_bytes", "gauge", _FS, "Filesystem size in bytes."),
    ("node_filesystem_free_bytes", "gauge", _FS, "Filesystem free space in bytes."),
    ("node_filesystem_avail_bytes", "gauge", _FS, "Filesystem space available to non-root users in bytes."),
    ("node_filesystem_files", "gauge", _FS, "Filesystem total file nodes."),
    ("node_filesystem_files_free", "gauge", _FS, "Filesystem total free file nodes."),
    ("node_filesystem_readonly", "gauge", _FS, "1 if the filesystem is mounted read-only."),
    ("node_filesystem_device_error", "gauge", _FS, "1 if there was an error getting information for the filesystem."),
    ("opsctl_agent_filesystem_time_to_full_seconds", "gauge", _FS,
     "Seconds until the filesystem's available space runs out at its recent fill rate; absent when not filling."),
    ("node_disk_io_now", "gauge", ("device",), "The number of I/Os currently in progress."),
    *((f"node_disk_{name}", "counter", ("device",), help_) for name, help_ in _DISK_COUNTERS),
    *((f"node_network_{direction}_{column}", "counter", ("device",),
       f"Network device statistic {direction}_{column}.")
      for direction, columns in _NETWORK_COUNTERS.items() for column in columns),
    ("node_processes_state", "gauge", ("state",), "Number of processes in each state."),
    ("node_processes_pids", "gauge", (), "Number of PIDs."),
    ("node_processes_threads", "gauge", (), "Allocated threads in system."),
    ("node_forks", "counter", (), "Total number of forks."),
    ("node_context_switches", "counter", (), "Total number of context switches."),
    ("node_intr", "counter", (), "Total number of interrupts serviced."),
    ("node_boot_time_seconds", "gauge", (), "Node boot time, in unixtime."),
    ("node_procs_running", "gauge", (), "Number of processes in runnable state."),
    ("node_procs_blocked", "gauge", (), "Number of processes blocked waiting for I/O to complete."),
    ("node_time_seconds", "gauge", (), "System time in seconds since epoch (1970)."),
    ("node_timex_sync_status", "gauge", (), "Is clock synchronized to a reliable server (1 = yes, 0 = no)."),
    ("node_timex_offset_seconds", "gauge", (), "Time offset in between local system and reference clock."),
    ("node_timex_frequency_adjustment_ratio", "gauge", (), "Local clock frequency adjustment."),
    ("node_timex_maxerror_seconds", "gauge", (), "Maximum error in seconds."),
    ("node_timex_estimated_error_seconds", "gauge", (), "Estimated error in seconds."),
    ("node_timex_status", "gauge", (), "Value of the status array bits."),
    ("node_timex_tai_offset_seconds", "gauge", (), "International Atomic Time (TAI) offset."),
    ("node_md_state", "gauge", ("device", "state"), "Indicates the state of md-device."),
    ("node_md_disks", "gauge", ("device", "state"), "Number of active/failed/spare/missing disks of device."),
    ("node_md_disks_required", "gauge", ("device",), "Total number of disks of device."),
    ("node_md_blocks", "gauge", ("device",), "Total number of blocks on device."),
    ("node_md_blocks_synced", "gauge", ("device",), "Number of blocks synced on device."),
    ("opsctl_agent_md_degraded", "gauge", ("device",), "1 if the active array runs with fewer disks than it needs."),
    ("opsctl_agent_md_sync_progress_ratio", "gauge", ("device", "action"),
     "Progress of the running recovery, resync, reshape, check or repair (0 to 1)."),
    ("node_textfile_mtime_seconds", "gauge", ("file",), "Unixtime mtime of textfiles successfully read."),
    ("node_textfile_scrape_error", "gauge", (), "1 if there was an error opening or reading a file, 0 otherwise."),
    ("opsctl_agent_textfile_errors", "counter", ("file",),
     "Times each textfile was skipped for an error since the agent started."),
    ("opsctl_agent_collector_errors", "counter", ("collector",),
     "Errors each collector met reading its sources since the agent started."),
    ("opsctl_agent_scrape_collector_duration_seconds", "gauge", ("collector",),
     "Time each collector took in this scrape."),
    ("opsctl_agent_scrape_collector_success", "gauge", ("collector",),
     "1 if the collector finished this scrape, 0 if it raised."),
    ("opsctl_agent_build_info", "gauge", ("version",), "The agent's version; always 1."),
))

# prometheus-client's ProcessCollector, in the agent and in `monitor serve`
_PROCESS = _of(("agent", "monitor"), (
    ("process_cpu_seconds", "counter", (), "Total user and system CPU time spent in seconds."),
    ("process_virtual_memory_bytes", "gauge", (), "Virtual memory size in bytes."),
    ("process_resident_memory_bytes", "gauge", (), "Resident memory size in bytes."),
    ("process_start_time_seconds", "gauge", (), "Start time of the process since unix epoch in seconds."),
    ("process_open_fds", "gauge", (), "Number of open file descriptors."),
    ("process_max_fds", "gauge", (), "Maximum number of open file descriptors."),
))

_PROBES = _of(("probes",), ((name, "gauge", PROBE_LABELS, help_) for name, help_ in (
    ("opsctl_probe_success", "1 if the probe's target answered as it should in the last pass, else 0."),
    ("opsctl_probe_duration_seconds", "How long the last pass of the probe took."),
    ("opsctl_probe_postgres_connections", "Connections to the PostgreSQL server (pg_stat_database numbackends)."),
    ("opsctl_probe_postgres_max_connections", "The PostgreSQL server's max_connections."),
    ("opsctl_probe_postgres_in_recovery", "1 on a standby (pg_is_in_recovery), 0 on a primary."),
    ("opsctl_probe_postgres_replication_lag_seconds",
     "Seconds a standby's replay is behind; absent on a primary and on a standby that does not stream."),
    ("opsctl_probe_postgres_wal_receiver_streaming",
     "1 if a standby's WAL receiver streams from its primary, else 0; absent on a primary."),
    ("opsctl_probe_postgres_database_size_bytes", "Size of the probed database."),
    ("opsctl_probe_postgres_longest_transaction_seconds", "Age of the oldest open transaction the probe role can see."),
    ("opsctl_probe_orthanc_instances", "DICOM instances Orthanc stores (/statistics)."),
    ("opsctl_probe_orthanc_studies", "Studies Orthanc stores (/statistics)."),
    ("opsctl_probe_orthanc_disk_size_bytes", "Disk space Orthanc's storage takes (/statistics TotalDiskSize)."),
    ("opsctl_probe_orthanc_dicom_echo_success", "1 if Orthanc answered the DICOM C-ECHO, else 0."),
    ("opsctl_probe_orthanc_dicom_echo_duration_seconds", "How long the DICOM C-ECHO took."),
    ("opsctl_probe_http_status_code", "The HTTP status the endpoint answered."),
    ("opsctl_probe_tls_certificate_expiry_timestamp_seconds", "When the endpoint's TLS certificate expires (notAfter)."),
    ("opsctl_probe_tls_chain_verified", "1 if the certificate chain verified against the CA store, else 0."),
    ("opsctl_probe_agent_load_per_cpu", "The host's 1-minute load average divided by its CPUs."),
    ("opsctl_probe_agent_memory_used_ratio", "Share of the host's memory in use (1 - available/total)."),
    ("opsctl_probe_agent_fullest_filesystem_used_ratio", "Share of the host's fullest filesystem in use."),
    ("opsctl_probe_agent_md_degraded_arrays", "md RAID arrays on the host that are degraded."),
    ("opsctl_probe_agent_md_failed_disks", "Failed disks in the host's md RAID arrays."),
    ("opsctl_probe_agent_cpu_busy_ratio", "Share of the host's CPU time not idle between the probe's last two scrapes."),
    ("opsctl_probe_agent_fullest_filesystem_time_to_full_seconds",
     "Seconds until the host's fullest filesystem is full at its recent fill rate; absent when not filling."),
    ("opsctl_probe_agent_md_arrays", "md RAID arrays on the host."),
    ("opsctl_probe_agent_md_syncing_arrays", "md RAID arrays on the host recovering or resyncing."),
    ("opsctl_probe_agent_md_sync_progress_ratio", "Progress of the least advanced md recovery or resync (0 to 1)."),
)))

_MONITOR = _of(("monitor",), (
    ("opsctl_monitor_source_errors", "counter", ("source",), "Passes of each source that raised, since the daemon started."),
    ("opsctl_monitor_source_up", "gauge", ("source",), "1 if the source's last pass finished, 0 if it raised or has not run."),
    ("opsctl_monitor_source_duration_seconds", "gauge", ("source",), "How long each source's last pass took."),
    ("opsctl_monitor_source_last_success_timestamp_seconds", "gauge", ("source",),
     "When each source last finished a pass."),
    ("opsctl_monitor_build_info", "gauge", ("version",), "The daemon's version; always 1."),
))

# backup/metrics.py: one file per policy (opsctl_backup_<policy>.prom, opsctl_drill_<policy>.prom)
_BACKUP = _of(("backup",), (
    ("opsctl_backup_last_run_timestamp_seconds", "gauge", ("policy",), "When the policy's last backup run ended (Unix time)."),
    ("opsctl_backup_last_run_success", "gauge", ("policy",), "Whether the policy's last backup run succeeded (1) or not (0)."),
    ("opsctl_backup_last_run_duration_seconds", "gauge", ("policy",), "How long the policy's last backup run took."),
    ("opsctl_backup_last_run_added_bytes", "gauge", ("policy",), "Bytes the policy's last backup run added to its repository."),
    ("opsctl_backup_last_run_files", "gauge", ("policy",), "Files the policy's last backup run processed."),
    ("opsctl_backup_last_success_timestamp_seconds", "gauge", ("policy",),
     "When the policy's last successful backup run ended (Unix time)."),
    ("opsctl_backup_snapshot_age_seconds", "gauge", ("policy", "repository"),
     "Age of the policy's newest good snapshot in the repository when the file was written."),
    ("opsctl_backup_rpo_seconds", "gauge", ("policy",), "The policy's recovery point objective."),
    ("opsctl_backup_last_check_success", "gauge", ("policy", "repository"),
     "Whether the last restic check of the repository found no error."),
    ("opsctl_backup_pacs_downtime_seconds", "gauge", ("policy",), "How long the policy's last run kept the PACS stopped."),
    ("opsctl_backup_offsite_last_success_timestamp_seconds", "gauge", ("policy",),
     "When the policy's last successful off-site copy ended (Unix time)."),
    ("opsctl_backup_offsite_last_copy_timestamp_seconds", "gauge", ("policy",),
     "When the policy's last off-site copy ended (Unix time)."),
    ("opsctl_backup_offsite_last_copy_success", "gauge", ("policy",),
     "Whether the policy's last off-site copy succeeded (1) or not (0)."),
    ("opsctl_drill_last_run_timestamp_seconds", "gauge", ("policy",), "When the policy's last restore drill ended (Unix time)."),
    ("opsctl_drill_last_run_success", "gauge", ("policy",), "Whether the policy's last restore drill passed (1) or not (0)."),
    ("opsctl_drill_last_success_timestamp_seconds", "gauge", ("policy",),
     "When the policy's last passed restore drill ended (Unix time)."),
    ("opsctl_drill_rto_seconds", "gauge", ("policy",), "The recovery time the policy's last drill measured."),
    ("opsctl_drill_rpo_seconds", "gauge", ("policy",), "The age of the data the policy's last drill restored."),
))

_PROMETHEUS = (Family("up", "gauge", "1 if Prometheus's last scrape of the target succeeded, else 0.",
                      ("job", "instance"), ("prometheus",)),)

_FAMILIES = (*_AGENT, *_PROCESS, *_POLLER, *_PROBES, *_MONITOR, *_BACKUP, *_PROMETHEUS)

FAMILIES: Mapping[str, Family] = MappingProxyType({family.name: family for family in _FAMILIES})


def family(name: str) -> Family:
    """The catalogue's family called ``name``; raise KeyError naming it if there is none."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"metric family {name!r} is not in the monitoring catalogue") from None


def families_of(producer: str) -> tuple[Family, ...]:
    """The families ``producer`` exposes, in catalogue order; raise KeyError for an unknown producer."""
    if producer not in PRODUCERS:
        raise KeyError(f"{producer!r} is not a producer of the monitoring catalogue (known: {', '.join(PRODUCERS)})")
    return tuple(entry for entry in FAMILIES.values() if producer in entry.producers)


def exposed_families(text: str) -> dict[str, tuple[str, set[tuple[str, ...]]]]:
    """Each family in a Prometheus text exposition, by its catalogue name (counters without
    ``_total``, info families without ``_info``): its type and the sorted label names of its samples.

    Raise ValueError if ``text`` is not an exposition.
    """
    from prometheus_client.parser import text_string_to_metric_families

    found: dict[str, tuple[str, set[tuple[str, ...]]]] = {}
    for metric in text_string_to_metric_families(text):
        name = metric.name
        if metric.type == "gauge" and name.endswith("_info") and FAMILIES.get(name.removesuffix("_info"),
                                                                             Family("", "", "", ())).type == "info":
            name = name.removesuffix("_info")
        found[name] = (metric.type, {tuple(sorted(sample.labels)) for sample in metric.samples})
    return found


def mismatches(families: Mapping[str, tuple[str, set[tuple[str, ...]]]], producers: Iterable[str]) -> list[str]:
    """What in ``families`` (from :func:`exposed_families`) the catalogue does not list for one of
    ``producers`` with that type and those labels, one line each; empty when everything matches."""
    wanted = set(producers)
    problems = []
    for name, (type_, label_sets) in sorted(families.items()):
        entry = FAMILIES.get(name)
        if entry is None:
            problems.append(f"{name}: not in the catalogue")
            continue
        if not wanted & set(entry.producers):
            problems.append(f"{name}: catalogued for {', '.join(entry.producers)}, exposed by {', '.join(sorted(wanted))}")
        if type_ != entry.exposed_type:
            problems.append(f"{name}: exposed as a {type_}, catalogued as a {entry.type}")
        problems += [f"{name}: exposed with labels {list(labels)}, catalogued with {list(entry.labels)}"
                     for labels in sorted(label_sets) if labels != tuple(sorted(entry.labels))]
    return problems


def markdown_table() -> str:
    """The catalogue as the README's Markdown table: one row per family, by producer then name."""
    rows = ["| family | type | unit | labels | producers | help |", "| --- | --- | --- | --- | --- | --- |"]
    for entry in sorted(FAMILIES.values(), key=lambda entry: (list(PRODUCERS).index(entry.producers[0]), entry.name)):
        sample = entry.exposed_name + ("_total" if entry.type == "counter" else "")
        rows.append(f"| `{sample}` | {entry.type} | {entry.unit} | {', '.join(entry.labels)} | "
                    f"{', '.join(entry.producers)} | {entry.help.replace('|', '/')} |")
    return "\n".join(rows) + "\n"


__all__ = ["DEVICE_LABELS", "FAMILIES", "PROBE_LABELS", "PRODUCERS", "Family", "exposed_families", "families_of",
           "family", "markdown_table", "mismatches"]
