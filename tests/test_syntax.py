"""The parse step, on its own: references, integer expressions, block
definitions, syntax diagnostics and recovery (specc.syntax.parse)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from snapshot_syntax import ROOT, SNAPSHOT, corpus, parsed

from specc.diagnostics import CODES, Span
from specc.syntax import BlockDef, Expr, Param, Statement, Word, parse
from specc.syntax import lalr as syntax_lalr


def one(text: str) -> Statement:
    (item,), diagnostics = parse(text)
    assert diagnostics == []
    return item


def codes(text: str) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line, d.span.column) for d in parse(text)[1]]


def test_every_existing_spec_parses_exactly_as_before() -> None:
    """tests/snapshots/syntax.json was written by tests/snapshot_syntax.py with the
    parser of commit ce6ae58, before references, expressions and blocks: every
    .cnn it covers (specs/, tests/broken/, tests/fixtures/) must still give the
    same statements and the same syntax diagnostics, span for span."""
    snapshot = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert len(snapshot) >= 79
    for name, before in snapshot.items():
        path = ROOT / name
        assert path.is_file(), f"{name} is in the snapshot but gone"
        assert json.loads(json.dumps(parsed(path))) == before, name
    assert {p.relative_to(ROOT).as_posix() for p in corpus()} >= set(snapshot)


# --- references -------------------------------------------------------------

def test_references_are_one_word_with_their_parts() -> None:
    st_ = one("add d1.skip layer3.2.conv1 conv1.c in.c input in\n")
    assert [(w.kind, w.value) for w in st_.args] == [
        ("ref", ("d1", "skip")), ("ref", ("layer3", "2", "conv1")), ("ref", ("conv1", "c")),
        ("ref", ("in", "c")), ("name", "input"), ("name", "in")]
    assert st_.args[1].text == "layer3.2.conv1" and st_.args[1].span == Span(1, 13, 1, 27)


def test_a_reference_as_an_option_value_and_floats_unchanged() -> None:
    st_ = one("conv 8 3 from=d1.skip repeat=2\n")
    assert st_.options[0].value == Word(("d1", "skip"), "d1.skip", "ref", Span(1, 15, 1, 22))
    assert st_.options[1].value.kind == "int"
    assert [w.kind for w in one("dropout .5 0.5 5. 1e-3\n").args] == ["float"] * 4


# --- expressions ------------------------------------------------------------

def test_an_expression_is_one_argument_with_its_operands() -> None:
    st_ = one("conv in.c*6 1x1\n")
    expr, dims = st_.args
    assert expr.kind == "expr" and expr.text == "in.c*6" and expr.span == Span(1, 6, 1, 12)
    assert expr.value == Expr("*", Word(("in", "c"), "in.c", "ref", Span(1, 6, 1, 10)),
                              Word(6, "6", "int", Span(1, 11, 1, 12)))
    assert dims.value == (1, 1)


def test_spaces_around_an_operator_are_optional() -> None:
    spaced, tight = one("conv in.c * 6 3\n"), one("conv in.c*6 3\n")
    assert spaced.args[0].value.op == tight.args[0].value.op == "*"
    assert spaced.args[0].text == "in.c*6" and spaced.args[0].span == Span(1, 6, 1, 14)
    assert len(spaced.args) == 2


def test_expressions_nest_to_the_left() -> None:
    (word,) = one("fc f1*2/3\n").args
    assert word.text == "f1*2/3" and word.span == Span(1, 4, 1, 10)
    assert word.value.op == "/" and word.value.right.value == 3
    inner = word.value.left
    assert inner.kind == "expr" and inner.text == "f1*2" and inner.span == Span(1, 4, 1, 8)
    assert inner.value == Expr("*", Word("f1", "f1", "name", Span(1, 4, 1, 6)), Word(2, "2", "int", Span(1, 7, 1, 8)))


def test_an_expression_as_an_option_value() -> None:
    option = one("conv 8 3 s=in.c/4 relu\n").options[0]
    assert option.value.value.op == "/" and option.value.text == "in.c/4"


@pytest.mark.parametrize("text, column", [("conv f1*\n", 9), ("conv * 2\n", 6), ("conv 2 ** 3\n", 9)])
def test_a_dangling_operator_is_a_syntax_error(text: str, column: int) -> None:
    assert codes(text) == [("E002", 1, column)]


# --- blocks -----------------------------------------------------------------

IDENTITY = """\
input 8x8x3
block identity_block(f1, f2, f3, f=3) {   # positional params, then defaults
        conv f1 1x1 bias=false
main:   conv f2 f p=same
        add in
}   # end
x: identity_block 4 4 3
"""


def test_a_block_definition_with_its_parameters_and_body() -> None:
    items, diagnostics = parse(IDENTITY)
    assert diagnostics == []
    first, block, call = items
    assert first.keyword.text == "input" and call.label.text == "x"
    assert isinstance(block, BlockDef)
    assert block.keyword.text == "block" and block.name.text == "identity_block"
    assert [p.name.text for p in block.params] == ["f1", "f2", "f3", "f"]
    assert block.params[3] == Param(Word("f", "f", "name", Span(2, 34, 2, 35)), Word(3, "3", "int", Span(2, 36, 2, 37)))
    assert [s.keyword.text for s in block.body] == ["conv", "conv", "add"]
    assert block.body[1].label.text == "main" and block.body[2].args[0].text == "in"
    assert block.span == Span(2, 1, 2, 40) and block.end_span == Span(6, 1, 6, 2)


def test_crlf_tabs_and_comments_do_not_change_a_block() -> None:
    variant = IDENTITY.replace("\n", "\r\n").replace("        ", "\t")
    assert [_plain(i) for i in parse(variant)[0]] == [_plain(i) for i in parse(IDENTITY)[0]]


def _plain(item):  # without columns, which tabs change
    if isinstance(item, BlockDef):
        return item.name.text, [p.name.text for p in item.params], [_plain(s) for s in item.body], item.end_span.line
    return item.keyword.text, [a.value for a in item.args], item.span.line


@pytest.mark.parametrize("header, params", [
    ("block stem() {", []),
    ("block b(f) {", [("f", None)]),
    ("block b(s=2, p=same, a=relu, k=3x3, src=d1.skip, n=in.c*2) {",
     [("s", 2), ("p", "same"), ("a", "relu"), ("k", (3, 3)), ("src", ("d1", "skip")), ("n", "in.c*2")]),
])
def test_parameters_and_defaults_of_every_kind(header: str, params: list) -> None:
    (block,), diagnostics = parse(f"{header}\n relu\n}}\n")
    assert diagnostics == []
    found = [(p.name.text, p.default and (p.default.text if p.default.kind == "expr" else p.default.value))
             for p in block.params]
    assert found == params


def test_items_keep_source_order_and_blocks_may_follow_their_use() -> None:
    items, _ = parse("input 8x8\nb1 4\nblock b1(f) {\n conv f 3\n}\nblock b2() {\n relu\n}\nrelu\n")
    assert [type(i).__name__ for i in items] == ["Statement", "Statement", "BlockDef", "BlockDef", "Statement"]


def test_block_is_still_an_ordinary_word_elsewhere() -> None:
    assert one("block: conv 8 3\n").label.text == "block"
    assert one("model block\n").args[0].text == "block"


# --- structural mistakes ----------------------------------------------------

@pytest.mark.parametrize("text, expected, words", [
    ("relu\n}\n", [("E003", 2, 1)], "closes no block"),
    ("block b() {\n relu\n}\n}\n", [("E003", 4, 1)], "was closed on line 3"),
    ("input 8x8\nblock b() {\n relu\n", [("E004", 2, 1)], "the file ends at line 3"),
    ("block a() {\n  block b() {\n  }\n}\n", [("E005", 2, 3)], "inside block `a` (line 1)"),
    ("block b(f)\n relu\n}\n", [("E006", 1, 11)], "must end with `{`"),
    ("block b(f)\n{\n relu\n}\n", [("E006", 2, 1)], "(line 1)"),
    ("block b(f1 f2) {\n relu\n}\n", [("E007", 1, 12)], "unexpected 'f2'"),
    ("block b(,) {\n}\n", [("E007", 1, 9)], "unexpected character ','"),
    ("block b(f,) {\n}\n", [("E007", 1, 11)], "unexpected character ')'"),
    ("block b(f=) {\n}\n", [("E007", 1, 11)], "bad parameter list"),
    ("block b(1) {\n}\n", [("E007", 1, 9)], "unexpected '1'"),
    ("block b(f {\n}\n", [("E007", 1, 11)], "character '{'"),
    ("block b {\n relu\n}\n", [("E007", 1, 8)], "needs a parameter list"),
    ("block b(f, f) {\n}\n", [("E007", 1, 12)], "listed twice"),
    ("block b(f1, f=3, f2) {\n}\n", [("E008", 1, 18)], "`f2` has no default but follows `f`"),
    ("st: block b() {\n relu\n}\n", [("E009", 1, 1)], "cannot carry a label (`st`)"),
    ("layer3.2: conv 8 3\n", [("E010", 1, 1)], "not `layer3.2`"),
    ("blok b() {\n relu\n}\n", [("E002", 1, 1)], "starts with `block`, not `blok`"),
    ("relu\n{\n", [("E002", 2, 1)], "'{'"),
    ("block b() { relu\n}\n", [("E002", 1, 13)], "unexpected 'relu'"),
    ("block b() {\n relu }\n", [("E002", 2, 7)], "character '}'"),
    ("block b() {\n relu\n} relu\n", [("E002", 3, 3)], "unexpected 'relu'"),
])
def test_each_structural_mistake_is_one_clear_diagnostic(text: str, expected: list, words: str) -> None:
    items, diagnostics = parse(text)
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == expected
    assert words in diagnostics[0].message + " " + (diagnostics[0].help or "")
    assert all(d.help for d in diagnostics)


def test_the_help_of_each_mistake_says_how_to_write_it() -> None:
    assert parse("block b(f1, f=3, f2) {\n}\n")[1][0].help == "parameters with a default come last: `(f1, f2, f=3)`"
    assert parse("block b {\n}\n")[1][0].help == "write `block b() {`"
    assert parse("layer3.2: conv 8 3\n")[1][0].help.endswith("write `layer3_2`")


def test_a_block_with_a_mistake_in_its_header_is_kept_when_its_meaning_is_clear() -> None:
    for text in ("block b(f)\n relu\n}\n", "block b(f)\n{\n relu\n}\n", "st: block b(f) {\n relu\n}\n",
                 "block b {\n relu\n}\n", "block b(f=1, g) {\n relu\n}\n"):
        (block,), _ = parse(text)
        assert block.name.text == "b" and [s.keyword.text for s in block.body] == ["relu"], text


def test_a_dotted_label_is_dropped_and_the_statement_kept() -> None:
    (statement,), _ = parse("layer3.2: conv 8 3\n")
    assert statement.label is None and statement.keyword.text == "conv"


def test_a_nested_block_is_moved_to_the_top_level_after_its_outer_block() -> None:
    items, _ = parse("block a() {\n relu\n block b() {\n  conv 4 3\n }\n fc 2\n}\nrelu\n")
    assert [(i.name.text, [s.keyword.text for s in i.body]) for i in items[:2]] == [("a", ["relu", "fc"]),
                                                                                    ("b", ["conv"])]
    assert items[2].keyword.text == "relu"


def test_an_unclosed_block_is_dropped_with_its_body() -> None:
    items, diagnostics = parse("input 8x8\nblock b() {\n relu\n conv 4 3,3\n")
    assert [i.keyword.text for i in items] == ["input"]
    assert [(d.code, d.span.line) for d in diagnostics] == [("E004", 2), ("E002", 4)]


# --- recovery ---------------------------------------------------------------

def test_several_faults_give_one_diagnostic_each_and_the_other_lines_count() -> None:
    text = "input 8x8\nconv 4 3,3\nblock b(f) {\n conv f 3\n relu;\n fc 2\n}\nmaxpool (2)\nfc 10\n"
    items, diagnostics = parse(text)
    assert [(d.code, d.span.line, d.span.column) for d in diagnostics] == [("E002", 2, 9), ("E002", 5, 6),
                                                                            ("E002", 8, 9)]
    input_, block, fc = items
    assert [s.keyword.text for s in block.body] == ["conv", "fc"]
    assert block.body[1].span.line == 6 and fc.span.line == 9 and input_.span.line == 1


def test_lines_outside_a_block_with_a_broken_header_still_count() -> None:
    items, diagnostics = parse("input 8x8\nblock b(f1 f2) {\n conv f1 3\n relu 2,\n}\nfc 10\n")
    assert [(d.code, d.span.line) for d in diagnostics] == [("E007", 2), ("E002", 4)]
    assert [i.keyword.text for i in items] == ["input", "fc"]


def test_a_line_with_both_braces_keeps_the_structure() -> None:
    items, diagnostics = parse("block a() {\n relu\n} block c(,) {\n conv 4 3\n}\nfc 1\n")
    assert [d.code for d in diagnostics] == ["E002"]
    assert [type(i).__name__ for i in items] == ["BlockDef", "Statement"]


@pytest.mark.parametrize("bad", ["conv 4 3,3", "block b(,) {", "relu }", "} x", "maxpool (2)", "a.b c"])
def test_a_broken_line_costs_only_itself(bad: str) -> None:
    good = "input 8x8\nblock b(f=2) {\n conv f*2 3\n}\nx: add d1.skip in.c/4\n"
    lines = good.splitlines(keepends=True)
    for at in range(len(lines) + 1):
        text = "".join(lines[:at]) + bad + "\n" + "".join(lines[at:])
        items, diagnostics = parse(text)
        assert any(d.span.line == at + 1 for d in diagnostics), (text, diagnostics)
        if not any(c in bad for c in "{}"):
            assert len(diagnostics) == 1
            expected, _ = parse(good)
            assert _lines(items) == [_moved(i, at) for i in _lines(expected)], text


def _lines(items) -> list:
    flat = []
    for item in items:
        flat += [(type(item).__name__, item.span)] + ([(s.keyword.text, s.span) for s in item.body]
                                                       if isinstance(item, BlockDef) else [])
    return flat


def _moved(entry, at: int):
    name, span = entry
    return (name, span if span.line <= at else Span(span.line + 1, span.column, span.end_line + 1, span.end_column))


LINES = ["input 8x8", "conv 4 3", "relu", "block b(f) {", "block c() {", "block d(f, g=1)", "}", "{", "}  # end",
         "x: add d.e in.c*2", "conv 4 3,3", "block (", "a.b: relu", "st: block e() {", "blok f() {", "", "# c"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=14), st.sampled_from(["\n", "\r\n"]))
def test_any_mix_of_lines_gives_items_and_diagnostics_never_an_exception(lines: list[str], end: str) -> None:
    items, diagnostics = parse(end.join(lines))
    count = max(len(lines), 1)
    for d in diagnostics:
        assert d.code in CODES and d.message and 1 <= d.span.line <= count + 1, d
    for item in items:
        assert isinstance(item, (Statement, BlockDef))
        assert item.label is None or item.label.kind == "name" if isinstance(item, Statement) else \
            item.keyword.text == "block"


def test_parameter_order_is_one_diagnostic_and_duplicates_are_still_found() -> None:
    assert codes("block b(f=1, g, h, g) {\n}\n") == [("E008", 1, 14), ("E007", 1, 20)]


def test_recovery_gives_the_same_result_whatever_its_chunk_size(monkeypatch) -> None:
    # specc.syntax.lalr re-parses a broken run of lines in chunks: their boundaries
    # (inside a block, next to a broken line) must change nothing.
    text = ("input 8x8\nconv 4 3,3\nblock b(f) {\n conv f 3\n relu;\n fc 2\n}\nblock c(,) {\n relu\n}\n"
            "maxpool (2)\nx: b 4\nblock d() {\n relu\n} y\nfc 10\n}\n")
    results = []
    for size in (1, 2, 3, 5, 100):
        monkeypatch.setattr(syntax_lalr, "_CHUNK", size)
        results.append(parse(text))
    assert all(result == results[0] for result in results)
    assert [d.span.line for d in results[0][1]] == [2, 5, 8, 11, 15, 17]


def test_a_broken_line_with_a_brace_and_no_block_is_one_diagnostic() -> None:
    assert codes("input 8x8\nfc 10 softmax}\n} relu\n{ relu\n") == [("E002", 2, 14), ("E002", 3, 3), ("E002", 4, 3)]


RESNET50 = """\
model resnet50
input 224x224x3

block identity_block(f1, f2, f3, f=3) {
        conv f1 1x1 bias=false
        batchnorm
        relu
        conv f2 f p=same bias=false
        batchnorm
        relu
        conv f3 1x1 bias=false
        batchnorm
        add in                              # in = the block's input
        relu
}

block convolutional_block(f1, f2, f3, s=2, f=3) {   # shapes change: project the shortcut
        conv f1 1x1 bias=false
        batchnorm
        relu
        conv f2 f s=s p=same bias=false
        batchnorm
        relu
        conv f3 1x1 bias=false
main:   batchnorm
        conv f3 1x1 s=s bias=false from=in          # the shortcut
        batchnorm
        add main
        relu
}

stem:   conv 64 7x7 s=2 p=3 bias=false
        batchnorm
        relu
        maxpool 3x3 s=2 p=1
layer1: convolutional_block 64 64 256 s=1
        identity_block 64 64 256 repeat=2
layer2: convolutional_block 128 128 512
        identity_block 128 128 512 repeat=3
layer3: convolutional_block 256 256 1024
        identity_block 256 256 1024 repeat=5
layer4: convolutional_block 512 512 2048
        identity_block 512 512 2048 repeat=2
        globalavgpool
        fc 1000 softmax
"""


def test_the_contracts_resnet50_parses_without_a_diagnostic() -> None:
    # /work/shared/spec-graphs.md §7, the reference example of the graph contract.
    items, diagnostics = parse(RESNET50)
    assert diagnostics == []
    blocks = [i for i in items if isinstance(i, BlockDef)]
    assert [(b.name.text, len(b.params), len(b.body)) for b in blocks] == [("identity_block", 4, 10),
                                                                           ("convolutional_block", 5, 12)]
    shortcut = blocks[1].body[8]
    assert shortcut.options[-1].name.text == "from" and shortcut.options[-1].value.value == "in"
    calls = [i for i in items if isinstance(i, Statement)][6:]
    assert [c.label.text for c in calls if c.label] == ["layer1", "layer2", "layer3", "layer4"]
    assert [o.value.value for c in calls for o in c.options if o.name.text == "repeat"] == [2, 3, 5, 2]
