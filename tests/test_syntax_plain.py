"""The fast path for plain statement lines reads every line exactly as Lark does.

specc.syntax.plain reads the lines that are plain statements without the LALR
parser; Lark's grammar stays the definition of the language. These tests hold
the fast path to it: its terminals are the grammar's, and on the lines of every
spec of the repository, on generated lines and on whole specs (mutated ones
too), reading with the fast path gives what Lark alone gives, span for span.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import lark
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specc import syntax
from specc.syntax import lalr as syntax_lalr
from specc.syntax.plain import BLANK, IGNORED, TERMINALS, plain_statement

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(p for p in ROOT.rglob("*.cnn") if ".git" not in p.parts)


def corpus_lines() -> list[str]:
    return [line for p in SPECS for line in p.read_text(encoding="utf-8", errors="replace").splitlines()]


def lark_reads(line: str, number: int = 7) -> tuple[list, list]:
    return syntax_lalr.parse_lines(line + "\n", number)


def agrees(line: str, number: int = 7) -> bool | None:
    """True when the fast path read the line as Lark does, None when it left it to Lark."""
    plain = plain_statement(line, number)
    if plain is None:
        return None
    assert lark_reads(line, number) == ([] if plain is BLANK else [plain], []), line
    return True


def test_the_terminals_are_the_grammars_in_lexer_order() -> None:
    grammar = lark.Lark(syntax_lalr.grammar_path().read_text(encoding="utf-8"), **syntax_lalr.PARSER_OPTIONS)
    defined = {t.name: t for t in grammar.terminals}
    assert {name: defined[name].pattern.value for name in TERMINALS} == TERMINALS
    priorities = [defined[name].priority for name in TERMINALS]
    assert priorities == sorted(priorities, reverse=True)  # first match wins, as in Lark's lexer
    # Lark keeps %ignore patterns with their escapes resolved: compare what they match
    ignored = [re.compile(defined[name].pattern.value) for name in grammar.ignore_tokens]
    samples = [chr(c) for c in range(0x3100)] + ["# a comment", "  \t", "#"]
    for text in samples:
        assert any(p.fullmatch(text) for p in ignored) == any(re.fullmatch(p, text) for p in IGNORED), repr(text)


def test_every_line_of_the_repositorys_specs_reads_as_lark_reads_it() -> None:
    lines = corpus_lines()
    read = [agrees(line, number) for number, line in enumerate(lines, 1)]
    assert read.count(True) > 0.8 * len(lines)  # the fast path is the common path, not a corner


def test_the_lines_it_leaves_to_lark() -> None:
    for line in ("block b(f) {", "}", "{", "conv in.c*2 3", "conv 8 3,3", "c1: c2: conv 8",
                 "conv k==3", "conv 8=3", "3x3 conv", "conv a.b=3", "conv 8 3x3 stride=", "a:", "conv @"):
        assert plain_statement(line, 1) is None, line
    assert plain_statement("   # a comment", 1) is BLANK
    assert plain_statement("\t\f", 1) is BLANK


TOKENS = ["conv", "c1", "x", "in", "a.b", "layer3.2.conv1", "8", "+5", "-3", "1_000", "3x3", "5×5", "3x", "1.5",
          ".5", "1e-3", "2.", "=", ":", "*", "/", "(", ")", "{", "}", ",", "#c", ".", "@", "\t", "×",
          "k=3", "s=2x2", "p=same", "8=3", "a.b=x", "3x3=1", "x:", "k=", "=3", "k=a*2", "c1:", "a.b:"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=8), st.lists(st.sampled_from(["", " ", "  "]), min_size=8,
                                                                max_size=8))
def test_generated_lines_read_as_lark_reads_them(tokens: list[str], gaps: list[str]) -> None:
    line = "".join(token + gap for token, gap in zip(tokens, gaps))
    agrees(line)


def _mutated(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    at = rng.randrange(len(lines))
    col = rng.randrange(len(lines[at]) + 1)
    lines[at] = lines[at][:col] + rng.choice(TOKENS + ["\n", " "]) + lines[at][col:]
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(3))
def test_whole_specs_parse_as_lark_alone_parses_them(monkeypatch, seed: int) -> None:
    rng = random.Random(seed)
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in SPECS]
    texts += [_mutated(rng.choice(texts), rng) for _ in range(100)]
    both = [syntax.parse(text) for text in texts]
    monkeypatch.setattr(syntax, "plain_statement", lambda line, number: None)  # every line to Lark
    assert [syntax.parse(text) for text in texts] == both
