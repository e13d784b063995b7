"""The ``http`` probe: status, latency, and for HTTPS the days its certificate has left and whether its chain verifies.

The chain is checked against the system's CA store, or ``ca_file`` when configured, with the
host name matched. A chain that does not verify (expired, self-signed, unknown CA, wrong name)
fails the probe, saying why in OpenSSL's words; the probe then reads the certificate again
without verification, so its expiry is still reported. Options: ``url``, ``ca_file``,
``expect_status`` (default: any status below 400).

Also the small HTTP client the other probes share (:func:`http_get`): one GET with a timeout
on every socket operation, Basic credentials only in the ``Authorization`` header.
"""

from __future__ import annotations

import base64
import http.client
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime

from monitoring.probes import ProbeResult, ProbeTarget


class HttpProbeError(Exception):
    """An HTTP exchange failed before a status came back; the message says why (no secret in it)."""


@dataclass(frozen=True)
class HttpAnswer:
    """What one GET got: the status, the body (bounded), and the server's certificate (DER) over TLS."""

    status: int
    body: bytes
    certificate: bytes | None


def _connection(url: urllib.parse.SplitResult, timeout: float,
                context: ssl.SSLContext | None) -> http.client.HTTPConnection:
    if url.scheme == "https":
        return http.client.HTTPSConnection(url.hostname or "", url.port, timeout=timeout,
                                           context=context or ssl.create_default_context())
    return http.client.HTTPConnection(url.hostname or "", url.port, timeout=timeout)


def http_get(url: str, timeout: float, *, username: str | None = None, password: str | None = None,
             context: ssl.SSLContext | None = None, max_bytes: int = 16 * 1024 * 1024) -> HttpAnswer:
    """GET ``url``; return the status, up to ``max_bytes`` of the body, and the peer's certificate.

    Raise :class:`ssl.SSLCertVerificationError` when the chain does not verify, and
    :class:`HttpProbeError` (what failed, no credentials) for any other failure.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:
        raise HttpProbeError(f"{url!r}: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HttpProbeError(f"{url!r} is not an http:// or https:// URL")
    headers = {"User-Agent": "opsctl-probe", "Accept": "*/*"}
    if username is not None:
        token = base64.b64encode(f"{username}:{password or ''}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    connection = _connection(parts, timeout, context)
    try:
        connection.request("GET", path, headers=headers)
        certificate = None
        if isinstance(connection.sock, ssl.SSLSocket):
            certificate = connection.sock.getpeercert(binary_form=True)
        response = connection.getresponse()
        body = response.read(max_bytes)
        return HttpAnswer(response.status, body, certificate)
    except ssl.SSLCertVerificationError:
        raise
    except TimeoutError:
        raise HttpProbeError(f"no answer within {timeout:g} s") from None
    except ssl.SSLError as error:
        raise HttpProbeError(f"TLS: {error.reason or error}") from None
    except (OSError, http.client.HTTPException) as error:
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise HttpProbeError(reason) from None
    finally:
        connection.close()


def certificate_not_after(der: bytes) -> datetime:
    """The ``notAfter`` of a DER certificate, in UTC."""
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc


def days_left(not_after: datetime, now: datetime) -> float:
    """Days from ``now`` until ``not_after`` (negative once it has expired)."""
    return (not_after - now).total_seconds() / 86400


def status_expected(status: int, expect_status: str | None) -> bool:
    """Whether ``status`` is what the probe expects: ``expect_status`` exactly, else anything below 400."""
    return status == int(expect_status) if expect_status else status < 400


class HttpProbe:
    """One GET of the configured URL: status, latency, and over HTTPS the certificate's expiry and chain."""

    name = "http"

    def probe(self, target: ProbeTarget, timeout: float) -> ProbeResult:
        url = target.options.get("url", "")
        ca_file = target.options.get("ca_file")
        started = time.monotonic()
        samples: dict[str, float] = {}
        problem = ""
        try:
            context = ssl.create_default_context(cafile=ca_file) if url.startswith("https:") else None
        except OSError as error:
            return ProbeResult(False, 0.0, f"http {url}: ca_file {ca_file}: {error.strerror}")
        try:
            answer = http_get(url, timeout, context=context)
            if context is not None:
                samples["opsctl_probe_tls_chain_verified"] = 1.0
        except ssl.SSLCertVerificationError as error:
            problem = f"certificate does not verify: {error.verify_message or error.reason}"
            samples["opsctl_probe_tls_chain_verified"] = 0.0
            unverified = ssl.create_default_context()
            unverified.check_hostname = False
            unverified.verify_mode = ssl.CERT_NONE
            try:
                answer = http_get(url, timeout, context=unverified)
            except (HttpProbeError, ssl.SSLError) as again:
                return ProbeResult(False, time.monotonic() - started, f"http {url}: {problem}; then {again}", samples)
        except HttpProbeError as error:
            return ProbeResult(False, time.monotonic() - started, f"http {url}: {error}")
        duration = time.monotonic() - started
        samples["opsctl_probe_http_status_code"] = float(answer.status)
        detail = f"HTTP {answer.status}"
        if answer.certificate is not None:
            not_after = certificate_not_after(answer.certificate)
            samples["opsctl_probe_tls_certificate_expiry_timestamp_seconds"] = not_after.timestamp()
            detail += f", certificate valid until {not_after:%Y-%m-%d} ({days_left(not_after, datetime.now(UTC)):.0f} d)"
        expected = status_expected(answer.status, target.options.get("expect_status"))
        if not expected:
            problem = problem or f"status {answer.status}, expected {target.options.get('expect_status') or 'below 400'}"
        return ProbeResult(expected and not problem, duration,
                           f"http {url}: {problem or detail}" + (f" ({detail})" if problem else ""), samples)


HTTP = HttpProbe()
