"""Analysis -> DrawGraph: what `specc check` knows about a spec, as boxes and edges.

Reads the layer reports only through attributes every version of the IR has
(``name``, ``kind``, ``line``) and, where the IR carries them, ``inputs`` and
``block`` (graphs, blocks): a plain stack without them reads as a chain, each
layer reading the one above (the first reads the network input). No torch.
"""

from __future__ import annotations

from .model import INPUT, DrawGraph, DrawNode, make_graph, shape_text


def kind_text(layer) -> str:
    """The kind as the report's table writes it: "conv+relu", "relu", "maxpool"."""
    kind = layer.kind
    act = getattr(layer, "function", None) or getattr(layer, "activation", None)
    if kind == "activation":
        return act or kind
    return f"{kind}+{act}" if act else kind


def from_analysis(analysis) -> DrawGraph:
    """The drawing of a checked spec (one without errors: every shape is known)."""
    model = analysis.model
    nodes, previous = [], model.input_names[0] if hasattr(model, "input_names") else INPUT
    for report in analysis.layers:
        layer = report.layer
        inputs = getattr(layer, "inputs", None) or (previous,)
        rf = report.receptive_field
        nodes.append(DrawNode(layer.name, layer.name, kind_text(layer), shape_text(report.output), report.params,
                              report.macs, tuple(rf) if rf else None, layer.line, getattr(layer, "block", None),
                              tuple(inputs)))
        previous = layer.name
    totals = analysis.totals
    figures = (("params", totals.params), ("trainable params", totals.trainable_params),
               ("buffers", totals.buffers), ("MACs", totals.macs), ("activations", totals.activations))
    several = tuple((i.name, shape_text(i.shape)) for i in getattr(model, "inputs", ())) \
        if len(getattr(model, "inputs", ())) > 1 else ()
    return make_graph(model.name, shape_text(model.input), nodes, figures, several)
