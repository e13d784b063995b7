"""The restore drill's report: what was restored, from where, which checks passed, how long each
step took, RTO and RPO against the policy's objectives, and the verdict, for a hospital auditor.

:class:`DrillReport` is what a drill produced (frozen, built by the drill, stored as
:func:`report_document`); :func:`render_markdown` and :func:`render_html` render it. The HTML is
one self-contained page (inline CSS, no script, no external resource, printable) with every
value escaped. Both put the verdict first, in words: a failed drill reads ``FAILED`` before
anything else, whatever the colours. Times are UTC ISO-8601 with the zone (``Z``); durations
are given in seconds and in human form.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Verdict = Literal["passed", "failed"]
Source = Literal["local", "offsite"]
SCHEMA = "opsctl.drill-report/v1"
SOURCES: tuple[Source, ...] = ("local", "offsite")
#: step outcomes that do not fail a drill (DESIGN.md's vocabulary): a step not needed is skipped
PASSING_STEP_OUTCOMES = frozenset({"ok", "changed", "skipped"})
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("restored", "What was restored and from where"),
    ("objectives", "Objectives"),
    ("checks", "Checks"),
    ("timeline", "Timeline of steps"),
    ("environment", "Environment"),
)
"""Every section of a report, in order: its HTML id and its heading (the same in Markdown)."""

_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")


def _aware(what: str, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what}: a drill report's times carry their zone (got a naive datetime)")
    return moment


@dataclass(frozen=True)
class DrillStep:
    """One step of a drill: when it started, how long it took, its outcome (``ok``, ``failed``,
    ``skipped``, ...) and a short detail (what it did, or why it failed)."""

    name: str
    started: datetime
    duration_seconds: float
    outcome: str
    detail: str = ""

    def __post_init__(self) -> None:
        _aware(f"step {self.name}", self.started)

    @property
    def passed(self) -> bool:
        return self.outcome in PASSING_STEP_OUTCOMES


@dataclass(frozen=True)
class DrillCheck:
    """One verification: what was expected, what was seen, and whether it passed."""

    name: str
    expected: str
    seen: str
    passed: bool


@dataclass(frozen=True)
class Objective:
    """A measured time against the policy's objective (both in seconds; None: not measured, or
    no objective set). ``met`` is None when there is nothing to compare."""

    measured_seconds: float | None
    objective_seconds: float | None

    @property
    def met(self) -> bool | None:
        if self.measured_seconds is None:
            return False if self.objective_seconds is not None else None
        if self.objective_seconds is None:
            return None
        return self.measured_seconds <= self.objective_seconds


@dataclass(frozen=True)
class DrillEnvironment:
    """Who ran the drill, where, and with which programs (``other``: more name/version pairs)."""

    operator: str
    host: str
    opsctl_version: str
    restic_version: str
    postgresql_version: str
    other: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DrillReport:
    """One restore drill of one policy, as an auditor reads it.

    ``repository`` is the repository's location and never holds a secret (credentials in a
    URL are dropped when rendered anyway). ``rto``: time from the drill's start until the
    restored service worked; ``rpo``: the age of the restored data (drill start minus snapshot
    time); each against the policy's objective. ``reasons``: why the verdict is what it is
    (see :func:`decide_verdict`). Every time carries its zone.
    """

    policy: str
    source: Source
    repository: str
    snapshot_id: str
    snapshot_time: datetime
    started: datetime
    finished: datetime
    steps: tuple[DrillStep, ...]
    checks: tuple[DrillCheck, ...]
    rto: Objective
    rpo: Objective
    verdict: Verdict
    environment: DrillEnvironment
    reasons: tuple[str, ...] = ()
    run_id: str | None = None
    databases: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"a drill's source is local or offsite, not {self.source!r}")
        if self.verdict not in ("passed", "failed"):
            raise ValueError(f"a drill's verdict is passed or failed, not {self.verdict!r}")
        for what, moment in (("snapshot_time", self.snapshot_time), ("started", self.started),
                             ("finished", self.finished)):
            _aware(what, moment)
        object.__setattr__(self, "steps", tuple(self.steps))
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "reasons", tuple(self.reasons))
        object.__setattr__(self, "databases", tuple(self.databases))

    @property
    def duration_seconds(self) -> float:
        return (self.finished - self.started).total_seconds()

    @property
    def checks_passed(self) -> int:
        return sum(1 for check in self.checks if check.passed)


def decide_verdict(
    steps: Sequence[DrillStep], checks: Sequence[DrillCheck], rto: Objective, rpo: Objective,
) -> tuple[Verdict, tuple[str, ...]]:
    """The verdict of a drill and its reasons, one sentence each.

    Passed only when no step failed, at least one check ran and every check passed, the
    restored service worked (RTO measured), and RTO and RPO are within their objectives
    where the policy sets them. Otherwise failed, with every reason.
    """
    reasons = [f"step {step.name} {step.outcome}" + (f": {step.detail}" if step.detail else "")
               for step in steps if not step.passed]
    failed_checks = [check.name for check in checks if not check.passed]
    if not checks:
        reasons.append("no check verified the restored data")
    elif failed_checks:
        reasons.append(f"{len(failed_checks)} of {len(checks)} checks failed: {', '.join(failed_checks)}")
    if rto.measured_seconds is None:
        reasons.append("the restored service never worked, so no RTO was measured")
    for name, objective in (("RTO", rto), ("RPO", rpo)):
        if objective.met is False and objective.measured_seconds is not None:
            assert objective.objective_seconds is not None
            reasons.append(f"{name} {format_duration(objective.measured_seconds)} is over the objective of "
                           f"{format_duration(objective.objective_seconds)}")
    return ("failed" if reasons else "passed"), tuple(reasons)


# -- formatting ----------------------------------------------------------------------------------


def format_time(moment: datetime) -> str:
    """``moment`` in UTC, ISO-8601 with the zone: ``2026-12-05T05:38:11Z``."""
    moment = _aware("time", moment).astimezone(UTC)
    text = moment.isoformat(timespec="seconds")
    return text.removesuffix("+00:00") + "Z"


def format_duration(seconds: float) -> str:
    """Seconds and, from a minute on, the human form: ``4.2 s``, ``754 s (12 min 34 s)``."""
    if math.isnan(seconds) or seconds < 0:
        return f"{seconds} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    parts = []
    rest = whole
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if rest >= size:
            parts.append(f"{rest // size} {unit}")
            rest %= size
    if rest:
        parts.append(f"{rest} s")
    return f"{whole} s ({' '.join(parts)})"


def public_location(location: str) -> str:
    """A repository location fit to show: user and password dropped from any URL in it."""
    return _URL_USERINFO.sub(lambda match: match.group("scheme"), location)


def _source_words(source: Source) -> str:
    return "the local repository" if source == "local" else "the off-site copy"


def _met_words(objective: Objective) -> str:
    return {True: "met", False: "MISSED", None: "no objective set"}[objective.met]


def _objective_text(seconds: float | None, missing: str) -> str:
    return missing if seconds is None else format_duration(seconds)


def _summary_rows(report: DrillReport) -> list[tuple[str, str]]:
    return [
        ("Verdict", report.verdict.upper()),
        ("Policy", report.policy),
        ("Restored from", f"{_source_words(report.source)} ({report.source})"),
        ("Drill started", format_time(report.started)),
        ("Drill finished", format_time(report.finished)),
        ("Drill duration", format_duration(report.duration_seconds)),
        ("Checks passed", f"{report.checks_passed} of {len(report.checks)}"),
        ("RTO", f"{_objective_text(report.rto.measured_seconds, 'not measured')} ({_met_words(report.rto)})"),
        ("RPO", f"{_objective_text(report.rpo.measured_seconds, 'not measured')} ({_met_words(report.rpo)})"),
        ("Run by", f"{report.environment.operator} on {report.environment.host}"),
        *((("Run id", report.run_id),) if report.run_id else ()),
    ]


def _restored_rows(report: DrillReport) -> list[tuple[str, str]]:
    return [
        ("Source", f"{_source_words(report.source)} ({report.source})"),
        ("Repository", public_location(report.repository)),
        ("Snapshot", report.snapshot_id),
        ("Snapshot taken", format_time(report.snapshot_time)),
        *((("Databases", ", ".join(report.databases)),) if report.databases else ()),
    ]


def _objective_rows(report: DrillReport) -> list[tuple[str, str, str, str]]:
    return [
        ("RTO: time until the restored service worked",
         _objective_text(report.rto.measured_seconds, "not measured"),
         _objective_text(report.rto.objective_seconds, "none set"), _met_words(report.rto)),
        ("RPO: age of the restored data",
         _objective_text(report.rpo.measured_seconds, "not measured"),
         _objective_text(report.rpo.objective_seconds, "none set"), _met_words(report.rpo)),
    ]


def _environment_rows(report: DrillReport) -> list[tuple[str, str]]:
    environment = report.environment
    return [
        ("Operator", environment.operator),
        ("Host", environment.host),
        ("opsctl", environment.opsctl_version),
        ("restic", environment.restic_version),
        ("PostgreSQL", environment.postgresql_version),
        *environment.other,
    ]


def _headline(report: DrillReport) -> str:
    if report.verdict == "passed":
        return f"PASSED: policy {report.policy} was restored from {_source_words(report.source)} and verified"
    return f"FAILED: the restore drill of policy {report.policy} did not pass"


# -- Markdown ------------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~#])")


def markdown_text(value: object) -> str:
    """``value`` as literal Markdown text on one line: every character Markdown (or the HTML
    it may carry) would act on is backslash-escaped; line breaks become spaces."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(markdown_text(cell) for cell in row) + " |" for row in rows]
    return lines


def render_markdown(report: DrillReport) -> str:
    """The report as Markdown: the verdict in words first, then every section of :data:`SECTIONS`."""
    title = dict(SECTIONS)
    lines = [f"# Restore drill report: {markdown_text(report.policy)}", "",
             f"**{markdown_text(_headline(report))}**", ""]
    if report.reasons:
        lines += ["Why:", ""] + [f"- {markdown_text(reason)}" for reason in report.reasons] + [""]
    lines += [f"## {title['summary']}", "", *_markdown_table(("", ""), _summary_rows(report)), ""]
    lines += [f"## {title['restored']}", "", *_markdown_table(("", ""), _restored_rows(report)), ""]
    lines += [f"## {title['objectives']}", "", *_markdown_table(("objective", "measured", "policy's objective", "result"), _objective_rows(report)), ""]
    lines += [f"## {title['checks']}", ""]
    if report.checks:
        lines += _markdown_table(("check", "expected", "seen", "result"),
                                 [(c.name, c.expected, c.seen, "passed" if c.passed else "FAILED")
                                  for c in report.checks])
    else:
        lines.append("No check ran.")
    lines += ["", f"## {title['timeline']}", ""]
    if report.steps:
        lines += _markdown_table(("step", "started", "duration", "outcome", "detail"),
                                 [(s.name, format_time(s.started), format_duration(s.duration_seconds),
                                   s.outcome if s.passed else s.outcome.upper(), s.detail) for s in report.steps])
    else:
        lines.append("No step ran.")
    lines += ["", f"## {title['environment']}", "", *_markdown_table(("", ""), _environment_rows(report))]
    return "\n".join(lines) + "\n"


# -- HTML ----------------------------------------------------------------------------------------

_CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 15px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1b1f24;
       background: #ffffff; margin: 0 auto; padding: 24px 32px 48px; max-width: 1100px; }
h1 { font-size: 26px; margin: 0 0 16px; }
h2 { font-size: 19px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid #d0d7de; }
.verdict { border: 3px solid; border-radius: 6px; padding: 14px 18px; margin-bottom: 8px; }
.verdict p { margin: 0; font-size: 22px; font-weight: bold; }
.verdict ul { margin: 8px 0 0; padding-left: 22px; }
.verdict-passed { border-color: #1a7f37; background: #dafbe1; color: #0f5323; }
.verdict-failed { border-color: #cf222e; background: #ffebe9; color: #82071e; }
table { border-collapse: collapse; width: 100%; margin: 4px 0; }
th, td { text-align: left; vertical-align: top; padding: 6px 10px; border: 1px solid #d0d7de;
         overflow-wrap: anywhere; }
th { background: #f6f8fa; white-space: nowrap; }
td.time, td.ok, td.failed, td.skipped { white-space: nowrap; }
table.facts th { width: 28%; }
td.passed, td.ok, td.met { color: #0f5323; background: #dafbe1; font-weight: bold; }
td.failed, td.missed { color: #82071e; background: #ffebe9; font-weight: bold; }
td.skipped, td.none { color: #57606a; }
footer { margin-top: 32px; color: #57606a; font-size: 13px; }
@media print {
  body { padding: 0; max-width: none; font-size: 11pt; }
  .verdict, td.passed, td.failed, td.ok, td.met, td.missed {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  section { break-inside: avoid; }
  tr { break-inside: avoid; }
}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _facts_table(rows: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th scope=\"row\">{_e(name)}</th><td>{_e(value)}</td></tr>" for name, value in rows)
    return f'<table class="facts"><tbody>{body}</tbody></table>'


def _table(header: Sequence[str], rows: Iterable[Sequence[tuple[str, str]]]) -> str:
    """A table; each cell is (text, css class)."""
    head = "".join(f'<th scope="col">{_e(name)}</th>' for name in header)
    body = "".join(
        "<tr>" + "".join(f'<td class="{_e(css)}">{_e(text)}</td>' if css else f"<td>{_e(text)}</td>"
                         for text, css in row) + "</tr>"
        for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(key: str, content: str) -> str:
    return f'<section id="{key}"><h2>{_e(dict(SECTIONS)[key])}</h2>{content}</section>'


def _met_css(objective: Objective) -> str:
    return {True: "met", False: "missed", None: "none"}[objective.met]


def render_html(report: DrillReport) -> str:
    """The report as one self-contained, printable HTML page (inline CSS, no script, no external
    resource), every value escaped; the verdict first, in words, then every section of
    :data:`SECTIONS`, each a ``<section id=...>`` under its heading."""
    mark = "\u2713" if report.verdict == "passed" else "\u2717"
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in report.reasons)
    verdict = (f'<div class="verdict verdict-{_e(report.verdict)}" id="verdict">'
               f"<p>{mark} DRILL {_e(report.verdict.upper())}</p>"
               f"<div>{_e(_headline(report))}</div>" + (f"<ul>{reasons}</ul>" if reasons else "") + "</div>")
    checks = _table(
        ("check", "expected", "seen", "result"),
        [((c.name, ""), (c.expected, ""), (c.seen, ""),
          ("\u2713 passed" if c.passed else "\u2717 FAILED", "passed" if c.passed else "failed"))
         for c in report.checks],
    ) if report.checks else "<p>No check ran.</p>"
    steps = _table(
        ("step", "started", "duration", "outcome", "detail"),
        [((s.name, ""), (format_time(s.started), "time"), (format_duration(s.duration_seconds), ""),
          (s.outcome if s.passed else s.outcome.upper(), "ok" if s.outcome in ("ok", "changed")
           else "skipped" if s.outcome == "skipped" else "failed"), (s.detail, ""))
         for s in report.steps],
    ) if report.steps else "<p>No step ran.</p>"
    objectives = _table(
        ("objective", "measured", "policy's objective", "result"),
        [((name, ""), (measured, ""), (target, ""), (result, _met_css(objective)))
         for (name, measured, target, result), objective in zip(
             _objective_rows(report), (report.rto, report.rpo), strict=True)],
    )
    body = "".join((
        f"<h1>Restore drill report: {_e(report.policy)}</h1>",
        verdict,
        _section("summary", _facts_table(_summary_rows(report))),
        _section("restored", _facts_table(_restored_rows(report))),
        _section("objectives", objectives),
        _section("checks", checks),
        _section("timeline", steps),
        _section("environment", _facts_table(_environment_rows(report))),
        f"<footer>Written by opsctl {_e(report.environment.opsctl_version)} for the drill that finished "
        f"{_e(format_time(report.finished))}. Times are UTC.</footer>",
    ))
    title = f"Restore drill {report.verdict.upper()}: {report.policy} ({format_time(report.started)})"
    return ("<!DOCTYPE html>\n"
            '<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{_CSS}</style></head>"
            f"<body>{body}</body></html>\n")


# -- document ------------------------------------------------------------------------------------


def report_document(report: DrillReport) -> dict[str, Any]:
    """The report as a JSON-ready document (``schema``: ``opsctl.drill-report/v1``), times in
    UTC ISO-8601; :func:`report_from_document` reads it back."""
    environment = report.environment
    return {
        "schema": SCHEMA,
        "policy": report.policy,
        "source": report.source,
        "repository": public_location(report.repository),
        "snapshot": {"id": report.snapshot_id, "time": format_time(report.snapshot_time)},
        "databases": list(report.databases),
        "run_id": report.run_id,
        "started": format_time(report.started),
        "finished": format_time(report.finished),
        "verdict": report.verdict,
        "reasons": list(report.reasons),
        "rto": {"measured_seconds": report.rto.measured_seconds, "objective_seconds": report.rto.objective_seconds},
        "rpo": {"measured_seconds": report.rpo.measured_seconds, "objective_seconds": report.rpo.objective_seconds},
        "steps": [{"name": s.name, "started": format_time(s.started), "duration_seconds": s.duration_seconds,
                   "outcome": s.outcome, "detail": s.detail} for s in report.steps],
        "checks": [{"name": c.name, "expected": c.expected, "seen": c.seen, "passed": c.passed}
                   for c in report.checks],
        "environment": {"operator": environment.operator, "host": environment.host,
                        "opsctl": environment.opsctl_version, "restic": environment.restic_version,
                        "postgresql": environment.postgresql_version,
                        "other": [list(pair) for pair in environment.other]},
    }


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def report_from_document(document: Mapping[str, Any]) -> DrillReport:
    """Read back what :func:`report_document` wrote; raise ``ValueError`` for another schema."""
    if document.get("schema") != SCHEMA:
        raise ValueError(f"not a drill report document ({SCHEMA}): schema {document.get('schema')!r}")
    environment = document["environment"]
    return DrillReport(
        policy=document["policy"], source=document["source"], repository=document["repository"],
        snapshot_id=document["snapshot"]["id"], snapshot_time=_time(document["snapshot"]["time"]),
        started=_time(document["started"]), finished=_time(document["finished"]),
        steps=tuple(DrillStep(s["name"], _time(s["started"]), float(s["duration_seconds"]), s["outcome"],
                              s.get("detail", "")) for s in document["steps"]),
        checks=tuple(DrillCheck(c["name"], c["expected"], c["seen"], bool(c["passed"]))
                     for c in document["checks"]),
        rto=Objective(document["rto"]["measured_seconds"], document["rto"]["objective_seconds"]),
        rpo=Objective(document["rpo"]["measured_seconds"], document["rpo"]["objective_seconds"]),
        verdict=document["verdict"],
        environment=DrillEnvironment(environment["operator"], environment["host"], environment["opsctl"],
                                     environment["restic"], environment["postgresql"],
                                     tuple((str(a), str(b)) for a, b in environment.get("other", []))),
        reasons=tuple(document.get("reasons", ())), run_id=document.get("run_id"),
        databases=tuple(document.get("databases", ())),
    )


__all__ = [
    "SCHEMA",
    "SECTIONS",
    "DrillCheck",
    "DrillEnvironment",
    "DrillReport",
    "DrillStep",
    "Objective",
    "decide_verdict",
    "format_duration",
    "format_time",
    "public_location",
    "render_html",
    "render_markdown",
    "report_document",
    "report_from_document",
]
