"""``opsctl-agent``: the host agent daemon, serving the host collectors on ``/metrics``.

Each scrape runs the collectors and renders them with agents/exposition.py (the text format with
headers and series prefixes cached, one scrape at a time, keep-alive and gzip).

Configuration: defaults, then ``--config FILE`` (``key = value`` lines, agents/config.py), then
flags. Logs are JSON lines on stderr. SIGTERM or SIGINT stops it (exit 0). Its import closure
is prometheus-client, psutil-free host collectors and ``opsctl.core.errors`` only: no pydantic,
YAML loader, SQLAlchemy, paramiko, pysnmp, boto3 or typer (tests/unit/test_layers.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric

from agents.base import (
    AgentCollector,
    CounterFamily,
    ErrorCounter,
    GaugeFamily,
    HostCollector,
    read_text,
)
from agents.collectors import (
    CpuCollector,
    DiskCollector,
    FilesystemCollector,
    LoadCollector,
    MdadmCollector,
    MemoryCollector,
    NetworkCollector,
    ProcessesCollector,
)
from agents.config import AgentConfig, check_collectors, check_listen, load_config_file
from agents.exposition import TextRenderer, serve
from agents.textfile import TextfileCollector
from agents.timesync import TimeCollector

# an error message logged once per (collector, message); later repeats only count
_LOGGED_LIMIT = 1000


def log_event(event: str, **fields: object) -> None:
    """Write one JSON line to stderr: time (UTC), event, and the given fields."""
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


class _ErrorLog:
    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def __call__(self, collector: str, what: str) -> None:
        with self._lock:
            if (collector, what) in self._seen or len(self._seen) >= _LOGGED_LIMIT:
                return
            self._seen.add((collector, what))
        log_event("collector_error", collector=collector, message=what)


def build_collectors(config: AgentConfig, errors: ErrorCounter) -> list[HostCollector]:
    """The host collectors ``config.collectors`` names, in that order, on the configured roots."""
    makers: dict[str, Callable[[], HostCollector]] = {
        "cpu": lambda: CpuCollector(config.proc_root),
        "loadavg": lambda: LoadCollector(config.proc_root),
        "meminfo": lambda: MemoryCollector(config.proc_root),
        "filesystem": lambda: FilesystemCollector(errors, config.proc_root, root_dir=config.root_dir),
        "diskstats": lambda: DiskCollector(config.proc_root),
        "netdev": lambda: NetworkCollector(config.proc_root),
        "processes": lambda: ProcessesCollector(config.proc_root),
        "timex": lambda: TimeCollector(),
        "mdadm": lambda: MdadmCollector(config.proc_root),
        "textfile": lambda: TextfileCollector(errors, config.textfile_dir),
    }
    return [makers[name]() for name in config.collectors]


class SelfCollector:
    """The agent's own ``process_*`` metrics, as prometheus-client's ``ProcessCollector`` names them.

    Cheaper than that collector, which the agent used before: one read of ``/proc/self/stat``,
    ``getrlimit`` instead of parsing ``/proc/self/limits``, and the open descriptors from the
    size of ``/proc/self/fd`` (Linux 6.2 and later report the count there; an older kernel
    reports 0, and then the directory is listed). The ``processes`` collector keeps a stat
    file open per process, so that listing would be as long as the process table.
    """

    def __init__(self, proc_root: str = "/proc") -> None:
        self.proc_root = proc_root
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.page_size = resource.getpagesize()
        try:
            boot_time = next((line.split()[1] for line in read_text(f"{proc_root}/stat").splitlines()
                              if line.startswith("btime ")), "0")
        except OSError:
            boot_time = "0"
        self.boot_time = float(boot_time)

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        """The six ``process_*`` families; none when ``/proc/self`` cannot be read (never an error)."""
        try:
            fields = read_text(f"{self.proc_root}/self/stat").rpartition(")")[2].split()
            descriptors = f"{self.proc_root}/self/fd"
            open_count = os.stat(descriptors).st_size or len(os.listdir(descriptors))
        except OSError:
            return
        yield GaugeFamily("process_virtual_memory_bytes", "Virtual memory size in bytes.", value=float(fields[20]))
        yield GaugeFamily("process_resident_memory_bytes", "Resident memory size in bytes.",
                          value=float(fields[21]) * self.page_size)
        yield GaugeFamily("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                          value=float(fields[19]) / self.ticks + self.boot_time)
        yield CounterFamily("process_cpu_seconds", "Total user and system CPU time spent in seconds.",
                            value=(float(fields[11]) + float(fields[12])) / self.ticks)
        yield GaugeFamily("process_open_fds", "Number of open file descriptors.", value=open_count)
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        yield GaugeFamily("process_max_fds", "Maximum number of open file descriptors.",
                          value=float("inf") if soft_limit == resource.RLIM_INFINITY else float(soft_limit))


class _InfoCollector:
    def __init__(self, version: str) -> None:
        self.version = version

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        info = GaugeFamily("opsctl_agent_build_info", "The agent's version; always 1.", labels=["version"])
        info.add_metric([self.version], 1)
        yield info


def build_registry(config: AgentConfig, errors: ErrorCounter | None = None) -> CollectorRegistry:
    """A registry serving the configured host collectors, the agent's own process and its version."""
    from opsctl import __version__

    registry = CollectorRegistry()
    errors = errors or ErrorCounter()
    registry.register(AgentCollector(build_collectors(config, errors), errors))
    registry.register(SelfCollector())  # the agent itself, always under /proc, whatever proc_root says
    registry.register(_InfoCollector(__version__))
    return registry


def parse_arguments(argv: list[str] | None) -> AgentConfig:
    """Flags over the ``--config`` file over defaults; exits through argparse (code 2) on a bad one."""
    from opsctl import __version__
    from opsctl.core.errors import ConfigError

    parser = argparse.ArgumentParser(prog="opsctl-agent", description="opsctl host agent: /metrics for this host")
    parser.add_argument("--version", action="version", version=f"opsctl-agent {__version__}")
    parser.add_argument("--config", help="a key = value file (listen, textfile_dir, collectors, proc_root, root_dir)")
    parser.add_argument("--listen", help="HOST:PORT for /metrics (default 127.0.0.1:9101)")
    parser.add_argument("--textfile-dir", help="directory of *.prom files (default /var/lib/prometheus/node-exporter)")
    parser.add_argument("--collectors", help="comma-separated collectors to run (default: all)")
    parser.add_argument("--proc-root", help="where procfs is mounted (default /proc)")
    parser.add_argument("--root-dir", help="where the host's root filesystem is seen (default /)")
    args = parser.parse_args(argv)
    config = AgentConfig()
    if args.config:
        try:
            config = load_config_file(args.config, config)
        except ConfigError as error:
            parser.error(str(error))
    if args.listen:
        problem = check_listen(args.listen)
        if problem:
            parser.error(f"--listen {problem}")
        config = replace(config, listen=args.listen)
    if args.collectors:
        names, problem = check_collectors(args.collectors)
        if problem:
            parser.error(f"--collectors: {problem}")
        config = replace(config, collectors=names)
    if args.textfile_dir:
        config = replace(config, textfile_dir=args.textfile_dir)
    if args.proc_root:
        config = replace(config, proc_root=args.proc_root)
    if args.root_dir:
        config = replace(config, root_dir=args.root_dir)
    return config


def main(argv: list[str] | None = None) -> int:
    """Serve ``/metrics`` until SIGTERM or SIGINT; return 0, or 1 if the address cannot be bound."""
    from opsctl import __version__

    config = parse_arguments(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    registry = build_registry(config, ErrorCounter(on_error=_ErrorLog()))
    host, port = config.address
    try:
        renderer = TextRenderer()
        server, _thread = serve(host, port, lambda: renderer.render(registry.collect()))
    except OSError as error:
        log_event("error", message=f"cannot listen on {config.listen}: {error.strerror}")
        return 1
    log_event("listening", address=config.listen, version=__version__, collectors=list(config.collectors),
              textfile_dir=config.textfile_dir)
    stop.wait()
    server.shutdown()
    log_event("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
