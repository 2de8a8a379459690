"""Lint: the machinery that runs the rules (warnings) over an analysed graph.

The rules themselves live one per module in :mod:`.rules`, listed in
:mod:`.registry`. ``lint(model, reports, enabled)`` hands every enabled rule
one :class:`.view.GraphView` of a model without errors and collects their
diagnostics; ``apply_suppressions`` drops the warnings that a
`# specc: ignore` comment silences. Selection and the [tool.specc] table:
:mod:`.selection` and :mod:`.config`. Pure Python, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis import LayerReport
from ..diagnostics import Diagnostic
from ..ir import Model, Readers
from .registry import DEFAULTS, RULES
from .suppress import apply_suppressions
from .view import GraphView

__all__ = ["RULES", "apply_suppressions", "lint"]


def lint(model: Model, reports: Sequence[LayerReport], enabled: frozenset[str] | None = None,
         readers: Readers | None = None) -> list[Diagnostic]:
    """Warnings from the ``enabled`` rules (default: the default set), resolved by :mod:`specc.source`;
    ``readers``: the graph's index of its edges (ir.readers), the one infer used, made when not given."""
    codes = DEFAULTS if enabled is None else enabled
    graph = GraphView(model, reports, readers)
    return [d for code, rule in RULES.items() if code in codes for d in rule.check(graph)]
