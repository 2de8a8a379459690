"""Lint rules (warnings): one module per rule, listed in :mod:`.registry`.

``lint(model, reports, enabled)`` runs the enabled rules over a model
without errors and returns their diagnostics; ``apply_suppressions`` drops the
warnings that a `# specc: ignore` comment silences. Selection and the
[tool.specc] table: :mod:`.selection` and :mod:`.config`. Pure Python, no torch.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..diagnostics import Diagnostic
from ..infer import LayerReport
from ..ir import Model
from .registry import DEFAULTS, RULES
from .suppress import apply_suppressions

__all__ = ["RULES", "apply_suppressions", "lint"]


def lint(model: Model, reports: Sequence[LayerReport], enabled: frozenset[str] | None = None) -> list[Diagnostic]:
    """Warnings from the ``enabled`` rules (default: the default set), resolved by :mod:`specc.source`."""
    codes = DEFAULTS if enabled is None else enabled
    return [d for code, rule in RULES.items() if code in codes for d in rule.check(model, reports)]
