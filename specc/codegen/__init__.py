"""Analysis to PyTorch source: one readable ``nn.Module`` per spec. No torch import.

``generate(analysis)`` is the only way specc turns a spec into a module:
`specc compile` writes its result and ``specc.build`` executes it, so the file
a user reads is exactly the code that trains. The stage's parts: the scopes
(:mod:`.scopes`: one class per block, attribute and variable names), each
kind's emitter (in its family module of :mod:`specc.kinds`, which lists them
as EMITTERS), the file's text around them (:mod:`.module_text`) and
identifiers and escaping (:mod:`.names`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..analysis import Analysis
from ..ir import Layer
from ..kinds import EMITTERS, HELPERS, Activation
from ..kinds.activation import activate
from ..kinds.emitting import Step, known
from ..syntax import lines as source_lines
from ..version import __version__
from .module_text import module_source
from .names import attribute_names, class_name, statement_text
from .scopes import Tree

__all__ = ["EMITTERS", "attributes", "generate", "module_paths"]


def attributes(analysis: Analysis) -> dict[str, str]:
    """Each top-level layer's name in the spec -> its attribute on the generated module."""
    return {layer.name: path for path, layer in module_paths(analysis.checked_model.layers).items()
            if layer.block is None}


def module_paths(layers: Sequence[Layer]) -> dict[str, Layer]:
    """The path of each layer's submodule in the generated network -> the layer, what ONNX export names
    nodes by: a top-level layer's attribute (names.attribute_names, as the network's scope names them),
    a block's layer its name, the path of the calls down to it and its label (`r1.conv1`, a repeated
    call's copies `stage.0.conv1`), as the block's class names a usable label. A layer without a
    submodule (a merge) has its path all the same; a helper module (`conv2_pad`) sits beside its layer."""
    top = [layer for layer in layers if layer.block is None]
    paths = dict(zip(attribute_names([layer.name for layer in top]), top))
    paths.update((layer.name, layer) for layer in layers if layer.block is not None)
    return paths


def generate(analysis: Analysis) -> str:
    """The module source for an error-free Analysis; byte-identical for the same spec and specc version."""
    if not analysis.ok or analysis.model is None or analysis.model.input is None:
        raise ValueError("generate() needs an analysis without errors")
    final = analysis.final_activation
    reports, last = list(analysis.layers), analysis.layers[-1]
    several = len(analysis.model.inputs) > 1
    if final and last.layer.weighted:
        # The final softmax/sigmoid is applied in forward, after logits.
        reports[-1] = last._replace(layer=last.layer._replace(activation=None))
    lines = source_lines(analysis.source)
    # An `output` line that names others than the last line: forward returns those (a tuple of several).
    returned = returned_outputs(analysis)
    tree = Tree(tuple(reports), analysis.model.instances, lines, class_name(analysis.model.name),
                {i.name: i.shape for i in analysis.model.inputs}, returned)
    tree.input_shape = analysis.model.input
    code = tree.scope(None, list(analysis.model.input_names), returned)
    body, result, final_step = code.steps, ", ".join(code.exports) if returned else code.result, None
    inputs = code.params if several else ["x"]  # forward's parameters
    logits = f"self.logits({', '.join(inputs)})"
    if final:
        note = f"line {last.layer.line}: {statement_text(lines, last.layer.span)}"
        if isinstance(last.layer, Activation):
            # A `softmax` line of its own: logits stop before it, and its module runs on their result.
            step = body.pop()
            if not isinstance(step, Step) or step.call is None:
                raise ValueError(f"the {last.layer.kind} line's step is not one submodule's call: {step}")
            callee, result = step.call
            expr = f"{callee}({logits})"
        else:
            expr = activate(final, 0.01, logits)
        final_step = Step("", expr, known(last.output), note)
    return module_source(analysis, lines, code.modules, body, result, final_step, __version__, code.kept_entry,
                         [*helpers(code.modules, tree.sources), *tree.sources], inputs)


def returned_outputs(analysis: Analysis) -> tuple[str, ...]:
    """The layers forward returns where an `output` line names others than the last line, in order;
    () where forward returns the last line's value, as without `output`."""
    model = analysis.checked_model
    return () if model.outputs == (model.layers[-1].name,) else model.outputs


def helpers(modules: list[tuple[str, str, str]], classes: list[str]) -> list[str]:
    """The classes of specc.kinds.HELPERS that the submodules (the network's and the block classes') construct."""
    written = [ctor for _, ctor, _ in modules] + classes
    return [text for name, text in HELPERS.items() if any(f"{name}(" in w for w in written)]
