"""Every table opsctl prints, at 80 columns with realistic long values: no name or fingerprint is cut
(no ``…``) or broken across lines, and no line is wider than the terminal.

Names are searched in the output as printed (newlines left in): a name split over two lines fails.
The consoles do not crop, so a table laid out wider than 80 columns shows as too wide.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from opsctl.core.output import Output

WIDTH = 80
DEVICES = ("sim-eaton-93e-80-ups-basement", "sim-cisco-c9300-48p-core-sw-rack-a12", "sim-apc-smart-ups-3000-row-b")
HOSTS = ("lab-ssh-01.dc1.example.internal", "lab-ssh-02.dc1.example.internal", "db-primary-eu-west-1a.example.internal")
FINGERPRINTS = ("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")
SERIALS = ("GB1234567890ABCDEF", "FOC2233X0ZZ")
TIME = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)


class _Uncropped(Console):
    """A console that prints a too-wide line whole (rich crops each line to the width by default)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        kwargs["crop"] = False
        super().print(*objects, **kwargs)


def _output() -> tuple[Output, io.StringIO]:
    stdout = io.StringIO()
    return (Output(_stdout=_Uncropped(file=stdout, width=WIDTH), _stderr=_Uncropped(file=io.StringIO(), width=WIDTH)),
            stdout)


def _fleet(out: Output) -> None:
    from opsctl.cli.render import render_fleet
    from opsctl.core.fleet import FleetResult, HostResult, Outcome

    result = FleetResult(tuple(HostResult(host, Outcome.FAILED, 1, 12.5, "", "systemctl: Unit nginx.service not found; see journalctl -xe")
                               for host in HOSTS), ())
    render_fleet(out, "run", result.to_dict(), result)


def _audit(out: Output) -> None:
    from opsctl.cli.audit import _entries_table

    entries = [SimpleNamespace(seq=seq, time="2026-12-05T04:00:00+00:00", operator="alice.longname-oncall",
                               command="opsctl run 'ssh_hosts:!lab-ssh-02' -- systemctl restart nginx.service",
                               targets=HOSTS, outcome="failed", actor=None) for seq in (1, 12345)]
    out.stdout.print(_entries_table(entries, out.stdout.width))  # type: ignore[arg-type]


def _lab(out: Output) -> None:
    from opsctl.cli.lab import _peer_table

    peers = [SimpleNamespace(name=name, kind="snmp", endpoint="127.28.0.101:16101", pid=123456, answering=True,
                             detail="answers sysDescr 'Eaton 93E UPS 80 kVA firmware 02.08.0007' via community "
                                    "file:/home/opsctl/.local/state/opsctl/lab/secrets/community")
             for name in DEVICES]
    out.stdout.print(_peer_table(peers, out.stdout.width))  # type: ignore[arg-type]


def _scan(out: Output) -> None:
    from opsctl.cli.inventory import _render_scan

    devices = [SimpleNamespace(name=name, method="snmp", outcome="ok", changed=True, message="",
                               device=SimpleNamespace(role="ups", manufacturer="Eaton Corporation plc",
                                                      model="93E UPS 80 kVA/72 kW", serial=serial))
               for name, serial in zip(DEVICES, (*SERIALS, "X"), strict=True)]
    _render_scan(out, SimpleNamespace(devices=devices, summary="3 devices", warnings=[]))  # type: ignore[arg-type]


POLICIES = ("hospital-his-database-and-documents", "opsctl-state", "pacs-orthanc-storage")


def _backup_status(out: Output) -> None:
    from backup import queries
    from backup.status import BackupStatusReport, PolicyStatus
    from opsctl.cli.backup import _render_status

    run = queries.RunRow("20261205T040000Z-3fa9c1", POLICIES[0], "incremental", "local", TIME, TIME, "failed", (),
                         0, 0, 1.0, "restic repository /srv/restic/his: wrong password or no key found", None)
    snapshot = queries.SnapshotRow("3fa9c1d2" * 8, "local", POLICIES[0], run.run_id, "full", "paths", TIME, 1, 1)
    check = queries.CheckRow("local", POLICIES[0], None, TIME, TIME, "10/10", "failed", ("pack 3fa9c1d2: corrupted",))
    drill = queries.DrillRow("d1", POLICIES[0], "offsite", TIME, TIME, "ok", 62.5, 3600.0, ())
    copy = queries.CopyRow("c1", POLICIES[0], "local", "offsite", TIME, TIME, "failed", (), "unreachable")
    policies = tuple(PolicyStatus(
        policy=name, repository="local", rpo_seconds=86400.0, last_run=run, last_success=run,
        latest_snapshot=snapshot, snapshot_age_seconds=123456.0, last_check=check, last_drill=drill,
        offsite="offsite" if index != 1 else None, offsite_status="copy failed" if index == 0 else "ok",
        repository_size_bytes=123 * 1024**3, offsite_snapshot=snapshot, offsite_age_seconds=4000.0,
        last_copy=copy, offsite_size_bytes=456 * 1024**3,
        offsite_warnings=("bucket his-offsite has no object lock: a stolen key can destroy history",))
        for index, name in enumerate(POLICIES))
    _render_status(out, BackupStatusReport(policies))


def _health(out: Output) -> None:
    from monitoring.health import HealthReport
    from monitoring.sources import Reading
    from opsctl.cli.health import _view

    readings = [Reading(name, "orthanc", "critical", "orthanc https://pacs-archive-02.radiology.hospital.example:8042: "
                        "GET /system answered HTTP 401 (wrong username or password?)") for name in (*DEVICES, *HOSTS)]
    since = {reading.target: TIME.timestamp() - 3 * 86400 for reading in readings}
    out.stdout.print(_view(HealthReport(readings, "http://monitor.dc1.example.internal:9102", TIME.timestamp(),
                                        since=since), out.stdout.width))


def _agent_status(out: Output) -> None:
    from agents.installer.status import AgentAnswer, AgentStatus, AgentStatusReport
    from opsctl.cli.agent import render_status

    answers = (AgentAnswer(f"http://[2001:db8:ffff:ffff::{n}]:19101/metrics", True, "0.12.3.dev4",
                           1234, 0.0123, reached=True) for n in range(1, 3))
    agents = [*(AgentStatus(host, answer) for host, answer in zip(HOSTS, answers, strict=False)),
              AgentStatus(HOSTS[2], AgentAnswer("http://10.20.30.40:9101/metrics", False, seconds=3.0,
                                                reason="no answer within 3 s (connection timed out)"))]
    render_status(out, AgentStatusReport("ssh_hosts", tuple(agents)))


RENDERERS: dict[str, Callable[[Output], None]] = {"run": _fleet, "audit log": _audit, "lab up": _lab,
                                                  "inventory scan": _scan, "backup status": _backup_status,
                                                  "health": _health, "agent status": _agent_status}
WHOLE: dict[str, tuple[str, ...]] = {"run": HOSTS, "audit log": HOSTS, "lab up": DEVICES, "inventory scan": DEVICES,
                                     "backup status": POLICIES, "health": (*DEVICES, *HOSTS), "agent status": HOSTS}


def _assert_fits(printed: str, whole: tuple[str, ...]) -> None:
    assert "…" not in printed, printed
    for name in whole:  # a name split over two lines, or cut, is not found
        assert name in printed, f"{name!r} is cut or split in:\n{printed}"
    widest = max(len(line) for line in printed.splitlines())
    assert widest <= WIDTH, printed


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_a_rendered_table_keeps_names_whole_at_80_columns(name: str) -> None:
    out, stdout = _output()
    RENDERERS[name](out)
    _assert_fits(stdout.getvalue(), WHOLE[name])


def test_a_header_is_never_broken_inside_a_word() -> None:
    # the lab's snmpd: short values everywhere, so the header is the widest line of each column; the table
    # needed one character more than 80 for "manufacturer" whole, and rich folded it as "manufacture" over "r"
    from opsctl.cli.inventory import _render_scan

    device = SimpleNamespace(name="lab-snmpd", method="snmp", outcome="ok", changed=False, message="",
                             device=SimpleNamespace(role="server", manufacturer=None, model=None, serial=None))
    out, stdout = _output()
    _render_scan(out, SimpleNamespace(devices=[device], summary="1 devices", warnings=[]))  # type: ignore[arg-type]
    printed = stdout.getvalue()
    _assert_fits(printed, ("lab-snmpd",))
    header = printed.splitlines()[1]
    assert "manufacturer" in header and "model" in header, printed
    # what did not fit is named, not cut
    assert "not shown at 80 columns: serial" in printed, printed


@pytest.fixture()
def _at_80(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import rich.console

    import inventory.queries
    import inventory.select
    import opsctl.core.known_hosts
    import opsctl.core.trust

    monkeypatch.setattr(rich.console, "Console", _Uncropped)  # the Console that Output makes for stdout

    for variable in list(__import__("os").environ):
        if variable.startswith("OPSCTL_"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("OPSCTL_STATE__DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("COLUMNS", str(WIDTH))

    def device(name: str) -> Any:
        return SimpleNamespace(name=name, role="ups", manufacturer="Eaton Corporation plc", model="93E UPS 80 kVA",
                               serial=SERIALS[0], os_version="Network-M2 2.1.5 build 2023-11-02",
                               sys_name=f"{name}.basement.hospital.example", management_address="127.28.0.101")

    monkeypatch.setattr(inventory.queries, "list_devices", lambda *a, **k: [device(name) for name in DEVICES])
    values = [{"path": "components.power_supplies[0].serial_number", "value": SERIALS[0], "source": "snmp",
               "origin": "1.3.6.1.2.1.47.1.1.1.1.11.1001 (ENTITY-MIB::entPhysicalSerialNum)",
               "seen_at": "2026-12-05T04:00:00"}]
    view = SimpleNamespace(device=device("ups-b1"), last_status="ok", last_scanned_at=TIME, scans=3, messages=[],
                           values=lambda: values)
    monkeypatch.setattr(inventory.queries, "show_device", lambda *a, **k: view)
    provenance = SimpleNamespace(source="snmp", origin="1.3.6.1.2.1.47.1.1.1.1.11.1001", seen_at=TIME)
    changes = [SimpleNamespace(device=name, kind="changed", path="components.power_supplies[0].serial_number",
                               old=SERIALS[0], new=SERIALS[1], provenance=provenance) for name in DEVICES]
    monkeypatch.setattr(inventory.queries, "changes_since",
                        lambda *a, **k: SimpleNamespace(changes=changes, since=None))
    keys = tuple(SimpleNamespace(key_type=kind, fingerprint=fp)
                 for kind, fp in zip(("ssh-ed25519", "ecdsa-sha2-nistp256"), FINGERPRINTS, strict=True))
    outcomes = [SimpleNamespace(host=host, status="already-trusted", enrolled=keys, offered=(), message="")
                for host in HOSTS]
    monkeypatch.setattr(inventory.select, "ssh_targets",
                        lambda *a, **k: SimpleNamespace(targets=[], messages=[], unmatched_warnings=[]))
    monkeypatch.setattr(opsctl.core.trust, "expected_fingerprints", lambda *a: None)
    monkeypatch.setattr(opsctl.core.trust, "trust_hosts",
                        lambda *a, **k: SimpleNamespace(outcomes=outcomes, exit_code=0))
    entries = [SimpleNamespace(names=(host, "[127.28.0.11]:2222"), key_type="ecdsa-sha2-nistp256", fingerprint=fp,
                               revoked=True) for host, fp in zip(HOSTS, (*FINGERPRINTS, FINGERPRINTS[0]), strict=True)]
    store = SimpleNamespace(path=Path("/tmp/kh"), entries=entries, unsupported=[])
    monkeypatch.setattr(opsctl.core.known_hosts, "load_known_hosts", lambda *a: store)


COMMANDS: dict[str, tuple[str, ...]] = {
    "inventory list": DEVICES, "inventory show sw1": (SERIALS[0], "components.power_supplies[0].serial_number"),
    "inventory diff": (*DEVICES, SERIALS[0], SERIALS[1]), "hosts trust all": (*HOSTS, *FINGERPRINTS),
    "hosts list": (*HOSTS, *FINGERPRINTS)}


@pytest.mark.usefixtures("_at_80")
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_keeps_names_and_fingerprints_whole_at_80_columns(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    from opsctl.cli.main import main

    main(command.split())
    _assert_fits(capsys.readouterr().out, COMMANDS[command])
