"""Text to statements and block definitions: decoding, the Lark LALR parser,
and syntax diagnostics.

The grammar (grammar/specc.lark, shipped inside the package) is generic: a
statement is a label, a keyword and arguments; a block definition is a header
line, body lines and a `}` line. This module turns the text into ``Statement``
and ``BlockDef`` values (:mod:`specc.syntax_nodes`) with a span on every word,
in one LALR pass with no parse tree; :mod:`specc.syntax_blocks` assembles the
lines into blocks. Deciding what the keywords mean is :mod:`specc.lower`'s job.
No torch.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import lark

from .diagnostics import Diagnostic, error
from .ir import Span
from .syntax_blocks import assemble
from .syntax_nodes import CLOSE, OPEN, BlockDef, Expr, HeaderLine, Item, Option, Param, Statement, Value, Word

__all__ = ["BlockDef", "Expr", "Item", "Option", "Param", "Statement", "Value", "Word",
           "decode", "grammar_path", "grammar_sha256", "lines", "parse", "parser", "tables_source"]


def grammar_path() -> Path:
    """The grammar file: inside the installed package, else the source checkout's."""
    here = Path(__file__).resolve().parent
    packaged = here / "grammar" / "specc.lark"
    return packaged if packaged.is_file() else here.parent / "grammar" / "specc.lark"


def _span(token: lark.Token) -> Span:
    return Span(token.line, token.column, token.end_line, token.end_column)


def _number(digits: str) -> int | float:
    """int() refuses over 4,300 digits; so long a number is past every limit: inf, which values.py calls too large."""
    return int(digits) if len(digits) <= 4000 else float("inf")


def _word(token: lark.Token) -> Word:
    text = str(token)
    kind = token.type
    if kind == "INT":
        return Word(_number(text.replace("_", "")), text, "int", _span(token))
    if kind == "FLOAT":
        return Word(float(text.replace("_", "")), text, "float", _span(token))
    if kind == "DIMS":
        parts = text.replace("×", "x").split("x")
        return Word(tuple(_number(p.replace("_", "")) for p in parts), text, "dims", _span(token))
    if kind == "REF":
        return Word(tuple(text.split(".")), text, "ref", _span(token))
    return Word(text, text, "name", _span(token))


def _value(child: lark.Token | Word) -> Word:
    """A value child: a token, or a Word already made by the expr rule."""
    return child if type(child) is Word else _word(child)


def _from_to(first: Span, last: Span) -> Span:
    return Span(first.line, first.column, last.end_line, last.end_column)


class _ToStatements(lark.Transformer):
    """Applied inside the LALR parser, so no parse tree is ever built. Its output
    is one value per line: Statement, HeaderLine, or a `}` / `{` marker Word."""

    def label(self, children: list) -> Word:
        return _word(children[0])

    def option(self, children: list) -> Option:
        return Option(_word(children[0]), _value(children[1]))

    def expr(self, children: list) -> Word:
        left, op, right = _value(children[0]), str(children[1]), _word(children[2])
        return Word(Expr(op, left, right), f"{left.text}{op}{right.text}", "expr", _from_to(left.span, right.span))

    def statement(self, children: list) -> Statement:
        label = children[0] if type(children[0]) is Word else None
        rest = children[1:] if label else children
        keyword = _word(rest[0])
        args: list[Word] = []
        options: list[Option] = []
        end = keyword.span
        for child in rest[1:]:
            if type(child) is Option:
                options.append(child)
                end = child.value.span
            else:  # (inlined _value: this loop runs for every argument of every line)
                word = child if type(child) is Word else _word(child)
                args.append(word)
                end = word.span
        return Statement(label, keyword, tuple(args), tuple(options), _from_to((label or keyword).span, end))

    def param(self, children: list) -> Param:
        return Param(_word(children[0]), _value(children[1]) if len(children) > 1 else None)

    def params(self, children: list) -> tuple[tuple[Param, ...], Span]:
        return tuple(children[:-1]), _span(children[-1])  # the parameters, and where `)` is

    def block_header(self, children: list) -> HeaderLine:
        label = children[0] if type(children[0]) is Word else None
        rest = children[1:] if label else children
        keyword, name = _word(rest[0]), _word(rest[1])
        params, brace, end = None, None, name.span
        for child in rest[2:]:
            if type(child) is tuple:
                params, end = child
            else:
                brace = end = _span(child)
        return HeaderLine(label, keyword, name, params, brace, _from_to((label or keyword).span, end))

    def block_close(self, children: list) -> Word:
        return Word("}", "}", CLOSE, _span(children[0]))

    def lone_brace(self, children: list) -> Word:
        return Word("{", "{", OPEN, _span(children[0]))

    def start(self, children: list) -> list:
        return children


PARSER_OPTIONS = dict(parser="lalr", lexer="contextual", maybe_placeholders=False)


@lru_cache(maxsize=1)
def parser() -> lark.Lark:
    """The LALR parser, built once per process (never from a pickle cache).

    Building it from the grammar costs ~15 ms, an eighth of check's start-up,
    so the tables Lark computes are kept, as plain Python literals, in
    specc/grammar_tables.py; they are used only while they match this exact
    grammar text and Lark version, else the parser is built from the grammar.
    """
    grammar = grammar_path().read_text(encoding="utf-8")
    from . import grammar_tables as tables

    if tables.GRAMMAR_SHA256 == grammar_sha256(grammar) and tables.LARK_VERSION == lark.__version__:
        return lark.Lark._load_from_dict(tables.DATA, tables.MEMO, transformer=_ToStatements())
    return lark.Lark(grammar, transformer=_ToStatements(), **PARSER_OPTIONS)


def grammar_sha256(grammar: str) -> str:
    import hashlib

    return hashlib.sha256(grammar.encode()).hexdigest()


def tables_source(grammar: str) -> str:
    """specc/grammar_tables.py for a grammar: Lark's own serialisation of its tables."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = lark.Lark(grammar, **PARSER_OPTIONS).memo_serialize([TerminalDef, Rule])
    return (f'"""LALR tables of grammar/specc.lark, generated by Lark {lark.__version__}: do not edit.\n\n'
            f'Regenerate with `python grammar/generate_tables.py` after changing the grammar\n'
            f'(tests/test_grammar_tables.py fails until you do). Plain literals, no pickle.\n"""\n'
            f"# ruff: noqa: E501\n\n"
            f"GRAMMAR_SHA256 = {grammar_sha256(grammar)!r}\nLARK_VERSION = {lark.__version__!r}\n"
            f"DATA = {data!r}\nMEMO = {memo!r}\n")


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
    return _normalise(text).split("\n")


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(text: str) -> tuple[list[Item], list[Diagnostic]]:
    """The top-level statements and block definitions of a text, in source order,
    with one diagnostic per fault: a line that does not parse is skipped, the
    lines around it still count."""
    text = _normalise(text)
    if not text.endswith("\n"):
        text += "\n"
    try:
        found, diagnostics = parser().parse(text), []
    except lark.exceptions.UnexpectedInput:
        found, diagnostics = _recover(text)
    items = assemble(found, diagnostics, text.count("\n"))
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
    return items, diagnostics


# Lines per parse while recovering: a rejected line costs a second parse of at
# most this many lines before it, and each parse call a fixed ~30 µs.
_CHUNK = 20


def _recover(text: str) -> tuple[list, list[Diagnostic]]:
    """Parse again, in chunks of lines, around the lines that do not parse.

    Every item of the grammar is one line, so the lines before the one where the
    parser stopped parse on their own; the rejected line gets one diagnostic and
    is skipped (keeping its braces, so that the block structure around it
    survives), and parsing resumes on the next line."""
    from .syntax_errors import broken_markers, syntax_error

    found: list = []
    diagnostics: list[Diagnostic] = []
    pos, line = 0, 1  # where the text still to parse starts, and its line number
    while pos < len(text):
        chunk = text[pos : _after_lines(text, pos, _CHUNK)]
        try:
            found += _parse_from(chunk, line)
            pos, line = pos + len(chunk), line + chunk.count("\n")
        except lark.exceptions.UnexpectedInput as exc:
            start, end = _rejected_line(chunk, exc, line)
            if start:
                found += _parse_from(chunk[:start], line)
            number = line + chunk.count("\n", 0, start)
            diagnostics.append(syntax_error(exc, chunk[start:end], number))
            found += broken_markers(chunk[start:end], number)
            pos, line = pos + end + 1, number + 1
    return found, diagnostics


def _after_lines(text: str, pos: int, count: int) -> int:
    """Where the line `count` lines after the one starting at `pos` starts (or the end)."""
    for _ in range(count):
        pos = text.find("\n", pos) + 1
        if not pos:
            return len(text)
    return pos


def _parse_from(text: str, line: int) -> list:
    """Parse a text that starts at line `line` of the spec: spans and errors then
    carry the spec's own line numbers (the lexer counts lines from `line`)."""
    if line == 1:
        return parser().parse(text)
    interactive = parser().parse_interactive(text)
    interactive.lexer_thread.state.line_ctr.line = line
    return interactive.resume_parse()


def _rejected_line(text: str, exc: lark.exceptions.UnexpectedInput, line: int) -> tuple[int, int]:
    """Where the line the parser rejected starts and ends (its \\n) in `text`,
    whose first line is line `line` of the spec."""
    at = getattr(exc, "pos_in_stream", None)
    if at is None or at < 0:  # an end-of-input error may carry no position: count lines instead
        at = 0
        for _ in range(max((getattr(exc, "line", line) or line) - line, 0)):
            at = text.index("\n", at) + 1
    at = min(at, len(text) - 1)
    return text.rfind("\n", 0, at) + 1, text.index("\n", at)
