"""Classification as data, the way LibreNMS does it: profiles say which devices they cover.

A profile (``inventory/profiles/*.yaml``) has a vendor, platform and role, the tables to walk,
vendor OIDs for model/serial/version, and discovery rules. A rule matches when every condition
it states holds: a sysObjectID prefix, a sysDescr regex (and none of its ``sys_descr_except``),
and probes (an OID that answered, optionally matching a regex). Among matching rules the best
wins: a specific profile before a fallback one (generic net-snmp Linux, the RFC 1628 UPS-MIB),
then a rule with a probe, then the longest sysObjectID prefix, then a sysDescr match.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.snmp.identity import IdentitySource, identity_oids, identity_sources_from_data
from inventory.snmp.system import SystemInfo
from inventory.snmp.values import RawValue, decode_text, is_oid_text
from opsctl.core.errors import ConfigError

PROFILE_DIR = Path(__file__).resolve().parent.parent / "profiles"
ROLES = frozenset(
    {"switch", "router", "firewall", "storage", "ups", "pdu", "sensor", "server", "wireless", "printer"}
)
TABLES = frozenset({"interfaces", "addresses", "entity", "host_resources", "lldp", "ups"})


@dataclass(frozen=True)
class Probe:
    """An OID to GET during classification; it matches when it answered (and matches ``regex`` if given)."""

    oid: str
    regex: re.Pattern[str] | None = None


@dataclass(frozen=True)
class Rule:
    """One discovery rule; every condition it states must hold."""

    sys_object_id: tuple[str, ...] = ()
    sys_descr: tuple[re.Pattern[str], ...] = ()
    sys_descr_except: tuple[re.Pattern[str], ...] = ()
    probes: tuple[Probe, ...] = ()


@dataclass(frozen=True)
class Profile:
    """A device profile; ``role`` is ``None`` for a known device kind the inventory has no role for."""

    name: str
    vendor: str
    platform: str
    role: str | None
    rules: tuple[Rule, ...]
    tables: tuple[str, ...] = ()
    identity: tuple[tuple[str, tuple[IdentitySource, ...]], ...] = ()
    vendor_from: str | None = None
    fallback: bool = False
    makes_hardware: bool = True
    management_controller: bool = False
    role_reason: str = ""
    sys_descr_serial: bool = True
    kind: str = ""


@dataclass(frozen=True)
class Classification:
    """What a device is; ``role`` and ``profile`` are ``None`` when nothing matched, and ``reason`` says why.

    ``vendor_is_maker`` is False when ``vendor`` names the device's software (an SNMP agent such
    as net-snmp, an operating system) rather than whoever made the device. ``role_reason`` is why a
    profile with no role leaves the role to the device's answers; ``sys_descr_serial`` is False when
    a serial written in sysDescr is not the device's (an APC card's ``SN:`` is the card's). ``kind`` is
    what a known device is when the inventory's roles have no name for it (a camera, a console
    server): its role is ``unknown`` by the profile's decision, not for want of evidence.
    """

    vendor: str | None
    platform: str | None
    role: str | None
    profile: str | None
    matched_by: str
    reason: str = ""
    tables: tuple[str, ...] = ()
    identity: tuple[tuple[str, tuple[IdentitySource, ...]], ...] = ()
    vendor_is_maker: bool = True
    fallback: bool = False
    management_controller: bool = False
    role_reason: str = ""
    sys_descr_serial: bool = True
    kind: str = ""

    @property
    def identity_oids(self) -> tuple[tuple[str, str], ...]:
        """Return the (field, OID) pairs the profile's identity reads with one GET, each OID once."""
        return identity_oids(self.identity)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a string or a list of strings")


def _regexes(value: Any, where: str) -> tuple[re.Pattern[str], ...]:
    try:
        return tuple(re.compile(pattern) for pattern in _strings(value, where))
    except re.error as problem:
        raise ConfigError(f"{where}: invalid regular expression: {problem}") from None


def _oid(value: Any, where: str) -> str:
    if not isinstance(value, str) or not is_oid_text(value.strip(".")):
        raise ConfigError(f"{where}: expected a numeric OID")
    return value.strip(".")


def _rule(data: Any, where: str) -> Rule:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a discovery rule must be a mapping")
    unknown = set(data) - {"sys_object_id", "sys_descr", "sys_descr_except", "probe"}
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    probes = []
    for number, probe in enumerate(data.get("probe") or []):
        if not isinstance(probe, dict) or "oid" not in probe:
            raise ConfigError(f"{where}.probe[{number}]: expected {{oid: ..., regex: ...}}")
        regex = _regexes(probe.get("regex"), f"{where}.probe[{number}].regex")
        probes.append(Probe(_oid(probe["oid"], f"{where}.probe[{number}].oid"), regex[0] if regex else None))
    # A prefix keeps its trailing dot semantics: "1.3.6.1.4.1.9." matches 9.x, never 99.x.
    prefixes = tuple(
        _oid(prefix, f"{where}.sys_object_id") + ("." if prefix.endswith(".") else "")
        for prefix in _strings(data.get("sys_object_id"), f"{where}.sys_object_id")
    )
    rule = Rule(
        sys_object_id=prefixes,
        sys_descr=_regexes(data.get("sys_descr"), f"{where}.sys_descr"),
        sys_descr_except=_regexes(data.get("sys_descr_except"), f"{where}.sys_descr_except"),
        probes=tuple(probes),
    )
    if not (rule.sys_object_id or rule.sys_descr or rule.probes):
        raise ConfigError(f"{where}: a rule needs sys_object_id, sys_descr or probe")
    return rule


def profile_from_data(data: Any, where: str) -> Profile:
    """Return the profile described by ``data``; raise ``ConfigError`` naming ``where`` and the key if it is invalid."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a profile must be a mapping")
    known = {
        "name", "vendor", "platform", "role", "discovery", "tables", "identity", "vendor_from", "fallback",
        "makes_hardware", "management_controller", "role_reason", "sys_descr_serial", "kind",
    }  # fmt: skip
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("name", "vendor", "platform"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise ConfigError(f"{where}.{key}: required string")
    where = f"{where} ({data['name']})"
    role = data.get("role")
    if role is not None and role not in ROLES:
        raise ConfigError(f"{where}.role: {role!r} is not one of {sorted(ROLES)}")
    role_reason = data.get("role_reason", "")
    if not isinstance(role_reason, str):
        raise ConfigError(f"{where}.role_reason: expected a string")
    if role_reason and role is not None:
        raise ConfigError(f"{where}.role_reason: only a profile with role null leaves the role to evidence")
    kind = data.get("kind", "")
    if not isinstance(kind, str):
        raise ConfigError(f"{where}.kind: expected a string")
    kind = " ".join(kind.split())
    if kind and role is not None:
        raise ConfigError(f"{where}.kind: only a profile with role null names a kind outside the roles")
    if kind.lower() in ROLES | {"unknown"}:
        raise ConfigError(f"{where}.kind: {kind!r} is a role: say role: {kind.lower()}")
    if kind and data.get("fallback"):
        raise ConfigError(f"{where}.kind: a fallback profile decides no role, so it names no kind")
    if kind and not role_reason.strip():
        role_reason = f"the inventory's roles have no name for a {kind}"
    if not isinstance(data.get("sys_descr_serial", True), bool):
        raise ConfigError(f"{where}.sys_descr_serial: expected true or false")
    tables = _strings(data.get("tables"), f"{where}.tables")
    if set(tables) - TABLES:
        raise ConfigError(f"{where}.tables: unknown tables {sorted(set(tables) - TABLES)}")
    identity = identity_sources_from_data(data.get("identity"), f"{where}.identity")
    rules = data.get("discovery")
    if not isinstance(rules, list) or not rules:
        raise ConfigError(f"{where}.discovery: a list of rules is required")
    return Profile(
        name=data["name"],
        vendor=data["vendor"],
        platform=data["platform"],
        role=role,
        rules=tuple(_rule(rule, f"{where}.discovery[{n}]") for n, rule in enumerate(rules)),
        tables=tables,
        identity=identity,
        vendor_from=None if data.get("vendor_from") is None else _oid(data["vendor_from"], f"{where}.vendor_from"),
        fallback=bool(data.get("fallback", False)),
        makes_hardware=bool(data.get("makes_hardware", True)),
        management_controller=bool(data.get("management_controller", False)),
        role_reason=role_reason.strip(),
        sys_descr_serial=data.get("sys_descr_serial", True),
        kind=kind,
    )


def load_profiles(directory: Path = PROFILE_DIR) -> tuple[Profile, ...]:
    """Return every profile in the ``*.yaml`` files of ``directory``; raise ``ConfigError`` on an invalid file or a duplicate name."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    loader = YAML(typ="safe", pure=True)
    profiles: list[Profile] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            document = loader.load(path.read_text(encoding="utf-8"))
        except (OSError, YAMLError) as problem:
            raise ConfigError(f"{path}: cannot read profiles: {problem}") from None
        if not isinstance(document, dict) or not isinstance(document.get("profiles"), list):
            raise ConfigError(f"{path}: expected a top-level 'profiles:' list")
        profiles.extend(
            profile_from_data(item, f"{path.name}: profiles[{n}]") for n, item in enumerate(document["profiles"])
        )
    names = [profile.name for profile in profiles]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{directory}: duplicate profile names {duplicates}")
    return tuple(profiles)


@functools.cache
def builtin_profiles() -> tuple[Profile, ...]:
    """Return the profiles shipped in ``inventory/profiles`` (loaded once)."""
    return load_profiles(PROFILE_DIR)


def site_profile_dirs() -> tuple[Path, ...]:
    """Return where a site keeps its own profiles: ``/etc/opsctl/profiles``, then ``$XDG_CONFIG_HOME/opsctl/profiles``."""
    from opsctl.core.paths import SYSTEM_CONFIG_FILE, user_config_file

    return (SYSTEM_CONFIG_FILE.parent / "profiles", user_config_file().parent / "profiles")


def merge_profiles(shipped: Sequence[Profile], site: Sequence[Profile]) -> tuple[Profile, ...]:
    """Return ``shipped`` with each profile of ``site`` replacing the shipped one of its name, the others added."""
    replaced = {profile.name: profile for profile in site}
    kept = [replaced.pop(profile.name, profile) for profile in shipped]
    return (*kept, *replaced.values())


def needs_role_evidence(classification: Classification) -> bool:
    """Return whether a classification leaves the role to the device's answers (no profile, a fallback, no role)."""
    return classification.role is None or classification.fallback


@functools.cache
def profiles_in_use() -> tuple[Profile, ...]:
    """Return the shipped profiles merged with the site's (:func:`site_profile_dirs`, read once; later wins).

    Raise ``ConfigError`` naming the file when a site profile is invalid.
    """
    profiles = builtin_profiles()
    for directory in site_profile_dirs():
        if directory.is_dir():
            profiles = merge_profiles(profiles, load_profiles(directory))
    return profiles


def probe_oids(profiles: Sequence[Profile] | None = None) -> tuple[str, ...]:
    """Return every OID the profiles' probes and ``vendor_from`` want, for one GET before :func:`classify`."""
    wanted: dict[str, None] = {}
    for profile in profiles_in_use() if profiles is None else profiles:
        for rule in profile.rules:
            for probe in rule.probes:
                wanted[probe.oid] = None
        if profile.vendor_from:
            wanted[profile.vendor_from] = None
    return tuple(wanted)


def _probe_text(value: RawValue) -> str | None:
    if value is None:
        return None
    if isinstance(value, int):
        return str(value)
    try:
        return decode_text(value, "", [])
    except ValueError:
        return None


def _match(rule: Rule, object_id: str, descr: str, probes: Mapping[str, RawValue]) -> tuple[int, int, int] | None:
    """Return (has probe, sysObjectID prefix length, has sysDescr) when ``rule`` matches, else ``None``."""
    prefix_length = 0
    if rule.sys_object_id:
        matching = [
            prefix for prefix in rule.sys_object_id
            if object_id == prefix.rstrip(".") or object_id.startswith(prefix if prefix.endswith(".") else prefix + ".")
        ]
        if not matching:
            return None
        prefix_length = max(len(prefix.rstrip(".").split(".")) for prefix in matching)
    if rule.sys_descr and not any(pattern.search(descr) for pattern in rule.sys_descr):
        return None
    if any(pattern.search(descr) for pattern in rule.sys_descr_except):
        return None
    for probe in rule.probes:
        text = _probe_text(probes.get(probe.oid))
        if not text or (probe.regex is not None and not probe.regex.search(text)):
            return None
    return (1 if rule.probes else 0, prefix_length, 1 if rule.sys_descr else 0)


def classify(
    system: SystemInfo,
    probe_results: Mapping[str, RawValue] | None = None,
    profiles: Sequence[Profile] | None = None,
) -> Classification:
    """Return the best-matching profile's classification for a device, or one with role ``None`` and the reason."""
    probes = {oid.lstrip("."): value for oid, value in (probe_results or {}).items()}
    object_id = system.object_id.value if system.object_id else ""
    descr = system.descr.value if system.descr else ""
    best: tuple[tuple[int, int, int, int], Profile, Rule] | None = None
    for profile in profiles_in_use() if profiles is None else profiles:
        for rule in profile.rules:
            score = _match(rule, object_id, descr, probes)
            if score is None:
                continue
            ranked = (0 if profile.fallback else 1, *score)
            if best is None or ranked > best[0]:
                best = (ranked, profile, rule)
    if best is None:
        if not object_id and not descr:
            reason = "the device answered neither sysObjectID nor sysDescr"
        else:
            reason = f"no profile matches sysObjectID {object_id or '(none)'} and sysDescr {descr[:60]!r}"
        return Classification(None, None, None, None, matched_by="", reason=reason)
    _, profile, rule = best
    vendor = profile.vendor
    vendor_is_maker = profile.makes_hardware
    if profile.vendor_from:
        answered = _probe_text(probes.get(profile.vendor_from))
        vendor = answered or vendor
        vendor_is_maker = vendor_is_maker or bool(answered)
    matched = []
    if rule.sys_object_id:
        matched.append("sysObjectID")
    if rule.sys_descr:
        matched.append("sysDescr")
    if rule.probes:
        matched.append("probe " + ",".join(probe.oid for probe in rule.probes))
    reason = ""
    if profile.role is None and profile.kind:
        # the profile decides: a device the roles have no name for (decide_role records it as unknown, not partial)
        reason = f"a {profile.kind}: {profile.role_reason}"
    elif profile.role is None:
        reason = f"profile {profile.name} leaves the role to evidence: " + (
            profile.role_reason or f"{profile.vendor} {profile.platform} has no inventory role"
        )
    return Classification(
        vendor=vendor,
        platform=profile.platform,
        role=profile.role,
        profile=profile.name,
        matched_by=" + ".join(matched),
        reason=reason,
        tables=profile.tables,
        identity=profile.identity,
        vendor_is_maker=vendor_is_maker,
        fallback=profile.fallback,
        management_controller=profile.management_controller,
        role_reason=profile.role_reason,
        sys_descr_serial=profile.sys_descr_serial,
        kind=profile.kind,
    )
