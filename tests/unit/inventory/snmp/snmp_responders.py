"""Tiny UDP responders that misbehave like broken SNMP agents, for the client's and the scan's tests."""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

GET_REQUEST_TAG = 0xA0
GET_RESPONSE_TAG = 0xA2


NOISE = hashlib.sha512(b"opsctl test noise").digest()


def noise(size: int) -> bytes:
    """``size`` bytes that look random but are the same in every run, so a failure replays."""
    return (NOISE * (size // len(NOISE) + 1))[:size]


def random_bytes(request: bytes) -> list[bytes]:
    """Random-looking bytes, as a service that is not SNMP may send back."""
    return [noise(60)]


def truncated_response(request: bytes) -> list[bytes]:
    """The request turned into a well-formed GetResponse (its PDU tag changed), cut in half."""
    response = bytearray(request)
    response[response.index(GET_REQUEST_TAG)] = GET_RESPONSE_TAG
    return [bytes(response[: len(response) // 2])]


def sequence_of_noise(request: bytes) -> list[bytes]:
    """A BER SEQUENCE holding version 1 then noise: pysnmp raises on it inside the event loop."""
    body = b"\x02\x01\x01" + noise(40)
    return [b"\x30" + bytes([len(body)]) + body, request[:-3]]


def silent(request: bytes) -> list[bytes]:
    """Nothing: a device that is not there, or a v2c agent asked with the wrong community."""
    return []


@contextmanager
def udp_responder(address: str, answer: Callable[[bytes], list[bytes]]) -> Iterator[tuple[str, int]]:
    """Serve ``answer`` on a free UDP port of ``address``; yield (address, port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                request, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            for datagram in answer(request):
                sock.sendto(datagram, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[0], sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        sock.close()
