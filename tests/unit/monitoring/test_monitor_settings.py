"""The ``monitoring:`` section: probes added by ``conf.d/`` fragments, each service its own, and a
wrong probe refused before anything runs, naming the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitoring.settings import monitoring_settings
from monitoring.sources import ProbeSource, probe_sources
from opsctl.core.config import load_settings
from opsctl.core.errors import ConfigError
from opsctl.core.settings import Settings


def _load(config: Path) -> Settings:
    none = config.parent / "none.yaml"
    return load_settings(config, environ={}, system_file=none, user_file=none)


def test_each_conf_d_fragment_adds_its_probes(tmp_path: Path) -> None:
    config = tmp_path / "opsctl.yaml"
    config.write_text("monitoring:\n  probe_interval_seconds: 20\n  probes:\n"
                      "    portal: {type: http, url: 'https://portal.example.org/'}\n")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "20-his.yaml").write_text(
        "monitoring:\n  probes:\n    his-db: {type: postgres, host: db1, address: 10.0.0.5, database: his,"
        " user: monitor, password: 'file:/etc/opsctl/secrets/monitor-db', interval_seconds: 60}\n")
    (tmp_path / "conf.d" / "30-pacs.yaml").write_text(
        "monitoring:\n  probes:\n    pacs: {type: orthanc, url: 'http://10.0.0.7:8042', username: monitor,"
        " password: 'env:PACS_PASSWORD', dicom_port: 4242}\n")
    settings = _load(config)
    assert sorted(monitoring_settings(settings).probes) == ["his-db", "pacs", "portal"]
    sources = {source.name: source for source in probe_sources(settings) if isinstance(source, ProbeSource)}
    assert {name: source.interval_seconds for name, source in sources.items()} == {
        "portal": 20.0, "his-db": 60.0, "pacs": 20.0}
    his = sources["his-db"]
    assert (his.target.host, his.target.address, his.target.port) == ("db1", "10.0.0.5", None)
    # the password stays a reference until the probe runs
    assert his.target.options["password"] == "file:/etc/opsctl/secrets/monitor-db"
    assert sources["pacs"].target.address == "10.0.0.7"


@pytest.mark.parametrize(("probe", "message"), [
    ("{type: orthanc, username: monitor}", "an orthanc probe needs url"),
    ("{type: postgres, database: his}", "a postgres probe needs address"),
    ("{type: ftp, url: 'ftp://files'}", "type"),
    ("{type: postgres, address: db1, password: hunter2-canary}", "password"),
])
def test_a_wrong_probe_is_refused_naming_file_line_and_key(tmp_path: Path, probe: str, message: str) -> None:
    config = tmp_path / "opsctl.yaml"
    config.write_text("monitoring:\n  probes:\n    broken: " + probe + "\n")
    with pytest.raises(ConfigError) as caught:
        _load(config)
    text = str(caught.value)
    assert text.startswith(f"{config}:3: monitoring.probes.broken"), text
    assert message in text and "hunter2-canary" not in text
