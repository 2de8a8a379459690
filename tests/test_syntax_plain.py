"""The fast path reads every line it reads exactly as Lark does.

specc.syntax.plain reads the plain lines (statements, block calls, expressions,
`if=`, block headers, `}`) without the LALR parser; Lark's grammar stays the
definition of the language. These tests hold the fast path to it: its terminals
are the grammar's, and on the lines of every spec of the repository, on
generated lines and on whole specs (generated ones with blocks, calls,
expressions and `if=`, and mutated ones), reading with the fast path gives what
Lark alone gives, span for span, diagnostics included. And the fast path is the
path: every line of the shipped specs is read by it, so that their check never
imports Lark.
"""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path
from unittest import mock

import lark
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specc import syntax
from specc.syntax import lalr as syntax_lalr
from specc.syntax.nodes import HeaderLine, Statement, Word
from specc.syntax.plain import BLANK, IGNORED, PUNCTUATION, TERMINALS, plain_line

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p for p in ROOT.rglob("*.cnn") if ".git" not in p.parts)  # specs/, tests/fixtures, tests/broken…
SHIPPED = sorted((ROOT / "specs").glob("*.cnn"))


def corpus_lines() -> list[str]:
    return [line for p in SPECS for line in p.read_text(encoding="utf-8", errors="replace").splitlines()]


def lark_reads(line: str, number: int = 7) -> tuple[list, list]:
    return syntax_lalr.parse_lines(line + "\n", number)


def agrees(line: str, number: int = 7) -> bool | None:
    """True when the fast path read the line as Lark does, None when it left it to Lark."""
    plain = plain_line(line, number)
    if plain is None:
        return None
    assert lark_reads(line, number) == ([] if plain is BLANK else [plain], []), line
    return True


def lark_alone(text: str) -> tuple[list, list]:
    with mock.patch.object(syntax, "plain_line", lambda line, number: None):  # every line to Lark
        return syntax.parse(text)


def test_the_terminals_are_the_grammars_in_lexer_order() -> None:
    grammar = lark.Lark(syntax_lalr.grammar_path().read_text(encoding="utf-8"), **syntax_lalr.PARSER_OPTIONS)
    defined = {t.name: t for t in grammar.terminals}
    # A terminal the fast path does not know would be read as OTHER (the line left to Lark), or worse,
    # as a part of one it knows: a new terminal must be taught to specc/syntax/plain.py, or declined there.
    assert set(defined) == {*TERMINALS, *PUNCTUATION, "BLOCK", "_NL", *grammar.ignore_tokens}
    assert {name: defined[name].pattern.value for name in TERMINALS} == TERMINALS
    priorities = [defined[name].priority for name in TERMINALS]
    assert priorities == sorted(priorities, reverse=True)  # first match wins, as in Lark's lexer
    # the punctuation: what each matches, and after the values (a sign is a number's where one matches)
    samples = [chr(c) for c in range(0x3100)] + ["//", "**", "/*", "(("]
    for name, pattern in PUNCTUATION.items():
        theirs = re.compile(defined[name].pattern.to_regexp())
        for text in samples:
            assert bool(theirs.fullmatch(text)) == bool(re.fullmatch(pattern, text)), (name, text)
        assert defined[name].priority <= min(priorities)
    assert re.match(PUNCTUATION["OP"], "//").group() == "//"  # Lark tries `//` before `/`
    # Lark keeps %ignore patterns with their escapes resolved: compare what they match
    ignored = [re.compile(defined[name].pattern.value) for name in grammar.ignore_tokens]
    samples += ["# a comment", "  \t", "#"]
    for text in samples:
        assert any(p.fullmatch(text) for p in ignored) == any(re.fullmatch(p, text) for p in IGNORED), repr(text)


def test_every_line_of_the_repositorys_specs_reads_as_lark_reads_it() -> None:
    lines = corpus_lines()
    read = [agrees(line, number) for number, line in enumerate(lines, 1)]
    assert read.count(True) > 0.9 * len(lines)  # the fast path is the common path, not a corner


def test_every_line_of_the_shipped_specs_is_read_without_lark() -> None:
    for path in SHIPPED:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            assert plain_line(line, number) is not None, f"{path.name}:{number}: {line}"


def test_a_check_of_a_spec_with_blocks_never_imports_lark() -> None:
    code = ("import sys; from specc.cli import main; main(['check', '-q', *sys.argv[1:]]); "
            "print(sorted(m for m in sys.modules if m == 'lark' or m.startswith(('lark.', 'specc.syntax.lalr'))))")
    specs = [str(ROOT / "specs" / name) for name in ("resnet50.cnn", "mobilenetv2.cnn", "unet.cnn")]
    out = subprocess.run([sys.executable, "-c", code, *specs], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr


def test_the_lines_it_reads_beyond_plain_statements() -> None:
    header = plain_line("block b(f1, k=3, p=(k-1)//2) {   # a block", 4)
    assert type(header) is HeaderLine and [p.name.text for p in header.params] == ["f1", "k", "p"]
    assert header.params[2].default.text == "(k-1)//2" and header.brace.column == 30
    close = plain_line("  }  # end", 9)
    assert type(close) is Word and close.kind == "close" and close.column == 3
    call = plain_line("b2: bottleneck in.c*t 3x3 stride=2 if=res", 5)
    assert type(call) is Statement and call.args[0].value.op == "*" and call.options[1].value.text == "res"
    for line in ("block b {", "block b()", "x: block b(f) {", "{", "conv (a+b)*2 k//2", "conv a -3"):
        assert agrees(line), line


def test_the_lines_it_leaves_to_lark() -> None:
    too_long = "conv " + "+".join(["1"] * 66)
    for line in ("conv 8 3,3", "c1: c2: conv 8", "conv k==3", "conv 8=3", "3x3 conv", "conv a.b=3",
                 "conv 8 3x3 stride=", "a:", "conv @", "a: b.5",  # Lark's contextual lexer: `b` then `.5`
                 "conv (2)", "conv ((a+b))", "conv (a+b", "conv a+", "conv k=-a", "conv *3",
                 "conv (a+b -3)", "block b(k=a -3) {",  # there `-` is an operator: `a+b-3`, `a-3`
                 "conv 4x-1", "conv 3x3x(k+1)", too_long,  # lalr.parse_lines reports these
                 "block", "block b", "block b(", "block b(f,) {", "block b(f) { relu", "block b.c() {",
                 "block 3() {", "} relu", "}}", "{ }", "conv 8 {"):
        assert plain_line(line, 1) is None, line
    assert plain_line("   # a comment", 1) is BLANK
    assert plain_line("\t\f", 1) is BLANK


TOKENS = ["conv", "c1", "x", "in", "a.b", "layer3.2.conv1", "8", "+5", "-3", "1_000", "3x3", "5×5", "3x", "1.5",
          ".5", "1e-3", "2.", "=", ":", "*", "/", "//", "+", "-", "(", ")", "{", "}", ",", "#c", ".", "@", "\t",
          "×", "block", "b(", "b()", "(k-1)//2", "in.c*t", "k=3", "s=2x2", "p=same", "8=3", "a.b=x", "3x3=1", "x:",
          "k=", "=3", "k=a*2", "c1:", "a.b:", "if=res", "4x-1"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=9), st.lists(st.sampled_from(["", " ", "  "]), min_size=9,
                                                                max_size=9))
def test_generated_lines_read_as_lark_reads_them(tokens: list[str], gaps: list[str]) -> None:
    line = "".join(token + gap for token, gap in zip(tokens, gaps))
    agrees(line)


# --- generated specs: blocks, calls, expressions, if= ----------------------------------------

ATOMS = ["k", "t", "f1", "in.c", "in.h", "a.b.c", "2", "16", "1_0", "3x3", "1.5", ".5", "1e-3"]
SIGNED = ["-1", "+2", "-0.5"]
SPACE = st.sampled_from(["", " "])


@st.composite
def expressions(draw, depth: int = 2, signed: bool = False) -> str:
    """An integer expression of the grammar: operands joined by operators, parentheses holding one."""
    def operand() -> str:
        if depth and draw(st.integers(0, 3)) == 0:
            return "(" + draw(SPACE) + draw(expressions(depth - 1, signed)) + draw(SPACE) + ")"
        return draw(st.sampled_from(ATOMS + SIGNED * signed))

    text = operand()
    for _ in range(draw(st.integers(1 if depth < 2 else 0, 3))):
        before, op = draw(SPACE), draw(st.sampled_from(["+", "-", "*", "/", "//"]))
        # `k -1`: a sign after a blank starts a number, which Lark's contextual lexer reads as an
        # operator only where no number may follow (in parentheses, a default): Lark's, there
        after = " " if before and op in "+-" and not signed else draw(SPACE)
        text += before + op + after + operand()
    return text


@st.composite
def values(draw, signed: bool = False) -> str:
    return draw(st.one_of(st.sampled_from(ATOMS + ["relu", "same", "true", "x1"]), expressions(signed=signed)))


@st.composite
def statements(draw, signed: bool = False) -> str:
    """A statement or a call: a label, a keyword, values, options (`if=`, `from=`, `repeat=`, `share=`)."""
    label = draw(st.sampled_from(["", "a: ", "stem:\t", "block: ", "l2 :  "]))
    keyword = draw(st.sampled_from(["conv", "bottleneck", "relu", "add", "output", "dense_x", "fc"]))
    words = draw(st.lists(values(signed), max_size=3))
    options = draw(st.lists(st.one_of(
        st.sampled_from(["if=res", "if=expand", "from=in", "repeat=2", "share=e1", "s=2", "p=same"]),
        st.builds(lambda name, value: f"{name}={value}", st.sampled_from(["p", "k", "stride"]), values(signed))),
        max_size=3))
    comment = draw(st.sampled_from(["", "  # a comment", "#x"]))
    return draw(st.sampled_from(["", "    ", "\t"])) + label + " ".join([keyword, *words, *options]) + comment


@st.composite
def headers(draw, signed: bool = False) -> str:
    """A block header, also the shapes the grammar reads for structure's messages (a label, no `{`, no list)."""
    params = draw(st.lists(st.one_of(st.sampled_from(["f", "f1", "t", "res", "block"]),
                                     st.builds(lambda v: "k=" + v, values(signed))), max_size=4))
    listed = "(" + draw(SPACE) + ("," + draw(SPACE)).join(params) + draw(SPACE) + ")"
    shape = draw(st.sampled_from(["{listed} {{", "{listed}{{", "{listed}", " {{"]))
    label = draw(st.sampled_from(["", "", "", "x: "]))
    return label + "block " + draw(st.sampled_from(["b", "bneck", "blocks"])) + shape.format(listed=listed)


def lines(signed: bool = False):
    return st.one_of(statements(signed), headers(signed),
                     st.sampled_from(["}", "  }  # end", "{", "", "# comment", "input 32x32x3", "a: input 8x8x1"]))


def test_generated_spec_lines_are_all_read_by_the_fast_path() -> None:
    """Not a corner: every line of the well-formed generator below is the fast path's to read."""
    @settings(max_examples=300, deadline=None)
    @given(lines())
    def check(line: str) -> None:
        assert agrees(line) or plain_line(line, 7) is BLANK, line

    check()


@settings(max_examples=300, deadline=None)
@given(st.lists(lines(signed=True), max_size=25), st.randoms(use_true_random=False))
def test_generated_specs_parse_as_lark_alone_parses_them(spec: list[str], rng: random.Random) -> None:
    if spec and rng.random() < 0.3:  # and now and then a mistake among them
        spec[rng.randrange(len(spec))] = _mutated(spec[rng.randrange(len(spec))], rng)
    text = "\n".join(spec) + "\n"
    assert syntax.parse(text) == lark_alone(text)


def _mutated(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    col = rng.randrange(len(lines[at]) + 1)
    lines[at] = lines[at][:col] + rng.choice(TOKENS + ["\n", " "]) + lines[at][col:]
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(3))
def test_whole_specs_parse_as_lark_alone_parses_them(seed: int) -> None:
    rng = random.Random(seed)
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in SPECS]
    texts += [_mutated(rng.choice(texts), rng) for _ in range(100)]
    assert [syntax.parse(text) for text in texts] == [lark_alone(text) for text in texts]


def test_a_glued_dimension_is_judged_on_its_own_line() -> None:
    """`conv 4x 3` is 4 and `x` (an unknown word, for lowering to report); `4x-1` is E002. The
    first line's reading once depended on whether a line like the second shared its run of lines."""
    alone = lark_alone("conv 4x 3\n")
    assert lark_alone("conv 4x 3\nconv 4x-1\n")[0] == alone[0]
    assert [d.code for d in lark_alone("conv 4x 3\nconv 4x-1\n")[1]] == ["E002"]
    assert syntax.parse("conv 4x 3  # or 4x-1\n") == lark_alone("conv 4x 3  # or 4x-1\n") == alone
