"""Shared weights (spec-io.md §3): `share=REF` on a layer line or a block call.

Check counts the parameters and buffers once (on REF) and the MACs and activations at every
use; a mismatch is E123 at the sharing line, naming REF's line and the first difference. The
compiled module holds one submodule and calls it twice (its state dict has REF's keys only),
checked against hand-written torch twins; export gives one initializer set, verified against
PyTorch; the siamese example (specs/siamese.cnn) is its twin to the parameter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from harness import assert_diagnostics, checked

import specc

SPECS = Path(__file__).resolve().parent.parent / "specs"

LINES = """\
a:      input 8x8x3
b:      input 8x8x3
c1:     conv 4 3x3 from=a
c2:     conv 4 3x3 from=b share=c1
c3:     conv 4 3x3 from=b share=c2
        add c1 c2 c3
"""

BLOCKS = """\
a:      input 12x12x3
b:      input 12x12x3

block enc() {
        conv 4 3x3 p=same
        batchnorm
        relu
        maxpool 2
        fc 6
}

e1:     enc from=a
e2:     enc from=b share=e1
        subtract e1 e2
        abs
        fc 1 sigmoid
"""


def by_name(a: specc.Analysis) -> dict:
    return {r.layer.name: r for r in a.layers}


# --- check -----------------------------------------------------------------------------------------

def test_a_shared_layer_counts_its_parameters_once_and_its_macs_at_every_use():
    a = checked(LINES)
    layers = by_name(a)
    assert layers["c1"].params == 112 and layers["c2"].params == 0 and layers["c3"].params == 0
    assert layers["c1"].macs == layers["c2"].macs == layers["c3"].macs == 6 * 6 * 4 * 27
    assert a.totals.params == 112 and a.totals.macs == 3 * 6 * 6 * 4 * 27
    assert a.totals.activations == 4 * 144  # every use's output, and the add's
    assert layers["c2"].layer.shares.owner == "c1" and layers["c3"].layer.shares.owner == "c1"  # REF's owner


def test_a_shared_block_counts_every_layer_of_the_second_instance_on_the_first():
    a = checked(BLOCKS)
    layers = by_name(a)
    own = sum(r.params for name, r in layers.items() if name.startswith("e1."))
    assert all(r.params == 0 and r.buffers == 0 for name, r in layers.items() if name.startswith("e2."))
    assert {name: r.layer.shares.owner for name, r in layers.items() if r.layer.shares} == {
        f"e2.{x}": f"e1.{x}" for x in ("conv1", "bn1", "relu1", "pool1", "fc1")}
    assert a.totals.params == own + 7 and a.totals.buffers == 8
    assert layers["e2.conv1"].macs == layers["e1.conv1"].macs > 0
    assert [i.shares for i in a.model.instances] == [None, "e1"]


def test_the_text_report_marks_every_sharing_row_and_the_instance_total():
    text = str(checked(BLOCKS))
    assert "shares e1.conv1" in text and "shares e1.fc1" in text
    assert any(line.startswith("e2 total") and "shares e1" in line for line in text.splitlines())
    assert not any(line.startswith("e1") and "shares" in line for line in text.splitlines())


def test_the_json_report_names_the_owner_of_each_sharing_layer():
    layers = checked(LINES).to_dict()["layers"]
    assert [layer.get("shares") for layer in layers] == [None, "c1", "c1", None]
    assert "shares" not in layers[0] and layers[1]["params"] == 0
    from specc.report.schema import LayerEntry

    assert LayerEntry.model_validate(layers[1]).shares == "c1"


def test_a_spec_without_share_reports_as_before():
    a = checked(LINES.replace(" share=c1", "").replace(" share=c2", ""))
    assert all("shares" not in layer for layer in a.to_dict()["layers"]) and "shares" not in str(a)


def test_the_training_memory_counts_gradients_once_and_activations_at_every_use():
    from specc.infer.training_memory import estimate

    shared, apart = checked(BLOCKS), checked(BLOCKS.replace(" share=e1", ""))
    with_share, without = estimate(shared, 4, "adam"), estimate(apart, 4, "adam")
    assert with_share.gradients == 4 * shared.totals.params < without.gradients
    assert with_share.optimizer_state == 2 * with_share.gradients
    assert with_share.activations == without.activations  # the second use keeps what it kept apart


def test_lint_warns_about_parameters_once_where_they_are_held():
    spec = """\
a: input 32x32x3
b: input 32x32x3
c1: conv 8 3x3 relu from=a
f1: fc 16 relu
c2: conv 8 3x3 relu from=b share=c1
f2: fc 16 relu share=f1
add f1 f2
fc 1
"""
    a = assert_diagnostics(spec, ("W101", 4, 1))  # on f1, which holds them; not again on f2
    assert "115,216 parameters" in a.diagnostics[0].message
    unread = assert_diagnostics(spec.replace("add f1 f2", "add f2 f2"), ("W101", 4, 1), ("W104", 4, 1))
    assert unread.diagnostics[1].message.endswith("(its parameters are used where they are shared)")


def test_the_siamese_example_checks_without_warnings():
    a = checked(SPECS / "siamese.cnn")
    assert not a.warnings and [i.name for i in a.model.inputs] == ["a", "b"]
    assert a.totals.params == sum(r.params for r in a.layers if r.layer.block == "e1") + 129


# --- E123 ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("line, message", [
    ("c2: conv 5 3x3 from=b share=c1", "cannot share `c1` (line 3): filters 5 here, 4 at c1"),
    ("c2: conv 4 3x3 relu from=b share=c1", "`conv+relu` here, `conv` at c1"),
    ("c2: maxpool 2 from=b share=c1", "`maxpool` here, `conv` at c1"),
    ("c2: conv 4 3x3 from=s share=c1", "input 6x6x3 here, 8x8x3 at c1"),
    ("c2: conv 4 3x3 from=b share=a", "cannot share `a`: it is an input, not a layer"),
    ("c2: conv 4 3x3 from=b share=c1 repeat=2", "share= and repeat= on one line"),
])
def test_a_layer_that_cannot_share_is_e123_at_its_share_option(line: str, message: str):
    spec = f"a: input 8x8x3\nb: input 8x8x3\nc1: conv 4 3x3 from=a\ns: conv 3 3x3 from=b\n{line}\n"
    column = line.index("share=") + 1
    a = assert_diagnostics(spec, ("E123", 5, column))
    problem, written = a.diagnostics[0], line[column - 1:].split()[0]  # `share=c1`: the caret's extent
    assert message in problem.message and problem.help and problem.span.end_column == column + len(written)
    assert by_name(a)["c2" if "repeat" not in line else "c2.0"].layer.shares is None  # counted: it shares nothing


def test_a_reference_below_or_unknown_is_reported_as_any_reference():
    assert_diagnostics("input 8x8x3\nc1: conv 4 3x3 share=c2\nc2: conv 4 3x3\n", ("E113", 2, 22))
    assert_diagnostics("input 8x8x3\nc1: conv 4 3x3\nc2: conv 4 3x3 share=c9\n", ("E112", 3, 22))


def test_a_call_shares_a_call_of_the_same_block_with_the_same_arguments():
    spec = """\
a: input 12x12x3
block enc(n=4) {
    conv n 3x3 p=same
}
block other() {
    conv 4 3x3 p=same
}
e1: enc from=a
e2: enc 5 from=a share=e1
o: other from=a
e3: enc from=a share=o
c: conv 4 3x3 from=a
e4: enc from=a share=c
c2: conv 4 3x3 p=same from=a share=e1
"""
    a = assert_diagnostics(spec, ("E123", 9, 18), ("E123", 11, 16), ("E123", 13, 16), ("E123", 14, 30))
    messages = [d.message for d in a.diagnostics]
    assert messages[0] == "cannot share `e1` (line 8): n=5 here, n=4 there"
    assert "it is a call of `other`, this a call of `enc`" in messages[1]
    assert "it is not a call of a block" in messages[2] and "it is a block call" in messages[3]


def test_a_shared_block_on_another_shape_is_one_error_at_the_call():
    spec = BLOCKS.replace("b:      input 12x12x3", "b:      input 16x16x3")
    a = assert_diagnostics(spec, ("E123", 13, 20))
    assert a.diagnostics[0].message == \
        "cannot share `e1` (line 12): e2.conv1: input 16x16x3 here, 12x12x3 at e1.conv1"


def test_a_body_line_shares_a_line_of_its_own_body_at_every_call():
    spec = """\
input 8x8x4
block twice() {
    c: conv 4 3x3 p=same
    conv 4 3x3 p=same share=c
}
t1: twice
t2: twice
"""
    layers = by_name(checked(spec))
    assert layers["t1.conv1"].layer.shares.owner == "t1.c" and layers["t2.conv1"].layer.shares.owner == "t2.c"
    assert layers["t1.conv1"].params == 0 and layers["t2.c"].params == 148


def test_share_names_a_line_of_its_own_body():
    spec = """\
input 8x8x4
c: conv 4 3x3 p=same
block b() {
    conv 4 3x3 p=same share=c
}
b1: b
"""
    assert_diagnostics(spec, ("E112", 4, 29))


def test_the_broken_example_of_e123_names_ref_and_the_difference():
    path = next((Path(__file__).parent / "broken").glob("E123-*.cnn"))
    assert "E123" in path.read_text(encoding="utf-8").splitlines()[0]


# --- draw, LSP, notebook ---------------------------------------------------------------------------

def test_draw_marks_each_use_that_shares_in_place_of_its_params():
    from specc.draw import dot, mermaid
    from specc.draw.adapter import from_analysis
    from specc.draw.model import collapse
    from specc.draw.style import tooltip

    graph = from_analysis(checked(BLOCKS))
    nodes = {n.id: n for n in graph.nodes}
    assert nodes["e2.conv1"].shares == "e1.conv1" and nodes["e1.conv1"].shares is None
    assert "the params of e1.conv1" in tooltip(nodes["e2.conv1"])
    text = mermaid.render(graph)
    assert "shares e1.conv1" in text and 'subgraph b1["e2 · shares e1"]' in text and "e1 · 990 params" in text
    assert 'label="e2 · shares e1"' in dot.render(graph)
    boxes = {n.id: n for n in collapse(graph).nodes}  # one box per instance: both uses drawn, the second marked
    assert boxes["e2"].shares == "e1" and boxes["e1"].shares is None
    assert "e2<br/>block · 6<br/>shares e1" in mermaid.render(collapse(graph))


def test_a_shared_block_is_drawn_once_and_each_use_that_shares_it_is_one_box():
    from specc.draw import draw
    from specc.draw.adapter import from_analysis

    graph = from_analysis(checked(BLOCKS))
    for fmt in ("mermaid", "dot", "svg"):
        text = draw(graph, fmt, collapsed=False)
        assert "e1.conv1" in text and "e2.conv1" not in text, fmt  # e1's layers once, e2's not again
        assert "shares e1" in text, fmt
    text = draw(graph, "mermaid", collapsed=False)
    box = next(line.split("[")[0].strip() for line in text.splitlines() if '<br/>shares e1"]' in line)
    assert sum(1 for line in text.splitlines() if line.strip().endswith(f"--> {box}")) == 1  # e2's own input
    assert any(line.strip().startswith(f"{box} -->") for line in text.splitlines())  # and its readers


def test_draw_html_table_and_svg_name_the_owner():
    from specc.draw import draw, html
    from specc.draw.adapter import from_analysis

    graph = from_analysis(checked(LINES))
    assert "shares c1" in draw(graph, "svg") and '<td class="n">shares c1</td>' in html.render(graph)


def test_the_language_server_offers_share_and_the_labels_it_may_name():
    from specc.lsp import complete, features

    source = "a: input 8x8x3\nb: input 8x8x3\nc1: conv 4 3x3 from=a\nc2: conv 4 3x3 from=b share=c1\n"
    analysis = specc.check(source)
    typing = specc.check(source + "c3: conv 4 3x3 share=c1 \nc4: conv 4 3x3 \n")
    assert "share=" in [i.label for i in complete.complete(typing, 5, len("c4: conv 4 3x3 "))]
    assert "share=" not in [i.label for i in complete.complete(typing, 4, len("c3: conv 4 3x3 share=c1 "))]
    offered = [i.label for i in complete.complete(analysis, 3, len("c2: conv 4 3x3 from=b share="))]
    assert "c1" in offered and "input" not in offered and "in" not in offered
    found = features.definition(analysis, 3, len("c2: conv 4 3x3 from=b share=c"))
    assert (found.start.line, found.start.character, found.end.character) == (2, 0, 2)  # the label `c1`
    hover = features.hover(analysis, 3).contents.value
    assert "c1's (share=c1)" in hover


def test_the_language_server_offers_share_on_a_block_call_and_hovers_it():
    from specc.lsp import complete, features

    analysis = checked(BLOCKS)
    assert "share=" in [i.label for i in complete.complete(analysis, 12, len("e2:     enc from=b "))]
    assert "e1's (share=e1)" in features.hover(analysis, 12).contents.value
    assert "e1's" not in features.hover(analysis, 11).contents.value


def test_the_notebook_views_mark_the_sharing_rows():
    a = checked(BLOCKS)
    assert "shares e1.conv1" in a._repr_html_() and "shares e1.conv1" in a._repr_markdown_()
    assert "shares e1" in str(a)


torch = pytest.importorskip("torch")


# --- compile ---------------------------------------------------------------------------------------

def built(source: str):
    from specc.runtime.build import build

    return build(specc.check(source, "shared.cnn")).eval()


def test_a_shared_layer_is_one_module_called_twice_against_a_torch_twin():
    from torch import nn

    model = built(LINES)
    assert list(model.state_dict()) == ["c1.weight", "c1.bias"]

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv2d(3, 4, 3)

        def forward(self, a, b):
            return self.c1(a) + self.c1(b) + self.c1(b)

    twin = Twin().eval()
    twin.load_state_dict(model.state_dict())
    a, b = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(a, b), twin(a, b))


class BlockTwin(torch.nn.Module):
    """BLOCKS written by hand: one encoder module, called on a and on b."""

    def __init__(self):
        from torch import nn

        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                                 nn.Flatten(), nn.Linear(144, 6))
        self.fc = nn.Linear(6, 1)

    def forward(self, a, b):
        return torch.sigmoid(self.fc(torch.abs(self.enc(a) - self.enc(b))))


def test_a_shared_block_is_one_submodule_called_on_both_inputs_against_a_torch_twin():
    model = built(BLOCKS)
    assert [k for k in model.state_dict() if k.startswith("e2")] == []
    assert sum(p.numel() for p in model.parameters()) == specc.check(BLOCKS).totals.params
    twin = BlockTwin().eval()
    assert len(twin.state_dict()) == len(model.state_dict())
    twin.load_state_dict(dict(zip(twin.state_dict(), model.state_dict().values())))
    a, b = torch.randn(3, 3, 12, 12), torch.randn(3, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(model(a, b), twin(a, b))


def test_batchnorm_statistics_are_shared_as_torch_shares_them():
    model, twin = built(BLOCKS).train(), BlockTwin().train()
    twin.load_state_dict(dict(zip(twin.state_dict(), model.state_dict().values())))
    a, b = torch.randn(3, 3, 12, 12), torch.randn(3, 3, 12, 12)
    model(a, b), twin(a, b)  # one step each: the running statistics move twice, once per use
    assert int(model.e1.bn1.num_batches_tracked) == 2
    for mine, theirs in zip(model.state_dict().values(), twin.state_dict().values()):
        torch.testing.assert_close(mine, theirs)


def test_a_value_read_inside_a_shared_instance_is_given_by_ref_module():
    spec = """\
a: input 8x8x3
b: input 8x8x3
block enc() {
    m: conv 4 3x3 p=same
    relu
}
e1: enc from=a
e2: enc from=b share=e1
add e2.m e1
"""
    model = built(spec)
    assert list(model.state_dict()) == ["e1.m.weight", "e1.m.bias"]
    conv = model.e1.m
    a, b = torch.randn(1, 3, 8, 8), torch.randn(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(a, b), conv(b) + torch.relu(conv(a)))


def test_a_ref_nothing_reads_is_built_and_its_parameters_count_as_used():
    from specc.codegen.graph import idle_parameters

    spec = BLOCKS.replace("subtract e1 e2", "subtract e2 e2")  # nothing reads e1; e2 uses its modules
    analysis = specc.check(spec, "shared.cnn")
    assert [d.code for d in analysis.warnings if d.code == "W104"] == ["W104"]
    assert idle_parameters(analysis.layers) == 0
    model = built(spec)
    assert list(model.state_dict()) == list(built(BLOCKS).state_dict())
    a, b = torch.randn(1, 3, 12, 12), torch.randn(1, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(model(a, b), torch.sigmoid(model.fc1(torch.zeros(1, 6))))


# --- the siamese example ---------------------------------------------------------------------------

class Siamese(torch.nn.Module):
    """The course's face verification as binary classification: one encoder f for both images,
    y = sigmoid(w . |f(a) - f(b)| + b). Written from the lecture, not from specc."""

    def __init__(self):
        from torch import nn

        super().__init__()
        layers: list[nn.Module] = []
        for index, (c_in, c_out) in enumerate([(3, 32), (32, 64), (64, 128), (128, 128)]):
            # `p=same` at stride 2 pads as Keras does: the one extra row and column at the bottom and right
            conv = [nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(c_in, c_out, 3, stride=2, bias=False)] if index == 0 \
                else [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)]
            layers += [*conv, nn.BatchNorm2d(c_out), nn.ReLU()]
            layers += [nn.MaxPool2d(2)] if index < 3 else [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.encoder = nn.Sequential(*layers, nn.Linear(128, 128))
        self.fc = nn.Linear(128, 1)

    def forward(self, a, b):
        return torch.sigmoid(self.fc(torch.abs(self.encoder(a) - self.encoder(b))))


def test_the_siamese_example_is_its_twin_to_the_parameter():
    from test_examples_oracle import header_figures

    analysis = specc.check(SPECS / "siamese.cnn")
    assert analysis.ok and not analysis.warnings
    figures = header_figures(SPECS / "siamese.cnn")
    twin = Siamese().eval()
    assert sum(p.numel() for p in twin.parameters()) == figures.params == analysis.totals.params
    assert sum(b.numel() for n, b in twin.named_buffers() if "num_batches" not in n) == figures.buffers \
        == analysis.totals.buffers
    assert analysis.totals.macs == figures.macs and analysis.output == figures.output
    model = specc.build(analysis).eval()
    assert [tuple(v.shape) for v in model.state_dict().values()] == [tuple(v.shape) for v in
                                                                      twin.state_dict().values()]
    twin.load_state_dict(dict(zip(twin.state_dict(), model.state_dict().values())))
    a, b = torch.randn(2, 3, 96, 96), torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(model(a, b), twin(a, b))
        torch.testing.assert_close(model(a, b), model(b, a))  # |f(a) - f(b)| is symmetric


def test_the_siamese_example_macs_count_both_uses_of_the_encoder():
    from test_examples_oracle import header_figures

    twin, seen = Siamese().eval(), []

    def hook(layer, inputs, out):
        weight = layer.weight[0].numel() if isinstance(layer, torch.nn.Conv2d) else 0
        seen.append(out[0].numel() * weight if weight else layer.weight.numel()
                    if isinstance(layer, torch.nn.Linear) else 0)

    for m in twin.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        twin(torch.zeros(1, 3, 96, 96), torch.zeros(1, 3, 96, 96))
    assert sum(seen) == header_figures(SPECS / "siamese.cnn").macs


def test_training_memory_of_a_shared_encoder_matches_a_training_step():
    from test_memory import TOLERANCE, measured

    from specc.infer.training_memory import estimate

    analysis = checked(BLOCKS)
    real, guess = measured(analysis, 4, "adam"), estimate(analysis, 4, "adam")
    assert guess.gradients == real["gradients"]
    assert abs(guess.activations - real["activations"]) <= TOLERANCE * real["activations"], (guess, real)


# --- export ----------------------------------------------------------------------------------------

def test_export_holds_one_initializer_set_and_verifies_against_pytorch(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from specc.exporting import ExportOptions, export

    spec = tmp_path / "shared.cnn"
    spec.write_text(BLOCKS)
    result = export(spec, tmp_path / "shared.onnx", ExportOptions(seed=0))
    graph = onnx.load(str(result.path)).graph
    weights = sum(int(__import__("math").prod(i.dims)) for i in graph.initializer)
    assert weights <= specc.check(BLOCKS).totals.params + specc.check(BLOCKS).totals.buffers + 8
    assert weights >= specc.check(BLOCKS).totals.params
    assert all(diff < 1e-4 for diff in result.max_abs_diff.values())
    assert json.loads(json.dumps([i.name for i in graph.input])) == ["a", "b"]
