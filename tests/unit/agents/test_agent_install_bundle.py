"""What a host gets: the daemon's measured import closure, nothing more, and it runs on its own."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from agents.installer.bundle import Bundle, build_bundle
from opsctl import __version__


def test_agent_install_bundle_holds_the_daemon_closure_and_nothing_of_the_controller() -> None:
    paths = {file.path for file in build_bundle().files}

    assert {"agent.py", "supervise.py", "lib/agents/daemon.py", "lib/agents/collectors.py",
            "lib/opsctl/core/errors.py", "lib/prometheus_client/__init__.py"} <= paths
    for left_out in ("lib/agents/installer/install.py", "lib/opsctl/core/ssh.py", "lib/opsctl/cli/main.py"):
        assert left_out not in paths
    assert not [p for p in paths if p.split("/")[:2][-1] in ("paramiko", "psutil", "pydantic", "typer", "rich")]
    assert not [p for p in paths if p.endswith((".pyc", ".so")) or "__pycache__" in p]
    assert [name.split("-")[0] for name in build_bundle().distributions] == ["prometheus_client"]


def test_agent_install_bundle_is_deterministic() -> None:
    bundle = build_bundle()
    again = Bundle(bundle.version, tuple(reversed(bundle.files)))

    assert again.digest == bundle.digest
    assert again.tar_gz(prefix="version/") == bundle.tar_gz(prefix="version/")
    # nothing of the clock: the gzip header's time is zero (it was the current second, so builds a second
    # apart differed), as are the members' times
    archive = bundle.tar_gz(prefix="version/")
    assert archive[4:8] == b"\0\0\0\0"
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as members:
        assert {member.mtime for member in members.getmembers()} == {0}
    assert bundle.install_name == f"{__version__}-{bundle.digest[:12]}"


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no system python3")
def test_agent_install_bundle_runs_under_the_system_python_alone(tmp_path: Path) -> None:
    # unpacked as a host unpacks it
    subprocess.run(["tar", "-xzf", "-", "-C", str(tmp_path), "--no-same-owner"], input=build_bundle().tar_gz(),
                   check=True, timeout=60)

    # -I: no site-packages of the user, no PYTHONPATH; the controller's venv is not on the path
    done = subprocess.run(["/usr/bin/python3", "-I", str(tmp_path / "agent.py"), "--version"],
                          capture_output=True, text=True, timeout=60, cwd="/")

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"opsctl-agent {__version__}"
