"""Analysis to PyTorch source: one readable ``nn.Module`` per spec. No torch import.

``generate(analysis)`` is the only way specc turns a spec into a module:
`specc compile` writes its result and ``specc.build`` executes it, so the file
a user reads is exactly the code that trains. The stage has four parts: the
symbol pass (:mod:`.symbols`: attribute and variable names), the emitters
(:mod:`.emit`: one per layer kind), the file's text around them
(:mod:`.module_text`) and identifiers and escaping (:mod:`.names`).
"""

from __future__ import annotations

import dataclasses

from .. import __version__, ir
from ..pipeline import Analysis
from .emit import EMITTERS, activate
from .module_text import module_source
from .names import source_lines, statement_text
from .steps import Context, Step, Unit
from .symbols import Symbols, symbols

__all__ = ["EMITTERS", "attributes", "generate"]


def attributes(analysis: Analysis) -> dict[str, str]:
    """Each layer's name in the spec -> its attribute on the generated module."""
    return symbols(analysis.model.layers).attributes


def _units(analysis: Analysis, names: Symbols, final: str | None) -> list[Unit]:
    lines = source_lines(analysis.source)
    taken = set(names.attributes.values())
    units = []
    for index, r in enumerate(analysis.layers):
        layer = r.layer
        if final and index == len(analysis.layers) - 1 and layer.weighted:
            # The final softmax/sigmoid is applied in forward, after logits.
            r = dataclasses.replace(r, layer=dataclasses.replace(layer, activation=None))
        note = f"line {layer.line}: {statement_text(lines, layer.span)}"
        context = Context(names.attributes[layer.name], note, taken, names.inputs(layer), names.targets[layer.name])
        units.append(EMITTERS[type(layer)](r, context))
    return units


def generate(analysis: Analysis) -> str:
    """The module source for an error-free Analysis; byte-identical for the same spec and specc version."""
    if not analysis.ok or analysis.model is None or analysis.model.input is None:
        raise ValueError("generate() needs an analysis without errors")
    final = analysis.final_activation
    names = symbols(analysis.model.layers)
    units = _units(analysis, names, final)
    body = [s for u in units for s in u.steps]
    modules = [m for u in units for m in u.modules]
    last = analysis.layers[-1]
    result = names.targets[last.layer.name]
    final_step = None
    if final:
        note = f"line {last.layer.line}: {statement_text(source_lines(analysis.source), last.layer.span)}"
        if isinstance(last.layer, ir.Activation):
            # A `softmax` line of its own: logits stop before it, and its module runs on their result.
            body.pop()
            result = names.inputs(last.layer)[0]
            expr = f"self.{names.attributes[last.layer.name]}(self.logits(x))"
        else:
            expr = activate(final, 0.01, "self.logits(x)")
        final_step = Step("", expr, last.output, note)
    kept_input = names.targets[ir.INPUT] if names.targets[ir.INPUT] != "x" else None
    return module_source(analysis, modules, body, result, final_step, __version__, kept_input)
