"""A ``conf.d/`` fragment that changes one threshold changes the state ``opsctl health`` reports:
the lab's UPS (on line, 40 minutes of runtime) read from its real upsd, collected once with a
copy of the lab's configuration, then with a fragment that wants an hour of runtime."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.integration.conftest import RunningLab
from tests.integration.fleetcli import Cli

pytestmark = pytest.mark.integration


def test_a_conf_d_fragment_that_wants_more_runtime_turns_the_lab_ups_warning(lab: RunningLab, tmp_path: Path) -> None:
    yaml = YAML(typ="safe")
    document = yaml.load(lab.publication.config_path.read_text())
    document["monitoring"].pop("endpoint")  # collect once, with this configuration's thresholds
    config = tmp_path / "etc" / "opsctl.yaml"
    config.parent.mkdir()
    with open(config, "w") as stream:
        yaml.dump(document, stream)
    cli = Cli.create(tmp_path, lab.publication.inventory_path)

    code, before = cli.json("-c", str(config), "health", "lab-ups@*")
    (config.parent / "conf.d").mkdir()
    (config.parent / "conf.d" / "50-ups.yaml").write_text(
        "monitoring:\n  thresholds:\n    ups_runtime_seconds: {warning: 3600}\n")
    code_after, after = cli.json("-c", str(config), "health", "lab-ups@*")

    assert (code, code_after) == (0, 0), (before, after)
    assert before["origin"] == after["origin"] == "collected once"
    assert [(r["state"], r["summary"]) for r in before["readings"]] == [("ok", "OL, charge 100%, runtime 40 min, load 23%")]
    assert [(r["state"], r["summary"]) for r in after["readings"]] == [
        ("warning", "OL, charge 100%, runtime 40 min, load 23%; runtime 2400 s ≤ 3600 s")]
