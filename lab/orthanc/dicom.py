"""Talking to the lab's Orthanc as a client would: C-ECHO and C-STORE (pynetdicom), REST (urllib).

Also the sample studies the lab loads: pydicom's bundled test files (``CT_small.dcm``,
``MR_small.dcm``) and copies of them under new, deterministic Study/Series/SOP UIDs, so the
lab's PACS holds three studies (four series, four instances) that are the same on every
machine. Passwords travel only in an ``Authorization`` header, never in a URL or a message.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

# (pydicom test file, a derived copy's key or None for the file as it ships)
SAMPLE_FILES: tuple[tuple[str, str | None], ...] = (
    ("CT_small.dcm", None),
    ("MR_small.dcm", None),
    ("CT_small.dcm", "lab-study-3-ct"),
    ("MR_small.dcm", "lab-study-3-mr"),
)
DERIVED_STUDY_KEY = "lab-study-3"
DERIVED_PATIENT_ID = "LAB-0003"
DERIVED_PATIENT_NAME = "Lab^Three"


class DicomError(Exception):
    """A DICOM or REST exchange with Orthanc failed; the message says which and why."""


@dataclass(frozen=True)
class SampleInstance:
    """One sample instance the lab stores: its UIDs (what a later count or lookup checks)."""

    file_name: str
    study_uid: str
    series_uid: str
    sop_uid: str


def _uid(key: str) -> str:
    from pydicom.uid import generate_uid

    return str(generate_uid(entropy_srcs=["opsctl-lab", key]))


def sample_datasets() -> list[tuple[SampleInstance, Dataset]]:
    """The sample instances and their datasets, the same on every call and every machine."""
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    samples: list[tuple[SampleInstance, Dataset]] = []
    for file_name, key in SAMPLE_FILES:
        path = get_testdata_file(file_name, download=False)
        if path is None:
            raise DicomError(f"pydicom ships no {file_name}")
        dataset = dcmread(str(path))
        if key is not None:
            dataset.StudyInstanceUID = _uid(DERIVED_STUDY_KEY)
            dataset.SeriesInstanceUID = _uid(f"{key}-series")
            dataset.SOPInstanceUID = _uid(f"{key}-instance")
            dataset.file_meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
            dataset.PatientID = DERIVED_PATIENT_ID
            dataset.PatientName = DERIVED_PATIENT_NAME
            dataset.AccessionNumber = "LAB3"
        samples.append(
            (
                SampleInstance(
                    file_name=file_name,
                    study_uid=str(dataset.StudyInstanceUID),
                    series_uid=str(dataset.SeriesInstanceUID),
                    sop_uid=str(dataset.SOPInstanceUID),
                ),
                dataset,
            )
        )
    return samples


def _application_entity(ae_title: str, timeout: float) -> Any:
    from pynetdicom import AE

    entity = AE(ae_title=ae_title)
    entity.acse_timeout = timeout
    entity.dimse_timeout = timeout
    entity.network_timeout = timeout
    entity.connection_timeout = timeout
    return entity


def c_echo(host: str, port: int, *, called_aet: str, calling_aet: str, timeout: float) -> None:
    """Send one C-ECHO; return if it succeeded, raise ``DicomError`` saying why not."""
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    entity = _application_entity(calling_aet, timeout)
    entity.add_requested_context(Verification)
    association = entity.associate(host, port, ae_title=called_aet)
    if not association.is_established:
        raise DicomError(f"no DICOM association with {called_aet} at {host}:{port}")
    try:
        status = association.send_c_echo()
    finally:
        association.release()
    code = getattr(status, "Status", None)
    if code != 0x0000:
        raise DicomError(f"C-ECHO to {called_aet} at {host}:{port} answered status {code!r}")


def c_store(
    host: str, port: int, datasets: list[Dataset], *, called_aet: str, calling_aet: str,
    timeout: float,
) -> int:  # fmt: skip
    """Send ``datasets`` by C-STORE in one association; return how many were stored.

    Raise ``DicomError`` if the association fails or any store is refused.
    """
    entity = _application_entity(calling_aet, timeout)
    for dataset in datasets:
        entity.add_requested_context(
            dataset.SOPClassUID, dataset.file_meta.TransferSyntaxUID
        )
    association = entity.associate(host, port, ae_title=called_aet)
    if not association.is_established:
        raise DicomError(f"no DICOM association with {called_aet} at {host}:{port}")
    stored = 0
    try:
        for dataset in datasets:
            status = association.send_c_store(dataset)
            code = getattr(status, "Status", None)
            if code not in (0x0000, 0xB000, 0xB007, 0xB006):  # success and its warnings
                raise DicomError(
                    f"C-STORE of {dataset.SOPInstanceUID} to {called_aet} answered {code!r}"
                )
            stored += 1
    finally:
        association.release()
    return stored


def rest_get(base_url: str, path: str, *, user: str | None, password: str | None,
             timeout: float) -> Any:  # fmt: skip
    """GET ``base_url + path`` (with HTTP basic auth when ``user`` is given); return its JSON.

    Raise ``DicomError`` naming the URL and the HTTP status or the connection's error.
    """
    request = urllib.request.Request(base_url + path, headers={"Accept": "application/json"})
    if user is not None and password is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise DicomError(f"GET {base_url}{path} answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise DicomError(f"GET {base_url}{path} failed: {reason}") from None
