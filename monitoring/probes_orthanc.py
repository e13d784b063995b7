"""The ``orthanc`` probe: does the PACS answer REST (``/system``, ``/statistics``) and a DICOM C-ECHO.

REST with Basic credentials (``username``, ``password`` by reference) through the shared
:func:`monitoring.probes_http.http_get`; then, when ``dicom_port`` is configured, one C-ECHO
with pynetdicom from ``calling_aet`` (default ``OPSCTL_PROBE``) to ``dicom_aet`` (default: the
AE title ``/system`` names) at ``dicom_host`` (default: the URL's host). Both must answer for
the probe to succeed; ``opsctl_probe_orthanc_dicom_echo_success`` says which part failed.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from monitoring.probes import ProbeResult, ProbeTarget
from monitoring.probes_http import HttpProbeError, http_get
from monitoring.probes_postgres import first_line
from opsctl.core.errors import OpsctlError
from opsctl.core.secrets import SecretRef

CALLING_AET = "OPSCTL_PROBE"


def statistics_samples(statistics: Mapping[str, Any]) -> dict[str, float]:
    """Orthanc's ``/statistics`` document as samples (``TotalDiskSize`` is a string of bytes there)."""
    return {
        "opsctl_probe_orthanc_instances": float(statistics["CountInstances"]),
        "opsctl_probe_orthanc_studies": float(statistics["CountStudies"]),
        "opsctl_probe_orthanc_disk_size_bytes": float(statistics["TotalDiskSize"]),
    }


def echo(host: str, port: int, *, called_aet: str, calling_aet: str, timeout: float) -> str | None:
    """One C-ECHO; return None when it succeeded, else why it did not."""
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    entity = AE(ae_title=calling_aet)
    entity.acse_timeout = entity.dimse_timeout = entity.network_timeout = entity.connection_timeout = timeout
    entity.add_requested_context(Verification)
    association = entity.associate(host, port, ae_title=called_aet)
    if not association.is_established:
        return f"no DICOM association with {called_aet} at {host}:{port}"
    try:
        status = association.send_c_echo()
    finally:
        association.release()
    code = getattr(status, "Status", None)
    return None if code == 0x0000 else f"C-ECHO to {called_aet} at {host}:{port} answered status {code!r}"


class OrthancProbe:
    """REST ``/system`` and ``/statistics``, then a C-ECHO: instances, studies, disk size, echo."""

    name = "orthanc"

    def probe(self, target: ProbeTarget, timeout: float) -> ProbeResult:
        options = target.options
        url = options.get("url", "").rstrip("/")
        where = f"orthanc {url}"
        started = time.monotonic()
        try:
            password = SecretRef.parse(options["password"]).resolve() if options.get("password") else None
            system = self._get(url + "/system", timeout, options.get("username"), password)
            samples = statistics_samples(self._get(url + "/statistics", timeout, options.get("username"), password))
        except KeyError as error:
            return ProbeResult(False, time.monotonic() - started, f"{where}: /statistics has no {error}")
        except (HttpProbeError, OpsctlError, ValueError, TypeError) as error:  # a secret said without its value
            return ProbeResult(False, time.monotonic() - started, f"{where}: {first_line(str(error))}")
        detail = f"Orthanc {system.get('Version', '?')}, {samples['opsctl_probe_orthanc_instances']:.0f} instances"
        problem = None
        if options.get("dicom_port"):
            host = options.get("dicom_host") or urllib.parse.urlsplit(url).hostname or target.address
            called = options.get("dicom_aet") or str(system.get("DicomAet", "ORTHANC"))
            echo_started = time.monotonic()
            try:
                problem = echo(host, int(options["dicom_port"]), called_aet=called,
                               calling_aet=options.get("calling_aet", CALLING_AET), timeout=timeout)
            except (OSError, RuntimeError, ValueError) as error:
                problem = f"C-ECHO to {called} at {host}: {first_line(str(error))}"
            samples["opsctl_probe_orthanc_dicom_echo_success"] = 0.0 if problem else 1.0
            samples["opsctl_probe_orthanc_dicom_echo_duration_seconds"] = time.monotonic() - echo_started
            detail += ", C-ECHO answered" if problem is None else ""
        return ProbeResult(problem is None, time.monotonic() - started,
                           f"{where}: {problem or detail}", samples)

    @staticmethod
    def _get(url: str, timeout: float, username: str | None, password: str | None) -> dict[str, Any]:
        answer = http_get(url, timeout, username=username, password=password)
        if answer.status != 200:
            path = urllib.parse.urlsplit(url).path
            raise HttpProbeError(f"GET {path} answered HTTP {answer.status}"
                                 + (" (wrong username or password?)" if answer.status == 401 else ""))
        document = json.loads(answer.body)
        if not isinstance(document, dict):
            raise HttpProbeError(f"GET {urllib.parse.urlsplit(url).path} did not answer a JSON object")
        return document


ORTHANC = OrthancProbe()
