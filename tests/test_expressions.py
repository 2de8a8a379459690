"""Integer expressions with `+ - * / //` and parentheses, and `if=PARAM` in block bodies (contract part 3, §5)."""

from __future__ import annotations

import pytest
from harness import assert_diagnostics, checked

import specc

BNECK = """input 32x32x16
block bneck(k, e, c, s, expand, res) {
x:  conv e 1x1 if=expand
    batchnorm if=expand
    relu if=expand
    dwconv k stride=s padding=(k-1)//2
    batchnorm
d:  conv c 1x1
    add in if=res
}
bneck1: bneck 3 16 16 1 false true
bneck2: bneck 5 64 24 2 true false
"""

WRITTEN = """input 32x32x16
block b1(k, c, s) {
    dwconv k stride=s padding=1
    batchnorm
d:  conv c 1x1
    add in
}
block b2(k, e, c, s) {
x:  conv e 1x1
    batchnorm
    relu
    dwconv k stride=s padding=2
    batchnorm
d:  conv c 1x1
}
bneck1: b1 3 16 1
bneck2: b2 5 64 24 2
"""


@pytest.mark.parametrize("value, channels", [
    ("2+3*4", 14), ("(2+3)*4", 20), ("20-4-2", 14), ("17//5", 3), ("(7-1)//2", 3), ("input.c+16", 19),
    ("input.c*2-1", 5), ("2*(input.c+1)//3", 2), ("8/2/2", 2), ("1 + 2", 3)])
def test_an_expression_computes_with_precedence_left_to_right(value: str, channels: int) -> None:
    layer = checked(f"input 8x8x3\nconv {value} 1x1\n").layers[0]
    assert layer.output[-1] == channels


def test_the_same_spec_with_if_lines_reports_as_the_written_out_one() -> None:
    with_if, written = specc.check(BNECK), specc.check(WRITTEN)
    assert not with_if.errors and not written.errors
    rows = [(r.layer.name, r.input, r.output, r.params, r.macs) for r in with_if.layers]
    assert rows == [(r.layer.name, r.input, r.output, r.params, r.macs) for r in written.layers]
    assert "bneck1.x" not in [r.layer.name for r in with_if.layers]


def test_a_left_out_line_passes_its_input_on_under_its_label() -> None:
    text = BNECK.replace("d:  conv c 1x1\n", "d:  conv c 1x1 if=expand\n    add d\n")
    names = {r.layer.name: r for r in checked(text).layers}
    assert "bneck1.d" not in names and "bneck2.d" in names
    assert names["bneck1.add1"].layer.inputs == ("bneck1.bn1", "bneck1.bn1")


@pytest.mark.parametrize("text, where, words", [
    ("input 8x8x3\nconv 8 3 if=yes\n", ("E102", 2, 10), "for the lines of a block body"),
    ("input 8x8x3\nblock b(f) {\n conv f 3 if=g\n}\nb 8\n", ("E105", 3, 14), "names a parameter"),
    ("input 8x8x3\nblock b(f) {\n conv f 3 if=f\n}\nb 8\n", ("E105", 3, 14), "must be `true` or `false`"),
])
def test_a_misused_if_is_one_diagnostic_at_its_place(text: str, where: tuple, words: str) -> None:
    analysis = assert_diagnostics(text, where)
    assert words in analysis.diagnostics[0].message and analysis.diagnostics[0].help


def test_division_by_zero_names_the_expression() -> None:
    analysis = assert_diagnostics("input 8x8x3\nconv (4-4)+8//(2-2) 1\n", ("E114", 2, 6))
    assert analysis.diagnostics[0].message.startswith("`8//(2-2)` divides by zero")


def test_a_zero_or_negative_result_is_the_values_own_error() -> None:
    assert_diagnostics("input 8x8x3\nconv 2-3 1\n", ("E106", 2, 6))


def test_the_operator_cap_counts_every_operator() -> None:
    assert_diagnostics("input 8x8x3\nconv " + "+".join(["1"] * 66) + " 1\n", ("E120", 2, 6))
