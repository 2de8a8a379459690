"""Inline suppression: `# specc: ignore` and `# specc: ignore[W101,W102]`.

The grammar drops comments, so the raw text lines are scanned here. A
comment silences the warnings reported on its own line: all of them, or
those the bracket names (codes, prefixes, rule names or ALL). Errors are never
silenced; an unknown code in brackets silences nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..diagnostics import Diagnostic
from ..syntax import lines
from .registry import BY_NAME

COMMENT = re.compile(r"#.*?\bspecc:\s*ignore\b(?:\[([^\]]*)\])?", re.IGNORECASE)
EVERYTHING = None


def suppressions(text: str) -> dict[int, frozenset[str] | None]:
    """Line number -> the selectors silenced there (None: every warning)."""
    found: dict[int, frozenset[str] | None] = {}
    for number, line in enumerate(lines(text), start=1):
        match = COMMENT.search(line) if "specc" in line.lower() else None
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
    """The diagnostics minus warnings silenced by a comment on their line."""
    diagnostics = list(diagnostics)
    if "specc" not in text.lower():  # the common case: no comment to look for
        return diagnostics
    lines = suppressions(text)
    return [d for d in diagnostics
            if d.severity == "error" or d.span.line not in lines or not _silenced(d, lines[d.span.line])]
