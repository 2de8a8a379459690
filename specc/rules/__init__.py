"""Lint rules (warnings). Each rule lives in its own module of this package.

``lint(model, reports)`` runs every enabled rule and returns its diagnostics.
"""

from __future__ import annotations

from typing import Iterable

from ..diagnostics import Diagnostic
from ..infer import LayerReport
from ..ir import Model


def lint(model: Model, reports: tuple[LayerReport, ...], select: Iterable[str] | None = None,
         ignore: Iterable[str] | None = None) -> list[Diagnostic]:
    return []
