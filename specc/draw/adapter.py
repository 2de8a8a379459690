"""Analysis -> DrawGraph: what `specc check` knows about a spec, as boxes and edges.

Reads the layer reports: each layer's name, kind (``Layer.kind_text``, as the
report's table writes it), line, inputs and block instance. No torch.
"""

from __future__ import annotations

from .model import DrawGraph, DrawNode, make_graph, shape_text


def from_analysis(analysis) -> DrawGraph:
    """The drawing of a checked spec (one without errors: every shape is known)."""
    model = analysis.model
    nodes = []
    for report in analysis.layers:
        layer = report.layer
        rf = report.receptive_field
        shares = layer.shares.owner if layer.shares is not None else None
        nodes.append(DrawNode(layer.name, layer.name, layer.kind_text, shape_text(report.output), report.params,
                              report.macs, tuple(rf) if rf else None, layer.line, layer.block, tuple(layer.inputs),
                              shares))
    totals = analysis.totals
    figures = (("params", totals.params), ("trainable params", totals.trainable_params),
               ("buffers", totals.buffers), ("MACs", totals.macs), ("activations", totals.activations))
    several = tuple((i.name, shape_text(i.shape)) for i in getattr(model, "inputs", ())) \
        if len(getattr(model, "inputs", ())) > 1 else ()
    outputs = tuple((name, shape_text(analysis.shape_of(name))) for name in getattr(model, "declared_outputs", ()))
    shared = tuple((i.path, i.shares) for i in model.instances if i.shares is not None)
    return make_graph(model.name, shape_text(model.input), nodes, figures, several, outputs, shared)
