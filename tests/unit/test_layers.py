"""DESIGN.md's import layers hold: nothing imports upward or sideways, domain packages stay CLI-free."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# what each top-level package may import from the project (besides itself)
ALLOWED = {
    "opsctl.core": {"opsctl.core"},
    "inventory": {"opsctl.core"},
    "monitoring": {"opsctl.core", "inventory"},
    "backup": {"opsctl.core", "inventory"},
    "lab": {"opsctl.core", "inventory"},
    "playbooks": {"opsctl.core", "inventory", "monitoring", "backup"},
    "agents": {"opsctl.core", "opsctl"},
}
PROJECT = ("opsctl", "inventory", "monitoring", "backup", "lab", "playbooks", "agents")


def _layer_of(module: str) -> str | None:
    if module == "opsctl" or module.startswith("opsctl.cli"):
        return "opsctl.cli" if module.startswith("opsctl.cli") else "opsctl"
    if module.startswith("opsctl.core"):
        return "opsctl.core"
    top = module.split(".")[0]
    return top if top in PROJECT else None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_package_imports_only_lower_layers(layer: str) -> None:
    folder = ROOT / Path(*layer.split("."))
    offences = []
    for path in folder.rglob("*.py"):
        for module in _imports(path):
            target = _layer_of(module)
            if target is None or target == layer or target in ALLOWED[layer]:
                continue
            if layer == "agents" and module == "opsctl":
                continue
            offences.append(f"{path.relative_to(ROOT)} imports {module}")
    assert offences == []


@pytest.mark.parametrize("package", ["inventory", "lab", "playbooks", "agents", "monitoring", "backup"])
def test_domain_packages_do_not_import_typer(package: str) -> None:
    offences = [str(p.relative_to(ROOT)) for p in (ROOT / package).rglob("*.py")
                if any(m.split(".")[0] in ("typer", "click") for m in _imports(p))]
    assert offences == []


def test_agent_import_closure_stays_small() -> None:
    probe = ("import sys, agents.daemon, agents.daemon as d; d.build_registry(d.AgentConfig()); "
             "print(','.join(sorted(m for m in ('paramiko','sqlalchemy','typer','pysnmp','boto3','rich','pydantic','ruamel') "
             "if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_cli_start_up_imports_no_heavy_library() -> None:
    probe = ("import sys; from opsctl.cli.main import main; main(['--version']); "
             "print(','.join(sorted(m for m in ('paramiko','sqlalchemy','pydantic','ruamel') if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    version, heavy = done.stdout.split("\n")[:2]
    assert version.startswith("opsctl ")
    assert heavy == ""


# the audit command itself reads and verifies the log (and acknowledges a break): it is the one CLI module allowed near it
AUDIT_COMMAND = ROOT / "opsctl" / "cli" / "audit.py"


def _cli_decisions(source: str) -> list[str]:
    """What a CLI module does that belongs to a library: writing audit entries or choosing an exit code from outcomes.

    Audit entries: importing ``opsctl.core.audit``, calling ``open_audit``, appending to something audit-like
    (``open_audit(...).append``, ``audit.append``, ``log.append``), or recording through the recorder
    (``....recorder.record``); the recorder is handed to the library function the command calls.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "opsctl.core.audit":
            found.append(f"line {node.lineno}: imports opsctl.core.audit")
        elif isinstance(node, ast.ImportFrom) and any(a.name == "exit_code_for_outcomes" for a in node.names):
            found.append(f"line {node.lineno}: imports exit_code_for_outcomes")
        elif isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name in ("open_audit", "exit_code_for_outcomes"):
                found.append(f"line {node.lineno}: uses {name}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            receiver = ast.unparse(node.func.value).lower()
            if node.func.attr == "append" and ("audit" in receiver or receiver.endswith("log")):
                found.append(f"line {node.lineno}: {receiver}.append(...) writes an audit entry")
            if node.func.attr == "record" and "recorder" in receiver:
                found.append(f"line {node.lineno}: {receiver}.record(...) writes an audit entry")
    return found


def test_the_check_for_cli_decisions_finds_each_kind() -> None:
    offending = (
        "from opsctl.core.audit import open_audit\n"
        "open_audit(settings).append('x', [], 'ok', {})\n"
        "app_context(ctx).recorder.record('x', [], 'ok')\n"
        "from opsctl.core.fleet import exit_code_for_outcomes\n"
        "raise typer.Exit(exit_code_for_outcomes(outcomes))\n"
        "rows.append(1)\n"
    )
    found = _cli_decisions(offending)
    assert sorted(line.split(":")[0] for line in found) == [
        "line 1", "line 2", "line 2", "line 3", "line 4", "line 5"], found
    assert any("import" in line for line in found) and any(".record(" in line for line in found)


def test_no_cli_module_writes_audit_entries_or_picks_an_exit_code_from_outcomes() -> None:
    offences = [
        f"{path.relative_to(ROOT)} {problem}"
        for path in sorted((ROOT / "opsctl" / "cli").rglob("*.py")) if path != AUDIT_COMMAND
        for problem in _cli_decisions(path.read_text(encoding="utf-8"))
    ]
    assert offences == []
