"""hosts trust/import/forget/list, opsctl run and the audit log against the lab's real sshd."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from fleetcli import Cli

pytestmark = pytest.mark.integration


def _pids_running(command: str) -> list[int]:
    """Pids of processes whose whole command line is ``command`` (the remote commands)."""
    found = subprocess.run(["pgrep", "-f", f"^{command}$"], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


@pytest.fixture
def cli(lab: Any, tmp_path: Path) -> Cli:
    return Cli.create(tmp_path, lab.publication.inventory_path)


@pytest.fixture
def trusted(cli: Cli, lab: Any) -> Cli:
    done = cli("hosts", "trust", "all", "--fingerprints-from", str(lab.publication.fingerprints_path))
    assert done.returncode == 0, done.stderr
    return cli


def _extra_inventory(lab: Any, path: Path, hosts: dict[str, dict[str, Any]], **group_vars: Any) -> Path:
    """An inventory of the lab's hosts plus ``hosts``, with the lab's credentials."""
    import yaml

    lab_inventory = yaml.safe_load(lab.publication.inventory_path.read_text())
    ssh_vars = lab_inventory["all"]["children"]["ssh_hosts"]["vars"]
    lab_hosts = {name: {"ansible_host": v["ansible_host"], "ansible_port": v["ansible_port"]}
                 for name, v in lab_inventory["all"]["children"]["ssh_hosts"]["hosts"].items()}
    data = {"all": {"children": {
        "lab": {"hosts": lab_hosts, "vars": ssh_vars},
        "extra": {"hosts": hosts, "vars": {**ssh_vars, **group_vars}},
    }}}
    path.write_text(yaml.safe_dump(data))
    return path


def test_trust_enrols_published_fingerprints_and_list_shows_them(cli: Cli, lab: Any) -> None:
    code, doc = cli.json("hosts", "trust", "ssh_hosts", "--fingerprints-from", str(lab.publication.fingerprints_path))
    assert code == 0
    assert {h["status"] for h in doc["hosts"]} == {"enrolled"}
    published = json.loads(lab.publication.fingerprints_path.read_text())
    for host in doc["hosts"]:
        assert {k["fingerprint"] for k in host["enrolled"]} <= set(published[host["host"]]["fingerprints"])
    code, listing = cli.json("hosts", "list")
    assert code == 0
    assert {tuple(k["names"]) for k in listing["keys"]} == {  # the SSH hosts, by name and address
        (f"[{name}]:{v['port']}", f"[{v['address']}]:{v['port']}")
        for name, v in published.items() if "kind" not in v}  # switches carry their "kind"
    again = cli("hosts", "trust", "ssh_hosts")
    assert again.returncode == 0 and "already-trusted" in again.stdout


def test_trust_refuses_a_key_that_does_not_match(cli: Cli) -> None:
    done = cli("hosts", "trust", "lab-ssh-01", "--fingerprint", "SHA256:" + "A" * 43)
    assert done.returncode == 1
    assert "none matches the expected fingerprint" in done.stderr
    assert "lab-ssh-01" in done.stderr
    assert cli.json("hosts", "list")[1]["keys"] == []


def test_run_refuses_an_unknown_host_key_and_shows_its_fingerprint(cli: Cli, lab: Any) -> None:
    done = cli("run", "lab-ssh-01", "--", "true")
    assert done.returncode == 1
    published = json.loads(lab.publication.fingerprints_path.read_text())["lab-ssh-01"]["fingerprints"]
    assert "unknown host key" in done.stderr
    assert any(fp in done.stderr for fp in published)


def test_run_fans_out_with_streams_kept_apart(trusted: Cli, tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    code, doc = trusted.json("run", "ssh_hosts", "--output-dir", str(outdir), "--", "hostname; echo oops >&2")
    assert code == 0
    assert doc["schema"] == "opsctl.run/v1"
    for host in doc["hosts"]:
        assert host["outcome"] == "ok" and host["exit_status"] == 0
        assert host["stdout"] == f"{host['host']}\n"
        assert host["stderr"] == "oops\n"
        assert (outdir / f"{host['host']}.stdout").read_text() == f"{host['host']}\n"
        assert (outdir / f"{host['host']}.stderr").read_text() == "oops\n"
    table = trusted("run", "web", "--", "hostname")
    assert table.returncode == 0
    assert "lab-ssh-01" in table.stdout and "lab-ssh-02" not in table.stdout


def test_several_words_are_quoted_exactly(trusted: Cli) -> None:
    code, doc = trusted.json("run", "lab-ssh-01", "--", "printf", "%s|", "a b", "$HOME", "it's")
    assert code == 0
    assert doc["hosts"][0]["stdout"] == "a b|$HOME|it's|"


def test_waves_with_a_spent_budget_halt_and_rerun_picks_up(trusted: Cli) -> None:
    failing_first = 'test "$(hostname)" != lab-ssh-01'
    code, doc = trusted.json("run", "ssh_hosts", "--waves", "1,100%", "--max-failed", "0", "--", failing_first)
    assert code == 3
    outcomes = {h["host"]: h["outcome"] for h in doc["hosts"]}
    assert outcomes.pop("lab-ssh-01") == "failed"
    assert set(outcomes.values()) == {"skipped"}
    assert "over the per-wave budget" in doc["halted_reason"]

    code, doc = trusted.json("run", "--rerun", "skipped")
    assert code == 0
    assert sorted(h["host"] for h in doc["hosts"]) == sorted(outcomes)
    assert {h["outcome"] for h in doc["hosts"]} == {"ok"}

    assert trusted.json("run", "ssh_hosts", "--waves", "1,100%", "--max-failed", "0", "--", failing_first)[0] == 3
    code, doc = trusted.json("run", "--rerun", "failed")
    assert code == 1
    assert [(h["host"], h["outcome"]) for h in doc["hosts"]] == [("lab-ssh-01", "failed")]


def test_unreachable_host_gives_4_and_leaves_the_others(trusted: Cli, lab: Any, tmp_path: Path) -> None:
    dead = lab.prefix + ".10.99"
    trusted.env["OPSCTL_INVENTORY"] = str(_extra_inventory(
        lab, tmp_path / "inv.yaml", {"ghost": {"ansible_host": dead, "ansible_port": 2222}}))
    trusted.env["OPSCTL_SSH__CONNECT_TIMEOUT"] = "3"
    code, doc = trusted.json("run", "all", "--", "true")
    assert code == 4
    outcomes = {h["host"]: h for h in doc["hosts"]}
    assert outcomes["ghost"]["outcome"] == "unreachable"
    assert f"ghost ({dead}:2222): connection refused" in outcomes["ghost"]["error"]
    assert sum(h["outcome"] == "ok" for h in doc["hosts"]) == len(doc["hosts"]) - 1


def test_run_all_skips_the_devices_without_a_shell_and_says_which(trusted: Cli, lab: Any) -> None:
    devices = json.loads((lab.lab_dir / "devices.json").read_text())["devices"]
    done = trusted("run", "all", "--json", "--", "true")
    assert done.returncode == 0, done.stderr
    assert sorted(h["host"] for h in json.loads(done.stdout)["hosts"]) == sorted(lab.publication.fingerprints)
    assert f"skipping {len(devices)} hosts without a shell over SSH" in done.stderr
    assert all(device["name"] in done.stderr for device in devices[:8])
    refused = trusted("run", "snmp_agents", "--", "true")
    assert refused.returncode == 2
    assert "pattern 'snmp_agents' matches no host with a shell over SSH" in refused.stderr


def test_timeout_stops_the_remote_command(trusted: Cli) -> None:
    marker = "sleep 61.7"
    done = trusted("run", "lab-ssh-02", "--timeout", "1", "--", marker)
    assert done.returncode == 1
    assert "timed out after 1 s; the command was stopped" in done.stderr
    deadline = time.monotonic() + 5
    while _pids_running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _pids_running(marker) == []


def test_ctrl_c_stops_remote_commands_records_and_exits_130(trusted: Cli) -> None:
    marker = "sleep 62.3"
    process = trusted.popen("run", "ssh_hosts", "--", marker)
    deadline = time.monotonic() + 20
    while len(_pids_running(marker)) < 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_pids_running(marker)) == 5
    process.send_signal(signal.SIGINT)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    deadline = time.monotonic() + 5
    while _pids_running(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _pids_running(marker) == []
    code, log = trusted.json("audit", "log")
    assert code == 0
    assert log["entries"][-1]["outcome"] == "interrupted"
    assert log["entries"][-1]["command"].endswith(marker)


def test_sudo_reads_its_password_from_the_channel(trusted: Cli) -> None:
    code, doc = trusted.json("run", "db", "--become", "--", "id -un; cat")
    assert code == 0, doc
    for host in doc["hosts"]:
        assert host["stdout"] == "root\n"  # and cat saw no password on its stdin
        assert "opsctl-" not in host["stderr"]


def test_wrong_sudo_password_fails_the_host(trusted: Cli, lab: Any, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-sudo"
    wrong.write_text("not-the-password\n")
    trusted.env["OPSCTL_INVENTORY"] = str(_extra_inventory(
        lab, tmp_path / "inv.yaml", {"lab-ssh-01x": {"ansible_host": lab.prefix + ".10.1",
                                                    "ansible_port": 2222}},
        ansible_become_password=f"file:{wrong}"))
    assert trusted("hosts", "trust", "extra").returncode == 0  # a second name for lab-ssh-01, enrolled deliberately
    code, doc = trusted.json("run", "extra", "--become", "--", "id -un")
    assert code == 1
    assert "sudo refused the password" in doc["hosts"][0]["error"]
    assert "not-the-password" not in json.dumps(doc)


def test_wrong_key_is_refused_with_the_host_named(trusted: Cli, lab: Any, tmp_path: Path) -> None:
    key = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    trusted.env["OPSCTL_INVENTORY"] = str(_extra_inventory(
        lab, tmp_path / "inv.yaml", {"lab-ssh-03x": {"ansible_host": lab.prefix + ".10.3",
                                                    "ansible_port": 2222}},
        ansible_ssh_private_key_file=str(key), opsctl_ssh_key_passphrase=None))
    assert trusted("hosts", "trust", "extra").returncode == 0  # a second name for lab-ssh-03, enrolled deliberately
    code, doc = trusted.json("run", "extra", "--", "true")
    assert code == 1
    assert "lab-ssh-03x" in doc["hosts"][0]["error"] and "refused every key" in doc["hosts"][0]["error"]


def test_changed_host_key_is_refused_until_forgotten(cli: Cli, lab: Any, tmp_path: Path) -> None:
    from lab import start_ssh_host

    address = lab.prefix + ".10.77"
    inventory = _extra_inventory(lab, tmp_path / "inv.yaml", {"moved": {"ansible_host": address, "ansible_port": 2222}})
    cli.env["OPSCTL_INVENTORY"] = str(inventory)
    first = start_ssh_host(lab.settings, "moved", address, 2222)
    try:
        assert cli("hosts", "trust", "moved").returncode == 0
        assert cli("run", "moved", "--", "true").returncode == 0
    finally:
        first.stop()
    second = start_ssh_host(lab.settings, "moved", address, 2222, fresh_host_key=True)
    try:
        done = cli("run", "moved", "--", "true")
        assert done.returncode == 1
        assert "HOST KEY CHANGED" in done.stderr
        assert cli("hosts", "trust", "moved").returncode == 1  # trust never overwrites a changed key
        group = cli("hosts", "forget", "extra")  # a group name is not a host: nothing is forgotten
        assert group.returncode == 2 and "no host named 'extra'" in group.stderr
        forgot = cli("hosts", "forget", "moved")
        assert forgot.returncode == 0 and "forgot moved" in forgot.stdout
        assert cli("hosts", "trust", "moved").returncode == 0
        assert cli("run", "moved", "--", "true").returncode == 0
    finally:
        second.stop()
    code, log = cli.json("audit", "log")
    assert code == 0
    assert [e["command"] for e in log["entries"] if e["command"].startswith("hosts")] == [
        "hosts trust", "hosts trust", "hosts forget", "hosts trust"]


def test_import_takes_openssh_known_hosts_and_reports_markers(cli: Cli, lab: Any, tmp_path: Path) -> None:
    source = tmp_path / "known_hosts"
    source.write_text(lab.publication.known_hosts_path.read_text() + "@cert-authority *.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n")
    done = cli("hosts", "import", str(source))
    assert done.returncode == 3  # partly done: one line could not be honoured
    assert "@cert-authority" in done.stderr
    assert cli("run", "ssh_hosts", "--", "true").returncode == 0


def test_pattern_matching_nothing_and_missing_inventory_are_usage_errors(trusted: Cli, tmp_path: Path) -> None:
    done = trusted("run", "nosuchgroup", "--", "true")
    assert done.returncode == 2 and "nosuchgroup" in done.stderr
    trusted.env["OPSCTL_INVENTORY"] = str(tmp_path / "missing.yaml")
    done = trusted("run", "all", "--", "true")
    assert done.returncode == 2 and "missing.yaml" in done.stderr


def test_audit_verify_detects_an_edited_line(trusted: Cli) -> None:
    assert trusted("run", "ssh_hosts", "--", "true").returncode == 0
    assert trusted("audit", "verify").returncode == 0
    log = trusted.state_dir / "audit.jsonl"
    lines = log.read_text().splitlines()
    entry = json.loads(lines[0])
    entry["operator"] = "mallory"
    lines[0] = json.dumps(entry)
    log.write_text("\n".join(lines) + "\n")
    done = trusted("audit", "verify")
    assert done.returncode == 1
    assert "line 1" in done.stdout + done.stderr


def test_state_and_audit_files_are_private(trusted: Cli) -> None:
    assert trusted("run", "ssh_hosts", "--", "true").returncode == 0
    for name in ("audit.jsonl", "known_hosts"):
        assert os.stat(trusted.state_dir / name).st_mode & 0o077 == 0, name


def test_agent_authentication(trusted: Cli, lab: Any, tmp_path: Path) -> None:
    """No key file configured: opsctl signs with the key an ssh-agent holds."""
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        askpass = tmp_path / "askpass"
        askpass.write_text(f"#!/bin/sh\nexec cat {lab.publication.passphrase_path}\n")
        askpass.chmod(0o700)
        env = {**os.environ, "SSH_AUTH_SOCK": str(socket_path), "SSH_ASKPASS": str(askpass),
               "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
        subprocess.run(["ssh-add", str(lab.publication.key_path)], env=env, check=True,
                       stdin=subprocess.DEVNULL, capture_output=True)
        import yaml

        inventory = yaml.safe_load(lab.publication.inventory_path.read_text())
        ssh_hosts = inventory["all"]["children"]["ssh_hosts"]
        ssh_hosts["vars"].pop("ansible_ssh_private_key_file")
        ssh_hosts["vars"].pop("opsctl_ssh_key_passphrase")
        agent_inventory = tmp_path / "agent-inventory.yaml"
        agent_inventory.write_text(yaml.safe_dump(inventory))
        trusted.env["OPSCTL_INVENTORY"] = str(agent_inventory)
        without_agent = trusted("run", "web", "--", "true")
        assert without_agent.returncode == 1 and "no key to offer" in without_agent.stderr
        trusted.env["SSH_AUTH_SOCK"] = str(socket_path)
        code, doc = trusted.json("run", "web", "--", "hostname")
        assert code == 0, [h["error"] for h in doc["hosts"]]
        assert [h["stdout"].strip() for h in doc["hosts"]] == [h["host"] for h in doc["hosts"]]
    finally:
        agent.terminate()
        agent.wait(timeout=5)


def test_nothing_runs_when_the_run_cannot_be_recorded(trusted: Cli) -> None:
    import uuid

    # markers in /tmp, where the lab's login user can write, so the control below can pass
    ran, must_not_run = (Path("/tmp") / f"opsctl-test-{uuid.uuid4().hex}" for _ in range(2))
    try:
        assert trusted("run", "lab-ssh-01", "--", f"touch {ran}").returncode == 0
        assert ran.exists()  # control: the same command does run with a working state store
        (trusted.state_dir / "state.db").write_bytes(b"this is not a database" * 100)
        for stale in ("state.db-wal", "state.db-shm"):
            (trusted.state_dir / stale).unlink(missing_ok=True)
        done = trusted("run", "lab-ssh-01", "--", f"touch {must_not_run}")
        assert done.returncode == 1
        assert "state.db" in done.stderr
        assert not must_not_run.exists()
    finally:
        ran.unlink(missing_ok=True)
        must_not_run.unlink(missing_ok=True)


def test_host_output_is_shown_as_data_not_markup(trusted: Cli) -> None:
    done = trusted("run", "lab-ssh-01", "--", "echo '[/red] [bold]not bold'")
    assert done.returncode == 0, done.stderr
    assert "[/red] [bold]not bold" in done.stdout
