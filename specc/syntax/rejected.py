"""Syntax diagnostics for a line the parser rejects (E002, E007), and the braces
that line still contributes to the block structure.

Only the error path imports what it needs from here; no torch.
"""

from __future__ import annotations

import re

import lark

from ..diagnostics import Diagnostic, Span, did_you_mean, error
from .nodes import BROKEN_CLOSE, BROKEN_OPEN, HEADER_SHAPE, Word

# A line that starts like a block header: `block NAME(`, maybe after a label;
# and one shaped like a header whatever its keyword: `WORD NAME(` or `WORD NAME {`.
_HEADER = re.compile(r"\s*(?:[A-Za-z0-9_.]+\s*:\s*)?block(?=[\s(])")
_OTHER_HEADER = re.compile(r"\s*(?:[A-Za-z0-9_.]+\s*:\s*)?(?!block\b)([A-Za-z_]\w*)\s+[A-Za-z_]\w*\s*[({]")
_HEADER_SHAPE = re.compile(r"\s*(?:[A-Za-z0-9_.]+\s*:\s*)?[A-Za-z_]\w*\s+[A-Za-z_]\w*\s*[({]")
# Single-character tokens reported as characters, as they were before they were tokens.
_PUNCTUATION = set("(),{}*/+-")
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")
_NUMBER = re.compile(r"\.?[0-9][A-Za-z0-9_.]*")
HEADER_FORM = f"a block definition reads `{HEADER_SHAPE}`"
PARAMS_HELP = "parameters are names separated by commas, those with a default last: `block b(f1, f2, s=2) {`"


def syntax_error(exc: lark.exceptions.UnexpectedInput, line: str, number: int) -> Diagnostic:
    """The diagnostic for line `number` (text `line`), which the parser rejected at exc."""
    column = getattr(exc, "column", 1) or 1
    token = getattr(exc, "token", None)
    if token is not None and token.type == "RPAR" and not _HEADER.match(line):
        column, token = _bare_parenthesis(line, column), None  # `(2)`: the `(` is the mistake
    if isinstance(exc, lark.exceptions.UnexpectedCharacters) or token is None:
        char = line[column - 1] if column <= len(line) else "?"
        what, span = f"character {char!r}", Span.at(number, column)
    elif token.type == "_NL":
        what, span = "end of line", Span.at(number, column)
    elif token.type == "$END":
        what, span = "end of line", Span.at(number, max(len(line), 1))
    else:
        text = str(token)
        width = max(len(text), 1)
        what = f"character {text!r}" if text in _PUNCTUATION else repr(text)
        span = Span(number, column, number, column + width)
    keyword = _OTHER_HEADER.match(line)
    if keyword and line.split("#", 1)[0].rstrip().endswith("{"):  # `blok b() {`
        word = keyword.group(1)
        return error("E002", f"a block definition starts with `block`, not `{word}`",
                     Span(number, keyword.start(1) + 1, number, keyword.end(1) + 1),
                     did_you_mean(word, ["block"]) or HEADER_FORM)
    if _in_parameter_list(line, column):
        return error("E007", f"bad parameter list: unexpected {what}", span, PARAMS_HELP)
    return error("E002", f"unexpected {what}", span, _help(what, line, column))


def _bare_parenthesis(line: str, column: int) -> int:
    """The column of the `(` that the `)` at `column` closes, when nothing between them is an
    operator (`maxpool 2 (2)`); else `column` itself."""
    opening = line.rfind("(", 0, column - 1)
    inside = line[opening + 1 : column - 1]
    return opening + 1 if opening >= 0 and not any(op in inside for op in "+-*/") else column


def _in_parameter_list(line: str, column: int) -> bool:
    header = _HEADER.match(line)
    if not header:
        return False
    opening = line.find("(", header.end())
    closing = line.find(")", opening + 1)
    return 0 <= opening < column - 1 and (closing < 0 or column - 1 <= closing)


def _help(what: str, line: str, column: int) -> str | None:
    if what.startswith("character "):
        return _char_help(what[len("character ") + 1 : -1], line, column)
    if what == "end of line":
        before = line[: column - 1].rstrip()
        return "`*` and `/` go between two values: `in.c*2`" if before.endswith(("*", "/")) else None
    if what == "'='":
        return "an option is written name=value"
    if what == "':'":
        return "a label is one name before the statement: conv1: conv 8 5x5"
    if line.lstrip().startswith("}"):
        return "`}` stands alone on its line (a comment may follow)"
    if _HEADER.match(line):
        return "the body starts on the next line: `{` ends the header line" if "{" in line[: column - 1] \
            else HEADER_FORM
    return "a statement is `[label:] keyword arguments... name=value...`"


def _char_help(char: str, line: str, column: int) -> str | None:
    if char in ",;":
        return "separate arguments with spaces, not commas"
    if _HEADER.match(line) and char in "(){":
        return HEADER_FORM
    if char in "([)]":
        return "write a dimension as 5x5, without brackets"
    if char == "{":
        return f"a `{{` ends a block header line: `{HEADER_SHAPE}`"
    if char == "}":
        return "`}` stands alone on its line, after the block's last line"
    if char in "*/":
        return "`*` and `/` go between two values: `in.c*2`"
    written = _arithmetic(line, column) if char in "+-" else None
    if written:
        return f"`{written}`: `{char}` goes between two values, as in `in.c{char}16`; not after a keyword"
    if char == "-":
        return "names use underscores: leaky_relu"
    return None


def _arithmetic(line: str, column: int) -> str | None:
    """`4-1` when the sign at `column` stands between a word and a number, as in arithmetic."""
    after = _NUMBER.match(line, column)
    start = column - 1
    while start and line[start - 1] in _WORD_CHARS:
        start -= 1
    return line[start : after.end()] if after and start < column - 1 else None


def broken_markers(line: str, number: int) -> list[Word]:
    """The braces a rejected line still contributes: a `}` it starts with closes a
    block, and a header (shaped like one and ending with `{`, or starting with
    `block`) opens a block, which is then dropped, so that the lines around it
    keep their places. Found with str.find: the line may be 10 MB long (E011)."""
    code = line.split("#", 1)[0]
    first = min((at for at in (code.find("{"), code.find("}")) if at >= 0), default=-1)
    last = max(code.rfind("{"), code.rfind("}"))
    markers = []
    if first >= 0 and code[first] == "}":
        markers.append(Word("}", "}", BROKEN_CLOSE, Span.at(number, first + 1)))
        code = " " * (first + 1) + code[first + 1 :]  # what follows the `}`
    if (last >= 0 and line[last] == "{" and _HEADER_SHAPE.match(code)) or (last < 0 and _HEADER.match(code)):
        indent = len(code) - len(code.lstrip())
        text = code.strip()
        markers.append(Word(text, text, BROKEN_OPEN, Span.at(number, indent + 1, max(len(text), 1))))
    return markers
