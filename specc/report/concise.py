"""Short text: one line per diagnostic (`--format concise`), and per-code counts (`--statistics`).

Both end with the closing total, ``checked 12 files: 2 with errors, 3 warnings``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..analysis import Analysis
from ..diagnostics import CODES, one_line
from .text import total_line


def render(analyses: Sequence[Analysis], **_: object) -> str:
    lines = [one_line(d, a.path) for a in analyses for d in a.diagnostics]
    return "\n".join([*lines, total_line(analyses)])


def title(code: str) -> str:
    from ..lint.registry import RULES
    from ..lint.suppress import UNKNOWN_CODE, UNKNOWN_TITLE

    if code in RULES:
        return RULES[code].name
    return UNKNOWN_TITLE if code == UNKNOWN_CODE else CODES.get(code, "")


def statistics(analyses: Sequence[Analysis]) -> str:
    """How often each code was reported, most frequent first (ties by code), then the total line."""
    counts = Counter(d.code for a in analyses for d in a.diagnostics)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    width = len(str(ranked[0][1])) if ranked else 1
    return "\n".join([*(f"{n:>{width}}  {code}  {title(code)}" for code, n in ranked), total_line(analyses)])
