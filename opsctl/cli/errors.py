"""The one place that turns exceptions into a message, a hint and an exit code.

It also turns SIGTERM (``systemctl stop``, ``timeout``) and SIGHUP (a closed terminal) into the
path Ctrl-C takes: a KeyboardInterrupt in the main thread, so the fleet executor stops its
remote commands and records the run as interrupted, and an inventory scan stops as it does on
Ctrl-C. The exit code says which signal came: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from types import FrameType

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
    """Write one line to stderr, its control characters made visible: a message may quote a host's
    output or a device's string, which must not drive the operator's terminal."""
    from opsctl.core.output import visible_controls

    with contextlib.suppress(OSError, ValueError):  # a terminal that hung up, a closed pipe
        sys.stderr.write(visible_controls(message) + "\n")
        sys.stderr.flush()


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C raises KeyboardInterrupt, so the command stops alike."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class StopSignals:
    """SIGTERM and SIGHUP handled as Ctrl-C while armed; the signals that came, in order.

    A signal the caller ignores (``nohup`` ignores SIGHUP) stays ignored. On SIGHUP the
    terminal is gone: standard streams that were a terminal are pointed at /dev/null first, so
    recording and rendering the interrupted run do not fail writing to it.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGHUP)

    def __init__(self) -> None:
        self.received: list[int] = []
        self._armed = False
        self._previous: dict[int, signal.Handlers | int | object] = {}
        self._terminals: list[int] = []

    def install(self) -> None:
        """Install the handlers (only the main thread can; elsewhere this does nothing)."""
        if threading.current_thread() is not threading.main_thread():
            return
        self._terminals = [fd for fd in (0, 1, 2) if _isatty(fd)]
        for signum in self.SIGNALS:
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue
            self._previous[signum] = signal.signal(signum, self._handle)
        self._armed = True

    def disarm(self) -> None:
        """From now on a signal is only noted: the command has ended, nothing is left to stop."""
        self._armed = False

    def restore(self) -> None:
        """Put back the handlers that were there before :meth:`install`."""
        self._armed = False
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)  # type: ignore[arg-type]
        self._previous.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signum)
        if signum == signal.SIGHUP:
            self._leave_terminal()
        if self._armed:
            raise Stopped(signum)

    def _leave_terminal(self) -> None:
        if not self._terminals:
            return
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_RDWR)
            for fd in self._terminals:
                os.dup2(null, fd)
            os.close(null)
        self._terminals = []


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


# the loggers of what libraries say about devices (garbage from an SNMP agent, say): written to
# the debug log, never to stderr, where a device sending many would bury the command's output
LIBRARY_LOGGERS = ("inventory",)


def log_libraries_to_debug_log() -> None:
    """Append the :data:`LIBRARY_LOGGERS`' records (DEBUG and up, with tracebacks) to the debug log.

    The file is opened for each record, so a command that logs nothing creates no file.
    """
    import logging

    class DebugLogHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            with (
                contextlib.suppress(OSError, ValueError),
                open(_debug_log_path(), "a", encoding="utf-8") as log,
            ):
                log.write(self.format(record) + "\n")

    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(type(handler).__name__ == "DebugLogHandler" for handler in logger.handlers):
            handler = DebugLogHandler(logging.DEBUG)
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
            logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False


def run_app(app: typer.Typer, argv: list[str]) -> int:
    """Run ``app`` on ``argv`` and return the exit code; never raise.

    SIGTERM and SIGHUP stop the command as Ctrl-C does; a command that ends interrupted after
    one of them exits 143 (SIGTERM) or 129 (SIGHUP) instead of 130.
    """
    log_libraries_to_debug_log()
    stops = StopSignals()
    stops.install()
    try:
        try:
            code = _run(app, argv, stops)
        except KeyboardInterrupt:  # a second signal while the first was being handled
            code = ExitCode.INTERRUPTED
        finally:
            stops.disarm()
    finally:
        stops.restore()
    if stops.received and code == ExitCode.INTERRUPTED:
        _say(f"opsctl: stopped by {signal.Signals(stops.received[0]).name}")
        return ExitCode.for_signal(stops.received[0])
    return code


def _interrupted(stops: StopSignals) -> int:
    if not stops.received:  # a signal is named once the command has ended
        _say("interrupted")
    return ExitCode.INTERRUPTED


def _run(app: typer.Typer, argv: list[str], stops: StopSignals) -> int:
    try:
        result = app(args=argv, prog_name="opsctl", standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        return _interrupted(stops)
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
        return _interrupted(stops)
    except Exception as error:  # the last resort: a short message, the traceback to a log
        if stops.received and isinstance(error, OSError):
            return _interrupted(stops)  # writing to a terminal or pipe that went with the signal
        path = _debug_log_path()
        try:
            with open(path, "a", encoding="utf-8") as log:
                log.write(traceback.format_exc())
        except OSError:
            pass
        _say(f"opsctl: unexpected error: {type(error).__name__}: {error}")
        _say(f"  the traceback is in {path}")
        return int(exit_code_for(error))
