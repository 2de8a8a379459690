"""A cap on repeated diagnostics: one file's mistakes of one code, shown up to a limit.

A 10 MB line of two million repeated activations gave two million E111
diagnostics, and rendering them took gigabytes. Past :data:`MAX_SAME`
diagnostics of one code in one file, the rest are summed up in a single
diagnostic of that code (at the first one left out), saying how many were not
shown. The exit status is unchanged: an error is still an error. Pure Python.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from .diagnostics import Diagnostic

MAX_SAME = 100  # diagnostics of one code per file shown in full; more are the same mistake repeated


def cap_repeats(diagnostics: Sequence[Diagnostic], limit: int = MAX_SAME) -> list[Diagnostic]:
    """``diagnostics`` (in order) with each code's diagnostics past ``limit`` folded into one summary."""
    counts = Counter(d.code for d in diagnostics)
    if all(n <= limit for n in counts.values()):
        return list(diagnostics)
    kept, seen = [], Counter()
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
