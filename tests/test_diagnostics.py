"""Broken specs: each file in tests/broken/ states the diagnostics it must give
(`# expect: CODE LINE:COL`), and gives exactly those — no more, no cascades."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from harness import assert_diagnostics

import specc
from specc.report import render

BROKEN = sorted((Path(__file__).parent / "broken").glob("*.cnn"))
EXPECT = re.compile(rb"^# expect: (\w+) (\d+):(\d+)$", re.M)


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_corpus(path: Path) -> None:
    data = path.read_bytes()
    expected = [(code.decode(), int(line), int(col)) for code, line, col in EXPECT.findall(data)]
    assert expected, f"{path.name} states no expectation"
    # The file's code is its first diagnostic, or its last where it can only follow others (E012).
    assert path.stem.split("-")[0] in (expected[0][0], expected[-1][0])
    analysis = assert_diagnostics(data, *expected)
    assert not analysis.ok


def test_empty_file_is_one_clear_error() -> None:
    analysis = assert_diagnostics("", ("E110", 1, 1))
    assert "no `input`" in analysis.diagnostics[0].message


@pytest.mark.parametrize("source, suggestion", [
    ("input 8x8\ncovn 4 3\n", "did you mean `conv`?"),
    ("input 8x8\nConv 4 3\n", "did you mean `conv`?"),
    ("input 8x8\nmaxpol 2\n", "did you mean `maxpool`?"),
    ("input 8x8\nconv 4 3 strid=2\n", "did you mean `stride`?"),
    ("input 8x8\nconv 4 3 padding=sme\n", "did you mean `same`?"),
    ("input 8x8\nconv 4 3 rellu\n", "did you mean `relu`?"),
    ("input 8x8\nfc 10 sofmax\n", "did you mean `softmax`?"),
    ("input 8x8\nconv 4 3 optimizer=adam\n", "`conv` takes:"),
])
def test_misspelt_names_get_the_nearest_valid_one(source: str, suggestion: str) -> None:
    (diagnostic,) = specc.check(source).diagnostics
    assert suggestion in diagnostic.help


def test_text_diagnostic_shows_the_line_and_a_caret_under_the_span() -> None:
    analysis = specc.check("input 4x4\n\tconv 8 5x5 stride=1\n", "net.cnn")
    text = render([analysis], "text", color=False)
    assert "net.cnn:2:9: error[E201]: output height would be 0 (input 4, kernel 5, padding 0, stride 1)" in text
    lines = text.splitlines()
    source = next(i for i, line in enumerate(lines) if line.startswith(" 2 | "))
    assert lines[source + 1].index("^^^") == lines[source].index("5x5")  # tab expanded in both
    assert "help:" in lines[source + 2]


def test_layers_after_a_shape_error_are_still_checked() -> None:
    # conv1 cannot fit, so the map's size is unknown after it, but its 6 channels are
    # known: conv2's groups=4 still cannot divide them, and conv3's 6 filters are checked
    # against groups too. fc's input size is unknown: no cascade from any of them.
    assert_diagnostics("input 4x4x4\nconv 6 5\nconv 8 3 groups=4\nconv 6 1 groups=4\nfc 10\n",
                       ("E201", 2, 8), ("E202", 3, 10), ("E202", 4, 10))


def test_a_misspelt_keyword_does_not_hide_the_next_lines_errors() -> None:
    assert_diagnostics("input 8x8\nconvv 4 3\nmaxpool 0\nfc 0\n", ("E101", 2, 1), ("E106", 3, 9), ("E106", 4, 4))


def test_windows_line_endings_tabs_and_the_times_sign_are_fine() -> None:
    analysis = specc.check("input 32×32×3\r\n\tconv 8 5×5\trelu\r\nfc 10\r\n")
    assert analysis.ok and analysis.layers[0].output == (28, 28, 8)


def test_a_byte_order_mark_is_fine() -> None:
    assert specc.check("\ufeffinput 8x8\nfc 2\n".encode(), "bom.cnn").ok


def test_the_caret_line_is_the_parsers_line_even_after_a_form_feed() -> None:
    # str.splitlines() would split at \x0c and show the wrong source line.
    analysis = specc.check("input 8x8\x0c\nconv 4 9\n", "ff.cnn")
    text = render([analysis], "text", color=False)
    assert " 2 | conv 4 9" in text
