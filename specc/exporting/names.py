"""Name an exported ONNX graph's nodes after the spec: `conv2`, `conv2/relu`, each with its spec line.

Netron and onnxruntime's profiler show node names; the exporter's are its own
(`node_Conv_125`). :func:`name_nodes` renames the nodes of a ModelProto after
export, in place, and changes nothing else: values, initializers and the graph's
inputs and outputs keep their names, so the verified computation is the same.

Which layer a node belongs to (by the module paths codegen gives the layers,
codegen.module_paths), most reliable first: the module whose weights it
reads (`conv1.weight`: a convolution with a batchnorm folded in is still
`conv1`); the module in the exporter's name scopes (`relu1`, `stem_pad`); for
the rest (functional code in forward: flatten, activations, softmax), the
layer of the node that feeds it, except a reshape, which belongs to the layer it
feeds (the flatten before `fc1`). The first node of a layer takes its label,
the others `label/op`. Merges (`add`, `concat`, `multiply`: code in forward, no
module) are matched to the spec's merges by graph order: the exported graph
runs the layers in the analysis' order, block bodies expanded in place, so the
next merge node is the next merge layer of its kind that comes after every
layer it reads (`r1.add1`, then `r2.add1`, though both sit on the body's
line). No layer, no rename: unknown nodes keep their names.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

import onnx

from ..codegen import module_paths
from ..codegen.names import statement_text
from ..kinds import STATEMENTS
from ..syntax import lines as source_lines

if TYPE_CHECKING:
    from ..kinds import Merge

_SCOPES = "pkg.torch.onnx.name_scopes"
_RESHAPES = {"Reshape", "Flatten", "Constant"}  # they serve the layer they feed
# ONNX op -> the spec's merge statement: {"Add": "add", "Concat": "concat", "Mul": "multiply", ...}
# a merge form builds a Merge (specc.kinds.merge), which names its ONNX op
_MERGES = {cast("type[Merge]", form.node).onnx_op: word for word, form in STATEMENTS.items() if form.merge}
_INPUT = object()  # what a node reading the graph's input is fed by


def _lookup(path: str, modules: Mapping[str, object]):
    """A module path's layer; helper modules (`stem_pad`, `conv2_pad_`) belong to their base's layer."""
    while path:
        if path in modules:
            return modules[path]
        if "_" not in path:
            return None
        path = path.rsplit("_", 1)[0]
    return None


def _scope_layer(node: onnx.NodeProto, modules: Mapping[str, object]):
    raw = next((p.value for p in node.metadata_props if p.key == _SCOPES), None)
    try:
        scopes = [s for s in ast.literal_eval(raw) if s] if raw else []
    except (ValueError, SyntaxError):
        return None
    candidates = [".".join(scopes[: i + 1]) for i in range(len(scopes))] + scopes
    for path in sorted(candidates, key=len, reverse=True):
        layer = modules.get(path)
        if layer is not None:
            return layer
    return next((layer for path in scopes if (layer := _lookup(path, modules)) is not None), None)


def _weight_layer(node: onnx.NodeProto, initializers: set[str], modules: Mapping[str, object]):
    for name in node.input:
        if name in initializers and "." in name:
            layer = _lookup(name.rsplit(".", 1)[0], modules)
            if layer is not None:
                return layer
    return None


def _owners(graph: onnx.GraphProto, layers) -> list:
    """Per node: (its layer or None, whether the node is the layer's own, a layer folded into it)."""
    modules = module_paths(layers)  # the paths codegen gives the layers' submodules
    initializers = {i.name for i in graph.initializer}
    own = [_weight_layer(n, initializers, modules) for n in graph.node]
    scoped = [_scope_layer(n, modules) for n in graph.node]
    owners = [w or s for w, s in zip(own, scoped)]
    direct = [o is not None for o in owners]
    consumers: dict[str, list[int]] = {}
    for i, n in enumerate(graph.node):
        for name in n.input:
            consumers.setdefault(name, []).append(i)
    for i in reversed(range(len(graph.node))):  # reshapes and constants: the layer they feed
        if owners[i] is None and graph.node[i].op_type in _RESHAPES:
            fed = [owners[j] for out in graph.node[i].output for j in consumers.get(out, []) if owners[j]]
            owners[i] = fed[0] if fed else None
    _merges_and_the_rest(graph, layers, owners, direct, initializers)  # fills in owners and direct
    return [(o, d, s if w is not None and s is not None and s is not w else None)
            for o, d, w, s in zip(owners, direct, own, scoped)]


def _merges_and_the_rest(graph: onnx.GraphProto, layers, owners: list, direct: list[bool], initializers: set[str]):
    """In graph order, each node still without a layer: a merge of two layers' outputs, or the layer that feeds it."""
    producer = {out: i for i, n in enumerate(graph.node) for out in n.output}
    inputs = {i.name for i in graph.input} - initializers
    position = {id(layer): i for i, layer in enumerate(layers)}
    merges = [layer for layer in layers if layer.kind in _MERGES.values()]
    for i, n in enumerate(graph.node):
        if owners[i] is None:
            feeding = [owners[producer[x]] if x in producer else _INPUT if x in inputs else None for x in n.input]
            fed_by = list({id(layer): layer for layer in feeding if layer is not None}.values())
            merge = _merge_layer(n, fed_by, merges, position)
            owners[i], direct[i] = (merge, True) if merge else (_layer(fed_by), False)


def _layer(fed_by: list):
    """The first spec layer among a node's feeders (the network's input is none)."""
    return next((layer for layer in fed_by if layer is not _INPUT), None)


def _merge_layer(node: onnx.NodeProto, fed_by: list, merges: list, position: dict[int, int]):
    """The spec's next unnamed merge of this op after every layer it reads, for a node joining
    two or more layers' outputs (the network's input counts as one; so does one output twice).

    Merges have no module (forward adds or concatenates), so they are matched in graph order,
    kind by kind: a merge that comes before a layer the node reads cannot be it.
    """
    kind = _MERGES.get(node.op_type)
    twice = node.op_type != "Mul" and len(set(node.input)) < len(node.input)  # `x + x`: never an activation's
    joins = len(fed_by) >= 2 or (len(fed_by) == 1 and twice)
    if kind is None or not joins:
        return None
    last = max(position.get(id(f), -1) for f in fed_by)
    for k, layer in enumerate(merges):
        if layer.kind == kind and position[id(layer)] > last:
            return merges.pop(k)
    return None


def name_nodes(proto: onnx.ModelProto, analysis) -> None:
    """Rename ``proto``'s nodes after ``analysis``'s layers and give each its spec line as doc_string."""
    layers = analysis.model.layers
    lines = source_lines(analysis.source)
    owners = _owners(proto.graph, layers)
    primary: dict[int, int] = {}
    for i, (layer, direct, _) in enumerate(owners):
        if layer is not None and direct:
            primary.setdefault(id(layer), i)
    taken = {n.name for n, (layer, _, _) in zip(proto.graph.node, owners) if layer is None}
    for i, (node, (layer, _, folded)) in enumerate(zip(proto.graph.node, owners)):
        if layer is None:
            continue
        wanted = layer.name if primary.get(id(layer)) == i else f"{layer.name}/{node.op_type.lower()}"
        name, k = wanted, 1
        while name in taken:
            k += 1
            name = f"{wanted}_{k}"
        taken.add(name)
        node.name = name
        node.doc_string = f"line {layer.line}: {statement_text(lines, layer.span)}"
        if folded is not None:  # the exporter fused a batchnorm into this convolution
            node.doc_string += f"\nfolded in: line {folded.line}: {statement_text(lines, folded.span)}"
