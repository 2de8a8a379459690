"""Text to statements: decoding, the Lark LALR parser, and syntax diagnostics.

The grammar (grammar/specc.lark, shipped inside the package) is generic: a
statement is a label, a keyword and arguments. This module turns the text into
``Statement`` values with a span on every token; deciding what the keywords
mean is :mod:`specc.lower`'s job. No torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import lark

from .diagnostics import Diagnostic, error
from .ir import Span

Value = int | float | str | tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Word:
    """One token as written: its converted value, its text, its kind and span."""

    value: Value
    text: str
    kind: str  # "int", "float", "dims" or "name"
    span: Span


@dataclass(frozen=True, slots=True)
class Option:
    name: Word
    value: Word


@dataclass(frozen=True, slots=True)
class Statement:
    label: Word | None
    keyword: Word
    args: tuple[Word, ...]
    options: tuple[Option, ...]
    span: Span


def grammar_path() -> Path:
    """The grammar file: inside the installed package, else the source checkout's."""
    here = Path(__file__).resolve().parent
    packaged = here / "grammar" / "specc.lark"
    return packaged if packaged.is_file() else here.parent / "grammar" / "specc.lark"


def _span(token: lark.Token) -> Span:
    return Span(token.line, token.column, token.end_line, token.end_column)


def _word(token: lark.Token) -> Word:
    text = str(token)
    kind = token.type
    if kind == "INT":
        return Word(int(text.replace("_", "")), text, "int", _span(token))
    if kind == "FLOAT":
        return Word(float(text.replace("_", "")), text, "float", _span(token))
    if kind == "DIMS":
        parts = text.replace("×", "x").split("x")
        return Word(tuple(int(p.replace("_", "")) for p in parts), text, "dims", _span(token))
    return Word(text, text, "name", _span(token))


class _ToStatements(lark.Transformer):
    """Applied inside the LALR parser, so no parse tree is ever built."""

    def label(self, children: list) -> Word:
        return _word(children[0])

    def option(self, children: list) -> Option:
        return Option(_word(children[0]), _word(children[1]))

    def statement(self, children: list) -> Statement:
        label = children[0] if isinstance(children[0], Word) else None
        rest = children[1:] if label else children
        keyword = _word(rest[0])
        args = tuple(_word(c) for c in rest[1:] if isinstance(c, lark.Token))
        options = tuple(c for c in rest[1:] if isinstance(c, Option))
        start = label.span if label else keyword.span
        last = rest[-1]
        if isinstance(last, Option):
            end = last.value.span
        else:
            end = _word(last).span if isinstance(last, lark.Token) else keyword.span
        return Statement(label, keyword, args, options, Span(start.line, start.column, end.end_line, end.end_column))

    def start(self, children: list) -> list[Statement]:
        return children


@lru_cache(maxsize=1)
def parser() -> lark.Lark:
    """The LALR parser, built once per process (never from a pickle cache)."""
    return lark.Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        transformer=_ToStatements(),
        maybe_placeholders=False,
    )


def decode(data: bytes) -> tuple[str | None, Diagnostic | None]:
    """Bytes to text, or an E001 diagnostic at the first byte that is not UTF-8."""
    if b"\x00" in data[:8192]:
        return None, error("E001", "this is a binary file, not a .cnn spec (it contains NUL bytes)", Span.at(1))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        line = head.count(b"\n") + 1
        column = len(head[head.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        byte = data[exc.start]
        return None, error("E001", f"invalid UTF-8 byte 0x{byte:02x}", Span.at(line, column), "save the file as UTF-8")
    return text, None


def lines(text: str) -> list[str]:
    """The source lines as the parser numbers them: only \n, \r\n and \r end a line
    (str.splitlines would also split at form feeds and Unicode separators)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def parse(text: str) -> tuple[list[Statement], list[Diagnostic]]:
    """All statements of a text, with one diagnostic per line that does not parse."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    try:
        return parser().parse(text), []
    except lark.exceptions.UnexpectedInput:
        pass
    # Statements never span lines, so a line-by-line pass isolates each fault:
    # three bad lines give three diagnostics, and the good lines still count.
    statements: list[Statement] = []
    diagnostics: list[Diagnostic] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            statements.extend(_shift(s, number - 1) for s in parser().parse(line + "\n"))
        except lark.exceptions.UnexpectedInput as exc:
            diagnostics.append(_syntax_error(exc, line, number))
    return statements, diagnostics


def _shift(statement: Statement, lines: int) -> Statement:
    """Move a statement parsed on its own down to its real line."""
    if not lines:
        return statement

    def move(span: Span) -> Span:
        return Span(span.line + lines, span.column, span.end_line + lines, span.end_column)

    def word(w: Word | None) -> Word | None:
        return w and Word(w.value, w.text, w.kind, move(w.span))

    return Statement(
        word(statement.label),
        word(statement.keyword),
        tuple(word(a) for a in statement.args),
        tuple(Option(word(o.name), word(o.value)) for o in statement.options),
        move(statement.span),
    )


def _syntax_error(exc: lark.exceptions.UnexpectedInput, line: str, number: int) -> Diagnostic:
    column = getattr(exc, "column", 1) or 1
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        char = line[column - 1] if column <= len(line) else "?"
        return error("E002", f"unexpected character {char!r}", Span.at(number, column), _char_help(char))
    token = getattr(exc, "token", None)
    if token is None or token.type == "$END":
        return error("E002", "unexpected end of line", Span.at(number, max(len(line), 1)))
    text = str(token)
    span = Span(number, column, number, column + max(len(text), 1))
    if token.type == "_NL":
        return error("E002", "unexpected end of line", span)
    return error("E002", f"unexpected {text!r}", span, _token_help(token, line))


def _char_help(char: str) -> str | None:
    if char in ",;":
        return "separate arguments with spaces, not commas"
    if char in "([{":
        return "write a dimension as 5x5, without brackets"
    if char == "-":
        return "names use underscores: leaky_relu"
    return None


def _token_help(token: lark.Token, line: str) -> str | None:
    if token.type == "__ANON_0" or str(token) == "=":
        return "an option is written name=value"
    if str(token) == ":":
        return "a label is one name before the statement: conv1: conv 8 5x5"
    return "a statement is `[label:] keyword arguments... name=value...`"
