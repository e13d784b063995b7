"""``opsctl-agent``: the host agent daemon. For now it serves its own process metrics.

Its import closure stays small (prometheus-client, psutil later, light opsctl.core modules);
the agent issue adds the host collectors and the textfile directory.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time


def _log(event: str, **fields: object) -> None:
    record = {"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "event": event, **fields}
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    """Serve ``/metrics`` on ``--listen HOST:PORT`` until SIGTERM or SIGINT; return the exit code."""
    from opsctl import __version__

    parser = argparse.ArgumentParser(prog="opsctl-agent", description="opsctl host agent")
    parser.add_argument("--version", action="version", version=f"opsctl-agent {__version__}")
    parser.add_argument("--listen", default="127.0.0.1:9101", help="address:port for /metrics")
    args = parser.parse_args(argv)
    host, _, port_text = args.listen.rpartition(":")
    if not host or not port_text.isdigit():
        parser.error(f"--listen {args.listen!r}: expected HOST:PORT")
    from prometheus_client import start_http_server

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        server, _thread = start_http_server(int(port_text), addr=host)
    except OSError as error:
        _log("error", message=f"cannot listen on {args.listen}: {error.strerror}")
        return 1
    _log("listening", address=args.listen, version=__version__)
    stop.wait()
    server.shutdown()
    _log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
