"""The drill report's HTML page as a browser shows it: Debian's headless Chromium renders it to a
DOM dump and a screenshot; every section is there, the failed verdict reads first, and the
screenshot is a real picture of the page (not a blank one)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from backup.report import SECTIONS, render_html, report_from_document

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("chromium") is None,
                       reason="chromium is not installed (Debian package chromium; ./bootstrap installs it)"),
]

FIXTURES = Path(__file__).parents[1] / "fixtures" / "drill"
WIDTH, HEIGHT = 1200, 2000
FAILED_BANNER = (0xFF, 0xEB, 0xE9)  # the failed verdict's background (report.py's CSS)


def chromium(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium as root (--no-sandbox), with a profile of its own in ``tmp_path``."""
    return subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", *arguments],
        capture_output=True, text=True, timeout=120, check=True, cwd=tmp_path,
    )


@pytest.fixture
def page(tmp_path: Path) -> Path:
    document = json.loads((FIXTURES / "drill-report-failed.json").read_text(encoding="utf-8"))
    path = tmp_path / "drill report.html"
    path.write_text(render_html(report_from_document(document)), encoding="utf-8")
    return path


def test_chromium_finds_every_section_and_the_verdict_first_in_the_dom(page: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout

    for key, title in SECTIONS:
        assert f'<section id="{key}"><h2>{title}</h2>' in dom
    assert dom.index("DRILL FAILED") < dom.index('<section id="summary">')
    assert "rows in patients" in dom and "FAILED" in dom.split('id="checks"')[1]


def test_chromium_renders_a_real_screenshot_of_the_expected_size(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    chromium(tmp_path, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri())

    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(shot) as image:
        assert image.size == (WIDTH, HEIGHT)
        rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=WIDTH * HEIGHT)
    assert colours is not None and len(colours) > 50  # text, borders, banners: not a blank page
    # the failed verdict's banner is painted near the top, before the first section
    top = rgb.crop((0, 0, WIDTH, 400))
    assert any(colour == FAILED_BANNER for _, colour in top.getcolors(maxcolors=WIDTH * 400) or [])
