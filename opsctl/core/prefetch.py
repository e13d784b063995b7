"""Modules a command needs only after a wait, imported while it waits.

A command waiting on a child process (restic, pg_dump) holds no GIL while it waits. The
modules it needs only afterwards (prometheus-client for a metrics file, rich for a summary) are
named with :func:`later`; the first wait (:func:`while_waiting`, called by
:mod:`opsctl.core.execute` once a local child has started) imports them in a daemon thread, so
their import time overlaps the child's run instead of adding to the command's. Importing them
earlier would not help: before the child starts, the command's own work needs the CPU.
"""

from __future__ import annotations

import importlib
import threading

_wanted: list[str] = []
_lock = threading.Lock()
_running: threading.Thread | None = None


def later(*modules: str) -> None:
    """Name modules to import at the next wait (a module already imported costs nothing)."""
    with _lock:
        _wanted.extend(name for name in modules if name not in _wanted)


def while_waiting() -> None:
    """Import the modules named so far in a daemon thread; the next call imports those named since."""
    global _running
    with _lock:
        names = tuple(_wanted)
        _wanted.clear()
        if not names:
            return
        _running = threading.Thread(target=_import, args=(names,), name="opsctl-prefetch", daemon=True)
        _running.start()


def settle() -> None:
    """Wait until the imports begun at the last wait are done (:mod:`opsctl.core.execute` calls it when the wait ends).

    The command's own imports then never run beside them: two threads importing modules that
    import each other can make Python's per-module import locks report a deadlock.
    """
    with _lock:
        thread = _running
    if thread is not None and thread is not threading.current_thread():
        thread.join()


def _import(names: tuple[str, ...]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # the command's own import of it reports the error
            continue
