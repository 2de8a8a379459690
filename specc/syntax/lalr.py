"""The Lark LALR parser of grammar/specc.lark, and recovery around the lines it rejects.

Lark's grammar is the definition of the language. :mod:`specc.syntax` hands it
every line that :mod:`specc.syntax.plain` does not read (mistakes, and the few
shapes the fast path leaves to it), a run of consecutive lines at a time.
The transformer runs inside the LALR parser, so no parse tree is ever built:
its output is one value per line, a Statement, a HeaderLine, or a `}` / `{`
marker Word. Imported only when a spec has such a line, so that a check of a
well-formed spec never pays for `import lark`. No torch.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import lark

from ..diagnostics import Diagnostic, Span, error
from .expressions import MAX_OPERATORS, TOO_LONG, expression, glued
from .nodes import (
    CLOSE,
    OPEN,
    HeaderLine,
    Line,
    Option,
    Param,
    Statement,
    Word,
    has_value_of_kind,
    word_of,
)

PARSER_OPTIONS = dict(parser="lalr", lexer="contextual", maybe_placeholders=False)


def grammar_path() -> Path:
    """The grammar file: inside the installed package, else the source checkout's."""
    package = Path(__file__).resolve().parent.parent
    packaged = package / "grammar" / "specc.lark"
    return packaged if packaged.is_file() else package.parent / "grammar" / "specc.lark"


def _span(token: lark.Token) -> Span:
    # Lark types a token's position Optional: a token its lexer made always has one.
    return Span(token.line, token.column, token.end_line, token.end_column)  # type: ignore[arg-type]


def _word(token: lark.Token) -> Word:
    return word_of("NAME" if token.type == "BLOCK" else token.type, str(token), _span(token))


class _Chain:
    """An expression being read, `(k-1)//2`: its operands, operators and parentheses, Lark's
    tokens in order. The expr rule is left-recursive, so each operator extends the chain in
    place, and the Word is made once, when the rule that holds the expression is reduced:
    made at every operator, the text of the whole left operand was copied each time,
    quadratic in the length of the expression."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[lark.Token]) -> None:
        self.parts = parts


def _value(child: lark.Token | Word | _Chain) -> Word:
    """A value child: a token, a Word, or an expression read whole (specc.syntax.expressions)."""
    if isinstance(child, Word):
        return child
    if isinstance(child, _Chain):
        parts = child.parts
        # Lark types a token's position Optional: a token its lexer made always has one.
        return expression([(t.type, str(t), t.column) for t in parts], parts[0].line)  # type: ignore[arg-type, misc]
    return _word(child)


def _from_to(first: Span, last: Span) -> Span:
    return Span(first.line, first.column, last.end_line, last.end_column)


class _ToStatements(lark.Transformer):
    """Applied inside the LALR parser, so no parse tree is ever built. Its output
    is one value per line: Statement, HeaderLine, or a `}` / `{` marker Word."""

    def label(self, children: list) -> Word:
        return _word(children[0])

    def option(self, children: list) -> Option:
        return Option(_word(children[0]), _value(children[1]))

    def expr(self, children: list) -> _Chain:
        left = children[0]
        if type(left) is _Chain:
            left.parts += children[1:]
            return left
        return _Chain(list(children))

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
            else:
                word = _value(child)
                args.append(word)
                end = word.span
        return Statement(label, keyword, tuple(args), tuple(options), _from_to((label or keyword).span, end))

    def param(self, children: list) -> Param:
        return Param(_word(children[0]), _value(children[1]) if len(children) > 1 else None)

    def params(self, children: list) -> tuple[tuple[Param, ...], Span]:  # the parameters, and where `)` is
        return tuple(child for child in children[:-1] if type(child) is Param), _span(children[-1])

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


@lru_cache(maxsize=1)
def parser() -> lark.Lark:
    """The LALR parser, built once per process (never from a pickle cache).

    Building it from the grammar costs ~15 ms, so the tables Lark computes are
    kept, as plain Python literals, in specc/syntax/grammar_tables.py; they are used
    only while they match this exact grammar text and Lark version, else the
    parser is built from the grammar.
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
    """specc/syntax/grammar_tables.py for a grammar: Lark's own serialisation of its tables."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    data, memo = lark.Lark(grammar, **PARSER_OPTIONS).memo_serialize([TerminalDef, Rule])
    return (f'"""LALR tables of grammar/specc.lark, generated by Lark {lark.__version__}: do not edit.\n\n'
            f'Regenerate with `python grammar/generate_tables.py` after changing the grammar\n'
            f'(tests/test_grammar_tables.py fails until you do). Plain literals, no pickle.\n"""\n'
            f"# ruff: noqa: E501\n\n"
            f"GRAMMAR_SHA256 = {grammar_sha256(grammar)!r}\nLARK_VERSION = {lark.__version__!r}\n"
            f"DATA = {data!r}\nMEMO = {memo!r}\n")


def parse_lines(text: str, line: int, budget: int | None = None) -> tuple[list[Line], list[Diagnostic]]:
    """The values of whole lines of a spec, `text` starting at its line `line`,
    with one diagnostic per line the parser rejects (that line is skipped).
    With a `budget`, parsing stops after that many rejected lines."""
    problems: list[Diagnostic] = []
    try:
        values = _parse_from(text, line)
    except lark.exceptions.UnexpectedInput:
        values, problems = _recover(text, line, len(text) + 1 if budget is None else budget)
    if sum(map(text.count, "*/+-")) > MAX_OPERATORS:  # else no expression can be too long
        values = [_checked(value, problems) for value in values]
    if glued().search(text):
        source = text.split("\n")
        values = [value for value in values if not _glued_dims(value, source, line, problems)]
    return values, problems


def _glued_dims(value: Line, source: list[str], first: int, problems: list[Diagnostic]) -> bool:
    """Whether the line is a Statement where a number or dimension runs into an expression
    starting with `x` (`4x-1`): E002 at the sign, and the line is skipped as a syntax error.
    `source` holds the lines of the text, the first of them line `first`: only the statement's
    own line decides (``glued`` at the words that meet), whatever its neighbours hold."""
    if type(value) is not Statement:
        return False
    words = sorted([*value.args, *(o.value for o in value.options)], key=lambda w: w.column)
    written = source[value.span.line - first]
    for at, (before, word) in enumerate(zip(words, words[1:])):
        if (before.kind in ("int", "dims") and word.column == before.end_column and word.text[:1] in "x×"
                and glued().match(written, before.end_column - 2)):
            after = words[at + 2].text if word.text in "x×" and at + 2 < len(words) else ""
            problems.append(error("E002", f"`{before.text}{word.text}{after}` is not a dimension",
                                  Span.at(word.line, word.column + 1),
                                  "a dimension is whole numbers joined by x, such as 5x5; "
                                  "a computed size is an argument of its own"))
            return True
    return False


def _checked(value: Line, problems: list[Diagnostic]) -> Line:
    """The line's value with every expression past MAX_OPERATORS reported (E120) and made a
    value of kind "unknown": lowering leaves it out (the layer is Invalid) without a second message."""
    if type(value) is Statement and has_value_of_kind(value, (TOO_LONG,)):
        args = tuple(_short(word, problems) for word in value.args)
        options = tuple(Option(o.name, _short(o.value, problems)) for o in value.options)
        return value._replace(args=args, options=options)
    if type(value) is HeaderLine and value.params and any(p.default and p.default.kind == TOO_LONG
                                                          for p in value.params):
        params = tuple(Param(p.name, p.default and _short(p.default, problems)) for p in value.params)
        return value._replace(params=params)
    return value


def _short(word: Word, problems: list[Diagnostic]) -> Word:
    """E120 for a TOO_LONG word, and the word as an unknown value, its text cut for later messages."""
    if word.kind != TOO_LONG:
        return word
    shown = word.text if len(word.text) <= 40 else f"{word.text[:40]}…"
    problems.append(error("E120", f"this expression has {word.value:,} operators (`{shown}`); "
                                  f"an expression has at most {MAX_OPERATORS}", word.span,
                          "write the value it gives, or compute it in fewer steps (`in.c*64`)"))
    return Word(None, shown, "unknown", word.span)


# Lines per parse while recovering: a rejected line costs a second parse of at
# most this many lines before it, and each parse call a fixed ~30 µs.
_CHUNK = 20


def _recover(text: str, line: int, budget: int) -> tuple[list[Line], list[Diagnostic]]:
    """Parse again, in chunks of lines, around the lines that do not parse, until
    `budget` lines were rejected.

    Every item of the grammar is one line, so the lines before the one where the
    parser stopped parse on their own; the rejected line gets one diagnostic and
    is skipped (keeping its braces, so that the block structure around it
    survives), and parsing resumes on the next line."""
    from .rejected import broken_markers, syntax_error

    found: list[Line] = []
    diagnostics: list[Diagnostic] = []
    pos = 0  # where the text still to parse starts; `line` is its line number
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
            if len(diagnostics) >= budget:
                break
    return found, diagnostics


def _after_lines(text: str, pos: int, count: int) -> int:
    """Where the line `count` lines after the one starting at `pos` starts (or the end)."""
    for _ in range(count):
        pos = text.find("\n", pos) + 1
        if not pos:
            return len(text)
    return pos


def _parse_from(text: str, line: int) -> list[Line]:
    """Parse a text that starts at line `line` of the spec: spans and errors then
    carry the spec's own line numbers (the lexer counts lines from `line`)."""
    # Lark types parse() as giving a Tree: with the transformer inside the parser, it gives what start() returns.
    if line == 1:
        return parser().parse(text)  # type: ignore[return-value]
    interactive = parser().parse_interactive(text)
    # Lark types the lexer's state Optional: parse_interactive(text) has made it.
    interactive.lexer_thread.state.line_ctr.line = line  # type: ignore[union-attr]
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
