"""Exported ONNX nodes carry the spec's names (`conv2`, `conv2/relu`) and lines, and still compute the same.

The renaming touches node names and doc strings only; onnx.checker and
onnxruntime against the seeded PyTorch module are the oracle that nothing
else moved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx_names import assert_named_after_the_layers

import specc
from specc.exporting import ExportOptions, export
from specc.exporting.graph import annotate, entry, to_onnx
from specc.exporting.options import DEFAULT_OPSET
from specc.exporting.source import load_source
from specc.runtime.build import build

EXAMPLES = Path(__file__).parent.parent / "specs"
# Labels that are not attribute names as written (`forward` is an nn.Module method), an even kernel
# with padding=same (a pad helper module), functional activations, batchnorm on a vector, flatten.
AWKWARD = """input 12x12x3
forward: conv 6 4x4 padding=same relu
maxpool 2x2 stride=2
c2: conv 8 3x3
batchnorm
leaky_relu
flatten
fc 16
batchnorm
tanh
dropout 0.5
out: fc 5 sigmoid
"""


@pytest.fixture(scope="module", params=["mobilenet-block", "awkward"])
def exported(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("names")
    spec = EXAMPLES / f"{request.param}.cnn"
    if request.param == "awkward":
        spec = folder / "awkward.cnn"
        spec.write_text(AWKWARD, encoding="utf-8")
    export(spec, folder / "model.onnx", ExportOptions(seed=3))
    return spec, onnx.load(str(folder / "model.onnx")), folder / "model.onnx"


def test_every_node_is_named_after_a_layer_with_its_line(exported) -> None:
    spec, model, _ = exported
    layers = {layer.name: layer for layer in specc.check(spec).model.layers}
    lines = spec.read_text(encoding="utf-8").splitlines()
    names = [node.name for node in model.graph.node]
    assert len(set(names)) == len(names)
    for node in model.graph.node:
        label = node.name.split("/")[0]
        assert label in layers, f"{node.name} ({node.op_type}) is not named after a layer"
        layer = layers[label]
        assert node.doc_string.startswith(f"line {layer.line}: ")
        written = " ".join(lines[layer.line - 1].split("#")[0].split())
        assert node.doc_string.splitlines()[0] == f"line {layer.line}: {written}"


def test_weighted_layers_are_nodes_of_their_own_name(exported) -> None:
    spec, model, _ = exported
    ops = {node.name: node.op_type for node in model.graph.node}
    for layer in specc.check(spec).model.layers:
        if layer.kind in ("conv", "fc"):
            assert ops.get(layer.name) in ("Conv", "Gemm", "MatMul"), f"no node named {layer.name}"


def test_folded_and_fused_pieces_say_so(exported) -> None:
    spec, model, _ = exported
    by_name = {node.name: node for node in model.graph.node}
    if spec.stem == "mobilenet-block":  # the exporter folds each batchnorm into the conv before it
        assert by_name["stem"].doc_string.endswith("folded in: line 9: batchnorm")
        assert by_name["relu1"].op_type == "Relu"
    else:
        assert by_name["forward/relu"].op_type == "Relu"
        assert by_name["out/sigmoid"].op_type == "Sigmoid"
        assert any(name.startswith("fc1") for name in by_name)


def test_renamed_graph_checks_and_runs_like_pytorch(exported) -> None:
    spec, model, path = exported
    onnx.checker.check_model(model, full_check=True)
    torch.manual_seed(3)
    module = build(spec).eval()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    shape = [4, *(d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:])]
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    (got,) = session.run(None, {"input": x})
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_merges_take_their_own_names_in_spec_order() -> None:
    """Branches are coming (docs/spec-graphs): an add of two layers is the spec's add, not a relu's tail."""
    from types import SimpleNamespace

    from onnx import TensorProto, helper

    from specc.diagnostics import Span
    from specc.exporting.names import name_nodes

    source = "input 8x8x3\na: conv 4 3x3 p=same relu\nb: conv 4 1x1 silu from=input\ns: add a\n"
    layers = [SimpleNamespace(name=n, kind=k, line=line, span=Span.at(line, 1, 40), block=None)
              for n, k, line in (("a", "conv", 2), ("b", "conv", 3), ("s", "add", 4))]
    weights = [helper.make_tensor(f"{n}.weight", TensorProto.FLOAT, [4, 3, 1, 1], [0.0] * 12) for n in "ab"]
    nodes = [helper.make_node("Conv", ["x", "a.weight"], ["a0"], name="node_Conv_1"),
             helper.make_node("Relu", ["a0"], ["a1"], name="node_relu"),
             helper.make_node("Conv", ["x", "b.weight"], ["b0"], name="node_Conv_2"),
             helper.make_node("Sigmoid", ["b0"], ["b1"], name="node_sigmoid"),
             helper.make_node("Mul", ["b0", "b1"], ["b2"], name="node_mul"),  # silu: one layer, not a merge
             helper.make_node("Add", ["a1", "b2"], ["y"], name="node_add")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], weights)
    proto = helper.make_model(graph)
    name_nodes(proto, SimpleNamespace(source=source, model=SimpleNamespace(layers=layers)))
    assert [n.name for n in proto.graph.node] == ["a", "a/relu", "b", "b/sigmoid", "b/mul", "s"]
    assert proto.graph.node[-1].doc_string == "line 4: s: add a"
    assert [o for n in proto.graph.node for o in n.output] == ["a0", "a1", "b0", "b1", "b2", "y"]


# Merges inside blocks: a body's `add in`, `concat a`, `multiply in` sit on one line for every call.
BLOCKS = """input 8x8x4
block res(n) {
        conv n 3x3 p=same relu
        conv n 3x3 p=same
        add in
        relu
}
block branches(n) {
a:      conv n 1x1 relu
        conv n 3x3 p=same relu from=in
        concat a
}
block gate() {
        globalavgpool
        conv in.c 1x1 sigmoid
        multiply in
}
block stage(n) {                        # nested: a block of blocks
        res n
        gate
}
r1:     res 4
r2:     res 4
c1:     branches 2
s:      stage 4 repeat=2
d:      conv 4 1x1
        dropout 0.5                     # gone at inference: the add is d + d
        add d
        fc 3
"""


def exported_graph(spec: Path) -> tuple[specc.Analysis, onnx.ModelProto]:
    """The named graph as `specc export` writes it, without the file and the verification."""
    source = load_source(spec, None, 0)
    graph = to_onnx(source, entry(source, False), batch=None, opset=DEFAULT_OPSET, logits=False)
    return source.analysis, annotate(graph, source)


def test_merges_inside_blocks_take_their_instances_names(tmp_path: Path) -> None:
    spec = tmp_path / "blocks.cnn"
    spec.write_text(BLOCKS, encoding="utf-8")
    analysis, model = exported_graph(spec)
    assert_named_after_the_layers(analysis, model)
    ops = {node.name: node.op_type for node in model.graph.node}
    assert ops["r1.add1"] == ops["r2.add1"] == "Add" and "r1.conv2/add" not in ops
    assert ops["c1.concat1"] == "Concat"
    assert ops["s.0.res1.add1"] == ops["s.1.res1.add1"] == "Add"
    assert ops["s.0.gate1.multiply1"] == ops["s.1.gate1.multiply1"] == "Mul"
    assert ops["add1"] == "Add"
