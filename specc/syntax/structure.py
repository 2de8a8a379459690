"""Parsed lines to top-level items: block headers, bodies and `}` lines become
``BlockDef`` values, and every structural mistake gets its own diagnostic.

The grammar makes every item one line (grammar/specc.lark), so the
structure of blocks is checked here, where each mistake can be named: a `}`
that closes nothing (E003), a block never closed (E004), a block inside a block
(E005), a header without `{` (E006), a bad parameter list (E007), a parameter
without default after one with a default (E008), a label on a header (E009), a
dotted label (E010). Each mistake costs one diagnostic and no cascade: a block
whose header is unusable is dropped with its body, a nested block is moved to
the top level, an unclosed one is dropped. No lark, no torch.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Span, did_you_mean, error
from .nodes import (
    BROKEN_CLOSE,
    BROKEN_OPEN,
    CLOSE,
    HEADER_SHAPE,
    OPEN,
    BlockDef,
    HeaderLine,
    Item,
    Param,
    Statement,
    Word,
)

HEADER_FORM = f"a block definition reads `{HEADER_SHAPE}`"
# Words a body or a call already gives a meaning: `in` is the block's input, `from=` and `repeat=` are
# options of every call. A parameter of that name would be shadowed or shadow (E007).
RESERVED_PARAMS = {"in": "in a body, `in` is the block's input",
                   "from": "`from=` is an option of every call: the layer the call reads",
                   "repeat": "`repeat=` is an option of every call: its number of copies"}


class _Frame:
    """A block being read: its header line (or the marker of a header that did
    not parse), its body so far, and the blocks wrongly defined inside it."""

    __slots__ = ("header", "body", "nested", "keep")

    def __init__(self, header: HeaderLine | Word, keep: bool) -> None:
        self.header, self.keep = header, keep
        self.body: list[Statement] = []
        self.nested: list[BlockDef] = []

    def name(self) -> str:
        return f"block `{self.header.name.text}`" if isinstance(self.header, HeaderLine) else "this block"

    def span(self) -> Span:
        return _header_span(self.header)


class Reader:
    """The parser's lines (Statement, HeaderLine, marker Words) to top-level items, fed
    one line at a time by specc.syntax (which stops feeding after too many errors);
    appends a diagnostic for every structural mistake. The state: top-level items
    so far, the open blocks, a header still waiting for its `{`, the block closed last."""

    __slots__ = ("diagnostics", "items", "stack", "waiting", "closed")

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        self.items: list[Item] = []
        self.stack: list[_Frame] = []
        self.waiting: _Frame | None = None  # a header without `{`: the next line may be a lone `{`
        self.closed: tuple[_Frame, Span] | None = None

    def read(self, line: Statement | HeaderLine | Word) -> None:
        if self.waiting is not None and self._brace_after_header(self.waiting, line):
            return
        if isinstance(line, Statement):
            if line.label is not None and line.label.kind != "name":
                line = _without_dotted_label(line, line.label, self.diagnostics)
            (self.stack[-1].body if self.stack else self.items).append(line)
        elif isinstance(line, HeaderLine):
            self.stack.append(_open(line, self.stack, self.diagnostics))
            self.waiting = self.stack[-1] if line.brace is None else None
        elif line.kind == BROKEN_OPEN:  # its header's error is reported already
            self.stack.append(_Frame(line, keep=False))
            self.waiting = self.stack[-1]
        elif line.kind in (CLOSE, BROKEN_CLOSE):
            self._close(line)
        else:  # a `{` alone, with no header above it
            self.diagnostics.append(error("E002", "unexpected character '{'", line.span,
                                          f"a `{{` ends a block header line: `{HEADER_SHAPE}`"))

    def _brace_after_header(self, frame: _Frame, line: Statement | HeaderLine | Word) -> bool:
        """Whether `line` is the waiting header's (`frame`'s) `{`, alone on the next line (E006
        either way: `{` belongs at the end of the header line)."""
        self.waiting = None
        if type(line) is Word and line.kind == OPEN:
            _brace_on_own_line(frame, line, self.diagnostics)
            return True
        _missing_brace(frame, self.diagnostics)
        return False

    def _close(self, line: Word) -> None:
        if not self.stack:
            if line.kind == CLOSE:  # a broken line's `}` is reported with its line's error
                self.diagnostics.append(_stray_close(line, self.closed))
            return
        frame = self.stack.pop()
        self.closed = (frame, line.span)
        if not frame.keep:
            return
        header = frame.header
        assert isinstance(header, HeaderLine)  # only a header that parsed, with `block`, is kept (_open)
        block = BlockDef(header.keyword, header.name, header.params or (), tuple(frame.body), frame.span(), line.span)
        _check_labels(block, self.diagnostics)
        found = self.stack[-1].nested if self.stack else self.items
        found.append(block)
        found.extend(frame.nested)

    def finish(self, last_line: int) -> list[Item]:
        if self.waiting is not None:
            _missing_brace(self.waiting, self.diagnostics)
        for frame in self.stack:
            self.diagnostics.append(error("E004", f"{frame.name()} is never closed: the file ends at line "
                                          f"{last_line} without its `}}`", frame.span(),
                                          "end the block with `}` on a line of its own"))
        return self.items


def _header_span(header: HeaderLine | Word) -> Span:
    """A header from `block` to `{` (without a label), or a broken header's line."""
    if isinstance(header, HeaderLine):
        return Span(header.keyword.span.line, header.keyword.span.column, header.span.end_line, header.span.end_column)
    return header.span


def _open(header: HeaderLine, stack: list[_Frame], diagnostics: list[Diagnostic]) -> _Frame:
    keyword, name = header.keyword, header.name.text
    if keyword.text != "block":
        help = did_you_mean(keyword.text, ["block"]) or HEADER_FORM
        diagnostics.append(error("E002", f"a block definition starts with `block`, not `{keyword.text}`",
                                 keyword.span, help))
        return _Frame(header, keep=False)
    if stack:
        outer = stack[-1]
        where = f"{outer.name()} (line {outer.span().line})"
        diagnostics.append(error("E005", f"block `{name}` is defined inside {where}", _header_span(header),
                                 "blocks are defined at top level: end the outer block with `}` before this line"))
    if header.label is not None:
        diagnostics.append(error("E009", f"a block definition cannot carry a label (`{header.label.text}`)",
                                 header.label.span, f"label a call of the block instead: `{header.label.text}: "
                                 f"{name} …`"))
    if header.params is None:
        end = header.name.span
        diagnostics.append(error("E007", f"block `{name}` needs a parameter list, even an empty one",
                                 Span.at(end.end_line, end.end_column), f"write `block {name}() {{`"))
    else:
        _check_params(header.params, diagnostics)
    return _Frame(header, keep=True)


def _check_params(params: tuple[Param, ...], diagnostics: list[Diagnostic]) -> None:
    seen: set[str] = set()
    defaulted: Param | None = None
    reordered = False  # one diagnostic for the order, however many parameters are out of it
    for param in params:
        if param.name.text in RESERVED_PARAMS:
            diagnostics.append(error("E007", f"a parameter cannot be named `{param.name.text}`", param.name.span,
                                     f"{RESERVED_PARAMS[param.name.text]}; choose another name"))
        if param.name.text in seen:
            diagnostics.append(error("E007", f"parameter `{param.name.text}` is listed twice", param.name.span,
                                     "each parameter has one name of its own"))
        seen.add(param.name.text)
        if param.default is not None:
            defaulted = defaulted or param
        elif defaulted is not None and not reordered:
            reordered = True
            message = (f"parameter `{param.name.text}` has no default but follows `{defaulted.name.text}`, "
                       "which has one")
            order = [p for p in params if p.default is None] + [p for p in params if p.default is not None]
            written = ", ".join(p.name.text + (f"={p.default.text}" if p.default else "") for p in order)
            diagnostics.append(error("E008", message, param.name.span,
                                     f"parameters with a default come last: `({written})`"))


def _check_labels(block: BlockDef, diagnostics: list[Diagnostic]) -> None:
    """E007 for a parameter named like a label of the body: `x` in the body would mean both."""
    labels = _body_labels(block)
    for param in block.params:
        if param.name.text in labels:
            diagnostics.append(error("E007", f"parameter `{param.name.text}` has the name of the label on line "
                                     f"{labels[param.name.text]} of the body", param.name.span,
                                     "in the body, the name would mean both: rename the parameter or the label"))


def _body_labels(block: BlockDef) -> dict[str, int]:
    labels: dict[str, int] = {}
    for st in block.body:
        if st.label is not None:
            labels.setdefault(st.label.text, st.span.line)
    return labels


def refused_params(block: BlockDef) -> frozenset[str]:
    """The parameters reported by E007 for their names (see RESERVED_PARAMS, _check_labels):
    calls bind no value to them, so that the body's `in` and labels keep their meaning."""
    names = {p.name.text for p in block.params}
    if not names:
        return frozenset()
    return frozenset(n for n in names if n in RESERVED_PARAMS) | (names & _body_labels(block).keys())


def _stray_close(line: Word, closed: tuple[_Frame, Span] | None) -> Diagnostic:
    if closed is None:
        help = "a `}` ends a block opened by `block NAME(PARAMS) {`"
    else:
        frame, span = closed
        help = f"{frame.name()} (line {frame.span().line}) was closed on line {span.line}"
    return error("E003", "`}` closes no block", line.span, help)


def _missing_brace(frame: _Frame, diagnostics: list[Diagnostic]) -> None:
    if frame.keep:
        end = frame.header.span
        diagnostics.append(error("E006", f"{frame.name()}: the header line must end with `{{`",
                                 Span.at(end.end_line, end.end_column), "put `{` at the end of the header line"))


def _brace_on_own_line(frame: _Frame, brace: Word, diagnostics: list[Diagnostic]) -> None:
    if frame.keep:
        line = frame.header.span.line
        diagnostics.append(error("E006", f"`{{` goes at the end of the header line of {frame.name()} (line {line})",
                                 brace.span, "move it up to the end of the header line"))


def _without_dotted_label(statement: Statement, label: Word, diagnostics: list[Diagnostic]) -> Statement:
    plain = label.text.replace(".", "_")
    diagnostics.append(error("E010", f"a label is one plain name, not `{label.text}`", label.span,
                             f"a dotted name refers to a layer inside a block instance; write `{plain}`"))
    return Statement(None, statement.keyword, statement.args, statement.options, statement.span)
