"""A host key belongs to the inventory host: an inventory that points one host at another's address is refused.

Against the lab's real sshd hosts and fake switches: lab-ssh-01's ``ansible_host`` pointed at
lab-ssh-02's address (a typo, or an attacker who edits the inventory) is refused naming
lab-ssh-02; the lab's switches, which share one built-in key, are only warned about; address-only
entries of older files keep working with a hint to re-enrol by name; a known_hosts line whose
key type lies about its key is refused at import, naming the line.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fleetcli import OPSCTL, Cli

pytestmark = pytest.mark.integration


@pytest.fixture
def cli(lab: Any, tmp_path: Path) -> Cli:
    return Cli.create(tmp_path, lab.publication.inventory_path)


@pytest.fixture
def trusted(cli: Cli, lab: Any) -> Cli:
    done = cli("hosts", "trust", "ssh_hosts", "--fingerprints-from", str(lab.publication.fingerprints_path))
    assert done.returncode == 0, done.stderr
    return cli


def _swapped_inventory(lab: Any, path: Path) -> Path:
    """The lab's inventory with lab-ssh-01's ansible_host pointed at lab-ssh-02's address."""
    document = yaml.safe_load(lab.publication.inventory_path.read_text())
    hosts = document["all"]["children"]["ssh_hosts"]["hosts"]
    hosts["lab-ssh-01"]["ansible_host"] = hosts["lab-ssh-02"]["ansible_host"]
    path.write_text(yaml.safe_dump(document))
    return path


def test_a_host_pointed_at_another_hosts_address_is_refused_naming_it(trusted: Cli, lab: Any,
                                                                       tmp_path: Path) -> None:
    trusted.env["OPSCTL_INVENTORY"] = str(_swapped_inventory(lab, tmp_path / "swapped.yaml"))
    code, doc = trusted.json("run", "ssh_hosts", "--", "hostname")
    assert code == 3  # the refused host failed, the others ran
    by_host = {host["host"]: host for host in doc["hosts"]}
    refused = by_host.pop("lab-ssh-01")
    assert refused["outcome"] == "failed" and refused["stdout"] == ""
    assert "lab-ssh-02" in refused["error"] and "not for lab-ssh-01" in refused["error"]
    assert {host["outcome"] for host in by_host.values()} == {"ok"}
    assert by_host["lab-ssh-02"]["stdout"] == "lab-ssh-02\n"

    code, alone = trusted.json("run", "lab-ssh-01", "--", "hostname")
    assert code == 1 and alone["hosts"][0]["stdout"] == ""  # nothing ran on lab-ssh-02
    shown = trusted("run", "lab-ssh-01", "--", "hostname")
    assert shown.returncode == 1
    assert "WRONG HOST" in shown.stdout + shown.stderr and "enrolled for lab-ssh-02" in shown.stdout + shown.stderr
    audit = trusted.json("audit", "log")[1]["entries"]
    assert [e["outcome"] for e in audit if e["command"].startswith("run") and e["targets"] == ["lab-ssh-01"]] \
        == ["failed", "failed"]  # audited as the failure it is

    # trust does not take the other host's key for this one either, and says whose key it is
    again = trusted("hosts", "trust", "lab-ssh-01")
    assert again.returncode == 1 and "lab-ssh-02" in again.stderr


def test_a_deliberate_re_addressing_goes_through_forget_and_trust(trusted: Cli, lab: Any, tmp_path: Path) -> None:
    trusted.env["OPSCTL_INVENTORY"] = str(_swapped_inventory(lab, tmp_path / "swapped.yaml"))
    assert trusted("hosts", "forget", "lab-ssh-01").returncode == 0
    enrolled = trusted("hosts", "trust", "lab-ssh-01")
    assert enrolled.returncode == 0, enrolled.stderr
    assert "also enrolled for lab-ssh-02" in enrolled.stderr  # the same key as another host: said, not refused
    done = trusted("run", "lab-ssh-01", "--", "hostname")
    assert done.returncode == 0 and done.stdout.count("lab-ssh-02") >= 1
    assert "also enrolled for lab-ssh-02" in done.stderr


def test_address_only_entries_keep_working_with_a_hint_to_re_enrol_by_name(cli: Cli, lab: Any,
                                                                           tmp_path: Path) -> None:
    published = lab.publication.known_hosts_path.read_text().splitlines()
    source = tmp_path / "address_only"
    source.write_text("".join(f"{line.split(' ', 1)[0].split(',')[-1]} {line.split(' ', 1)[1]}\n"
                              for line in published))
    assert cli("hosts", "import", str(source)).returncode == 0
    done = cli("run", "ssh_hosts", "--", "true")
    assert done.returncode == 0, done.stderr
    assert "re-enrol it by name: opsctl hosts trust lab-ssh-01" in done.stderr
    assert cli("hosts", "trust", "lab-ssh-01").returncode == 0
    again = cli("run", "lab-ssh-01", "--", "true")
    assert again.returncode == 0 and "re-enrol" not in again.stderr


def test_import_records_names_and_refuses_a_line_whose_key_type_lies(cli: Cli, lab: Any, tmp_path: Path) -> None:
    published = lab.publication.known_hosts_path.read_text()
    ed25519 = next(line for line in published.splitlines() if " ssh-ed25519 " in line)
    lying = ed25519.replace(" ssh-ed25519 ", " ssh-rsa ").replace("lab-ssh", "liar")
    source = tmp_path / "known_hosts"
    source.write_text(published + lying + "\n")
    done = cli("hosts", "import", str(source))
    assert done.returncode == 3
    line_number = len(published.splitlines()) + 1
    assert f"{source}:{line_number}:" in done.stderr and "says ssh-rsa but the key is ssh-ed25519" in done.stderr
    names = {name for key in cli.json("hosts", "list")[1]["keys"] for name in key["names"]}
    assert "[lab-ssh-01]:2222" in names and not any("liar" in name for name in names)
    assert cli("run", "ssh_hosts", "--", "true").returncode == 0


def test_the_lab_switches_sharing_one_key_are_a_warning_not_a_refusal(cli: Cli, lab: Any, tmp_path: Path) -> None:
    devices = json.loads((lab.lab_dir / "devices.json").read_text())["devices"]
    switches = sorted(d["name"] for d in devices if d.get("role") == "switch")
    if len(switches) < 2:
        pytest.skip("the lab publishes fewer than two switches")
    assert cli("hosts", "import", str(lab.publication.known_hosts_path)).returncode == 0
    env = {**cli.env, "OPSCTL_SSH__USE_AGENT": "false", "OPSCTL_SSH__CONNECT_TIMEOUT": "15"}
    done = subprocess.run([OPSCTL, "inventory", "scan", switches[0], "--devices",
                           str(lab.lab_dir / "devices.yaml"), "--json"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 3), done.stderr  # 3 when the fake switch answers only part of the commands
    report = json.loads(done.stdout)
    outcome = {d["name"]: d["outcome"] for d in report["devices"]}[switches[0]]
    assert outcome in ("ok", "partial"), done.stderr
    assert "also enrolled for" in done.stderr and switches[1] in done.stderr
    assert "WRONG HOST" not in done.stderr

