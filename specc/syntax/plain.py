"""Lines read without the LALR parser: the fast path of specc.syntax.

Almost every line of a spec is one of a few plain shapes: a statement (an
optional label, a keyword, then values and `name=value` options, a value one
token or an integer expression: `c1: conv 6 5x5 stride=1 relu`,
`conv in.c*t 1x1 if=expand`, a block call `b2: bottleneck 64 (k-1)//2`), a
block header `block NAME(PARAMS) {`, or a `}` (or `{`) alone. Such a line is
read here, with one regular expression made of the grammar's own terminals and
a walk over its tokens, at a fraction of the cost of a trip through Lark's
lexer and LALR parser, and without importing Lark at all. Any other line
(blank lines aside): a character the grammar does not know, a mistake, a token
that Lark's contextual lexer would read otherwise (`(a+b -1)`: there `-1` is
an operator and a number), a line whose expression is too long or runs into a
dimension (`4x-1`, lalr.parse_lines reports it), is not read here:
``plain_line`` returns None and specc.syntax hands the line to Lark, which
stays the definition of the language, and its errors and recovery.

tests/test_syntax_plain.py holds this module to that: the terminals below are
the grammar's, in the order Lark's lexer tries them, and every line this module
reads (all the lines of the repository's specs, generated lines and whole
specs with blocks, calls, expressions and `if=`) is read by Lark into the same
value, spans included. No lark, no torch.
"""

from __future__ import annotations

import re

from ..diagnostics import Span
from .expressions import MAX_OPERATORS, expression, glued
from .nodes import CLOSE, OPEN, HeaderLine, Line, Option, Param, Statement, Word, word_of

# The value terminals of grammar/specc.lark, highest priority first, as Lark's
# lexer tries them: DIMS before INT, so that `5x5` is never 5 followed by `x5`.
TERMINALS = {
    "DIMS": r"[0-9][0-9_]*(?:[x×][0-9][0-9_]*)+",
    "REF": r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+",
    "FLOAT": r"(?:[+-](?<![A-Za-z0-9_.)][+-]))?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][+-]?[0-9]+)?"
             r"|\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9][0-9_]*[eE][+-]?[0-9]+)",
    "INT": r"(?:[+-](?<![A-Za-z0-9_.)][+-]))?[0-9][0-9_]*",
    "NAME": r"[A-Za-z_][A-Za-z0-9_]*",
}
# The grammar's punctuation, after the values as in Lark's lexer (a sign is a number's
# where INT or FLOAT matches, else the operator); `(` and `,` in a parameter list too.
PUNCTUATION = {"OP": r"//|[*/+\-]", "LPAR": r"\(", "RPAR": r"\)", "LBRACE": r"\{", "RBRACE": r"\}",
               "COMMA": ",", "EQUAL": "=", "COLON": ":"}
IGNORED = (r"[ \t\f\r\v]+", r"#[^\n]*")  # the grammar's %ignore: blanks and comments
VALUES = frozenset(TERMINALS)

# One pass over a line: a token of the grammar per match (ignored text has no group
# name, and is tried first: no token starts with a blank or `#`, and blanks are most
# of what a line holds); `OTHER` is any character the grammar does not know.
_TOKEN = re.compile("|".join([*IGNORED, *(f"(?P<{name}>{pattern})" for name, pattern in TERMINALS.items()),
                              *(f"(?P<{name}>{pattern})" for name, pattern in PUNCTUATION.items()), "(?P<OTHER>.)"]))
_MARKERS = {"RBRACE": ("}", CLOSE), "LBRACE": ("{", OPEN)}

BLANK = object()  # what a blank or comment-only line reads as: no item

Token = tuple[str, str, int]  # a terminal, its text, its offset in the line (from 0)


def plain_line(line: str, number: int) -> Line | object | None:
    """Line `number`'s Statement, HeaderLine or `}` / `{` marker Word, as Lark reads it;
    BLANK when the line holds no token; None when it needs the full parser."""
    tokens = [(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(line) if m.lastgroup]
    if not tokens:
        return BLANK
    count, first = len(tokens), tokens[0][0]
    label, at = None, 0
    if count > 1 and tokens[1][0] == "COLON" and first in ("NAME", "REF"):
        label, at = _word(tokens[0], number), 2
        if count == 2 or tokens[2][0] != "NAME":
            return None
    elif first != "NAME":
        if count == 1 and first in _MARKERS:
            text, kind = _MARKERS[first]
            return Word(text, text, kind, Span(number, tokens[0][2] + 1, number, tokens[0][2] + 2))
        return None
    if tokens[at][1] == "block":  # `block` after a label, or first, starts a header
        return _header(tokens, at, label, number)
    # A statement, `label: keyword values name=value…`, from the keyword at `at` to the end of the line:
    # read here rather than in a function of its own, as almost every line is one.
    keyword = last = _word(tokens[at], number)
    args: list[Word] = []
    options: list[Option] = []
    at, computed = at + 1, False
    while at < count:
        kind, after = tokens[at][0], tokens[at + 1][0] if at + 1 < count else ""  # the token, and the next one's
        name = None
        if after == "EQUAL":  # name=value
            if kind != "NAME" or at + 2 == count:
                return None
            name, at = _word(tokens[at], number), at + 2
            kind, after = tokens[at][0], tokens[at + 1][0] if at + 1 < count else ""
        if kind in VALUES and after != "OP":
            last, at = _word(tokens[at], number), at + 1
        else:
            end = _expression_end(tokens, at)
            if not end:
                return None
            value = _computed(tokens[at:end], number)
            if value is None:
                return None
            last, at, computed = value, end, True
        if name is None:
            args.append(last)
        else:
            options.append(Option(name, last))
    if computed and glued().search(line):  # maybe `4x-1`: lalr.parse_lines says whether it is
        return None
    return Statement(label, keyword, tuple(args), tuple(options),
                     Span(number, (label or keyword).column, number, last.end_column))


def _header(tokens: list[Token], at: int, label: Word | None, number: int) -> HeaderLine | None:
    """`block NAME(PARAMS) {` from `block` at `at`; also the shapes the grammar accepts so
    that specc.syntax.structure can name their mistake: a label, no `{`, no parameter list."""
    count = len(tokens)
    if at + 1 == count or tokens[at + 1][0] != "NAME":
        return None
    keyword, name = _word(tokens[at], number), _word(tokens[at + 1], number)
    params: tuple[Param, ...] | None = None
    brace, end, at = None, name.end_column, at + 2
    if at < count and tokens[at][0] == "LPAR":
        read = _params(tokens, at + 1, number)
        if read is None:
            return None
        params, at = read
        end = tokens[at - 1][2] + 2  # after its `)`
    if at < count and tokens[at][0] == "LBRACE":
        brace = Span(number, tokens[at][2] + 1, number, tokens[at][2] + 2)
        end, at = brace.end_column, at + 1
    if at < count or (params is None and brace is None):
        return None
    return HeaderLine(label, keyword, name, params, brace, Span(number, (label or keyword).column, number, end))


def _params(tokens: list[Token], at: int, number: int) -> tuple[tuple[Param, ...], int] | None:
    """The parameters after a header's `(` at `at-1`, and the index after its `)`."""
    count = len(tokens)
    params: list[Param] = []
    if at < count and tokens[at][0] == "RPAR":
        return (), at + 1
    while at < count and tokens[at][0] == "NAME":
        name, default, at = _word(tokens[at], number), None, at + 1
        if at < count and tokens[at][0] == "EQUAL":
            end = _expression_end(tokens, at + 1)
            if not end:
                return None
            default = _word(tokens[at + 1], number) if end == at + 2 else _computed(tokens[at + 1:end], number)
            if default is None:
                return None
            at = end
        params.append(Param(name, default))
        if at < count and tokens[at][0] == "RPAR":
            return tuple(params), at + 1
        if at == count or tokens[at][0] != "COMMA":
            return None
        at += 1
    return None


def _expression_end(tokens: list[Token], at: int) -> int:
    """The index after the value that starts at `at`: one token, or an expression of the
    grammar (operands joined by operators, parentheses holding an operator); 0 when
    there is none, or when Lark's contextual lexer could read its tokens otherwise."""
    count = len(tokens)
    operators: list[int] = []  # per open parenthesis, the operators directly inside it
    while True:
        while at < count and tokens[at][0] == "LPAR":
            operators.append(0)
            at += 1
        if at == count or tokens[at][0] not in VALUES:
            return 0
        at += 1
        while operators and at < count and tokens[at][0] == "RPAR":
            if not operators.pop():  # `(2)`: a parenthesis holds an operator, or is a mistake
                return 0
            at += 1
        if at < count and tokens[at][0] == "OP":
            if operators:
                operators[-1] += 1
            at += 1
        elif operators:  # inside parentheses only `)` or an operator follows an operand
            return 0
        else:
            return at


def _computed(parts: list[Token], number: int) -> Word | None:
    """The Word of an expression's tokens; None past MAX_OPERATORS (Lark's parse reports it)."""
    if sum(1 for part in parts if part[0] == "OP") > MAX_OPERATORS:
        return None
    return expression([(kind, text, start + 1) for kind, text, start in parts], number)


def _word(token: Token, number: int) -> Word:
    terminal, text, start = token
    return word_of(terminal, text, Span(number, start + 1, number, start + 1 + len(text)))
