"""`specc draw`'s layout and SVG: every drawing read back with xml.etree and held to its rules.

Rules (tests/draw_graphs.py): a box per layer and the input, every edge from
its source's box to its target's, no two boxes overlapping, no edge piece
through a box; frames hold exactly their members. On every example spec, on
hand-built graphs with the shapes branches bring (ResNet shortcuts, an
inception concat, U-Net skips, nested blocks), and on random graphs.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest
from draw_graphs import SVG, SYNTHETIC, Builder, assert_clean, assert_frames, svg_facts
from hypothesis import given, settings
from hypothesis import strategies as st

import specc
from specc.draw import draw
from specc.draw.adapter import from_analysis
from specc.draw.drawing import COLLAPSE_ABOVE, lay_out
from specc.draw.model import INPUT, collapse, shown

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.cnn"))
GOOD = [s for s in SPECS if specc.check(s).ok]


@pytest.mark.parametrize("spec", GOOD, ids=lambda p: p.stem)
@pytest.mark.parametrize("direction", ["TB", "LR"])
def test_every_example_spec_draws_cleanly(spec: Path, direction: str) -> None:
    analysis = specc.check(spec)
    graph = from_analysis(analysis)
    facts = assert_clean(draw(graph, "svg", direction, collapsed=False), shown(graph, False))
    outputs = {f"output:{i}" for i, _ in enumerate(analysis.model.declared_outputs, 1)}  # a box per output
    inputs = set(analysis.model.input_names) if len(analysis.model.inputs) > 1 else {INPUT}  # a box per input
    # a block call that shares another's weights (share=) is one box; the owner's layers are drawn once
    sharing = {i.path for i in analysis.model.instances if i.shares is not None and i.parent is None}
    layers = {r.layer.name for r in analysis.layers if r.layer.name.split(".", 1)[0] not in sharing}
    assert set(facts.boxes) == inputs | layers | sharing | outputs
    if graph.blocks:  # and as drawn by default above 60 layers: a box per top-level block
        folded = lay_out(graph, direction, collapsed=True).graph
        assert_clean(draw(folded, "svg", direction, False), folded)


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
@pytest.mark.parametrize("direction", ["TB", "LR"])
@pytest.mark.parametrize("folded", [False, True], ids=["expanded", "collapsed"])
def test_branching_graphs_draw_cleanly(name: str, direction: str, folded: bool) -> None:
    shown = lay_out(SYNTHETIC[name](), direction, folded).graph
    facts = assert_clean(draw(shown, "svg", direction, False), shown)
    assert_frames(facts, shown)


@pytest.mark.parametrize("direction", ["TB", "LR"])
def test_a_box_beside_a_block_is_moved_out_of_its_frame(direction: str) -> None:
    # s's second layer reads the input, so s spans ranks 1-2 and, unrepaired, its frame would hold `before`.
    b = Builder()
    b.add("before", "conv")
    b.add("s.a", "conv", block="s")
    b.add("s.inner.b", "conv", INPUT, block="s.inner")
    graph = b.graph("beside")
    assert_frames(assert_clean(draw(graph, "svg", direction), graph), graph)


def _edge(facts, source: str, target: str) -> list[tuple[float, float]]:
    return next(points for s, t, points in facts.edges if (s, t) == (source, target))


def test_resnet_main_path_is_straight_and_shortcuts_run_beside_it() -> None:
    graph = SYNTHETIC["resnet"]()
    facts = svg_facts(draw(graph, "svg", "TB", False))
    centre = {k: (b[0] + b[2]) / 2 for k, b in facts.boxes.items()}
    main = [n.id for n in graph.nodes if ".proj" not in n.id]
    assert len({centre[m] for m in main}) == 1, "the main path bends"
    for node in graph.nodes:
        if node.id.endswith(".projbn"):
            assert centre[node.id] > centre[main[0]], "a projection shortcut is not in a lane of its own"
    identity = _edge(facts, "layer1.0.out", "layer1.1.add")  # an identity shortcut: a channel beside the boxes
    assert max(x for x, _ in identity) > max(facts.boxes[m][2] for m in main), "a shortcut runs through the main path"


def test_unet_skips_nest_in_separate_channels() -> None:
    facts = svg_facts(draw(SYNTHETIC["unet"](), "svg", "TB", False))
    channel = {}
    for d in range(1, 5):
        points = _edge(facts, f"d{d}.skip", f"u{d}.cat")
        longest = max(zip(points, points[1:]), key=lambda ab: abs(ab[1][1] - ab[0][1]))
        channel[d] = longest[0][0]  # the x of its long vertical piece
    assert channel[1] > channel[2] > channel[3] > channel[4], "outer skips must run outside inner ones"


def test_inception_concat_sits_under_its_branches() -> None:
    facts = svg_facts(draw(SYNTHETIC["inception"](), "svg", "TB"))
    xs = [(facts.boxes[b][0] + facts.boxes[b][2]) / 2 for b in ("b1", "b3", "b5", "bp")]
    out = facts.boxes["out"]
    assert min(xs) <= (out[0] + out[2]) / 2 <= max(xs)
    assert all(out[1] > facts.boxes[b][3] for b in ("b1", "b3", "b5", "bp"))


def test_collapse_gives_one_box_per_top_level_block_with_its_subtotal() -> None:
    graph = SYNTHETIC["resnet"]()
    folded = collapse(graph)
    tops = [b for b in graph.blocks if b.parent is None]
    boxes = {n.id: n for n in folded.nodes}
    assert [b.path for b in tops] == [n.id for n in folded.nodes if n.kind == "block"]
    for block in tops:
        assert boxes[block.path].params == sum(n.params for n in graph.nodes if n.id in block.members)
    assert boxes["layer2"].inputs == ("layer1",) and boxes["pool"].inputs == ("layer4",)
    kept = collapse(graph, frozenset({"layer2"}))
    assert "layer2.0.add" in {n.id for n in kept.nodes} and "layer3" in {n.id for n in kept.nodes}


def test_a_collapsed_block_named_like_a_layer_keeps_ids_unique() -> None:
    b = Builder()
    b.add("stage", "conv")
    b.add("stage.a", "conv", block="stage")
    b.add("tail", "add", "stage", "stage.a")
    graph = b.graph("clash")
    folded = collapse(graph)
    assert [n.id for n in folded.nodes] == ["stage", "stage (block)", "tail"]
    assert folded.nodes[2].inputs == ("stage", "stage (block)") and folded.nodes[1].label == "stage"
    assert_clean(draw(folded, "svg", "TB", False), folded)


def test_collapse_is_the_default_only_for_large_graphs_with_blocks() -> None:
    big, small = SYNTHETIC["resnet"](), SYNTHETIC["unet"]()
    assert len(big.nodes) > COLLAPSE_ABOVE >= len(small.nodes)
    assert len(svg_facts(draw(big)).boxes) == 1 + len([b for b in big.blocks if b.parent is None]) + 2
    assert len(svg_facts(draw(big, collapsed=False)).boxes) == 1 + len(big.nodes)
    assert len(svg_facts(draw(small)).boxes) == 1 + len(small.nodes)
    assert len(svg_facts(draw(small, collapsed=True)).boxes) < 1 + len(small.nodes)


def test_svg_is_self_contained_with_inline_attributes_only() -> None:
    text = draw(SYNTHETIC["nested"]())
    for banned in ("class=", "<style", "<script", "style=", "href", "url(", "@import", "@font-face", "<image",
                   "<foreignObject"):
        assert banned not in text
    root = ET.fromstring(text)
    assert root.get("font-family").endswith("sans-serif")


def test_boxes_say_label_kind_shape_params_and_tooltips_say_line_macs_field() -> None:
    analysis = specc.check(Path(__file__).parent.parent / "specs" / "lenet5.cnn")
    root = ET.fromstring(draw(from_analysis(analysis)))
    conv1 = next(g for g in root.iter(f"{SVG}g") if g.get("data-node") == "conv1")
    texts = [t.text for t in conv1.iter(f"{SVG}text")]
    assert texts == ["conv1", "conv+relu · 28x28x8", "608 params"]
    title = conv1.find(f"{SVG}title").text
    assert "line 6" in title and "MACs 470,400" in title and "receptive field 5" in title


def test_colour_follows_kind() -> None:
    root = ET.fromstring(draw(SYNTHETIC["inception"]()))
    fill = {g.get("data-node"): g.find(f"{SVG}rect").get("fill") for g in root.iter(f"{SVG}g") if g.get("data-node")}
    assert fill["b1"] == fill["b3"] != fill["mp"] != fill["out"] != fill["b1"]


def test_adapter_follows_inputs_and_blocks() -> None:
    def report(name, inputs, block=None):
        layer = SimpleNamespace(name=name, kind="conv", kind_text="conv+relu", line=3, inputs=inputs, block=block,
                                shares=None)
        return SimpleNamespace(layer=layer, output=(4, 4, 8), params=10, macs=100, receptive_field=(3, 3))

    totals = SimpleNamespace(params=30, trainable_params=30, buffers=0, macs=300, activations=0)
    model = SimpleNamespace(name="m", input=(8, 8, 3), instances=())
    graph = from_analysis(SimpleNamespace(model=model, totals=totals, layers=[
        report("a", ("input",)), report("s.b", ("input",), "s"), report("c", ("a", "s.b"))]))
    assert graph.nodes[2].inputs == ("a", "s.b") and graph.nodes[1].block == "s"
    assert [(b.path, b.params, b.members) for b in graph.blocks] == [("s", 10, ("s.b",))]
    assert graph.nodes[0].kind == "conv+relu" and graph.input_shape_text == "8x8x3"


def test_a_layer_names_its_kind_with_its_function_as_the_table_does() -> None:
    analysis = specc.check("input 8x8x3\nconv 4 3 relu\nmaxpool 2\nsigmoid\nflatten\nfc 10 softmax\n")
    assert [r.layer.kind_text for r in analysis.layers] == ["conv+relu", "maxpool", "sigmoid", "flatten",
                                                             "fc+softmax"]


@st.composite
def random_graphs(draw_):
    """Random DAGs in source order; blocks are runs of consecutive nodes, as block calls expand."""
    b = Builder()
    ids, block = [INPUT], None
    for i in range(draw_(st.integers(1, 24))):
        count = draw_(st.integers(1, min(3, len(ids))))
        inputs = draw_(st.lists(st.sampled_from(ids), min_size=count, max_size=count, unique=True))
        block = draw_(st.sampled_from([block, None, f"s{i}"] + ([f"{block}.x{i}"] if block else [])))
        ids.append(b.add(f"n{i}", draw_(st.sampled_from(["conv", "add", "relu", "concat"])), *inputs, block=block))
    return b.graph("random")


@settings(max_examples=60, deadline=None)
@given(random_graphs(), st.sampled_from(["TB", "LR"]), st.booleans())
def test_random_graphs_draw_cleanly(graph, direction, folded) -> None:
    shown = lay_out(graph, direction, folded).graph
    assert_clean(draw(shown, "svg", direction, False), shown)


def test_a_node_reading_an_unknown_name_is_a_programming_error() -> None:
    b = Builder()
    b.add("a", "conv", "nowhere")
    with pytest.raises(ValueError, match="nowhere"):
        draw(b.graph("bad"))


def test_numbers_in_svg_are_plain_decimals() -> None:
    text = draw(SYNTHETIC["unet"](), "svg", "LR")
    assert not re.search(r"\de[-+]?\d", text.split(">", 1)[0])
