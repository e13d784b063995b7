"""Pure parts of the lab's Orthanc: names, addresses, its configuration files and command lines.

Nothing here touches the disk or runs a program. The configuration is a directory of JSON
files that Orthanc merges: ``orthanc.json`` (everything but the secret) and
``credentials.json`` (its one user and password, written 0600), so the password never
appears on a command line or in a file others may read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ORTHANC_NAME = "lab-orthanc"
ORTHANC_SUBNET = 60  # third octet: Orthanc is reached on {prefix}.60.1
HTTP_PORT = 18042
DICOM_PORT = 14242
DICOM_AET = "OPSCTL_LAB"
CLIENT_AET = "OPSCTL_LAB_SCU"  # the AE title the lab's own checks call from
REST_USER = "opsctl"
ORTHANC_PROGRAM = "Orthanc"
MAIN_CONFIG = "orthanc.json"
CREDENTIALS_CONFIG = "credentials.json"


def orthanc_address(prefix: str) -> str:
    """The address the lab's Orthanc is reached on: ``{prefix}.60.1`` (through forwarders)."""
    first, _, second = prefix.partition(".")
    if first != "127" or not second.isdigit() or not 0 <= int(second) <= 255:
        raise ValueError(f"lab prefix {prefix!r} is not 127.N")
    return f"{prefix}.{ORTHANC_SUBNET}.1"


def render_orthanc_config(
    *, name: str, storage_dir: Path, index_dir: Path, http_port: int = HTTP_PORT,
    dicom_port: int = DICOM_PORT, aet: str = DICOM_AET,
) -> str:  # fmt: skip
    """``orthanc.json``: ports, AE title, storage and SQLite index, authentication on, no plugins.

    Orthanc 1.10 listens on every interface of its namespace (it has no bind-address option);
    in its own namespace that is ``lo`` alone. ``RemoteAccessAllowed`` stays off: the
    forwarders connect from the namespace's own loopback, so nothing else is accepted.
    """
    document: dict[str, Any] = {
        "Name": name,
        "StorageDirectory": str(storage_dir),
        "IndexDirectory": str(index_dir),
        "StorageCompression": False,
        "Plugins": [],
        "HttpServerEnabled": True,
        "HttpPort": http_port,
        "HttpThreadsCount": 10,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": True,
        "SslEnabled": False,
        "DicomServerEnabled": True,
        "DicomAet": aet,
        "DicomPort": dicom_port,
        "DicomCheckCalledAet": False,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomModalities": {},
        "OrthancPeers": {},
        "ConcurrentJobs": 2,
        "SaveJobs": False,
        "LuaScripts": [],
        "HttpsVerifyPeers": False,
    }
    return json.dumps(document, indent=2) + "\n"


def render_credentials_config(user: str, password: str) -> str:
    """``credentials.json``: the one REST user (``RegisteredUsers``); the caller writes it 0600."""
    return json.dumps({"RegisteredUsers": {user: password}}, indent=2) + "\n"


def orthanc_command(program: str, config_dir: Path) -> tuple[str, ...]:
    """Orthanc in the foreground, reading every JSON file of ``config_dir``."""
    return (program, str(config_dir))


def rest_url(address: str, port: int = HTTP_PORT) -> str:
    """The base URL of Orthanc's REST API as the machine reaches it."""
    return f"http://{address}:{port}"
