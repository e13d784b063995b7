"""The drill report in Markdown and HTML: every section, the verdict first and in words, failed
checks shown as failed, every value escaped, UTC times with their zone, no secret in a location."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from backup.report import (
    SECTIONS,
    DrillCheck,
    DrillReport,
    DrillStep,
    Objective,
    decide_verdict,
    format_duration,
    format_time,
    render_html,
    render_markdown,
    report_document,
    report_from_document,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "drill"
HOSTILE = '<script>alert("x")</script> | **bold** [link](http://evil.example) & "q"'


def load(name: str) -> DrillReport:
    return report_from_document(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


@pytest.fixture
def failed() -> DrillReport:
    return load("drill-report-failed.json")


@pytest.fixture
def passed() -> DrillReport:
    return load("drill-report-passed.json")


class Page(HTMLParser):
    """What a browser would see: tags, attributes, the text of each section and table row."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.rows: list[list[tuple[str, str]]] = []
        self._cell: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = (dict(attrs).get("class") or "", [])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(("".join(self._cell[1]), self._cell[0]))
            self._cell = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell[1].append(data)


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


# -- verdict -------------------------------------------------------------------------------------


def steps(*outcomes: str) -> list[DrillStep]:
    start = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
    return [DrillStep(f"step {i}", start, 1.0, outcome) for i, outcome in enumerate(outcomes)]


CHECK_OK = DrillCheck("rows in patients", "== 10", "10", True)


def test_a_drill_passes_only_when_every_step_and_check_passed_within_the_objectives() -> None:
    assert decide_verdict(steps("ok", "skipped"), [CHECK_OK], Objective(60, 600), Objective(3600, None)) == (
        "passed", ())
    verdict, reasons = decide_verdict(steps("ok", "failed"), [CHECK_OK, DrillCheck("rows", "== 1", "0", False)],
                                      Objective(700, 600), Objective(90000, 86400))
    assert verdict == "failed"
    assert reasons == ("step step 1 failed", "1 of 2 checks failed: rows",
                       "RTO 700 s (11 min 40 s) is over the objective of 600 s (10 min)",
                       "RPO 90000 s (1 d 1 h) is over the objective of 86400 s (1 d)")


def test_a_drill_that_verified_nothing_or_never_served_fails() -> None:
    assert decide_verdict(steps("ok"), [], Objective(60, None), Objective(60, None)) == (
        "failed", ("no check verified the restored data",))
    verdict, reasons = decide_verdict(steps("ok"), [CHECK_OK], Objective(None, 600), Objective(60, None))
    assert verdict == "failed" and reasons == ("the restored service never worked, so no RTO was measured",)


# -- Markdown ------------------------------------------------------------------------------------


def test_markdown_has_the_verdict_first_and_every_section_in_order(failed: DrillReport) -> None:
    text = render_markdown(failed)
    lines = text.splitlines()
    assert lines[0] == "# Restore drill report: his-db"
    assert lines[2] == "**FAILED: the restore drill of policy his-db did not pass**"
    headings = [line[3:] for line in lines if line.startswith("## ")]
    assert headings == [title for _, title in SECTIONS]
    assert "- 1 of 4 checks failed: rows in patients" in lines


def test_markdown_shows_a_failed_check_as_failed(failed: DrillReport) -> None:
    rows = [line for line in render_markdown(failed).splitlines() if line.startswith("| rows in patients |")]
    assert rows == ["| rows in patients | == 120000 (manifest) | 119874 | FAILED |"]


def test_markdown_escapes_every_value_so_none_adds_markup_or_columns(failed: DrillReport) -> None:
    hostile = dataclasses.replace(failed, policy=HOSTILE, checks=(DrillCheck(HOSTILE, "a|b", "line\nbreak", False),))
    text = render_markdown(hostile)
    assert "<script>" not in text and "**bold**" not in text and "[link]" not in text
    assert "\\<script\\>" in text
    check_row = next(line for line in text.splitlines() if line.startswith("| \\<script"))
    # 5 column separators: escaped pipes inside values do not count
    assert len(re.findall(r"(?<!\\)\|", check_row)) == 5
    assert check_row.endswith("| a\\|b | line break | FAILED |")
    policy_row = next(line for line in text.splitlines() if line.startswith("| Policy |"))
    assert len(re.findall(r"(?<!\\)\|", policy_row)) == 3


# -- HTML ----------------------------------------------------------------------------------------


def test_html_has_every_section_under_its_heading_and_the_verdict_before_them(failed: DrillReport) -> None:
    page = render_html(failed)
    parsed = parse(page)
    section_ids = [attrs.get("id") for tag, attrs in parsed.tags if tag == "section"]
    assert section_ids == [key for key, _ in SECTIONS]
    text = " ".join(" ".join(parsed.text).split())
    assert text.index("DRILL FAILED") < text.index("Summary")
    for _, title in SECTIONS:
        assert f"<h2>{title}</h2>" in page
    assert "1 of 4 checks failed: rows in patients" in text


def test_html_shows_a_failed_check_in_words_not_only_in_colour(failed: DrillReport) -> None:
    rows = {row[0][0]: row for row in parse(render_html(failed)).rows if row}
    _name, expected, seen, result = rows["rows in patients"]
    assert (expected[0], seen[0]) == ("== 120000 (manifest)", "119874")
    assert "FAILED" in result[0] and result[1] == "failed"
    assert "passed" in rows["rows in encounters"][3][0]
    assert rows["sanity queries"][3][0] == "FAILED"


def test_a_passed_drill_reads_passed(passed: DrillReport) -> None:
    text = " ".join(parse(render_html(passed)).text)
    assert "DRILL PASSED" in text and "FAILED" not in text and "MISSED" not in text


def test_html_escapes_every_value(failed: DrillReport) -> None:
    hostile = dataclasses.replace(
        failed, policy=HOSTILE, repository=HOSTILE, snapshot_id=HOSTILE, reasons=(HOSTILE,),
        checks=(DrillCheck(HOSTILE, HOSTILE, HOSTILE, False),),
        steps=(DrillStep(HOSTILE, failed.started, 1.0, HOSTILE, HOSTILE),),
        environment=dataclasses.replace(failed.environment, operator=HOSTILE, other=((HOSTILE, HOSTILE),)),
    )
    page = render_html(hostile)
    parsed = parse(page)
    assert {tag for tag, _ in parsed.tags} <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "div", "p", "ul", "li", "section",
        "table", "thead", "tbody", "tr", "th", "td", "footer"}
    assert "<script" not in page and "alert(&quot;x&quot;)" in page
    assert sum(HOSTILE in chunk for chunk in parsed.text) >= 10  # shown as text, whole


def test_html_is_self_contained_with_no_script_and_no_external_resource(failed: DrillReport) -> None:
    page = render_html(failed)
    parsed = parse(page)
    assert not [tag for tag, _ in parsed.tags if tag in ("script", "link", "img", "iframe", "object")]
    assert not [attrs for _, attrs in parsed.tags if {"src", "href"} & set(attrs)]
    assert not re.search(r"url\(|@import|https?://(?!127\.)", page)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "@media print" in page


# -- values --------------------------------------------------------------------------------------


def test_times_are_utc_iso8601_with_the_zone_whatever_zone_they_were_given_in() -> None:
    local = datetime(2026, 12, 5, 9, 30, 12, tzinfo=timezone(timedelta(hours=6, minutes=30)))
    assert format_time(local) == "2026-12-05T03:00:12Z"
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 12, 5, 3, 0))


def test_durations_are_in_seconds_and_in_human_form() -> None:
    assert format_duration(4.25) == "4.2 s"
    assert format_duration(42.4) == "42 s"
    assert format_duration(754) == "754 s (12 min 34 s)"
    assert format_duration(90061) == "90061 s (1 d 1 h 1 min 1 s)"


def test_the_auditor_sees_who_ran_it_when_and_in_utc(failed: DrillReport) -> None:
    text = " ".join(parse(render_html(failed)).text)
    assert "alice (uid 1000, declared by ops-oncall) on backup-01.hospital.example" in text
    assert "2026-12-05T03:00:12Z" in text and "2026-12-05T00:00:00Z" in text
    assert "664.9" not in text and "665 s (11 min 5 s)" in text


def test_credentials_in_a_repository_url_are_never_shown(failed: DrillReport) -> None:
    leaky = dataclasses.replace(failed, repository="rest:https://backup:s3cr3t-pass@10.0.0.5:8000/his-db")
    for rendered in (render_html(leaky), render_markdown(leaky), json.dumps(report_document(leaky))):
        assert "s3cr3t" not in rendered
    assert "rest:https://10.0.0.5:8000/his-db" in render_html(leaky)


def test_a_report_survives_its_document(failed: DrillReport) -> None:
    assert report_from_document(report_document(failed)) == failed
    with pytest.raises(ValueError, match="schema"):
        report_from_document({"schema": "opsctl.other/v1"})


def test_a_report_refuses_naive_times_and_unknown_sources(failed: DrillReport) -> None:
    with pytest.raises(ValueError, match="naive"):
        dataclasses.replace(failed, started=datetime(2026, 12, 5))
    with pytest.raises(ValueError, match="local or offsite"):
        dataclasses.replace(failed, source="tape")  # type: ignore[arg-type]
