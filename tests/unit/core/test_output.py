"""for_people/visible_controls: text from hosts and devices is shown, never obeyed, by a terminal."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from opsctl.core.output import CONTROL_STYLE, for_people, visible_controls

SGR = re.compile(r"\x1b\[[0-9;]*m")
C0_BUT_NEWLINE_AND_TAB = [chr(code) for code in range(0x20) if chr(code) not in "\n\t"]
C1_AND_DEL = [chr(0x7F)] + [chr(code) for code in range(0x80, 0xA0)]


def _printed(renderable: object, *, colour: bool) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, force_terminal=colour, color_system="truecolor" if colour else None,
            highlight=False).print(renderable)
    return buffer.getvalue()


@pytest.mark.parametrize("control", C0_BUT_NEWLINE_AND_TAB + C1_AND_DEL,
                         ids=lambda c: f"0x{ord(c):02x}")
def test_every_c0_and_c1_control_is_written_out(control: str) -> None:
    shown = visible_controls(f"a{control}b")
    assert shown == f"a\\x{ord(control):02x}b"
    assert control not in _printed(for_people(f"a{control}b"), colour=False)
    assert f"a\\x{ord(control):02x}b" in _printed(for_people(f"a{control}b"), colour=False)


def test_newline_and_tab_are_kept() -> None:
    assert visible_controls("one\ttwo\nthree") == "one\ttwo\nthree"
    assert for_people("one\ttwo\nthree").plain == "one\ttwo\nthree"


def test_an_osc_title_and_a_clear_screen_reach_no_terminal() -> None:
    hostile = "\x1b]0;PWNED\x07\x1b[2J\x1b[31mred\x1b[0m\x9b2J\x1bP+q\x1b\\"
    assert "\x1b" not in _printed(for_people(hostile), colour=False)  # with colour off, no escape at all
    coloured = _printed(for_people(hostile), colour=True)
    # with colour on, the only escapes are rich's own SGR colours; the host's are written out
    visible = SGR.sub("", coloured)
    assert "\x1b" not in visible and "\x07" not in visible and "\x9b" not in visible
    assert "\\x1b]0;PWNED\\x07\\x1b[2J" in visible


def test_the_written_out_controls_are_dim_and_the_text_keeps_its_style() -> None:
    text = for_people("ok\x1bend", style="green")
    assert text.plain == "ok\\x1bend"
    assert text.style == "green"
    assert [(span.start, span.end, span.style) for span in text.spans] == [(2, 6, CONTROL_STYLE)]


@pytest.mark.parametrize("markup", ["[red]alarm[/red]", "[/]", "[bold blink]x", "[link=http://evil]y[/link]",
                                    "\\[escaped]", ":warning:"])
def test_rich_markup_is_shown_as_written(markup: str) -> None:
    assert _printed(for_people(markup), colour=False).rstrip("\n") == markup


def test_utf8_and_emoji_are_kept() -> None:
    text = "café ✓ 🔥 中文 Ωμέγα"
    assert visible_controls(text) == text
    assert _printed(for_people(text), colour=False).rstrip("\n") == text


def test_a_warning_is_text_not_markup() -> None:
    from opsctl.core.output import Output

    stderr = io.StringIO()
    out = Output(_stderr=Console(file=stderr, width=200))
    out.warn("[red]x[/] \x1b]0;t\x07")
    assert stderr.getvalue() == "warning: [red]x[/] \\x1b]0;t\\x07\n"


def test_the_consoles_never_turn_a_name_into_an_emoji() -> None:
    # a step named after a database ("postgres:hospital:restore") once printed as "postgres🏥restore"
    from opsctl.core.output import Output

    out = Output()
    for console in (out.stdout, out.stderr):
        with console.capture() as captured:
            console.print("postgres:hospital:restore [bold]ok[/]")
        assert captured.get().rstrip("\n") == "postgres:hospital:restore ok"
