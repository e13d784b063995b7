"""``/metrics`` for the agent: the text format 0.0.4 rendered with what cannot change between
scrapes cached, and the small HTTP server that serves it.

``TextRenderer.render(families)`` returns the bytes prometheus-client's ``generate_latest``
returns for the same families (a test compares them), but keeps each family's ``# HELP``/``# TYPE``
header and each series' ``name{labels} `` prefix across scrapes, so a scrape formats only its
values. ``serve(...)`` answers GET on any path but ``/favicon.ico`` with one scrape, one scrape at
a time, gzip when the client accepts it, and HTTP/1.1 keep-alive, so a Prometheus server that
keeps its connection costs no thread and no TCP handshake per scrape.
"""

from __future__ import annotations

import contextlib
import gzip
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.exposition import (
    UNDERSCORES,
    escape_label_name,
    escape_metric_name,
)

from agents.base import CompactFamily

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# generate_latest moves these OpenMetrics-only samples into gauge families of their own
_OPENMETRICS_SUFFIXES = ("_created", "_gsum", "_gcount")
_TYPE_RENAMES = {"counter": ("_total", "counter"), "info": ("_info", "gauge"), "stateset": ("", "gauge"),
                 "gaugehistogram": ("", "histogram"), "unknown": ("", "untyped")}
_INF = float("inf")


def go_float(value: float) -> str:
    """``value`` as the text format writes it: Go's spelling (``+Inf``, ``NaN``, ``1.7646e+09``)."""
    number = float(value)
    if number != number:
        return "NaN"
    if number == _INF:
        return "+Inf"
    if number == -_INF:
        return "-Inf"
    text = repr(number)
    dot = text.find(".")
    if number > 0 and dot > 6:  # Go switches to an exponent sooner than Python
        mantissa = f"{text[0]}.{text[1:dot]}{text[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return text


def _escape_label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _help_text(documentation: str) -> str:
    return documentation.replace("\\", r"\\").replace("\n", r"\n")


def _series_prefix(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return f"{escape_metric_name(name, UNDERSCORES)} "
    pairs = ",".join(f'{escape_label_name(key, UNDERSCORES)}="{_escape_label_value(value)}"'
                     for key, value in sorted(labels.items()))
    return f"{escape_metric_name(name, UNDERSCORES)}{{{pairs}}} "


class TextRenderer:
    """Renders metric families in the text format, remembering headers and series prefixes.

    Not thread-safe: one scrape at a time renders. The caches are dropped when they hold more
    than ``max_cached`` entries, so series that come and go (processes' states, mounts, textfile
    labels) cannot grow them without bound.
    """

    def __init__(self, max_cached: int = 20_000) -> None:
        self.max_cached = max_cached
        self._headers: dict[tuple[str, str, str], tuple[str, tuple[str, ...]]] = {}
        self._prefixes: dict[tuple[object, ...], str] = {}
        self._compact_prefixes: dict[tuple[str, tuple[str, ...]], str] = {}
        # many values repeat from scrape to scrape (sizes, limits, states, zero counters)
        self._values: dict[float, str] = {}

    def _header(self, metric: Metric) -> tuple[str, tuple[str, ...]]:
        key = (metric.name, metric.type, metric.documentation)
        cached = self._headers.get(key)
        if cached is None:
            suffix, shown_type = _TYPE_RENAMES.get(metric.type, ("", metric.type))
            name = escape_metric_name(metric.name + suffix, UNDERSCORES)
            header = f"# HELP {name} {_help_text(metric.documentation)}\n# TYPE {name} {shown_type}\n"
            om_names = tuple(metric.name + suffix for suffix in _OPENMETRICS_SUFFIXES)
            cached = self._headers[key] = (header, om_names)
        return cached

    def render(self, families: Iterable[Metric]) -> bytes:
        """The text format of ``families``, byte for byte what ``generate_latest`` writes for them."""
        if max(len(self._prefixes), len(self._compact_prefixes), len(self._headers)) > self.max_cached:
            self._prefixes.clear()
            self._compact_prefixes.clear()
            self._headers.clear()
        if len(self._values) > self.max_cached:
            self._values.clear()
        values_seen = self._values
        prefixes = self._prefixes
        compact_prefixes = self._compact_prefixes
        output: list[str] = []
        append = output.append
        for metric in families:
            header, om_names = self._header(metric)
            append(header)
            if isinstance(metric, CompactFamily):  # the agent's own families: no Sample objects
                sample_name = metric.sample_name
                for values, number in metric.series:
                    compact_key = (sample_name, values)
                    prefix = compact_prefixes.get(compact_key)
                    if prefix is None:
                        prefix = compact_prefixes[compact_key] = _series_prefix(
                            sample_name, dict(zip(metric.label_names, values, strict=True)))
                    text = values_seen.get(number)
                    if text is None:
                        text = go_float(number)
                        # -0.0 == 0 would share 0's entry but is written "-0.0"; every NaN is a new key
                        if number != 0 and number == number:
                            values_seen[number] = text
                    append(f"{prefix}{text}\n")
                continue
            held_back: dict[str, list[str]] = {}
            for sample in metric.samples:
                name = sample.name
                labels = sample.labels
                key = (name, *labels.items())
                prefix = prefixes.get(key)
                if prefix is None:
                    prefix = prefixes[key] = _series_prefix(name, labels)
                line = prefix + go_float(sample.value)
                if sample.timestamp is not None:
                    line += f" {int(float(sample.timestamp) * 1000):d}"
                if name in om_names:
                    held_back.setdefault(name[len(metric.name):], []).append(line + "\n")
                else:
                    append(line + "\n")
            for suffix, lines in sorted(held_back.items()):
                name = escape_metric_name(metric.name + suffix, UNDERSCORES)
                append(f"# HELP {name} {_help_text(metric.documentation)}\n# TYPE {name} gauge\n")
                output.extend(lines)
        return "".join(output).encode("utf-8")


def _accepts_gzip(header: str | None) -> bool:
    return header is not None and any(part.split(";")[0].strip() == "gzip" for part in header.split(","))


_REASONS = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed", 431: "Request Header Fields Too Large",
            500: "Internal Server Error"}
MAX_HEAD_BYTES = 16 * 1024  # a scrape's request head is a few hundred bytes
IDLE_SECONDS = 60.0  # a kept-alive connection idle this long is closed


class _Connection:
    __slots__ = ("closing", "last_active", "received", "sending", "socket")

    def __init__(self, connection: socket.socket, now: float) -> None:
        self.socket = connection
        self.received = bytearray()
        self.sending = b""
        self.closing = False
        self.last_active = now


def _response(status: int, headers: list[tuple[str, str]], body: bytes, with_body: bool, keep_alive: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}", *(f"{key}: {value}" for key, value in headers),
             f"Content-Length: {len(body)}", "Connection: keep-alive" if keep_alive else "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body if with_body else b"")


class MetricsServer:
    """``/metrics`` over HTTP/1.1 from one thread: no thread per connection or request.

    A selector loop accepts connections, reads each request head (at most ``MAX_HEAD_BYTES``),
    answers GET and HEAD on any path with ``render()`` (``/favicon.ico`` with an empty body, other
    methods with 405), and keeps the connection for the next scrape unless the client asked to
    close it; a connection idle for ``IDLE_SECONDS`` is closed. Scrapes run one at a time, in this
    thread. Replies a client is slow to read wait in that connection's buffer while the loop
    serves the others.
    """

    def __init__(self, host: str, port: int, render: Callable[[], bytes]) -> None:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]  # a name may be IPv6 only
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind((host, port))
            self._listener.listen(64)
        except OSError:
            self._listener.close()
            raise
        self._listener.setblocking(False)
        self._render = render
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._stopping = False
        self._connections: dict[int, _Connection] = {}
        self._selector = selectors.DefaultSelector()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return host, port

    def shutdown(self) -> None:
        """Stop the loop (from another thread); ``serve_forever`` then closes every socket and returns."""
        self._stopping = True
        self._wake_writer.send(b"x")

    def serve_forever(self) -> None:
        selector = self._selector
        selector.register(self._listener, selectors.EVENT_READ, None)
        selector.register(self._wake_reader, selectors.EVENT_READ, None)
        try:
            while not self._stopping:
                # no timeout while nothing is connected: an idle agent does not wake
                events = selector.select(IDLE_SECONDS / 2 if self._connections else None)
                now = time.monotonic()
                for key, mask in events:
                    if key.fileobj is self._listener:
                        self._accept(now)
                    elif key.data is not None:
                        self._serve(key.data, mask, now)
                for connection in [c for c in self._connections.values() if now - c.last_active > IDLE_SECONDS]:
                    self._close(connection)
        finally:
            for connection in list(self._connections.values()):
                self._close(connection)
            selector.close()
            for own in (self._listener, self._wake_reader, self._wake_writer):
                own.close()

    def _accept(self, now: float) -> None:
        while True:
            try:
                accepted, _peer = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EMFILE and the like: try again on the next event
                return
            accepted.setblocking(False)
            connection = _Connection(accepted, now)
            self._connections[accepted.fileno()] = connection
            self._selector.register(accepted, selectors.EVENT_READ, connection)

    def _close(self, connection: _Connection) -> None:
        self._connections.pop(connection.socket.fileno(), None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(connection.socket)
        connection.socket.close()

    def _serve(self, connection: _Connection, mask: int, now: float) -> None:
        connection.last_active = now
        if mask & selectors.EVENT_READ and not connection.sending:
            try:
                chunk = connection.socket.recv(65536)
            except (BlockingIOError, InterruptedError):
                chunk = None
            except OSError:
                self._close(connection)
                return
            if chunk == b"":  # the client closed its end
                self._close(connection)
                return
            if chunk:
                connection.received += chunk
                self._answer_requests(connection)
        self._flush(connection)

    def _answer_requests(self, connection: _Connection) -> None:
        end = connection.received.find(b"\r\n\r\n")
        if end < 0:
            if len(connection.received) > MAX_HEAD_BYTES:
                connection.sending = _response(431, [], b"", True, False)
                connection.closing = True
            return
        head = bytes(connection.received[:end]).decode("latin-1")
        del connection.received[: end + 4]
        request_line, *header_lines = head.split("\r\n")
        parts = request_line.split()
        headers = {}
        for line in header_lines:
            name, colon, value = line.partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            connection.sending = _response(400, [], b"", True, False)
            connection.closing = True
            return
        method, target, version = parts
        wanted = headers.get("connection", "").lower()
        keep_alive = wanted != "close" if version == "HTTP/1.1" else wanted == "keep-alive"
        if method not in ("GET", "HEAD"):
            # a request body is never read, so the connection cannot carry another request
            connection.sending = _response(405, [("Allow", "GET, HEAD")], b"", True, False)
            connection.closing = True
            return
        if target.split("?", 1)[0] == "/favicon.ico":
            body, reply_headers = b"", [("Content-Type", "text/plain")]
        else:
            try:
                body = self._render()
            except Exception as error:  # a failed scrape is that request's 500, never the server's end
                message = f"# scrape failed: {type(error).__name__}: {error}\n".encode()
                connection.sending = _response(500, [("Content-Type", "text/plain")], message, method == "GET",
                                               keep_alive)
                connection.closing = not keep_alive
                return
            reply_headers = [("Content-Type", CONTENT_TYPE)]
            if _accepts_gzip(headers.get("accept-encoding")):
                body = gzip.compress(body, compresslevel=6)
                reply_headers.append(("Content-Encoding", "gzip"))
        connection.sending = _response(200, reply_headers, body, method == "GET", keep_alive)
        connection.closing = not keep_alive

    def _flush(self, connection: _Connection) -> None:
        if connection.sending:
            try:
                sent = connection.socket.send(connection.sending)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._close(connection)
                return
            connection.sending = connection.sending[sent:]
        if connection.sending:
            self._selector.modify(connection.socket, selectors.EVENT_WRITE, connection)
        elif connection.closing:
            self._close(connection)
        else:
            self._selector.modify(connection.socket, selectors.EVENT_READ, connection)
            if b"\r\n\r\n" in connection.received:  # a pipelined request already arrived
                self._answer_requests(connection)
                self._flush(connection)


def serve(host: str, port: int, render: Callable[[], bytes]) -> tuple[MetricsServer, threading.Thread]:
    """Start answering on ``host:port`` in a daemon thread; ``render()`` makes each scrape's body.

    Raises ``OSError`` when the address cannot be bound. Stop it with ``server.shutdown()``.
    """
    server = MetricsServer(host, port, render)
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return server, thread
