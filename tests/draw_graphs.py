"""Hand-built DrawGraphs for the drawing tests and bench/bench_draw.py, and the SVG harness.

The graphs are the shapes specs will have once branches land: ResNet
shortcuts (identity and projection), an inception-like four-branch concat, a
U-Net-like nest of long skips, nested and side-by-side blocks. ``svg_facts``
reads a drawing back with xml.etree and ``assert_clean`` states what every
drawing must satisfy: a box per node, edges that start and end on their
boxes, no overlapping boxes, no edge through a box.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from specc.draw.layout import input_nodes, output_nodes
from specc.draw.model import INPUT, DrawGraph, DrawNode, make_graph

SVG = "{http://www.w3.org/2000/svg}"


class Builder:
    """Nodes in source order; each reads the previous one unless told otherwise."""

    def __init__(self) -> None:
        self.nodes: list[DrawNode] = []
        self.last = INPUT

    def add(self, node_id: str, kind: str, *inputs: str, block: str | None = None, shape: str = "8x8x64",
            params: int = 0) -> str:
        node = DrawNode(node_id, node_id, kind, shape, params, params * 64, (3, 3), len(self.nodes) + 2, block,
                        tuple(inputs) or (self.last,))
        self.nodes.append(node)
        self.last = node_id
        return node_id

    def graph(self, name: str) -> DrawGraph:
        return make_graph(name, "32x32x3", self.nodes, (("params", sum(n.params or 0 for n in self.nodes)),))


def _bottleneck(b: Builder, path: str, project: bool) -> None:
    start = b.last
    for i, kind in enumerate(("conv", "batchnorm", "relu", "conv", "batchnorm", "relu", "conv", "batchnorm")):
        b.add(f"{path}.{kind}{i}", kind, block=path, params=4096 if kind == "conv" else 128)
    main = b.last
    short = start
    if project:
        b.add(f"{path}.proj", "conv", start, block=path, params=8192)
        short = b.add(f"{path}.projbn", "batchnorm", block=path, params=256)
    b.add(f"{path}.add", "add", main, short, block=path)
    b.add(f"{path}.out", "relu", block=path)


def resnet(stages: tuple[int, ...] = (3, 4, 6, 3)) -> DrawGraph:
    """ResNet-50's shape: a stem, bottleneck blocks with shortcuts, nested frames layerN > layerN.i."""
    b = Builder()
    for kind in ("conv", "batchnorm", "relu", "maxpool"):
        b.add(f"stem.{kind}", kind, block="stem", params=9408 if kind == "conv" else 0)
    for s, count in enumerate(stages, start=1):
        for i in range(count):
            _bottleneck(b, f"layer{s}.{i}", project=i == 0)
    b.add("pool", "globalavgpool", shape="2048")
    b.add("fc", "fc+softmax", shape="1000", params=2049000)
    return b.graph("resnet_like")


def inception() -> DrawGraph:
    """The lecture's inception module, flat: four branches from the input into one concat."""
    b = Builder()
    b1 = b.add("b1", "conv+relu", INPUT, params=12352)
    b.add("r3", "conv+relu", INPUT, params=18528)
    b3 = b.add("b3", "conv+relu", params=110720)
    b.add("r5", "conv+relu", INPUT, params=3088)
    b5 = b.add("b5", "conv+relu", params=12832)
    b.add("mp", "maxpool", INPUT)
    bp = b.add("bp", "conv+relu", params=6176)
    b.add("out", "concat", b1, b3, b5, bp, shape="28x28x256")
    return b.graph("inception_like")


def unet(depth: int = 4) -> DrawGraph:
    """Down blocks that keep a skip, up blocks that concat it: long skips nested like parentheses."""
    b = Builder()
    skips = []
    for d in range(1, depth + 1):
        b.add(f"d{d}.conv1", "conv+relu", block=f"d{d}", params=1000 * d)
        skips.append(b.add(f"d{d}.skip", "conv+relu", block=f"d{d}", params=1000 * d))
        b.add(f"d{d}.pool", "maxpool", block=f"d{d}")
    b.add("mid", "conv+relu", params=9000)
    for d in range(depth, 0, -1):
        b.add(f"u{d}.up", "convtranspose", block=f"u{d}", params=500 * d)
        b.add(f"u{d}.cat", "concat", b.last, skips[d - 1], block=f"u{d}")
        b.add(f"u{d}.conv", "conv+relu", block=f"u{d}", params=800 * d)
    b.add("head", "conv", params=100)
    return b.graph("unet_like")


def nested() -> DrawGraph:
    """Blocks in blocks, and two blocks side by side on parallel branches."""
    b = Builder()
    b.add("stem", "conv", params=10)
    left = [b.add(f"outer.left.c{i}", "conv", block="outer.left", params=5) for i in range(3)]
    right = [b.add(f"outer.right.c{i}", "conv", "stem" if i == 0 else b.last, block="outer.right", params=5)
             for i in range(2)]
    b.add("outer.cat", "concat", left[-1], right[-1], block="outer")
    b.add("outer.inner.deep.x", "relu", block="outer.inner.deep")
    b.add("outer.inner.y", "conv", block="outer.inner", params=5)
    b.add("tail", "add", b.last, "stem")
    return b.graph("nested")


SYNTHETIC = {"resnet": resnet, "inception": inception, "unet": unet, "nested": nested}


@dataclass
class Facts:
    boxes: dict[str, tuple[float, float, float, float]]  # id -> x0, y0, x1, y1
    edges: list[tuple[str, str, list[tuple[float, float]]]]
    frames: dict[str, tuple[float, float, float, float]]
    root: ET.Element


def _rect(g: ET.Element) -> tuple[float, float, float, float]:
    r = g.find(f"{SVG}rect")
    x, y, w, h = (float(r.get(k)) for k in ("x", "y", "width", "height"))
    return x, y, x + w, y + h


def svg_facts(text: str) -> Facts:
    root = ET.fromstring(text)
    boxes, edges, frames = {}, [], {}
    for g in root.iter(f"{SVG}g"):
        if g.get("data-node") is not None:
            assert g.get("data-node") not in boxes, f"two boxes for {g.get('data-node')}"
            boxes[g.get("data-node")] = _rect(g)
        elif g.get("data-block") is not None:
            frames[g.get("data-block")] = _rect(g)
        elif g.get("data-edge") is not None:
            raw = g.find(f"{SVG}polyline").get("points").split()
            edges.append((g.get("data-from"), g.get("data-to"), [tuple(map(float, p.split(","))) for p in raw]))
    return Facts(boxes, edges, frames, root)


def _on_border(p: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    x, y = p
    x0, y0, x1, y1 = box
    inside = x0 - 0.5 <= x <= x1 + 0.5 and y0 - 0.5 <= y <= y1 + 0.5
    return inside and min(abs(x - x0), abs(x - x1), abs(y - y0), abs(y - y1)) <= 0.5


def _crosses(a, b, box, shrink: float = 0.5) -> bool:
    """Whether the axis-parallel segment a-b enters the interior of ``box``."""
    x0, y0, x1, y1 = box[0] + shrink, box[1] + shrink, box[2] - shrink, box[3] - shrink
    (ax, ay), (bx, by) = a, b
    return max(ax, bx) > x0 and min(ax, bx) < x1 and max(ay, by) > y0 and min(ay, by) < y1


def assert_clean(text: str, graph: DrawGraph) -> Facts:
    """Every rule a drawing keeps, on the SVG as written."""
    facts = svg_facts(text)
    drawn = (*input_nodes(graph), *graph.nodes, *output_nodes(graph))  # an input, an output box each
    want_boxes = {n.id for n in drawn}
    assert set(facts.boxes) == want_boxes
    want_edges = sorted((i, n.id) for n in drawn for i in n.inputs)
    assert sorted((s, t) for s, t, _ in facts.edges) == want_edges
    ids = sorted(facts.boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            assert not _overlap(facts.boxes[a], facts.boxes[b]), f"boxes {a} and {b} overlap"
    for source, target, points in facts.edges:
        assert len(points) >= 2
        assert _on_border(points[0], facts.boxes[source]), f"{source}->{target} does not start on {source}"
        assert _on_border(points[-1], facts.boxes[target]), f"{source}->{target} does not end on {target}"
        for a, b in zip(points, points[1:]):
            assert a[0] == b[0] or a[1] == b[1], f"{source}->{target}: a slanted piece {a} {b}"
            for name, box in facts.boxes.items():
                assert not _crosses(a, b, box), f"edge {source}->{target} crosses box {name} at {a}-{b}"
    return facts


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def assert_frames(facts: Facts, graph: DrawGraph) -> None:
    """Frames hold their members and no other box; frames are nested or apart, never half over."""
    members = {b.path: set(b.members) for b in graph.blocks}
    assert set(facts.frames) == set(members)
    for path, (x0, y0, x1, y1) in facts.frames.items():
        for node, box in facts.boxes.items():
            inside = x0 <= box[0] and box[2] <= x1 and y0 <= box[1] and box[3] <= y1
            assert inside == (node in members[path]), f"frame {path} and box {node}"
    paths = sorted(facts.frames)
    for i, a in enumerate(paths):
        for b in paths[i + 1:]:
            fa, fb = facts.frames[a], facts.frames[b]
            nested = b.startswith(a + ".") or a.startswith(b + ".")
            if nested:
                outer, inner = (fa, fb) if b.startswith(a + ".") else (fb, fa)
                assert outer[0] < inner[0] and outer[1] < inner[1] and inner[2] < outer[2] and inner[3] < outer[3]
            else:
                assert not _overlap(fa, fb), f"frames {a} and {b} overlap"
