"""Secrets by reference everywhere, against the lab with the real ``opsctl``.

A literal SNMP community or v3 key in an inventory is refused (exit 2) and never printed, by
exports or by a scan; a ``file:`` reference of a targeted host that does not resolve stops the
whole command before anything runs or is recorded, while a broken reference of a host the
pattern leaves out does not matter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from fleetcli import Cli

from inventory import load_inventory
from opsctl.core.settings import Settings
from opsctl.core.state import StateStore

pytestmark = pytest.mark.integration

BROKEN = "file:/nonexistent/opsctl-secret"


def _audited_commands(cli: Cli) -> list[str]:
    done = cli("audit", "log", "--json")
    assert done.returncode == 0, done.stderr
    return [entry["command"] for entry in json.loads(done.stdout)["entries"]]


def _last_run(cli: Cli, kind: str) -> Any:
    with StateStore(Settings(state={"dir": cli.state_dir}).state.database_url) as store:
        return store.last_run(kind)


def _lab_snmp_device(lab: Any) -> tuple[str, dict[str, Any]]:
    """The lab's net-snmp device, with the variables that reach it over v2c (its community a random secret, by reference).

    (snmpsim's communities are the recordings' names, no secret.)
    """
    for host in load_inventory(lab.publication.inventory_path).select("all"):
        if str(host.vars.get("opsctl_snmp_community", "")).endswith("/snmp-community"):
            names = ("ansible_host", "opsctl_snmp_port", "opsctl_snmp_community", "opsctl_ssh")
            return host.name, {**{name: host.vars[name] for name in names if name in host.vars},
                               "opsctl_snmp_version": "2c"}  # it answers v3 too
    raise AssertionError("the lab publishes no v2c SNMP device")


def _write(path: Path, hosts: dict[str, dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    return path


@pytest.mark.parametrize("variable", ["opsctl_snmp_community", "opsctl_snmp_v3_auth_key", "opsctl_snmp_v3_priv_key"])
def test_a_literal_snmp_secret_is_refused_and_never_printed(lab: Any, tmp_path: Path, variable: str) -> None:
    name, variables = _lab_snmp_device(lab)
    literal = Path(variables["opsctl_snmp_community"].removeprefix("file:")).read_text().strip()  # the real one
    assert len(literal) >= 8
    if variable != "opsctl_snmp_community":
        variables = {**variables, "opsctl_snmp_version": "3", "opsctl_snmp_v3_user": "opsctl-lab"}
        del variables["opsctl_snmp_community"]
    inventory = _write(tmp_path / "literal.yaml", {name: {**variables, variable: literal}})
    cli = Cli.create(tmp_path, inventory)
    for args in [("inventory", "export", "ansible-json"), ("inventory", "export", "opsctl-json"),
                 ("inventory", "export", "ansible-ini"), ("inventory", "export", "prometheus-file-sd"),
                 ("inventory", "export", "nornir", "--output", str(tmp_path / "nornir")),
                 ("inventory", "scan", name), ("inventory", "scan", "--json"),
                 ("inventory", "scan", "--devices", str(inventory))]:
        done = cli(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert re.search(rf"{re.escape(str(inventory))}:\d+: all\.hosts\.{name}\.{variable}: "
                         "expected a secret reference", done.stderr), done.stderr
        assert literal not in done.stdout + done.stderr, args
    assert not (tmp_path / "nornir").exists() or literal not in "".join(
        p.read_text() for p in (tmp_path / "nornir").rglob("*") if p.is_file())
    assert _audited_commands(cli) == []


def test_a_scan_of_a_device_whose_community_does_not_resolve_is_exit_2_and_scans_nothing(
        lab: Any, tmp_path: Path) -> None:
    name, variables = _lab_snmp_device(lab)
    inventory = _write(tmp_path / "inv.yaml", {name: variables, "broken-dev": {**variables,
                                                                              "opsctl_snmp_community": BROKEN}})
    cli = Cli.create(tmp_path, inventory)
    done = cli("inventory", "scan", "--json")
    assert done.returncode == 2, done.stderr
    assert f"broken-dev: secret {BROKEN}: cannot read" in done.stderr and done.stdout == ""
    assert _audited_commands(cli) == []
    # the broken device left out of the pattern is not read: the good one is scanned
    code, document = cli.json("inventory", "scan", name)
    assert code == 0, document
    assert [(d["name"], d["outcome"]) for d in document["devices"]] == [(name, "ok")]
    assert _audited_commands(cli) == ["inventory scan"]


def test_run_with_one_targeted_hosts_become_password_unreadable_runs_nothing(lab: Any, tmp_path: Path) -> None:
    data = yaml.safe_load(lab.publication.inventory_path.read_text())
    ssh_hosts = data["all"]["children"]["ssh_hosts"]["hosts"]
    broken = sorted(ssh_hosts)[1]
    ssh_hosts[broken]["ansible_become_password"] = BROKEN
    inventory = tmp_path / "inv.yaml"
    inventory.write_text(yaml.safe_dump(data))
    cli = Cli.create(tmp_path, inventory)
    trust = cli("hosts", "trust", "ssh_hosts", "--fingerprints-from", str(lab.publication.fingerprints_path))
    assert trust.returncode == 0, trust.stderr
    marks = tmp_path / "marks"
    marks.mkdir()
    command = f"touch {marks}/$(hostname)"

    done = cli("run", "ssh_hosts", "--become", "--", command)
    assert done.returncode == 2, done.stderr
    assert f"{broken}: secret {BROKEN}: cannot read" in done.stderr
    assert list(marks.iterdir()) == []  # nothing ran on any host, the good ones included
    assert _audited_commands(cli) == ["hosts trust"]
    assert _last_run(cli, "run") is None

    # the same broken reference on a host the pattern leaves out does not matter
    done = cli("run", f"ssh_hosts:!{broken}", "--become", "--", command)
    assert done.returncode == 0, done.stderr
    assert broken not in {mark.name for mark in marks.iterdir()} and len(list(marks.iterdir())) == len(ssh_hosts) - 1
    assert _audited_commands(cli) == ["hosts trust", f"run ssh_hosts:!{broken} -- {command}"]
