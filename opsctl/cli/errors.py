"""The one place that turns exceptions into a message, a hint and an exit code."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path

import typer

from opsctl.core.errors import ExitCode, OpsctlError, exit_code_for


def _debug_log_path() -> Path:
    from opsctl.core.paths import default_state_dir

    state_dir = Path(os.environ.get("OPSCTL_STATE__DIR") or default_state_dir())
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        return state_dir / "debug.log"
    except OSError:
        return Path(tempfile.gettempdir()) / f"opsctl-debug-{os.getuid()}.log"


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def run_app(app: typer.Typer, argv: list[str]) -> int:
    """Run ``app`` on ``argv`` and return the exit code; never raise."""
    try:
        result = app(args=argv, prog_name="opsctl", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        _say("interrupted")
        return ExitCode.INTERRUPTED
    except typer.TyperException as error:  # usage errors from the parser: they print themselves
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            _say(f"opsctl: error: {error.format_message()}")
        return ExitCode.USAGE if error.exit_code == 2 else int(error.exit_code)
    except OpsctlError as error:
        _say(f"opsctl: error: {error}")
        if error.hint:
            _say(f"  hint: {error.hint}")
        return int(error.exit_code)
    except KeyboardInterrupt:
        _say("interrupted")
        return ExitCode.INTERRUPTED
    except Exception as error:  # the last resort: a short message, the traceback to a log
        path = _debug_log_path()
        try:
            with open(path, "a", encoding="utf-8") as log:
                log.write(traceback.format_exc())
        except OSError:
            pass
        _say(f"opsctl: unexpected error: {type(error).__name__}: {error}")
        _say(f"  the traceback is in {path}")
        return int(exit_code_for(error))
