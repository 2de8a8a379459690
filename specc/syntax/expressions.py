"""An integer expression's tokens to its Word: `(k-1)//2`, `in.c*6`.

Both readers of specc.syntax build expressions here, so that the plain-line
reader (:mod:`specc.syntax.plain`) and Lark's (:mod:`specc.syntax.lalr`) make
the same tree from the same tokens: Expr nodes by precedence (`*`, `/`, `//`
before `+`, `-`, each left-associative, parentheses first), each node with its
text and span. No lark, no torch.
"""

from __future__ import annotations

import re
from functools import cache

from ..diagnostics import Span
from .nodes import Expr, Word, word_of

# Operators in one expression at most: no size needs more, and every walk over an
# expression after the parse (expansion, evaluation) then stays shallow.
MAX_OPERATORS = 64
TOO_LONG = "too-long"  # the kind of an expression past MAX_OPERATORS, until lalr.parse_lines reports it
PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2, "//": 2}
# `4x-1`, `3x3x(k)`: a dimension glued to a sign or a parenthesis. Before `+`, `-` and
# parentheses were operators, the line was a syntax error; it must not now read as 4 and `x-1`
# (lalr.parse_lines reports it, E002). Compiled when first needed: a line with an expression.


@cache
def glued() -> re.Pattern[str]:
    return re.compile(r"[0-9][x×][-+(]")


# A token of an expression: its terminal (INT, FLOAT, DIMS, NAME, REF, OP, LPAR, RPAR),
# its text and its column (from 1); an expression lies within one line.
Token = tuple[str, str, int]


def expression(parts: list[Token], line: int) -> Word:
    """The Word of an expression's tokens, its text theirs joined without spaces (parentheses
    kept); a Word of kind TOO_LONG past MAX_OPERATORS operators. Iterative (shunting-yard):
    parentheses nest without bound, the walk does not."""
    text = "".join(token[1] for token in parts)
    operators = sum(1 for token in parts if token[0] == "OP")
    if operators > MAX_OPERATORS:
        return Word(operators, text, TOO_LONG, Span(line, parts[0][2], line, _end(parts[-1])))
    offsets = [0]
    for token in parts:
        offsets.append(offsets[-1] + len(token[1]))
    made: list[tuple[Word, int]] = []  # operands so far, each with the index of its first token
    pending: list[int] = []  # indices of operators and `(` not applied yet

    def apply() -> None:
        at = pending.pop()
        right, _ = made.pop()
        left, start = made.pop()
        span = Span(line, parts[start][2], line, right.end_column)
        end = offsets[start] + len(left.text) + len(parts[at][1]) + len(right.text)
        made.append((Word(Expr(parts[at][1], left, right), text[offsets[start]:end], "expr", span), start))

    for at, (kind, written, column) in enumerate(parts):
        if kind == "LPAR":
            pending.append(at)
        elif kind == "RPAR":
            while parts[pending[-1]][0] != "LPAR":
                apply()
            opened = pending.pop()
            inner, _ = made.pop()
            span = Span(line, parts[opened][2], line, column + 1)
            # an operand in parentheses keeps its text (`k` still names a parameter); an expression shows them
            shown = inner.text if inner.kind != "expr" else text[offsets[opened]:offsets[at + 1]]
            made.append((Word(inner.value, shown, inner.kind, span), opened))
        elif kind == "OP":
            rank = PRECEDENCE[written]
            while pending and parts[pending[-1]][0] == "OP" and PRECEDENCE[parts[pending[-1]][1]] >= rank:
                apply()
            pending.append(at)
        else:
            made.append((word_of(kind, written, Span(line, column, line, column + len(written))), at))
    while pending:
        apply()
    return made[0][0]


def _end(token: Token) -> int:
    return token[2] + len(token[1])
