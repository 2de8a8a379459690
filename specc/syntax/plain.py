"""Plain statement lines, read without the LALR parser: the fast path of specc.syntax.

Almost every line of a spec is a plain statement: an optional label, a keyword,
then values and `name=value` options, each value one token
(`c1: conv 6 5x5 stride=1 relu`). Such a line is read here with one regular
expression made of the grammar's own terminals, at a fifth of the cost of a
trip through Lark's lexer and LALR parser. Any other line (blank lines aside):
a block header, a brace, an expression such as `in.c*6`, a character the
grammar does not know, a mistake, is not read here: ``plain_statement``
returns None and specc.syntax hands the line to Lark, which stays the
definition of the language.

tests/test_syntax_plain.py holds this module to that: the terminals below are
the grammar's, in the order Lark's lexer tries them, and every line this module
reads (all the lines of the example and test specs, and generated ones) is read
by Lark into the same Statement, spans included. No lark, no torch.
"""

from __future__ import annotations

import re

from ..diagnostics import Span
from .nodes import Option, Statement, Word, word_of

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
IGNORED = (r"[ \t\f\r\v]+", r"#[^\n]*")  # the grammar's %ignore: blanks and comments
VALUES = frozenset(TERMINALS)

# One pass over a line: a token of the grammar per match (ignored text has no
# group name); `OTHER` is any character a plain statement cannot contain.
_TOKEN = re.compile("|".join([*(f"(?P<{name}>{pattern})" for name, pattern in TERMINALS.items()),
                              "(?P<EQUAL>=)", "(?P<COLON>:)", *IGNORED, "(?P<OTHER>.)"]))

BLANK = object()  # what a blank or comment-only line reads as: no item


def plain_statement(line: str, number: int) -> Statement | object | None:
    """Line `number`'s Statement when it is a plain statement, BLANK when it
    holds no token, None when it needs the full parser."""
    tokens = [(m.lastgroup, m.group(), m.start()) for m in _TOKEN.finditer(line) if m.lastgroup]
    if not tokens:
        return BLANK
    label = None
    if len(tokens) > 1 and tokens[1][0] == "COLON" and tokens[0][0] in ("NAME", "REF"):
        label, tokens = _word(tokens[0], number), tokens[2:]
    if not tokens or tokens[0][0] != "NAME" or tokens[0][1] == "block":  # `block` starts a header: Lark's
        return None
    keyword = last = _word(tokens[0], number)
    args: list[Word] = []
    options: list[Option] = []
    at, count = 1, len(tokens)
    while at < count:
        kind = tokens[at][0]
        if at + 1 < count and tokens[at + 1][0] == "EQUAL":  # name=value
            if kind != "NAME" or at + 2 >= count or tokens[at + 2][0] not in VALUES:
                return None
            last = _word(tokens[at + 2], number)
            options.append(Option(_word(tokens[at], number), last))
            at += 3
        elif kind in VALUES:
            last = _word(tokens[at], number)
            args.append(last)
            at += 1
        else:
            return None
    return Statement(label, keyword, tuple(args), tuple(options),
                     Span(number, (label or keyword).column, number, last.end_column))


def _word(token: tuple[str, str, int], number: int) -> Word:
    terminal, text, start = token
    return word_of(terminal, text, Span(number, start + 1, number, start + 1 + len(text)))
