"""The check that an exported ONNX graph's nodes are named after the spec's layers (specc/exporting/names.py).

Shared by tests/test_export_names.py and the every-example export of tests/test_export.py,
which already exports each spec in specs/: checking the names there costs no export.
"""

from __future__ import annotations

import onnx

import specc

MERGE_OPS = {"add": "Add", "concat": "Concat", "multiply": "Mul"}
WEIGHTED_OPS = ("Conv", "ConvTranspose", "Gemm", "MatMul")


def assert_named_after_the_layers(analysis: specc.Analysis, model: onnx.ModelProto) -> None:
    """Every node's label is a layer's expanded name; each merge and weighted layer is the node of its
    name, and a merge's node reads the nodes of the layers the spec says it reads."""
    layers = {layer.name: layer for layer in analysis.model.layers}
    nodes = {node.name: node for node in model.graph.node}
    assert len(nodes) == len(model.graph.node)
    labels = {name.split("/")[0] for name in nodes}
    assert labels <= set(layers), labels - set(layers)
    label_of = {out: node.name.split("/")[0] for node in model.graph.node for out in node.output}
    weights = {i.name for i in model.graph.initializer}

    def carrier(name: str) -> str:  # the layer whose node computes `name`'s value (dropout, folded batchnorm)
        return name if name in labels or name == "input" else carrier(layers[name].inputs[0])

    for layer in layers.values():
        if layer.kind in MERGE_OPS:
            node = nodes.get(layer.name)
            assert node is not None and node.op_type == MERGE_OPS[layer.kind], f"no {layer.kind} node {layer.name}"
            read = {label_of.get(x, "input") for x in node.input if x not in weights}
            assert read == {carrier(n) for n in layer.inputs}, (layer.name, read)
        elif layer.kind in ("conv", "fc", "dwconv", "convtranspose") and layer.shares is None:  # share=: REF's node
            assert nodes[layer.name].op_type in WEIGHTED_OPS
