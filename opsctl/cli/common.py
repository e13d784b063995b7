"""What every command module shares: the app context, settings, and the output switch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from opsctl.core.output import Output

if TYPE_CHECKING:
    from opsctl.core.recorder import AuditRecorder
    from opsctl.core.settings import Settings
    from opsctl.core.ssh import SshTarget

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document for scripts.")]
JsonlOption = Annotated[bool, typer.Option("--jsonl", help="Print one JSON event a line.")]


@dataclass
class AppContext:
    """Global options, and the settings loaded once, on first use."""

    config_file: Path | None = None
    verbose: bool = False
    _settings: Settings | None = field(default=None, repr=False)
    _recorder: AuditRecorder | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from opsctl.core.config import load_settings

            self._settings = load_settings(self.config_file)
        return self._settings

    @property
    def recorder(self) -> AuditRecorder:
        """The command's one audit recorder (opened on first record, closed by run_app)."""
        if self._recorder is None:
            from opsctl.core.recorder import AuditRecorder

            self._recorder = AuditRecorder.for_settings(lambda: self.settings)
        return self._recorder

    def close(self) -> None:
        """Close what the command opened (the recorder's state store)."""
        if self._recorder is not None:
            self._recorder.close()


def app_context(ctx: typer.Context) -> AppContext:
    """Return the AppContext the root callback stored (a fresh one when run standalone)."""
    root = ctx.find_root()
    if not isinstance(root.obj, AppContext):
        root.obj = AppContext()
    return root.obj


def make_output(json: bool = False, jsonl: bool = False) -> Output:
    return Output(json=json, jsonl=jsonl)


def _inventory(settings: Settings) -> Any:
    from inventory import load_inventory
    from opsctl.core.errors import ConfigError

    if settings.inventory is None:
        raise ConfigError("no inventory configured",
                          hint="set 'inventory: PATH' in opsctl.yaml or OPSCTL_INVENTORY=PATH")
    return load_inventory(settings.inventory)


def load_hosts(settings: Settings, pattern: str) -> list[Any]:
    """The inventory hosts ``pattern`` matches; ConfigError if no inventory is configured."""
    return list(_inventory(settings).select(pattern))


def reachable_hosts(settings: Settings, pattern: str, out: Output, *, need: str) -> list[Any]:
    """The hosts ``pattern`` matches that fleet work can reach: ``need`` is ``ssh`` (logins) or ``shell`` (commands).

    The others (``opsctl_ssh: false``; for a shell also network devices, ``ansible_network_os``)
    are named in one warning on stderr. HostNotFound when none is left.
    """
    from opsctl.core.errors import HostNotFound

    hosts = load_hosts(settings, pattern)
    kept = [host for host in hosts if (host.shell if need == "shell" else host.ssh)]
    kept_names = {host.name for host in kept}
    left_out = [host.name for host in hosts if host.name not in kept_names]
    what = "a shell over SSH" if need == "shell" else "SSH"
    why = "opsctl_ssh: false, or a network device's ansible_network_os" if need == "shell" else "opsctl_ssh: false"
    if not kept:
        raise HostNotFound(f"pattern {pattern!r} matches no host with {what} ({len(left_out)} without: {why})")
    if left_out:
        names = ", ".join(left_out[:8]) + (f" and {len(left_out) - 8} more" if len(left_out) > 8 else "")
        out.warn(f"skipping {len(left_out)} hosts without {what} ({why}): {names}")
    return kept


def load_host(settings: Settings, name: str) -> Any:
    """The inventory host called exactly ``name``; HostNotFound otherwise."""
    return _inventory(settings).get(name)


def ssh_targets(settings: Settings, pattern: str, out: Output) -> list[SshTarget]:
    """SSH targets for the hosts ``pattern`` matches that take SSH logins, in inventory order."""
    from opsctl.core.ssh import target_from_host

    return [target_from_host(host, settings.ssh) for host in reachable_hosts(settings, pattern, out, need="ssh")]


def short(text: str, width: int = 60) -> str:
    """The first non-empty line of ``text``, cut to ``width`` characters."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 1] + "…"
    return ""
