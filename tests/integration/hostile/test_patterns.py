"""Issue 8, item 5: a host pattern with a part that matches nothing is named, and refused with --strict-patterns.

``ssh_hosts:!lab-ssh-O2`` (a letter O for a zero) excludes nothing: Ansible warns "Could not
match supplied host pattern, ignoring: lab-ssh-O2" and so must opsctl, before the command runs
on the host the operator meant to leave out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fleetcli import Cli

pytestmark = pytest.mark.integration

TYPO = "ssh_hosts:!lab-ssh-O2"
WARNING = "could not match supplied host pattern, ignoring: !lab-ssh-O2"


@pytest.fixture
def trusted(lab: Any, tmp_path: Path) -> Cli:
    cli = Cli.create(tmp_path, lab.publication.inventory_path)
    done = cli("hosts", "trust", "all", "--fingerprints-from", str(lab.publication.fingerprints_path))
    assert done.returncode == 0, done.stderr
    return cli


def _audit_lines(cli: Cli) -> list[str]:
    log = cli.state_dir / "audit.jsonl"
    return log.read_text().splitlines() if log.exists() else []


def test_a_part_that_matches_nothing_is_named_on_stderr_once(trusted: Cli, lab: Any) -> None:
    done = trusted("run", TYPO, "--json", "--", "hostname")
    assert done.returncode == 0, done.stderr
    ran_on = sorted(host["host"] for host in json.loads(done.stdout)["hosts"])
    # nothing was excluded (as in Ansible), and the operator is told why
    assert "lab-ssh-02" in ran_on
    assert ran_on == sorted(lab.publication.fingerprints)
    warnings = [line for line in done.stderr.splitlines() if "could not match" in line]
    assert warnings == [f"warning: {WARNING}"]
    assert "could not match" not in done.stdout  # data on stdout, diagnostics on stderr


def test_every_unmatched_part_gets_a_line_of_its_own(trusted: Cli) -> None:
    done = trusted("run", "ssh_hosts:!lab-ssh-O2:nosuch*:!~^zz", "--", "true")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "could not match" in line]
    assert sorted(lines) == sorted(f"warning: could not match supplied host pattern, ignoring: {part}"
                                   for part in ("!lab-ssh-O2", "nosuch*", "!~^zz"))


def test_an_intersection_with_a_typo_names_the_part_in_its_error(trusted: Cli) -> None:
    before = _audit_lines(trusted)
    done = trusted("run", "ssh_hosts:&webz", "--", "true")
    assert done.returncode == 2
    assert "&webz matches no host or group" in done.stderr
    assert _audit_lines(trusted) == before


def test_strict_patterns_refuses_runs_nothing_and_audits_nothing(trusted: Cli) -> None:
    before = _audit_lines(trusted)
    done = trusted("run", TYPO, "--strict-patterns", "--", "touch /tmp/opsctl-strict-patterns-ran")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "!lab-ssh-O2" in done.stderr and "matches no host or group" in done.stderr
    assert done.stdout == ""
    assert _audit_lines(trusted) == before
    # a pattern whose every part matches runs as before under --strict-patterns
    assert trusted("run", "ssh_hosts:!lab-ssh-02", "--strict-patterns", "--", "true").returncode == 0


def test_hosts_trust_warns_and_refuses_the_same_way(lab: Any, tmp_path: Path) -> None:
    cli = Cli.create(tmp_path, lab.publication.inventory_path)
    fingerprints = str(lab.publication.fingerprints_path)
    refused = cli("hosts", "trust", TYPO, "--strict-patterns", "--fingerprints-from", fingerprints)
    assert refused.returncode == 2
    assert "!lab-ssh-O2" in refused.stderr
    assert not (cli.state_dir / "known_hosts").exists() or (cli.state_dir / "known_hosts").read_text() == ""
    warned = cli("hosts", "trust", TYPO, "--fingerprints-from", fingerprints)
    assert warned.returncode == 0, warned.stderr
    assert WARNING in warned.stderr
