"""What a host gets: the daemon's import closure as files, built from the controller's own install.

The closure is measured, not listed: a child interpreter imports ``agents.daemon`` and builds its
registry, and every module it then holds that is not the standard library is shipped: the
project's own modules one by one (so ``agents.installer``, paramiko and the rest of
``opsctl.core`` stay behind), and every file of each third-party distribution they come from
(prometheus-client). Those files are copied as the controller's venv holds them rather than as
wheels: hosts have no network, the venv keeps no wheels, and a pure-Python distribution's
installed files are the package itself; so the host needs no pip, no ensurepip
(python3-venv) and no compiler. A distribution with compiled code is refused, since its files
would only fit the controller's Python and architecture.

The bundle is deterministic (sorted, fixed times and owners): its digest names the version
directory on the host, so an unchanged bundle is recognised and never copied twice.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath

from opsctl import __version__
from opsctl.core.errors import OpsctlError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = "agent.py"
SUPERVISOR = "supervise.py"
LIB = "lib"
_PROJECT_PACKAGES = ("agents", "opsctl")
# site-packages modules that set up imports (editable installs, setuptools) rather than being imported code
_IMPORT_SHIMS = ("__editable__", "_distutils_hack")

# run in a child interpreter, so the installer's own imports do not count
_PROBE = (
    "import json, sys, agents.daemon as d; d.build_registry(d.AgentConfig()); "
    "print(json.dumps({n: getattr(m, '__file__', None) for n, m in list(sys.modules.items())}))"
)

LAUNCHER_TEXT = '''\
"""opsctl-agent, as installed by `opsctl agent install`: the daemon from lib/ beside this file."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "lib"))
from agents.daemon import main  # noqa: E402

sys.exit(main())
'''


class BundleError(OpsctlError, RuntimeError):
    """The agent's files cannot be gathered from the controller's install."""


@dataclass(frozen=True)
class BundleFile:
    """One file of the bundle: its path inside the version directory, content and mode."""

    path: str
    content: bytes
    mode: int = 0o644


@dataclass(frozen=True)
class Bundle:
    """The agent's code and its dependencies' files, and the digest that names them."""

    version: str
    files: tuple[BundleFile, ...]

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 over every file's path, mode and content, in path order."""
        hasher = hashlib.sha256()
        for file in sorted(self.files, key=lambda f: f.path):
            hasher.update(f"{file.path}\0{file.mode:o}\0{len(file.content)}\0".encode())
            hasher.update(file.content)
        return hasher.hexdigest()

    @property
    def install_name(self) -> str:
        """The version directory's name on a host: ``VERSION-DIGEST12``."""
        return f"{self.version}-{self.digest[:12]}"

    @property
    def distributions(self) -> tuple[str, ...]:
        """The third-party distributions shipped, as ``name-version`` (their ``.dist-info`` names)."""
        return tuple(sorted(f.path.split("/")[1].removesuffix(".dist-info") for f in self.files
                            if f.path.startswith(f"{LIB}/") and f.path.endswith(".dist-info/METADATA")))

    def tar_gz(self, *, prefix: str = "", extra: tuple[BundleFile, ...] = ()) -> bytes:
        """The files under ``prefix``, and ``extra`` as they are, in a gzip'd tar (fixed times and owners).

        The gzip header's time is fixed too (``mtime=0``): tarfile's ``w:gz`` stamps the current second
        there, so two builds a second apart differed.
        """
        entries = [(prefix + file.path, file) for file in self.files] + [(file.path, file) for file in extra]
        buffer = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=6, mtime=0) as compressed, \
                tarfile.open(fileobj=compressed, mode="w") as archive:
            for path, file in sorted(entries, key=lambda entry: entry[0]):
                info = tarfile.TarInfo(path)
                info.size = len(file.content)
                info.mode = file.mode
                info.mtime = 0
                info.uname = info.gname = "root"
                archive.addfile(info, io.BytesIO(file.content))
        return buffer.getvalue()


def closure_module_files(python: str = sys.executable) -> dict[str, str]:
    """Every module (name → file) ``python`` holds once it imported the daemon and built its registry."""
    done = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, cwd=PROJECT_ROOT,
                          timeout=60, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BundleError(f"cannot import the agent daemon with {python}: {tail}")
    found: dict[str, str | None] = json.loads(done.stdout)
    return {name: file for name, file in found.items() if file}


def _is_installed_package(file: Path) -> bool:
    """Whether ``file`` belongs to an installed distribution rather than the standard library."""
    return "site-packages" in file.parts or "dist-packages" in file.parts


def _project_files(modules: dict[str, str]) -> list[BundleFile]:
    files = []
    for name, file in sorted(modules.items()):
        if name.split(".")[0] not in _PROJECT_PACKAGES:
            continue
        path = Path(file).resolve()
        relative = path.relative_to(PROJECT_ROOT)
        files.append(BundleFile(f"{LIB}/{relative.as_posix()}", path.read_bytes()))
    return files


def _distribution_files(top_level: set[str]) -> list[BundleFile]:
    owners = metadata.packages_distributions()
    names = sorted({owner for module in top_level for owner in owners.get(module, [])})
    missing = sorted(module for module in top_level if module not in owners)
    if missing:
        raise BundleError(f"the agent imports {', '.join(missing)}, which no installed distribution provides")
    files: list[BundleFile] = []
    for name in names:
        distribution = metadata.distribution(name)
        for entry in distribution.files or ():
            posix = PurePosixPath(str(entry))
            if ".." in posix.parts or "__pycache__" in posix.parts or posix.suffix in (".pyc", ".pyo"):
                continue  # console scripts outside site-packages, and compiled caches
            if posix.suffix in (".so", ".pyd"):
                raise BundleError(f"{name} has compiled code ({posix.name}); the agent ships pure Python only")
            if posix.name in ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json"):
                continue  # the controller's install record, not the package
            located = Path(str(entry.locate()))
            files.append(BundleFile(f"{LIB}/{posix.as_posix()}", located.read_bytes()))
    return files


@functools.cache
def build_bundle(python: str = sys.executable) -> Bundle:
    """The bundle of this controller's agent: closure files, the launcher and the supervisor.

    Raise :class:`BundleError` when the daemon cannot be imported or a dependency cannot ship.
    """
    modules = closure_module_files(python)
    third_party = {name.split(".")[0] for name, file in modules.items()
                   if name.split(".")[0] not in _PROJECT_PACKAGES and _is_installed_package(Path(file))
                   and not name.startswith(_IMPORT_SHIMS)}
    files = _project_files(modules) + _distribution_files(third_party)
    files.append(BundleFile(LAUNCHER, LAUNCHER_TEXT.encode()))
    files.append(BundleFile(SUPERVISOR, (PROJECT_ROOT / "agents" / "supervise.py").read_bytes()))
    return Bundle(__version__, tuple(files))
