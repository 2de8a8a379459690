"""What the parse step makes of a spec: words, statements and block definitions.

Immutable values with a span on every word; :mod:`specc.syntax` builds them and
re-exports the public ones. ``HeaderLine`` and the marker words are the parser's
line-level output before :mod:`specc.syntax.structure` assembles blocks; nothing
after the parse step sees them. No lark, no torch.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..diagnostics import Span
from ..record import NamedTuple


class Word:
    """One value as written: its converted value, its text, its kind and span.

    Kinds: "int", "float", "dims" and "name" (one token each); "ref", a dotted
    reference such as `layer3.2.conv1`, whose value is its parts
    ("layer3", "2", "conv1"); "expr", whose value is an ``Expr`` and whose text
    is its operands' texts joined by the operators, without spaces.

    A word lies within one line, so it keeps its span as three numbers (``line``,
    ``column``, ``end_column``) and makes the Span when asked: a Span tuple for
    every word was a third of the memory of a parsed spec, and as the words died
    during lowering, their holes in the allocator's pools, shared with the spans
    the layers keep, could not be reused (bench/RESULTS.md, issue 16). Otherwise
    it behaves as a record: ``_fields``, ``_replace``, equality by value, and
    nothing assigns to its fields.
    """

    __slots__ = ("value", "text", "kind", "line", "column", "end_column")
    _fields = ("value", "text", "kind", "span")

    def __init__(self, value: Value, text: str, kind: str, span: Span) -> None:
        if span.end_line != span.line:
            raise ValueError(f"a word lies within one line, not {span}")
        self.value, self.text, self.kind = value, text, kind
        self.line, self.column, self.end_column = span.line, span.column, span.end_column

    @property
    def span(self) -> Span:
        return Span(self.line, self.column, self.line, self.end_column)

    def _replace(self, **changes: Any) -> Word:
        return Word(**{name: changes.pop(name) if name in changes else getattr(self, name)
                       for name in self._fields}, **changes)

    def _values(self) -> tuple:
        return self.value, self.text, self.kind, self.line, self.column, self.end_column

    def __eq__(self, other: object) -> bool:
        return self._values() == other._values() if type(other) is Word else NotImplemented

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"Word(value={self.value!r}, text={self.text!r}, kind={self.kind!r}, span={self.span!r})"


class Expr(NamedTuple):
    """An integer expression `left op right`, op one of `+ - * / //`; `a*b/c` nests on the left,
    `a+b*c` on the right (precedence), `(a+b)*c` as written."""

    op: str
    left: Word
    right: Word


Value = int | float | str | tuple[int | float, ...] | tuple[str, ...] | Expr | None


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


def has_value_of_kind(st: Statement, kinds: tuple[str, ...]) -> bool:
    """Whether an argument or an option value of the statement is a Word of one of these kinds."""
    for word in st.args:
        if word.kind in kinds:
            return True
    for option in st.options:
        if option.value.kind in kinds:
            return True
    return False


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
    """A block header line as parsed, before the checks of specc.syntax.structure.

    ``params`` is None when the parameter list is missing, ``brace`` when `{` is."""

    label: Word | None
    keyword: Word
    name: Word
    params: tuple[Param, ...] | None
    brace: Span | None
    span: Span


# What the parser makes of one line: a statement, a block header, or a marker word (below).
Line = Statement | HeaderLine | Word


# How a header reads, for messages.
HEADER_SHAPE = "block NAME(PARAMS) {"

# The kinds of the marker words for the other lines that are not statements.
CLOSE = "close"  # a `}` line
OPEN = "open"  # a `{` alone on its line
BROKEN_OPEN = "broken-open"  # a line that did not parse but opens a block (its header)
BROKEN_CLOSE = "broken-close"  # a line that did not parse but starts with `}`
