"""Modules named for later are imported at the first wait on a child process, not before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _python(site: Path, code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_named_modules_are_imported_while_a_child_runs(tmp_path: Path) -> None:
    (tmp_path / "needed_after.py").write_text("VALUE = 42\n")
    (tmp_path / "broken_after.py").write_text("raise RuntimeError('broken')\n")
    lines = _python(tmp_path, """
import sys, time
from opsctl.core import prefetch
from opsctl.core.execute import execute
prefetch.later("needed_after", "broken_after")
print("before", "needed_after" in sys.modules)
result = execute(("sleep", "1"), timeout=30)
for _ in range(100):
    if "needed_after" in sys.modules:
        break
    time.sleep(0.05)
print("after", "needed_after" in sys.modules, result.exit_status)
try:
    import broken_after
except RuntimeError as error:  # the command's own import still reports the module's error
    print("error", error)
""")
    assert lines == ["before", "False", "after", "True", "0", "error", "broken"]



def test_the_wait_ends_with_the_imports_done(tmp_path: Path) -> None:
    """What the command imports after the child never runs beside the prefetch's imports."""
    (tmp_path / "slow_after.py").write_text("import time\ntime.sleep(1.5)\nVALUE = 1\n")
    lines = _python(tmp_path, """
import sys, threading
from opsctl.core import prefetch
from opsctl.core.execute import execute
prefetch.later("slow_after")
execute(("true",), timeout=30)
print("loaded", "slow_after" in sys.modules and hasattr(sys.modules["slow_after"], "VALUE"))
print("threads", sorted(t.name for t in threading.enumerate() if t.name == "opsctl-prefetch"))
""")
    assert lines == ["loaded", "True", "threads", "[]"]
