"""What the parse step makes of a spec: words, statements and block definitions.

Immutable values with a span on every word; :mod:`specc.syntax` builds them and
re-exports the public ones. ``HeaderLine`` and the marker words are the parser's
line-level output before :mod:`specc.syntax_blocks` assembles blocks; nothing
after the parse step sees them. No lark, no torch.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from .ir import Span
from .record import Record


class Word(Record, eq=True):
    """One value as written: its converted value, its text, its kind and span.

    Kinds: "int", "float", "dims" and "name" (one token each); "ref", a dotted
    reference such as `layer3.2.conv1`, whose value is its parts
    ("layer3", "2", "conv1"); "expr", whose value is an ``Expr`` and whose text
    is its operands' texts joined by the operators, without spaces.

    A record (specc.record), not a named tuple like the other nodes: a spec's
    words die during lowering while many of their spans live on in the layers.
    Both were tuples of four, which share the allocator's pools of one size, so
    the holes the dead words left could not be given back or used by later
    stages: 40 MB of a 100,000-layer check's peak (bench/RESULTS.md, issue 16).
    """

    value: Value
    text: str
    kind: str
    span: Span


class Expr(NamedTuple):
    """An integer expression `left op right`, op "*" or "/"; `a*b/c` nests on the left."""

    op: str
    left: Word
    right: Word


Value = int | float | str | tuple[int, ...] | tuple[str, ...] | Expr


def word_of(terminal: str, text: str, span: Span) -> Word:
    """The Word of one token of the grammar's terminals INT, FLOAT, DIMS, REF, NAME."""
    return Word(*_reading(terminal, text), span)


@lru_cache(maxsize=4096)
def _reading(terminal: str, text: str) -> tuple[Value, str, str]:
    """A token's value, text and kind. A spec repeats its words (`conv`, `relu`, `3x3`):
    each is converted once, and its every Word shares one text and one value, which
    saves a large spec an eighth of its parse's memory."""
    if terminal == "NAME":
        return text, text, "name"
    if terminal == "INT":
        return _number(text.replace("_", "")), text, "int"
    if terminal == "DIMS":
        parts = text.replace("×", "x").split("x")
        return tuple(_number(p.replace("_", "")) for p in parts), text, "dims"
    if terminal == "FLOAT":
        return float(text.replace("_", "")), text, "float"
    return tuple(text.split(".")), text, "ref"


def _number(digits: str) -> int | float:
    """int() refuses over 4,300 digits; so long a number is past every limit: inf, which values.py calls too large."""
    return int(digits) if len(digits) <= 4000 else float("inf")


class Option(NamedTuple):
    """A `name=value` option as written."""

    name: Word
    value: Word


class Statement(NamedTuple):
    """One statement line: `label: keyword args options`."""

    label: Word | None  # always a plain name: a dotted label is reported (E010) and dropped
    keyword: Word
    args: tuple[Word, ...]
    options: tuple[Option, ...]
    span: Span


class Param(NamedTuple):
    """A block parameter: `f1`, or `f=3` with its default value."""

    name: Word
    default: Word | None


class BlockDef(NamedTuple):
    """`block NAME(PARAMS) { … }`: ``span`` is the header, `block` to `{`;
    ``end_span`` the closing `}`. ``keyword`` is the word `block`, so that code
    which only knows statements reports it as an unknown statement."""

    keyword: Word
    name: Word
    params: tuple[Param, ...]
    body: tuple[Statement, ...]
    span: Span
    end_span: Span


Item = Statement | BlockDef


class HeaderLine(NamedTuple):
    """A block header line as parsed, before the checks of specc.syntax_blocks.

    ``params`` is None when the parameter list is missing, ``brace`` when `{` is."""

    label: Word | None
    keyword: Word
    name: Word
    params: tuple[Param, ...] | None
    brace: Span | None
    span: Span


# How a header reads, for messages.
HEADER_SHAPE = "block NAME(PARAMS) {"

# The kinds of the marker words for the other lines that are not statements.
CLOSE = "close"  # a `}` line
OPEN = "open"  # a `{` alone on its line
BROKEN_OPEN = "broken-open"  # a line that did not parse but opens a block (its header)
BROKEN_CLOSE = "broken-close"  # a line that did not parse but starts with `}`
