"""Text to statements and block definitions: decoding, parsing, syntax diagnostics.

The grammar (grammar/specc.lark, shipped inside the package) is generic: a
statement is a label, a keyword and arguments; a block definition is a header
line, body lines and a `}` line, every item one line. This module turns the
text into ``Statement`` and ``BlockDef`` values (:mod:`specc.syntax_nodes`)
with a span on every word. A plain statement line is read by
:mod:`specc.syntax_plain`; every other line goes, with its neighbours, to Lark's
LALR parser (:mod:`specc.syntax_lalr`), imported only then; and
:mod:`specc.syntax_blocks` assembles the lines into blocks. Deciding what the
keywords mean is :mod:`specc.lower`'s job. No torch.
"""

from __future__ import annotations

from .diagnostics import Diagnostic, error
from .ir import Span
from .syntax_blocks import assemble
from .syntax_nodes import BlockDef, Expr, Item, Option, Param, Statement, Value, Word
from .syntax_plain import BLANK, plain_statement

__all__ = ["BlockDef", "Expr", "Item", "Option", "Param", "Statement", "Value", "Word",
           "decode", "lines", "parse"]


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
    """The source lines as the parser numbers them: only \\n, \\r\\n and \\r end a line
    (str.splitlines would also split at form feeds and Unicode separators)."""
    return _normalise(text).split("\n")


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse(text: str) -> tuple[list[Item], list[Diagnostic]]:
    """The top-level statements and block definitions of a text, in source order,
    with one diagnostic per fault: a line that does not parse is skipped, the
    lines around it still count."""
    source = _normalise(text).split("\n")
    if source[-1] == "":  # the text ends with a newline
        source.pop()
    found: list = []
    diagnostics: list[Diagnostic] = []
    run = None  # the first line of the current run of lines for the LALR parser
    for number, line in enumerate(source, 1):
        item = plain_statement(line, number)
        if item is None:
            run = run or number
            continue
        if run:
            _parse_run(source, run, number, found, diagnostics)
            run = None
        if item is not BLANK:
            found.append(item)
    if run:
        _parse_run(source, run, len(source) + 1, found, diagnostics)
    items = assemble(found, diagnostics, len(source))
    diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
    return items, diagnostics


def _parse_run(source: list[str], first: int, stop: int, found: list, diagnostics: list[Diagnostic]) -> None:
    """Lines first..stop-1 (numbered from 1) through Lark: every item of the
    grammar is one line, so a run of lines parses as it would inside the whole text."""
    from .syntax_lalr import parse_lines

    values, problems = parse_lines("\n".join(source[first - 1 : stop - 1]) + "\n", first)
    found += values
    diagnostics += problems
