"""The shared harness: one line per test of what a spec gives.

``assert_diagnostics(spec, ("E201", 3, 8), ...)`` checks that a spec gives
exactly these (code, line, column) diagnostics and shows the rendered report
when it does not; ``checked(spec)`` is a spec that must check clean. Used by
the stage tests (tests/test_diagnostics.py, test_blocks.py, test_graphs.py ...).
"""

from __future__ import annotations

import specc
from specc.report import render


def assert_diagnostics(source: str | bytes, *expected: tuple[str, int, int]) -> specc.Analysis:
    """A spec gives exactly these (code, line, column) diagnostics, in order."""
    data = source.encode() if isinstance(source, str) else source
    analysis = specc.check(data, "spec.cnn")
    found = [(d.code, d.span.line, d.span.column) for d in analysis.diagnostics]
    assert found == list(expected), "\n" + render([analysis], "text", color=False)
    return analysis


def checked(source, path: str | None = None) -> specc.Analysis:
    """A spec that must check without errors (its report shown if it does not)."""
    analysis = specc.check(source, path)
    assert analysis.ok, "\n" + render([analysis], "text", color=False)
    return analysis
