"""The drawing's own graph model: frozen values the layout and renderers read.

A :class:`DrawGraph` is a network as a picture needs it: boxes (one per layer,
or one per collapsed block instance), their inputs, and the block instances as
frames with subtotals. It knows nothing of the .cnn language or of Analysis
(:mod:`specc.draw.adapter` builds one), so the layout can be tested on graphs
written by hand. Block paths are dotted instance paths (``layer3.2``); every
dotted prefix of a node's block is a frame around it (``layer3`` holds
``layer3.2``). No torch.
"""

from __future__ import annotations

from dataclasses import dataclass

INPUT = "input"  # the id of the network input, as layers name it in their inputs


@dataclass(frozen=True, slots=True)
class DrawNode:
    """One box: a layer, the network input, or a collapsed block instance."""

    id: str
    label: str
    kind: str  # as the report shows it: "conv+relu", "maxpool", "block"
    shape_text: str  # output shape, "28x28x8"
    params: int | None
    macs: int | None
    receptive_field: tuple[int, int] | None
    line: int
    block: str | None  # innermost block instance path, or None
    inputs: tuple[str, ...]  # ids of the boxes it reads; INPUT for the network input
    shares: str | None = None  # `share=`: the layer (or, for a collapsed block, the instance) whose weights it uses

    @property
    def base_kind(self) -> str:
        """The statement kind without an activation suffix: colours key on it."""
        return self.kind.split("+", 1)[0]


@dataclass(frozen=True, slots=True)
class DrawBlock:
    """A block instance's frame: the nodes inside it (nested ones included) and its subtotals."""

    path: str
    parent: str | None
    members: tuple[str, ...]  # node ids, in source order
    params: int
    macs: int
    shape_text: str  # the output of its last line
    line: int  # its first line
    shares: str | None = None  # `share=`: the instance whose weights it uses (its params are that one's)

    @property
    def depth(self) -> int:
        return self.path.count(".")


@dataclass(frozen=True, slots=True)
class DrawGraph:
    """A network to draw. ``nodes`` are in source order, so inputs come before readers."""

    name: str
    input_shape_text: str
    nodes: tuple[DrawNode, ...]
    blocks: tuple[DrawBlock, ...] = ()
    totals: tuple[tuple[str, int], ...] = ()  # ("params", n), ("MACs", n) ... for the HTML page
    inputs: tuple[tuple[str, str], ...] = ()  # (id, shape text) of each input of a network of several
    # (id of the box it comes from, shape text) of each output an `output` line names, in order
    outputs: tuple[tuple[str, str], ...] = ()
    shared: tuple[tuple[str, str], ...] = ()  # (instance, the instance it shares) of each call with `share=`


def shape_text(shape) -> str:
    """(28, 28, 8) -> "28x28x8"; unknown dimensions as "?"."""
    if shape is None:
        return "?"
    return "x".join("?" if d is None else str(d) for d in shape)


def block_paths(block: str | None) -> list[str]:
    """Every frame around a node: "layer3.2" -> ["layer3", "layer3.2"]."""
    if not block:
        return []
    parts = block.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def frames(nodes: tuple[DrawNode, ...], shared: tuple[tuple[str, str], ...] = ()) -> tuple[DrawBlock, ...]:
    """The frames of ``nodes``' blocks, outer before inner, with their subtotals; ``shared``: the
    instances that share another's weights (`share=`), and which."""
    shares = dict(shared)
    members: dict[str, list[DrawNode]] = {}
    for node in nodes:
        for path in block_paths(node.block):
            members.setdefault(path, []).append(node)
    result = []
    for path, inside in members.items():
        parent = path.rsplit(".", 1)[0] if "." in path else None
        while parent is not None and parent not in members:
            parent = parent.rsplit(".", 1)[0] if "." in parent else None
        result.append(DrawBlock(path, parent, tuple(n.id for n in inside), sum(n.params or 0 for n in inside),
                                sum(n.macs or 0 for n in inside), inside[-1].shape_text, inside[0].line,
                                shares.get(path)))
    return tuple(sorted(result, key=lambda b: (b.depth, b.line)))


def make_graph(name: str, input_shape_text: str, nodes: list[DrawNode],
               totals: tuple[tuple[str, int], ...] = (), inputs: tuple[tuple[str, str], ...] = (),
               outputs: tuple[tuple[str, str], ...] = (), shared: tuple[tuple[str, str], ...] = ()) -> DrawGraph:
    """A DrawGraph whose frames are derived from its nodes' blocks."""
    nodes_t = tuple(nodes)
    return DrawGraph(name, input_shape_text, nodes_t, frames(nodes_t, shared), totals, inputs, outputs, shared)


def shown(graph: DrawGraph, collapsed: bool, keep: frozenset[str] = frozenset()) -> DrawGraph:
    """What is drawn of ``graph``: collapsed, one box per top-level block not in ``keep``; expanded,
    every layer, but a block that calls share (`share=`) draws once: the instance holding the
    weights shows its layers, each use that shares them is one box naming it (``e2 · shares e1``)."""
    if collapsed:
        return collapse(graph, keep)
    sharing = {path for path, _ in graph.shared}
    if not sharing:
        return graph
    return collapse(graph, frozenset(b.path for b in graph.blocks if b.parent is None and b.path not in sharing))


def collapse(graph: DrawGraph, keep: frozenset[str] = frozenset()) -> DrawGraph:
    """One box per top-level block instance (except those in ``keep``), with its subtotal.

    Edges into or out of any member become edges of the block's box; edges
    inside a collapsed block disappear.
    """
    top = {b.path: b for b in graph.blocks if b.parent is None and b.path not in keep}
    path_of = {m: path for path, b in top.items() for m in b.members}
    outside = {n.id for n in graph.nodes if n.id not in path_of}
    box_id = {path: path if path not in outside else f"{path} (block)" for path in top}  # ids stay unique
    owner = {m: box_id[path] for m, path in path_of.items()}
    by_id = {n.id: n for n in graph.nodes}
    nodes: list[DrawNode] = []
    for node in graph.nodes:
        path = path_of.get(node.id)
        if path is None:
            nodes.append(DrawNode(node.id, node.label, node.kind, node.shape_text, node.params, node.macs,
                                  node.receptive_field, node.line, node.block,
                                  _unique(owner.get(i, i) for i in node.inputs), node.shares))
        elif node.id == top[path].members[0]:
            nodes.append(_block_node(by_id, top[path], owner, box_id[path]))
    outputs = tuple((owner.get(i, i), shape) for i, shape in graph.outputs)
    return make_graph(graph.name, graph.input_shape_text, nodes, graph.totals, graph.inputs, outputs, graph.shared)


def _block_node(by_id: dict[str, DrawNode], block: DrawBlock, owner: dict[str, str], box_id: str) -> DrawNode:
    inside = set(block.members)
    reads = (owner.get(i, i) for m in block.members for i in by_id[m].inputs if i not in inside)
    last = by_id[block.members[-1]]
    return DrawNode(box_id, block.path, "block", block.shape_text, block.params, block.macs,
                    last.receptive_field, block.line, None, _unique(reads), block.shares)


def _unique(ids) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))
