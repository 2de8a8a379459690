"""Text to statements and block definitions: decoding, parsing, syntax diagnostics.

The grammar (grammar/specc.lark, shipped inside the package) is generic: a
statement is a label, a keyword and arguments; a block definition is a header
line, body lines and a `}` line, every item one line. This module turns the
text into ``Statement`` and ``BlockDef`` values (:mod:`specc.syntax.nodes`)
with a span on every word. A plain line (a statement or a block call, with
expressions and options, a block header, a `}`) is read by
:mod:`specc.syntax.plain`; every other line (a mistake, and the few shapes the
fast path is not sure of) goes, with its neighbours, to Lark's LALR parser
(:mod:`specc.syntax.lalr`), imported only then, which reports and recovers;
and :mod:`specc.syntax.structure` assembles the lines into blocks. Deciding what
the keywords mean is :mod:`specc.lower`'s job. No torch.
"""

from __future__ import annotations

from ..diagnostics import MAX_SAME, Diagnostic, Span, error
from .nodes import BlockDef, Expr, Item, Line, Option, Param, Statement, Value, Word
from .plain import BLANK, plain_line
from .structure import Reader

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


# A longer line is reported (E011) and not read: a spec's line is a statement of a
# few dozen characters, and a line of megabytes cost gigabytes to tokenise.
MAX_LINE = 10_000
# Syntax errors before reading stops (E012), as compilers stop (gcc's -fmax-errors):
# past them the file is rarely a spec, and reading on costs time for nothing. As many
# as the report shows of one code before it sums up the rest (specc.diagnostics.cap_repeats).
MAX_ERRORS = MAX_SAME
_RUN = 1_000  # lines for Lark at a time at most: with errors, reading stops within one run
_LONG = object()  # what a line past MAX_LINE reads as


def parse(text: str) -> tuple[list[Item], list[Diagnostic]]:
    """The top-level statements and block definitions of a text, in source order,
    with one diagnostic per fault: a line that does not parse is skipped, the
    lines around it still count. After MAX_ERRORS diagnostics, reading stops (E012)."""
    source = _normalise(text).split("\n")
    if source[-1] == "":  # the text ends with a newline
        source.pop()
    reading = _Reading(source)
    reading.read()
    return reading.finish(), reading.diagnostics


class _Reading:
    """The state of a parse: the block structure read so far (syntax_blocks.Reader),
    the diagnostics, and the run of lines waiting for Lark."""

    def __init__(self, source: list[str]) -> None:
        self.source = source
        self.diagnostics: list[Diagnostic] = []
        self.blocks = Reader(self.diagnostics)
        self.run = 0  # the first line of the current run of lines for the LALR parser; 0: none
        self.stopped = 0  # the last line read, once MAX_ERRORS stopped the reading

    def read(self) -> None:
        # Locals, not globals and attributes: this loop runs once per line of 100,000.
        diagnostics, read_block, blank, long, longest, most = (self.diagnostics, self.blocks.read, BLANK, _LONG,
                                                                MAX_LINE, MAX_ERRORS)
        for number, line in enumerate(self.source, 1):
            item = plain_line(line, number) if len(line) <= longest else long
            if item is None:
                self.run = self.run or number
                if number + 1 - self.run >= _RUN:
                    self._flush(number + 1)
                    if self.stopped:
                        return
                continue
            if self.run:
                self._flush(number)
                if self.stopped:
                    return
            if item is blank:
                continue
            if item is long:
                self._long(line, number)
            else:  # mypy narrows no identity test with an object() sentinel: BLANK and _LONG are out
                read_block(item)  # type: ignore[arg-type]
            if len(diagnostics) >= most:
                self.stopped = number
                return
        self._flush(len(self.source) + 1)

    def _flush(self, stop: int) -> None:
        """Lines run..stop-1 (numbered from 1) through Lark: every item of the grammar is
        one line, so a run of lines parses as it would inside the whole text."""
        if not self.run:
            return
        from .lalr import parse_lines

        first, self.run = self.run, 0
        text = "\n".join(self.source[first - 1 : stop - 1]) + "\n"
        self._take(*parse_lines(text, first, MAX_ERRORS - len(self.diagnostics)))

    def _take(self, values: list[Line], problems: list[Diagnostic]) -> None:
        """A run's values and diagnostics, line by line, up to the line of the MAX_ERRORS-th diagnostic."""
        events = sorted([*((p.span.line, 0, p) for p in problems), *((v.span.line, 1, v) for v in values)],
                        key=lambda event: event[:2])  # on a line, its error before its braces
        for line, _, event in events:
            if self.stopped and line > self.stopped:
                return
            if isinstance(event, Diagnostic):
                self.diagnostics.append(event)
            else:
                self.blocks.read(event)
            if not self.stopped and len(self.diagnostics) >= MAX_ERRORS:
                self.stopped = line

    def _long(self, line: str, number: int) -> None:
        """E011, and the braces the line still contributes (as a line that does not parse)."""
        from .rejected import broken_markers

        self.diagnostics.append(error("E011", f"line {number} is {len(line):,} characters long; a line has at "
                                      f"most {MAX_LINE:,}, and this one is not read", Span.at(number, MAX_LINE + 1),
                                      "split it into lines of one statement each"))
        for marker in broken_markers(line, number):
            self.blocks.read(marker)

    def finish(self) -> list[Item]:
        """The items, the diagnostics in source order; E012 where reading stopped before the end."""
        if not self.stopped or self.stopped >= len(self.source):
            items = self.blocks.finish(len(self.source))
        else:  # a block open here may close below: nothing to say about it
            items = self.blocks.items
            unread = len(self.source) - self.stopped
            self.diagnostics.append(error(
                "E012", f"{len(self.diagnostics):,} syntax errors: reading stopped after line {self.stopped}, "
                f"and the {unread:,} line{'s' * (unread != 1)} after it {'are' if unread != 1 else 'is'} not checked",
                Span.at(self.stopped + 1), f"fix these first: specc stops after {MAX_ERRORS} syntax errors"))
        self.diagnostics.sort(key=lambda d: (d.span.line, d.span.column))
        return items
