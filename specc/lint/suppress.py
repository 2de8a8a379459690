"""Inline suppression: `# specc: ignore` and `# specc: ignore[W101,W102]`.

The grammar drops comments, so the raw text lines are scanned here. A
comment silences the warnings reported on its own line: all of them, or
those the bracket names (codes, prefixes, rule names or ALL). Errors are never
silenced; an unknown code in brackets silences nothing and is itself reported
as warning W001 (with the nearest known code), so a typo cannot hide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from ..diagnostics import CODES, Diagnostic, Span, close_match, warning
from ..syntax import lines
from .registry import BY_NAME, RULES

COMMENT = r"#.*?\bspecc:\s*ignore\b(?:\[([^\]]*)\])?"  # compiled when a line names specc (_comment)
EVERYTHING = None
UNKNOWN_CODE = "W001"
UNKNOWN_TITLE = "unknown code in a `# specc: ignore[...]` comment"


@cache
def _comment() -> re.Pattern[str]:
    return re.compile(COMMENT, re.IGNORECASE)


def suppressions(source: list[str]) -> dict[int, frozenset[str] | None]:
    """Line number -> the selectors silenced there (None: every warning), in the spec's ``source``
    lines (specc.syntax.lines)."""
    found: dict[int, frozenset[str] | None] = {}
    for number, line in enumerate(source, start=1):
        match = _comment().search(line) if "specc" in line.lower() else None
        if match is None:
            continue
        listed = match.group(1)
        words = EVERYTHING if listed is None else frozenset(_canonical(w) for w in listed.split(",") if w.strip())
        found[number] = EVERYTHING if words is None or "ALL" in words else words
    return found


def _canonical(word: str) -> str:
    word = word.strip()
    rule = BY_NAME.get(word.lower())
    return rule.code if rule else word.upper()


def _silenced(d: Diagnostic, selectors: frozenset[str] | None) -> bool:
    return selectors is EVERYTHING or any(d.code.startswith(s) for s in selectors)


def apply_suppressions(text: str, diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics minus warnings silenced by a comment on their line, plus W001 for unknown codes."""
    diagnostics = list(diagnostics)
    if "specc" not in text.lower():  # the common case: no comment to look for
        return diagnostics
    source = lines(text)
    silenced = suppressions(source)
    kept = [d for d in diagnostics
            if d.severity == "error" or d.span.line not in silenced or not _silenced(d, silenced[d.span.line])]
    return kept + unknown_codes(source)


def _known(word: str) -> bool:
    """A code, a prefix of one (W, W1), a rule name or ALL."""
    return word == "ALL" or any(code.startswith(word) for code in (*RULES, *CODES))


def unknown_codes(source: list[str]) -> list[Diagnostic]:
    """W001 for every bracketed word that names no code, prefix or rule, at the word itself."""
    found = []
    for number, line in enumerate(source, start=1):
        match = _comment().search(line) if "specc" in line.lower() else None
        if match is None or match.group(1) is None:
            continue
        start = match.start(1)
        for word in match.group(1).split(","):
            stripped = word.strip()
            if stripped and not _known(_canonical(stripped)):
                column = start + word.index(stripped) + 1
                hint = _nearest(stripped)
                found.append(warning(UNKNOWN_CODE, f"`{stripped}` in `specc: ignore[...]` is not a rule code, "
                                     f"prefix or rule name; it silences nothing",
                                     Span.at(number, column, len(stripped)), hint or "`specc rules` lists the codes"))
            start += len(word) + 1
    return found


def _nearest(word: str) -> str | None:
    name = close_match(word.lower(), BY_NAME)
    code = close_match(word.upper(), RULES) or (BY_NAME[name].code if name else None)
    return f"did you mean `{code}` ({RULES[code].name})?" if code else None
