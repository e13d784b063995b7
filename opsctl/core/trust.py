"""Enrol, import and forget SSH host keys deliberately; every change is recorded through the command's recorder."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from opsctl.core.errors import ConfigError, ExitCode, OpsctlError
from opsctl.core.known_hosts import (
    KnownHostEntry,
    UnsupportedLine,
    add_entries,
    fingerprint,
    host_key_name,
    host_key_names,
    load_known_hosts,
    names_a_host,
    remove_host,
    warn_once,
)

if TYPE_CHECKING:
    from opsctl.core.outcome import Outcome
    from opsctl.core.recorder import Recorder
    from opsctl.core.settings import Settings
    from opsctl.core.ssh import SshTarget


@dataclass(frozen=True)
class OfferedKey:
    key_type: str
    fingerprint: str
    key_base64: str


@dataclass(frozen=True)
class TrustOutcome:
    """One host: ``enrolled``, ``already-trusted``, ``refused`` or ``unreachable``, with its keys."""

    host: str
    known_hosts_name: str
    status: str
    offered: tuple[OfferedKey, ...] = ()
    enrolled: tuple[OfferedKey, ...] = ()
    message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host, "known_hosts_name": self.known_hosts_name, "status": self.status,
            "offered": [{"type": k.key_type, "fingerprint": k.fingerprint} for k in self.offered],
            "enrolled": [{"type": k.key_type, "fingerprint": k.fingerprint} for k in self.enrolled],
            "message": self.message,
        }

    @property
    def fleet_outcome(self) -> Outcome:
        """The project's outcome: enrolled or already trusted is ok, unreachable is unreachable, refused is failed."""
        from opsctl.core.fleet import Outcome

        return {"enrolled": Outcome.OK, "already-trusted": Outcome.OK,
                "unreachable": Outcome.UNREACHABLE}.get(self.status, Outcome.FAILED)


ExpectedFingerprints = Mapping[str, Collection[str]] | Collection[str]


def expected_fingerprints(fingerprints: Sequence[str], from_file: Path | None) -> dict[str, set[str]] | set[str] | None:
    """The fingerprints ``hosts trust`` accepts: ``fingerprints`` for every host, or per host from a JSON file.

    The file is ``{host: {fingerprints: [...]}}`` as the lab publishes it (``fingerprints`` are
    then accepted for every host besides); ``None`` when neither is given. Raise ConfigError
    naming the file when it cannot be read as that.
    """
    if from_file is None:
        return set(fingerprints) if fingerprints else None
    try:
        published = json.loads(from_file.read_text(encoding="utf-8"))
        return {host: set(entry["fingerprints"]) | set(fingerprints) for host, entry in published.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"expected {{host: {{fingerprints: [...]}}}}: {type(error).__name__}",
                          path=str(from_file)) from None


@dataclass(frozen=True)
class TrustReport:
    """What ``hosts trust`` did to each host, and the known_hosts file it wrote."""

    known_hosts: Path
    outcomes: tuple[TrustOutcome, ...]

    @property
    def exit_code(self) -> ExitCode:
        """0 every host enrolled or already trusted; 4 only unreachable ones besides; 1 all refused; 3 otherwise."""
        from opsctl.core.fleet import exit_code_for_outcomes

        return exit_code_for_outcomes(outcome.fleet_outcome for outcome in self.outcomes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {"known_hosts": str(self.known_hosts), "hosts": [o.to_dict() for o in self.outcomes]}


def _decide(target: SshTarget, offered: Sequence[OfferedKey], known_blobs: Mapping[str, str],
            expected: Collection[str] | None, enrolled_elsewhere: Mapping[str, Sequence[str]] | None = None
            ) -> TrustOutcome:
    """Pure decision: what to enrol for one host given what it offered and what we know.

    ``known_blobs`` are the keys enrolled for the host (by name, else by address);
    ``enrolled_elsewhere`` maps an offered fingerprint to the other hosts it is enrolled for,
    which a changed key's refusal names.
    """
    name = target.known_hosts_name
    if known_blobs:
        matching = [k for k in offered if known_blobs.get(k.key_type) == k.key_base64]
        changed = [k for k in offered if k.key_type in known_blobs and known_blobs[k.key_type] != k.key_base64]
        if changed or not matching:
            shown = ", ".join(f"{k.key_type} {k.fingerprint}" for k in (changed or offered))
            owners = sorted({owner for k in (changed or offered)
                             for owner in (enrolled_elsewhere or {}).get(k.fingerprint, ())})
            elsewhere = f" (the key enrolled for {', '.join(owners)})" if owners else ""
            return TrustOutcome(target.name, name, "refused", tuple(offered), message=(
                f"{target.label}: HOST KEY CHANGED: now offers {shown}{elsewhere}; "
                f"run 'opsctl hosts forget {target.name}' first if the change is expected"))
        return TrustOutcome(target.name, name, "already-trusted", tuple(offered), tuple(matching))
    chosen = list(offered)
    if expected is not None:
        chosen = [k for k in offered if k.fingerprint in expected]
        if not chosen:
            shown = ", ".join(k.fingerprint for k in offered)
            return TrustOutcome(target.name, name, "refused", tuple(offered), message=(
                f"{target.label}: offered {shown}; none matches the expected fingerprint"))
    return TrustOutcome(target.name, name, "enrolled", tuple(offered), tuple(chosen))


def _offered_keys(target: SshTarget, timeout: float) -> list[OfferedKey]:
    from opsctl.core.ssh import scan_host_keys

    keys = scan_host_keys(target.address, target.port, timeout=timeout, label=target.label)
    return [OfferedKey(k.get_name(), fingerprint(k), k.get_base64()) for k in keys]


def trust_hosts(settings: Settings, targets: Sequence[SshTarget], *, recorder: Recorder,
                expected: ExpectedFingerprints | None = None) -> TrustReport:
    """Scan each target's host keys, enrol them, and record what was done through ``recorder``.

    ``expected`` is either one set of fingerprints for every host or a mapping of host name to
    its fingerprints; a host none of whose keys matches is refused, a host whose enrolled key
    changed is refused. Nothing is enrolled for a refused or unreachable host.
    """
    from opsctl.core.errors import HostUnreachable

    path = settings.known_hosts_path
    store = load_known_hosts(path)
    recorder.check()  # a log that would refuse the record refuses the enrolment too

    def one(target: SshTarget) -> TrustOutcome:
        try:
            offered = _offered_keys(target, settings.ssh.connect_timeout)
        except HostUnreachable as error:
            return TrustOutcome(target.name, target.known_hosts_name, "unreachable", message=str(error))
        # by name; a host never enrolled by name is judged by its address (older files)
        besides = host_key_names(target.name, target.address, target.port)
        entries = store.keys_for(host_key_name(target.name, target.port)) or [
            entry for entry in store.keys_for(target.known_hosts_name) if not names_a_host(entry, besides=besides)]
        known = {e.key_type: e.key_base64 for e in entries}
        elsewhere = {k.fingerprint: store.hosts_holding(base64.b64decode(k.key_base64), besides=besides)
                     for k in offered}
        wanted: Collection[str] | None
        if expected is None:
            wanted = None
        elif isinstance(expected, Mapping):
            wanted = expected.get(target.name, ())
        else:
            wanted = expected
        return _decide(target, offered, known, wanted, elsewhere)

    from opsctl.core.errors import Interrupted
    from opsctl.core.fleet import FleetOptions, HostResult, run_fleet

    decided: dict[str, TrustOutcome] = {}

    def task(target: SshTarget, _cancel: object) -> HostResult:
        decided[target.name] = outcome = one(target)
        return HostResult(target.name, outcome.fleet_outcome, error=outcome.message)

    # the key scans run on the fleet executor (fleet.forks at once), like every host's work
    fleet = run_fleet(targets, task, name_of=lambda target: target.name,
                      options=FleetOptions(forks=settings.fleet.forks))
    if fleet.interrupted:
        raise Interrupted("hosts trust: interrupted; no key was enrolled")
    outcomes = [decided[target.name] for target in targets]
    # under the inventory name and the address; an already-trusted host gets the names it lacks
    # (an address-only entry of an older file, or the new address of a re-addressed host)
    by_name = {target.name: host_key_names(target.name, target.address, target.port) for target in targets}
    add_entries(path, [
        KnownHostEntry(0, by_name[outcome.host], key.key_type, key.key_base64)
        for outcome in outcomes if outcome.status in ("enrolled", "already-trusted") for key in outcome.enrolled
    ])
    for outcome in outcomes:
        if outcome.status == "enrolled":
            for key in outcome.enrolled:
                others = store.hosts_holding(base64.b64decode(key.key_base64), besides=by_name[outcome.host])
                if others:
                    warn_once(f"{outcome.host}: its host key {key.fingerprint} is also enrolled for "
                              f"{', '.join(others)}; expected only for cloned machines")
    recorder.record("hosts trust", [o.host for o in outcomes],
                    "ok" if all(o.status in ("enrolled", "already-trusted") for o in outcomes) else "failed",
                    {"hosts": [o.to_dict() for o in outcomes]})
    return TrustReport(path, tuple(outcomes))


@dataclass(frozen=True)
class ImportResult:
    """The keys ``hosts import`` took, and the lines it could not honour."""

    imported: tuple[KnownHostEntry, ...]
    unsupported: tuple[UnsupportedLine, ...]
    source: Path

    @property
    def exit_code(self) -> ExitCode:
        """0 every line honoured; 3 when some could not be."""
        return ExitCode.PARTIAL if self.unsupported else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {
            "source": str(self.source),
            "imported": [{"names": list(e.names), "type": e.key_type, "fingerprint": e.fingerprint,
                          "revoked": e.revoked} for e in self.imported],
            "unsupported": [{"line": u.line, "reason": u.reason} for u in self.unsupported],
        }


def import_known_hosts(settings: Settings, source: Path, *, recorder: Recorder) -> ImportResult:
    """Copy the usable entries of an OpenSSH known_hosts file, recorded through ``recorder``; report lines that are not."""
    if not source.exists():
        raise ConfigError("no such file", path=str(source))
    parsed = load_known_hosts(source)
    recorder.check()  # a log that would refuse the record refuses the change too
    written = add_entries(settings.known_hosts_path, parsed.entries)
    recorder.record("hosts import", sorted({n for e in written for n in e.names}), "ok",
                    {"source": str(source), "imported": len(written), "unsupported": len(parsed.unsupported)})
    return ImportResult(tuple(written), tuple(parsed.unsupported), source)


@dataclass(frozen=True)
class ForgetResult:
    """The keys removed for one host."""

    host: str
    known_hosts_name: str
    removed: tuple[KnownHostEntry, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {"host": self.host, "known_hosts_name": self.known_hosts_name,
                "removed": [{"type": e.key_type, "fingerprint": e.fingerprint} for e in self.removed]}


def forget_host(settings: Settings, target: SshTarget, *, recorder: Recorder) -> ForgetResult:
    """Remove every key enrolled for the target, recorded through ``recorder``; raise OpsctlError if there was none."""
    recorder.check()  # a log that would refuse the record refuses the change too
    removed = remove_host(settings.known_hosts_path, target.name, target.address, target.port)
    if not removed:
        raise OpsctlError(f"{target.label}: no key enrolled under {target.known_hosts_name} "
                          f"in {settings.known_hosts_path}")
    recorder.record("hosts forget", [target.name], "ok",
                    {"known_hosts_name": target.known_hosts_name,
                     "removed": [{"type": e.key_type, "fingerprint": e.fingerprint} for e in removed]})
    return ForgetResult(target.name, target.known_hosts_name, tuple(removed))


@dataclass(frozen=True)
class ForgetReport:
    """What ``hosts forget`` removed, host by host."""

    results: tuple[ForgetResult, ...]

    @property
    def exit_code(self) -> ExitCode:
        """0: forgetting either works for every host or raises at the first without a key."""
        return ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe data for ``--json``."""
        return {"hosts": [result.to_dict() for result in self.results]}


def forget_hosts(settings: Settings, targets: Sequence[SshTarget], *, recorder: Recorder) -> ForgetReport:
    """Forget each target's keys in turn (see :func:`forget_host`); the first without a key raises, after the earlier ones are forgotten."""
    return ForgetReport(tuple(forget_host(settings, target, recorder=recorder) for target in targets))
