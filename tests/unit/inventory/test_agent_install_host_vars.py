"""``opsctl_agent: true`` written where the inventory's loader reads it: host_vars/ beside the
file, an existing variables file kept as written around the new key, and nothing rewritten twice."""

from __future__ import annotations

import json
from pathlib import Path

from inventory import load_inventory
from inventory.exports.prometheus import target_groups
from inventory.host_vars import mark_runs_agent

INVENTORY = """\
all:
  children:
    ssh_hosts:
      hosts:
        web-1: {ansible_host: 192.0.2.1, opsctl_agent_port: 19101}
        db-1: {ansible_host: 192.0.2.2}
        db-2: {ansible_host: 192.0.2.3}
"""


def _inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


def test_agent_install_marks_a_host_in_a_host_vars_directory_file_sd_reads(tmp_path: Path) -> None:
    path = _inventory(tmp_path)

    written = mark_runs_agent(path, load_inventory(path).get("web-1"))

    assert written == f"opsctl_agent: true in {tmp_path / 'host_vars' / 'web-1' / 'opsctl_agent.yml'}"
    assert path.read_text(encoding="utf-8") == INVENTORY
    assert [group["targets"] for group in target_groups(load_inventory(path))] == [["192.0.2.1:19101"]]
    assert mark_runs_agent(path, load_inventory(path).get("web-1")) is None


def test_agent_install_updates_an_existing_variables_file_keeping_its_comments(tmp_path: Path) -> None:
    path = _inventory(tmp_path)
    (tmp_path / "host_vars").mkdir()
    yaml_file = tmp_path / "host_vars" / "db-1.yml"
    yaml_file.write_text("# the HIS database\nopsctl_backup_policy: his-db  # nightly\nopsctl_agent: false\n")
    json_file = tmp_path / "host_vars" / "db-2.json"
    json_file.write_text(json.dumps({"opsctl_patch_group": "db"}))

    mark_runs_agent(path, load_inventory(path).get("db-1"))
    mark_runs_agent(path, load_inventory(path).get("db-2"))

    assert yaml_file.read_text() == "# the HIS database\nopsctl_backup_policy: his-db  # nightly\nopsctl_agent: true\n"
    assert json.loads(json_file.read_text()) == {"opsctl_patch_group": "db", "opsctl_agent": True}
    assert not (tmp_path / "host_vars" / "db-1").exists()  # a directory would hide db-1.yml from the loader
    hosts = load_inventory(path).hosts
    assert (hosts["db-1"].vars["opsctl_agent"], hosts["db-1"].vars["opsctl_backup_policy"]) == (True, "his-db")
    assert hosts["db-2"].vars["opsctl_agent"] is True
