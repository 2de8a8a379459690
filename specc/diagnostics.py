"""Diagnostics as data: where in the source (``Span``), the code table, the
Diagnostic value, name suggestions, and the cap on a mistake repeated.

Rules and passes only create Diagnostic values; rendering them as text, JSON,
SARIF or GitHub annotations lives in :mod:`specc.report`. Standard library only:
every stage imports this module, the parser first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

# typing's NamedTuple, not specc.record's: `import specc` loads this module, and what it loads is
# all that a Ctrl-C can interrupt before the CLI catches it (tests/test_no_traceback.py)
from typing import Literal, NamedTuple

Severity = Literal["error", "warning"]


class Span(NamedTuple):
    """A region of the source: 1-based lines and columns, end column exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    @staticmethod
    def at(line: int, column: int = 1, width: int = 1) -> Span:
        return Span(line, column, line, column + width)

# Every error code the core can emit, with a one-line title. Lint warnings
# (W...) are documented by their rule modules in specc/lint/rules/.
CODES: dict[str, str] = {
    "E001": "the file cannot be read as UTF-8 text",
    "E002": "syntax error",
    "E003": "`}` closes no block",
    "E004": "block never closed",
    "E005": "block defined inside a block",
    "E006": "block header without `{` at the end of its line",
    "E007": "bad block parameter list",
    "E008": "parameter without a default after one with a default",
    "E009": "label on a block definition",
    "E010": "dotted name used as a label",
    "E011": "line too long",
    "E012": "too many syntax errors: the rest of the file is not read",
    "E101": "unknown statement",
    "E102": "unknown option",
    "E103": "missing argument",
    "E104": "too many arguments",
    "E105": "invalid value",
    "E106": "value out of range",
    "E107": "option given twice",
    "E108": "label used twice",
    "E109": "`model` misplaced or repeated",
    "E110": "missing, repeated or misplaced `input`",
    "E111": "conflicting activations",
    "E112": "unknown reference",
    "E113": "reference to a line below",
    "E114": "an integer expression that does not give a whole number",
    "E115": "unknown block option",
    "E116": "block defined twice or named like a statement",
    "E117": "a block that calls itself",
    "E118": "the spec expands past its budget of layers or block instances",
    "E119": "block calls nested too deep",
    "E120": "an expression too long",
    "E121": "a spec with no layer",
    "E122": "misplaced or repeated `output`",
    "E123": "a `share=` whose reference does not match",
    "E201": "the layer shrinks the map to nothing",
    "E202": "groups do not divide the channels",
    "E203": "layer needs a volume, got a vector",
    "E204": "pooling padding larger than half the kernel",
    "E205": "the inputs of a merge do not fit together",
    "E206": "output_padding not smaller than the stride",
    "E207": "a kernel, stride or padding of another rank than its input",
    "E208": "a norm over single values",
    "E209": "a size computed from the shapes too large",
    "E210": "a reshape to another number of values",
}


class Note(NamedTuple):
    """A place that explains a diagnostic, such as the call site of the block it is in."""

    message: str
    span: Span


class Diagnostic(NamedTuple):
    """One error or warning: its code (E1xx, W101, ...), message, place and help."""

    severity: Severity
    code: str
    message: str
    span: Span
    help: str | None = None
    notes: tuple[Note, ...] = ()  # for a line inside a block: its call sites, innermost first

    @property
    def line(self) -> int:
        return self.span.line


def one_line(d: Diagnostic, path: str) -> str:
    """A diagnostic as one line, `net.cnn:3:8: error[E201] output height would be 0 ...`:
    `--format concise` prints these, and a SpecCheckError's message lists them."""
    return f"{path}:{d.span.line}:{d.span.column}: {d.severity}[{d.code}] {d.message}"


def error(code: str, message: str, span: Span, help: str | None = None) -> Diagnostic:
    return Diagnostic("error", code, message, span, help)


def warning(code: str, message: str, span: Span, help: str | None = None) -> Diagnostic:
    return Diagnostic("warning", code, message, span, help)


def close_match(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """difflib's closest match to ``word`` among ``choices``, or None if nothing is that close."""
    import difflib  # only on the error path: it costs start-up time

    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return found[0] if found else None


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The valid name closest to a misspelt one, or None if nothing is close."""
    choices = list(choices)
    lowered = word.lower()
    if lowered != word and lowered in choices:
        return lowered
    return close_match(lowered, choices)


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    match = nearest(word, choices)
    return f"did you mean `{match}`?" if match else None


# A 10 MB line of two million repeated activations gave two million E111 diagnostics, and rendering
# them took gigabytes: past MAX_SAME diagnostics of one code in one file, the rest are summed up in one.
MAX_SAME = 100  # diagnostics of one code per file shown in full; more are the same mistake repeated


def cap_repeats(diagnostics: Sequence[Diagnostic], limit: int = MAX_SAME) -> list[Diagnostic]:
    """``diagnostics`` (in order) with each code's diagnostics past ``limit`` folded into one summary:
    a diagnostic of that code, at the first one left out, saying how many were not shown. The exit
    status is unchanged: an error is still an error."""
    counts = Counter(d.code for d in diagnostics)
    if all(n <= limit for n in counts.values()):
        return list(diagnostics)
    kept: list[Diagnostic] = []
    seen: Counter[str] = Counter()
    for d in diagnostics:
        seen[d.code] += 1
        if seen[d.code] <= limit:
            kept.append(d)
        elif seen[d.code] == limit + 1:
            rest = counts[d.code] - limit
            kept.append(d._replace(message=f"{rest:,} more {d.code} {_plural(rest, d.severity)} from here on, "
                                           f"not shown: {d.message}",
                                help=f"the first {limit} are shown; the rest are the same mistake repeated"))
    return kept


def _plural(n: int, severity: str) -> str:
    return severity if n == 1 else f"{severity}s"
