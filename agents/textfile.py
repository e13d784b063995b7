"""The textfile collector: ``*.prom`` files in a directory served as node_exporter serves them.

Backups and other jobs write their metrics there (``opsctl_backup_*``, ``opsctl_drill_*``,
written atomically by rename). Every scrape reads every file afresh with
``prometheus_client.parser``. A file that does not parse, carries client-side timestamps, or
declares a family another file declared with a different type is skipped whole, named in
``opsctl_agent_textfile_errors_total{file}`` and in the log, and ``node_textfile_scrape_error``
is 1 for that scrape; the other files are served. Families of one name from several files are
merged into one (as node_exporter does), so the exposition never repeats a ``# TYPE``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from agents.base import CounterFamily, ErrorCounter, GaugeFamily, read_text

# the default of backup.textfile_dir, and node_exporter's --collector.textfile.directory on Debian
DEFAULT_TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"


class TextfileError(ValueError):
    """A ``*.prom`` file that cannot be served, with the reason."""


def parse_textfile(text: str) -> list[Metric]:
    """Given a file in the Prometheus text format, return its families; raise ``TextfileError``
    for a syntax error or a sample with a timestamp (node_exporter refuses those too)."""
    try:
        families = list(text_string_to_metric_families(text))
    except (ValueError, IndexError, KeyError) as error:
        raise TextfileError(f"syntax error: {error}") from error
    for family in families:
        for sample in family.samples:
            if sample.timestamp is not None:
                raise TextfileError(f"{sample.name} carries a client-side timestamp")
    return families


class TextfileCollector:
    """Serves the ``*.prom`` files of ``textfile_dir`` (not its subdirectories), merged by family.

    Also serves ``node_textfile_mtime_seconds{file}`` for every file that was read and
    ``node_textfile_scrape_error`` (1 if any file failed this scrape, or the directory could
    not be listed; a directory that does not exist yet is empty, not an error).
    """

    name = "textfile"

    def __init__(self, errors: ErrorCounter, textfile_dir: str | Path = DEFAULT_TEXTFILE_DIR) -> None:
        self.errors = errors
        self.textfile_dir = Path(textfile_dir)
        self._file_errors: dict[str, int] = {}

    def _fail(self, file: str, reason: str) -> None:
        self._file_errors[file] = self._file_errors.get(file, 0) + 1
        self.errors.count(self.name, f"{self.textfile_dir / file}: {reason}")

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        mtimes: list[tuple[str, float]] = []
        scrape_error = 0
        try:
            names = sorted(entry.name for entry in os.scandir(self.textfile_dir)
                           if entry.name.endswith(".prom") and entry.is_file())
        except FileNotFoundError:
            names = []
        except OSError as error:
            self.errors.count(self.name, f"{self.textfile_dir}: {error.strerror}")
            names, scrape_error = [], 1
        for name in names:
            path = self.textfile_dir / name
            try:
                mtime = path.stat().st_mtime
                families = parse_textfile(read_text(path))
                self._check_types(families, merged)
            except FileNotFoundError:
                continue  # replaced or removed between the listing and the read
            except (OSError, TextfileError) as error:
                self._fail(name, error.strerror if isinstance(error, OSError) and error.strerror else str(error))
                scrape_error = 1
                continue
            for family in families:
                if not family.documentation:
                    # as node_exporter does, so promtool finds help text on every family
                    family.documentation = f"Metric read from {path}"
                into = merged.get(family.name)
                if into is None:
                    merged[family.name] = family
                else:
                    into.samples.extend(family.samples)
            mtimes.append((name, mtime))
        yield from merged.values()
        mtime_family = GaugeFamily("node_textfile_mtime_seconds", "Unixtime mtime of textfiles successfully read.",
                                   labels=["file"])
        for name, mtime in mtimes:
            mtime_family.add_metric([name], mtime)
        yield mtime_family
        yield GaugeFamily("node_textfile_scrape_error",
                          "1 if there was an error opening or reading a file, 0 otherwise.", value=scrape_error)
        file_errors = CounterFamily("opsctl_agent_textfile_errors",
                                    "Times each textfile was skipped for an error since the agent started.",
                                    labels=["file"])
        for name, count in sorted(self._file_errors.items()):
            file_errors.add_metric([name], count)
        yield file_errors

    @staticmethod
    def _check_types(families: list[Metric], merged: dict[str, Metric]) -> None:
        for family in families:
            seen = merged.get(family.name)
            if seen is not None and seen.type != family.type:
                raise TextfileError(f"{family.name} is a {family.type} here but a {seen.type} in an earlier file")
