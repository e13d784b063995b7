"""The ``http`` probe against real HTTPS servers (Python's http.server with ssl on loopback),
certificates from a throwaway CA made here: one valid for 60 days, one expired yesterday, and a
server whose CA the probe is not told about."""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitoring.probes import PROBES, ProbeResult, ProbeTarget
from monitoring.sources import probe_state

NOW = dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Servers:
    """The two HTTPS servers' ports and the throwaway CA that signed both."""

    valid: int
    expired: int
    ca: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (x509.CertificateBuilder().subject_name(_name("opsctl test CA")).issuer_name(_name("opsctl test CA"))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - dt.timedelta(days=30)).not_valid_after(NOW + dt.timedelta(days=365))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    path = directory / "ca.pem"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key, certificate, path


def _server_files(directory: Path, ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate, Path], name: str,
                  not_after: dt.datetime) -> tuple[Path, Path]:
    ca_key, ca_certificate, _ = ca
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    certificate = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca_certificate.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(NOW - dt.timedelta(days=10)).not_valid_after(not_after)
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .sign(ca_key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 503 if self.path.startswith("/down") else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        return


def _serve(cert: Path, key: Path) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    directory = tmp_path_factory.mktemp("tls")
    ca = _ca(directory)
    valid = _serve(*_server_files(directory, ca, "valid", NOW + dt.timedelta(days=60)))
    expired = _serve(*_server_files(directory, ca, "expired", NOW - dt.timedelta(days=1)))
    yield Servers(next(valid), next(expired), ca[2])
    for server in (valid, expired):
        next(server, None)


def _probe(url: str, ca_file: Path | None) -> tuple[ProbeResult, str, str]:
    options = {"url": url, **({"ca_file": str(ca_file)} if ca_file else {})}
    result = PROBES.get("http").probe(ProbeTarget("portal", "127.0.0.1", options=options), timeout=5.0)
    state, summary = probe_state("http", result, dt.datetime.now(dt.UTC).timestamp())
    return result, state, summary


def test_a_valid_chain_answers_with_its_status_latency_and_days_left(servers: Servers) -> None:
    result, state, summary = _probe(f"https://127.0.0.1:{servers.valid}/", servers.ca)
    assert result.success, result.detail
    samples = result.samples
    assert samples["opsctl_probe_http_status_code"] == 200
    assert samples["opsctl_probe_tls_chain_verified"] == 1
    days = (samples["opsctl_probe_tls_certificate_expiry_timestamp_seconds"] - NOW.timestamp()) / 86400
    assert 59.9 < days <= 60.0
    assert state == "ok" and "certificate 60 d left" in summary


def test_an_expired_certificate_is_critical_and_still_dated(servers: Servers) -> None:
    result, state, _summary = _probe(f"https://127.0.0.1:{servers.expired}/", servers.ca)
    assert not result.success
    assert "certificate does not verify: certificate has expired" in result.detail
    assert result.samples["opsctl_probe_tls_chain_verified"] == 0
    assert result.samples["opsctl_probe_tls_certificate_expiry_timestamp_seconds"] < NOW.timestamp()
    assert state == "critical"


def test_a_chain_from_an_unknown_ca_fails_against_the_system_store(servers: Servers) -> None:
    result, state, _ = _probe(f"https://127.0.0.1:{servers.valid}/", None)
    assert not result.success and state == "critical"
    assert "unable to get local issuer certificate" in result.detail


def test_a_status_of_503_is_down_naming_the_status(servers: Servers) -> None:
    result, state, _ = _probe(f"https://127.0.0.1:{servers.valid}/down", servers.ca)
    assert not result.success and state == "critical"
    assert "status 503, expected below 400" in result.detail
