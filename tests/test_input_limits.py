"""The limits that keep a check bounded whatever the input: derived sizes (E209),
expressions (E120), lines (E011), syntax errors (E012), a spec with no layer
(E121), and the figures a report prints for huge but legal sizes.

Each test checks the mechanism (what is read, what is computed, what comes
out), never a time: the machines are shared.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest
from harness import assert_diagnostics, checked

import specc
from specc import syntax
from specc.cli import main
from specc.diagnostics import Span
from specc.infer import computed
from specc.kinds.values import MAX_INT
from specc.lower import lower
from specc.numbers import readable, scaled
from specc.report import FORMATS, render
from specc.syntax import lalr as syntax_lalr
from specc.syntax import parse

FORMAT_NAMES = sorted(FORMATS)


def every_format(text: str) -> specc.Analysis:
    """The analysis, rendered in every format (none may raise)."""
    analysis = specc.check(text, "spec.cnn")
    for name in FORMAT_NAMES:
        assert render([analysis], name, color=False)
    return analysis


# --- E209: sizes worked out from the shapes --------------------------------------------

@pytest.mark.parametrize("repeat", [32, 1000, 14300])
def test_upsampling_past_the_bound_is_e209_once_in_every_format(repeat: int) -> None:
    analysis = every_format(f"input 8x8x3\nupsample 2 repeat={repeat}\nflatten\nfc 10\n")
    assert [d.code for d in analysis.errors] == ["E209"]
    (error,) = analysis.errors
    assert error.message == ("output height would be 2,147,483,648 (input 1,073,741,824 × factor 2); "
                             "sizes are capped at 2,147,483,647")
    # the axis is unknown after it: no later layer computes with the oversized value
    assert all(d is None or d <= MAX_INT for r in analysis.layers for d in (r.output or ()))
    assert analysis.layers[-1].params is None


def test_three_huge_upsamplings_are_not_ok() -> None:
    analysis = every_format("input 8x8x3\nupsample 2147483647\nupsample 2147483647\nupsample 2147483647\n")
    assert [(d.code, d.line) for d in analysis.errors] == [("E209", 2)]
    assert "output height would be 17,179,869,176 (input 8 × factor 2,147,483,647)" in analysis.errors[0].message


@pytest.mark.parametrize("line, says", [
    ("convtranspose 4 2 s=1073741824",
     "output height would be 1,072,668,082,178 (input 1,000, kernel 2, stride 1,073,741,824)"),
    ("zeropad 2147483000", "output height would be 4,294,967,000 (input 1,000 + padding 2,147,483,000 + "),
    ("dwconv 1 multiplier=1073741824", "output channels would be 3,221,225,472 (input channels 3 × multiplier"),
])
def test_every_kind_that_grows_a_size_names_the_axis_and_how(line: str, says: str) -> None:
    analysis = every_format(f"input 1000x1000x3\n{line}\nflatten\nfc 10\n")
    assert [d.code for d in analysis.errors] == ["E209"] and says in analysis.errors[0].message


def test_a_flattened_map_and_a_concat_past_the_bound() -> None:
    analysis = every_format("input 65536x65536x1\nflatten\nfc 10\n")
    assert [(d.code, d.line) for d in analysis.errors] == [("E209", 2)]
    assert "output size would be 4,294,967,296" in analysis.errors[0].message
    analysis = every_format("input 8x8x2000000000\na: relu\nconcat a input\n")
    assert [(d.code, d.line) for d in analysis.errors] == [("E209", 3)]
    assert "output channels would be 4,000,000,000 (the sum of the 2 inputs' sizes)" in analysis.errors[0].message


def test_a_computed_value_past_the_bound_is_e209_and_a_long_literal_e106() -> None:
    assert_diagnostics("input 8x8x3\nconv 2147483647*2 3x3\n", ("E209", 2, 6))
    digits = "9" * 4000  # its product with itself has 8,000 digits: past Python's int-to-text limit
    assert_diagnostics(f"input 8x8x3\nconv input.c*{digits}*{digits} 3x3\n", ("E106", 2, 6))
    assert_diagnostics("input 8x8x3\nconv -2147483647*-2147483647 3x3\n", ("E209", 2, 6))


def test_an_expression_shared_through_block_parameters_is_evaluated_once_per_node() -> None:
    """Each level passes `n*n/n*…` down: the value is a graph of 21^levels paths, which a
    recursive walk visited one by one (6 levels: 85 million, a hang)."""
    ops = "*".join(["n/n"] * 10) + "*n"  # 20 operators, worth n
    lines = ["input 8x8x3", "block b0(n) {", f"  conv {ops} 3x3", "}"]
    for k in range(1, 4):
        lines += [f"block b{k}(n) {{", f"  b{k - 1} {ops}", "}"]
    text = "\n".join([*lines, "b3 input.c", "fc 10"]) + "\n"
    assert checked(text).layers[0].output == (6, 6, 3)
    reads = []
    word = lower(parse(text)[0], "m")[0].layers[0].filters.word  # the Deferred value, as lowered
    assert computed.evaluate(word, lambda name: reads.append(name) or (8, 8, 3)) == 3
    assert reads == ["input"]  # the one `input.c` leaf, read once (it was 21^4 = 194,481 times)


def test_receptive_fields_and_strides_past_the_bound_stop_being_tracked() -> None:
    """A strided layer on a 1x1 map keeps it 1x1 and doubles the jump: 20,000 of them made
    numbers of 6,000 digits, which no format could print."""
    analysis = every_format("input 8x8x3\nconv 1 3x3 s=2 p=same repeat=2000\n")
    assert analysis.ok
    fields = [r.receptive_field for r in analysis.layers]
    assert fields[3] is not None and fields[-1] is None
    assert all(max(f) <= MAX_INT for f in fields if f is not None)
    assert all(max(j) <= MAX_INT for r in analysis.layers if (j := r.jump) is not None)
    report = json.loads(render([analysis], "json"))
    assert report["layers"][-1]["receptive_field"] is None


def test_upsampled_jumps_finer_than_the_bound_stop_being_tracked() -> None:
    analysis = every_format("input 2x2x1\nblock b() {\n  upsample 2\n  conv 1 3x3\n}\nb repeat=40\n")
    assert analysis.ok and analysis.layers[-1].receptive_field is None and analysis.layers[-1].jump is None


def test_floorings_past_a_message_s_worth_are_not_traced() -> None:
    from specc.kinds import flooring as floors

    analysis = checked("input 8x8x1\nblock b() {\n  upsample 2\n  zeropad 1\n  maxpool 3 s=2\n}\n"
                       "b repeat=100\n")
    assert len(analysis.layers) == 300
    trace = floors.Trace()
    grown = [trace := floors.step(r.layer, r.input, r.pads, r.output, [trace]) for r in analysis.layers]
    assert max(len(t.floors) for t in grown if t.floors is not None) <= floors.MAX_FLOORS
    assert grown[-1] is floors.UNTRACED


# --- figures of huge but legal sizes --------------------------------------------------

def test_huge_legal_figures_print_in_every_format_without_long_floats() -> None:
    analysis = every_format("input 2147483647x2147483647x2147483647\nconv 2147483647 1x1\nfc 2147483647\n")
    assert analysis.ok
    text = render([analysis], "text", color=False)
    assert "(2.1e37)" in text and "(4.3e37) per sample" in text and "e28 B per sample" in text
    assert ".0 T)" not in text and ".0 TiB" not in text


@pytest.mark.parametrize("n, shown", [
    (188313051535459829255394699904104325502507941888, "1.9e47"), (10 ** 15, "1.0e15"),
    (999_949_999_999_999, "999.9 T"),
    (-3 * 10 ** 17, "-3.0e17"), (99_960_000_000_000_000, "1.0e17"), (2 ** 300, "2.0e90"), (15470264320, "15.5 G")])
def test_figures_past_1000_t_read_in_scientific_form(n: int, shown: str) -> None:
    assert scaled(n) == shown
    assert readable(n).endswith(f"({shown})")


# --- N3: every kind on every rank -------------------------------------------------------

@pytest.mark.parametrize("line", ["dwconv 3", "dwconv 3 p=same", "dwconv 1 multiplier=2 relu"])
def test_dwconv_on_a_vector_is_e203_like_every_spatial_kind(line: str) -> None:
    assert_diagnostics(f"input 64\n{line}\n", ("E203", 2, 1))
    assert_diagnostics(f"input 64\n{line}\nbatchnorm\n", ("E203", 2, 1))


# --- N4 / E121: a spec with no layer ---------------------------------------------------

@pytest.mark.parametrize("spec", [
    "input 8x8x1\n",
    "model m\ninput 8x8x1\ntrain epochs=2\n",
    "input 8x8x1\nblock b() {\n}\nb\nb repeat=3\n",
    "input 8x8x1\nblock b(n) {\n  conv n 3x3\n}\n",
])
def test_a_spec_with_no_layer_is_e121_at_its_input(spec: str) -> None:
    analysis = specc.check(spec)
    assert [d.code for d in analysis.diagnostics] == ["E121"]
    assert analysis.diagnostics[0].span.line == spec.splitlines().index("input 8x8x1") + 1
    assert "conv 8 3x3 relu" in analysis.diagnostics[0].help
    for make in (specc.build, specc.compile):
        with pytest.raises(specc.SpecCheckError) as refused:
            make(spec)
        assert "E121" in str(refused.value)


def test_a_missing_input_is_not_also_e121() -> None:
    assert [d.code for d in specc.check("model m\n").diagnostics] == ["E110"]


@pytest.mark.parametrize("command", [["compile"], ["export"], ["train", "--data", "synthetic", "--epochs", "1"]])
def test_every_command_refuses_a_spec_with_no_layer(tmp_path, capsys, command: list[str]) -> None:
    spec = tmp_path / "empty.cnn"
    spec.write_text("input 8x8x1\n")
    target = tmp_path / {"compile": "x.py", "export": "x.onnx", "train": "run"}[command[0]]
    assert main([command[0], str(spec), *command[1:], "--out" if command[0] == "train" else "-o", str(target)]) == 1
    printed = capsys.readouterr()
    assert "E121" in printed.out + printed.err
    assert not target.exists()


# --- E120 and the text of expressions ---------------------------------------------------

def test_an_expression_of_more_than_64_operators_is_e120_and_the_layer_is_kept() -> None:
    checked("input 8x8x3\nconv " + "*".join(["1"] * 65) + " 3x3\n")  # 64 operators: fine
    analysis = assert_diagnostics("input 8x8x3\nconv " + "*".join(["1"] * 990) + " 3x3\nfc 10\n", ("E120", 2, 6))
    assert "989 operators" in analysis.diagnostics[0].message
    assert [r.layer.kind for r in analysis.layers] == ["conv", "fc"]  # one message, no cascade


def test_e120_in_a_block_header_and_a_call() -> None:
    long = "*".join(["2"] * 70)
    assert_diagnostics(f"input 8x8x3\nblock b(n={long}) {{\n  conv n 3x3\n}}\nb\n", ("E120", 2, 11))
    assert_diagnostics(f"input 8x8x3\nblock b(n) {{\n  conv n 3x3\n}}\nb {long}\n", ("E120", 5, 3))


def test_e120_in_a_repeat_a_from_or_a_merge_is_the_only_message() -> None:
    """The long value was reported, then read again as a count (E106) or a reference (E112)."""
    long = "*".join(["1"] * 70)
    assert_diagnostics(f"input 8x8x3\nrelu repeat={long}\na: conv 3 3x3 p=same\nb: conv 3 3x3 p=same from={long}\n"
                       f"add a {long}\n", ("E120", 2, 13), ("E120", 4, 27), ("E120", 5, 7))


def test_an_expression_s_text_is_built_once_not_once_per_operator() -> None:
    """Each operator used to copy the whole left operand's text: 30,000 factors took 915 MB."""
    line = "conv " + "*".join(["7"] * 4900) + " 3x3\n"  # a line under the length limit
    tracemalloc.start()
    try:
        syntax_lalr.parse_lines(line, 1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000  # the old texts alone: 4,900²/2 characters, 24 MB
    (statement,), (problem,) = syntax_lalr.parse_lines(line, 1)
    assert problem.code == "E120" and statement.args[0].kind == "unknown"


def test_nested_expressions_keep_their_texts_and_spans() -> None:
    (statement,), _ = syntax_lalr.parse_lines("conv in.c*6/4 3\n", 3)
    word = statement.args[0]
    assert (word.text, word.value.op, word.value.left.text, word.value.right.text) == ("in.c*6/4", "/", "in.c*6", "4")
    assert word.span == Span(3, 6, 3, 14) and word.value.left.span == Span(3, 6, 3, 12)


# --- E011: long lines, E012: too many syntax errors --------------------------------------

def test_a_line_past_the_limit_is_e011_and_never_tokenised(monkeypatch) -> None:
    seen = []
    plain, lark_lines = syntax.plain_line, syntax_lalr.parse_lines
    monkeypatch.setattr(syntax, "plain_line", lambda line, n: seen.append(len(line)) or plain(line, n))
    monkeypatch.setattr(syntax_lalr, "parse_lines",
                        lambda text, *a: seen.extend(map(len, text.split("\n"))) or lark_lines(text, *a))
    long = "conv 4 3x3" + " s=1" * 250_000
    analysis = assert_diagnostics(f"input 8x8x3\n{long}\nfc 10\n", ("E011", 2, 10_001))
    assert max(seen) <= syntax.MAX_LINE
    assert "1,000,010 characters" in analysis.diagnostics[0].message


def test_a_long_block_header_still_opens_its_block() -> None:
    header = "block b(" + ",".join(["p"] * 6000) + ") {"
    assert_diagnostics(f"input 8x8x3\n{header}\n  relu\n}}\nconv 4 3x3\n", ("E011", 2, 10_001))
    assert_diagnostics(f"input 8x8x3\nblock b() {{\n  relu\n}} {'#' * 20000}\nb\n", ("E011", 4, 10_001))


def test_reading_stops_after_100_syntax_errors(monkeypatch) -> None:
    given = []
    lark_lines = syntax_lalr.parse_lines
    monkeypatch.setattr(syntax_lalr, "parse_lines", lambda text, *a: given.append(text) or lark_lines(text, *a))
    analysis = specc.check("input 8x8x3\nblock b() {\n" + "@\n" * 100_000 + "}\nconv 4 3x3\n")
    codes = [d.code for d in analysis.diagnostics]
    assert codes == ["E002"] * 100 + ["E012"]  # and no E004 for the block left open where reading stopped
    assert analysis.diagnostics[-1].span.line == 103
    assert "reading stopped after line 102" in analysis.diagnostics[-1].message
    assert sum(text.count("\n") for text in given) <= 2 * syntax._RUN  # not the 100,000 lines


def test_errors_of_every_kind_count_toward_the_100() -> None:
    lines = ["input 8x8x3"] + ["}"] * 60 + ["conv " + "*".join(["1"] * 70) + " 3"] * 60 + ["fc 10"]
    codes = [d.code for d in specc.check("\n".join(lines) + "\n").diagnostics]
    assert codes.count("E003") == 60 and codes.count("E120") == 40 and codes[-1] == "E012"


def test_a_file_that_ends_at_its_100th_error_has_no_e012() -> None:
    codes = [d.code for d in specc.check("input 8x8x3\n" + "@\n" * 100).diagnostics]
    assert codes == ["E002"] * 100


# --- `4-1` --------------------------------------------------------------------------------

def test_a_sign_right_after_a_value_subtracts_and_after_a_space_starts_a_number() -> None:
    """`4-1` is 3 (contract part 3, §5); `4 -1` two numbers, as it always was."""
    layers = checked("input 8x8x3\nconv 4-1 3x3\nconv input.c-1 3\nconv input.c - 1 3\n").layers
    assert [layer.output[-1] for layer in layers] == [3, 2, 2]
    assert_diagnostics("input 8x8x3\ndropout 0.5+0.1\n", ("E105", 2, 9))


@pytest.mark.parametrize("line, column, written", [("conv 4x-1", 8, "4x-1"), ("conv 3x3x(1+2)", 10, "3x3x(1+2)")])
def test_a_dimension_glued_to_a_sign_is_a_syntax_error_not_a_number_and_an_expression(
        line: str, column: int, written: str) -> None:
    analysis = assert_diagnostics(f"input 8x8x3\n{line}\n", ("E002", 2, column))
    assert analysis.diagnostics[0].message == f"`{written}` is not a dimension"


def test_a_sign_after_a_keyword_is_still_a_syntax_error() -> None:
    analysis = assert_diagnostics("input 8x8x3\nconv-1\n", ("E002", 2, 5))
    assert analysis.diagnostics[0].help.startswith("`conv-1`: `-` goes between two values")


def test_signed_numbers_after_a_space_or_an_equals_sign_still_read() -> None:
    assert_diagnostics("input 8x8x3\nconv 4 -1\n", ("E106", 2, 8))
    checked("input 8x8x3\nconv 4 3x3 leaky_relu slope=-0.1\nfc 10 leaky_relu slope=+1e-2\n")
    assert_diagnostics("input 8x8x3\nleaky-relu\n", ("E002", 2, 6))
