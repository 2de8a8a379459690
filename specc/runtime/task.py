"""The task `specc train`, `specc val` and `specc predict` take: one output, class scores.

A spec may return several outputs (`output a b`, spec-io.md §2): it checks,
compiles and exports, but this version trains, scores and ranks one output
only, and says so here, once. Imports neither torch nor numpy (predict on an
ONNX file runs without torch).
"""

from __future__ import annotations

from ..analysis import Analysis
from ..errors import SpeccError


def refuse_several_outputs(analysis: Analysis) -> None:
    """A SpeccError for a spec that returns several outputs, naming each with its line."""
    model = analysis.model
    if model is None or len(model.outputs) < 2:
        return
    lines = {r.layer.name: r.layer.line for r in analysis.layers}
    named = ", ".join(f"{name} (line {lines[name]})" if name in lines else name for name in model.outputs)
    raise SpeccError(f"the spec returns {len(model.outputs)} outputs ({named}); training, validation and "
                     f"prediction take one, the class scores: tasks for several outputs come in a later version "
                     f"of specc. `specc compile` and `specc export` take the spec as it is")
