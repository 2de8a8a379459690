"""Several outputs (spec-io.md §2): `output REF [REF …]`, once, last, at the top level. The
report lists every output, lint counts them as read, the compiled forward returns them in
order (against a hand-written torch twin) and computes nothing else, export names them and
verifies each, draw and the language server show them; yolov3-tiny against its twin."""

from __future__ import annotations

import json

import pytest
from harness import assert_diagnostics, checked

import specc
from specc.report.text import one_line

HEADS = """\
model heads
input 12x12x3
c1:     conv 4 3x3 p=same relu
h1:     conv 2 1x1 softmax
        conv 6 3x3 s=2 p=1 relu from=c1
h2:     conv 3 1x1
        conv 5 1x1 from=c1          # read by nothing, not an output: W104, never computed
        output h2 h1
"""


def codes(analysis: specc.Analysis) -> list[str]:
    return [d.code for d in analysis.diagnostics]


# --- check ----------------------------------------------------------------------------------

def test_the_output_line_names_the_outputs_in_order():
    a = checked(HEADS)
    assert a.model.declared_outputs == ("h2", "h1") and a.model.outputs == ("h2", "h1")
    assert a.model.output == "h2" and a.output == (6, 6, 3)
    assert [r.layer.name for r in a.layers][-1] == "conv2"  # `output` is no layer


def test_json_keeps_output_the_first_and_adds_outputs_all():
    entry = json.loads(json.dumps(checked(HEADS).to_dict()))
    assert entry["output"] == [6, 6, 3]
    assert entry["outputs"] == [{"name": "h2", "shape": [6, 6, 3]}, {"name": "h1", "shape": [12, 12, 2]}]
    assert "outputs" not in checked("input 8x8x3\nconv 4 3\n").to_dict()  # no output line: as before


def test_the_json_report_with_outputs_fits_its_schema():
    pytest.importorskip("pydantic")
    from specc.report.schema import Report

    parsed = Report.model_validate(checked(HEADS).to_dict())
    assert [o.name for o in parsed.outputs or []] == ["h2", "h1"]


def test_the_text_report_and_its_one_line_list_every_output():
    a = checked(HEADS)
    assert str(a).splitlines()[0] == "heads (<string>): input 12x12x3; outputs h2 6x6x3, h1 12x12x2"
    assert one_line(a).startswith("heads: 12x12x3 -> h2 6x6x3, h1 12x12x2, ")
    one = checked("input 8x8x3\nc: conv 4 3\nrelu\noutput c\n")
    assert str(one).splitlines()[0].endswith("input 8x8x3; output c 6x6x4")


def test_the_notebook_views_name_every_output():
    a = checked(HEADS)
    assert "outputs h2 6x6x3, h1 12x12x2" in a._repr_markdown_()
    assert "outputs h2 6x6x3, h1 12x12x2" in a._repr_html_()


# --- lint -----------------------------------------------------------------------------------

def test_an_output_counts_as_read_and_an_unread_other_layer_is_still_w104():
    a = checked(HEADS)
    unread = [d for d in a.diagnostics if d.code == "W104"]
    assert [d.span.line for d in unread] == [7]
    assert "not one of the network's outputs" in unread[0].message
    # without the output line, h1 is read by nothing and the last line is the output
    b = checked(HEADS.replace("        output h2 h1\n", ""))
    assert sorted(d.span.line for d in b.diagnostics if d.code == "W104") == [4, 6]


def test_w303_looks_at_every_output():
    spec = "input 8x8x3\nc: conv 4 3\ng: globalavgpool\nf1: fc 10 softmax\nf2: fc 5 from=g\nf3: fc 5 relu from=g\n" \
           "output f1 f2\n"
    # f1 ends in softmax; f2's 5 scores end in no activation; f3 is no output (W104, not W303)
    a = specc.check(spec, select=["W303"])
    assert [(d.code, d.span.line) for d in a.diagnostics if d.code == "W303"] == [("W303", 5)]


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("input 8x8x3\nh: conv 4 3\noutput h\noutput h\n", ("E122", 4, 1)),
    ("input 8x8x3\nh: conv 4 3\noutput h\nrelu\n", ("E122", 3, 1)),
    ("input 8x8x3\nh: conv 4 3\noutput h h\n", ("E122", 3, 10)),
    ("input 8x8x3\nh: conv 4 3\noutput input h\n", ("E122", 3, 8)),
    ("a: input 8x8x3\nh: conv 4 3\noutput h a\n", ("E122", 3, 10)),
    ("input 8x8x3\nh: conv 4 3\noutput\n", ("E103", 3, 1)),
    ("input 8x8x3\nh: conv 4 3\no: output h\n", ("E105", 3, 1)),
    ("input 8x8x3\nh: conv 4 3\noutput h mode=x\n", ("E102", 3, 10)),
    ("input 8x8x3\noutput h\nh: conv 4 3\n", ("E122", 2, 1), ),
], ids=["twice", "not-last", "same-twice", "input", "labelled-input", "empty", "label", "option", "above"])
def test_a_misused_output_line_is_an_error_at_its_words(text, expected):
    a = specc.check(text.encode(), "spec.cnn")
    assert expected in [(d.code, d.span.line, d.span.column) for d in a.diagnostics]
    assert all(d.code != "E122" or "output" in d.message or "`" in d.message for d in a.diagnostics)


def test_an_output_above_the_layer_it_names_reads_below():
    assert_diagnostics("input 8x8x3\noutput h\nh: conv 4 3\n", ("E122", 2, 1), ("E113", 2, 8))


def test_an_unknown_output_gets_a_did_you_mean():
    a = assert_diagnostics("input 8x8x3\nhead: conv 4 3\noutput haed\n", ("E112", 3, 8))
    assert a.diagnostics[0].help == "did you mean `head`?"


def test_output_in_a_block_body_is_refused_with_the_way_to_name_a_block_layer():
    a = assert_diagnostics("block b() {\ns: conv 4 3\noutput s\n}\ninput 8x8x3\nx: b\n", ("E101", 3, 1))
    assert "cannot appear in a block body" in a.diagnostics[0].message
    assert "output CALL.LABEL" in a.diagnostics[0].help


def test_a_layer_inside_a_block_call_is_named_through_the_labelled_call():
    block = "block b() {\ns: conv 4 3 p=same relu\n   conv 2 1\n}\ninput 8x8x3\n"
    a = checked(block + "x: b\noutput x.s x\n")
    assert a.model.declared_outputs == ("x.s", "x.conv1")
    assert_diagnostics(block + "b\noutput b1.s\n", ("E112", 7, 8))  # an unlabelled call: not visible


# --- compile --------------------------------------------------------------------------------

torch = pytest.importorskip("torch")


def called(module, *inputs) -> set[str]:
    """The submodules (dotted paths) one forward pass calls."""
    seen: set[str] = set()
    hooks = [m.register_forward_hook(lambda *_, name=name: seen.add(name)) for name, m in module.named_modules()
             if name]
    try:
        with torch.no_grad():
            module(*inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def test_forward_returns_the_outputs_in_order_against_a_torch_twin():
    from torch import nn

    model = specc.build(checked(HEADS, "heads.cnn")).eval()
    assert model.final_activation is None  # several outputs: no logits() split; h1's softmax stays

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.h1 = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 2, 1)
            self.conv, self.h2 = nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.Conv2d(6, 3, 1)
            self.unread = nn.Conv2d(4, 5, 1)

        def forward(self, x):
            c1 = torch.relu(self.c1(x))
            return self.h2(torch.relu(self.conv(c1))), torch.softmax(self.h1(c1), dim=1)

    twin = Twin().eval()
    twin.load_state_dict(dict(zip(twin.state_dict(), model.state_dict().values())))
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        got, want = model(x), twin(x)
        assert isinstance(got, tuple) and len(got) == 2
        torch.testing.assert_close(got, want)
        torch.testing.assert_close(model.logits(x), want)
    assert called(model, x) == {"c1", "h1", "conv1", "h2"}  # conv2, read by nothing, is built, not computed
    assert sum(p.numel() for p in model.parameters()) == checked(HEADS).totals.params


def test_one_output_above_the_last_line_is_a_tensor_and_what_follows_is_not_computed():
    spec = "input 8x8x3\nc: conv 4 3 relu\nconv 2 1\nfc 3 softmax\noutput c\n"
    a = checked(spec)
    assert a.final_activation is None and [r.layer.name for r in a.layers] == ["c", "conv1", "fc1"]
    assert [d.code for d in a.diagnostics if d.code == "W104"] == ["W104"]  # fc1: nothing reads it
    model = specc.build(a).eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert model(x).shape == (2, 4, 6, 6)
    assert called(model, x) == {"c"}


def test_one_output_on_the_last_line_keeps_the_final_softmax_split():
    spec = "input 8x8x3\nconv 4 3 relu\nflatten\nf: fc 3 softmax\noutput f\n"
    plain = specc.check(spec.replace("output f\n", ""), "net.cnn")
    a = checked(spec, "net.cnn")
    assert a.final_activation == plain.final_activation == "softmax"
    model = specc.build(a).eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x), torch.softmax(model.logits(x), dim=1))


def test_an_output_two_instances_deep_is_returned_through_both():
    spec = ("block inner(n) {\ns: conv n 3x3 p=same relu\n   conv n 1x1\n}\n"
            "block outer(n) {\ni: inner n\n   conv n 1x1\n}\ninput 8x8x3\no: outer 4\noutput o.i.s o\n")
    model = specc.build(checked(spec)).eval()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        s, last = model(x)
        inner = model.o.i
        torch.testing.assert_close(s, torch.relu(inner.s(x)))
        torch.testing.assert_close(last, model.o.conv1(inner.conv1(s)))


def test_a_layer_read_from_two_instances_deep_compiles():
    # the same path, read by a line rather than returned: it crashed code generation before
    spec = ("block inner(n) {\ns: conv n 3x3 p=same relu\n   conv n 1x1\n}\n"
            "block outer(n) {\ni: inner n\n   conv n 1x1\n}\ninput 8x8x3\no: outer 4\nadd o.i.s\n")
    model = specc.build(checked(spec)).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 8, 8)).shape == (1, 4, 8, 8)


def test_the_generated_code_returns_a_typed_tuple():
    from specc.codegen import generate

    source = generate(checked(HEADS, "heads.cnn"))
    assert "def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:" in source
    assert "        return h2, h1\n" in source
    assert "Outputs, a tuple in this order: h2 (N, 3, 6, 6), h1 (N, 2, 12, 12)" in " ".join(source.split())


def test_train_refuses_a_spec_of_several_outputs_with_a_clear_message():
    from specc.errors import SpeccError
    from specc.training.setup import spec_io

    with pytest.raises(SpeccError, match=r"returns 2 outputs \(h2, h1\): specc train trains a network of one"):
        spec_io(checked(HEADS))
    with pytest.raises(SpeccError, match="above its last line"):
        spec_io(checked("input 8x8x3\nc: conv 4 3\nglobalavgpool\nfc 3 softmax\noutput c\n"))
    assert spec_io(checked("input 8x8x3\nconv 4 3\nglobalavgpool\nf: fc 3 softmax\noutput f\n")).outputs == 3


# --- export ---------------------------------------------------------------------------------

def test_export_names_each_onnx_output_after_its_label_and_verifies_every_one(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import numpy as np

    from specc.exporting import ExportOptions, export

    spec = tmp_path / "heads.cnn"
    spec.write_text(HEADS)
    result = export(spec, tmp_path / "heads.onnx", ExportOptions(seed=0))
    proto = onnx.load(str(result.path))
    assert [o.name for o in proto.graph.output] == ["h2", "h1"]
    assert [name for name, _ in result.outputs] == ["h2", "h1"] and result.output_name == "h2"
    assert [shape for _, shape in result.outputs] == [("batch", 3, 6, 6), ("batch", 2, 12, 12)]
    # the test's own comparison: onnxruntime against the module built from the same seed
    torch.manual_seed(0)
    model = specc.build(specc.check(spec)).eval()
    x = np.random.default_rng(1).random((3, 3, 12, 12), dtype=np.float32)
    got = ort.InferenceSession(str(result.path), providers=["CPUExecutionProvider"]).run(None, {"input": x})
    with torch.no_grad():
        want = model(torch.from_numpy(x))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w.numpy(), atol=1e-5)


def test_export_refuses_a_file_whose_outputs_disagree_with_pytorch(tmp_path):
    pytest.importorskip("onnxruntime")
    from specc.errors import SpeccError
    from specc.exporting.graph import Graph
    from specc.exporting.verify import compare

    class Session:  # onnxruntime's answer with the second output off by one
        def run(self, names, feed):
            with torch.no_grad():
                found = model(*map(torch.from_numpy, feed.values()))
            return [found[0].numpy(), found[1].numpy() + 1]

    model = specc.build(checked(HEADS)).eval()
    graph = Graph(None, ("batch", 3, 12, 12), "h2", ("batch", 3, 6, 6),  # type: ignore[arg-type]
                  outputs=(("h2", ("batch", 3, 6, 6)), ("h1", ("batch", 2, 12, 12))))
    with pytest.raises(SpeccError, match="disagree"):
        compare(Session(), graph, model, 2, 1e-4)


# --- draw and the language server ------------------------------------------------------------

def test_draw_shows_an_output_node_per_output_fed_by_its_layer():
    from specc.draw.adapter import from_analysis
    from specc.draw.mermaid import render

    graph = from_analysis(checked(HEADS))
    assert graph.outputs == (("h2", "6x6x3"), ("h1", "12x12x2"))
    text = render(graph)
    assert 'n6["output 1<br/>6x6x3"]' in text and 'n7["output 2<br/>12x12x2"]' in text
    assert "n4 --> n6" in text and "n2 --> n7" in text
    assert from_analysis(checked("input 8x8x3\nconv 4 3\n")).outputs == ()  # no output line: no output box


def test_a_collapsed_block_feeds_the_output_box_of_its_layer():
    from specc.draw.adapter import from_analysis
    from specc.draw.model import collapse

    spec = "block b() {\ns: conv 4 3 p=same relu\n   conv 2 1\n}\ninput 8x8x3\nx: b\noutput x.s\n"
    assert collapse(from_analysis(checked(spec))).outputs == (("x", "8x8x4"),)


def test_the_language_server_completes_output_and_the_labels_after_it():
    from specc.lsp import complete, features

    text = "input 8x8x3\nc1: conv 4 3 relu\nh: conv 2 1\noutput \n"
    analysis = specc.check(text)
    assert "output" in [i.label for i in complete.complete(analysis, 3, 0)]
    assert [i.label for i in complete.complete(analysis, 3, 7)] == ["c1", "h"]
    hover = features.hover(checked(HEADS), 7)
    assert hover is not None and "| 0 | h2 | 6x6x3 |" in hover.contents.value
    assert "| 1 | h1 | 12x12x2 |" in hover.contents.value


# --- yolov3-tiny ----------------------------------------------------------------------------

def yolov3_tiny():
    """YOLOv3-tiny as ultralytics' yolov3-tiny.yaml builds it (darknet's cfg), written from that file."""
    from torch import nn

    def cbl(c_in, c_out, k=3):
        return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.BatchNorm2d(c_out),
                             nn.LeakyReLU(0.1))

    class YoloV3Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(cbl(3, 16), nn.MaxPool2d(2, 2), cbl(16, 32), nn.MaxPool2d(2, 2),
                                          cbl(32, 64), nn.MaxPool2d(2, 2), cbl(64, 128), nn.MaxPool2d(2, 2))
            self.p4 = cbl(128, 256)
            self.p5 = nn.Sequential(nn.MaxPool2d(2, 2), cbl(256, 512), nn.ZeroPad2d((0, 1, 0, 1)),
                                    nn.MaxPool2d(2, 1), cbl(512, 1024), cbl(1024, 256, 1))
            self.large = nn.Sequential(cbl(256, 512), nn.Conv2d(512, 255, 1))
            self.lateral = nn.Sequential(cbl(256, 128, 1), nn.Upsample(scale_factor=2))
            self.medium = nn.Sequential(cbl(384, 256), nn.Conv2d(256, 255, 1))

        def forward(self, x):
            p4 = self.p4(self.backbone(x))
            p5 = self.p5(p4)
            return self.large(p5), self.medium(torch.cat([self.lateral(p5), p4], dim=1))

    return YoloV3Tiny()


def fused_params(module) -> int:
    """Parameters with each batchnorm folded into the conv before it (a bias of C): ultralytics' count."""
    from torch import nn

    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    return sum(p.numel() for p in module.parameters()) - sum(m.num_features for m in norms)


def test_yolov3_tiny_against_its_twin_two_heads_and_the_published_count():
    from pathlib import Path

    spec = Path(__file__).resolve().parent.parent / "specs" / "yolov3-tiny.cnn"
    a = checked(spec)
    assert [(name, a.shape_of(name)) for name in a.model.outputs] == [("h1", (13, 13, 255)), ("h2", (26, 26, 255))]
    twin = yolov3_tiny().eval()
    assert a.totals.params == sum(p.numel() for p in twin.parameters()) == 8_852_366
    assert fused_params(twin) == 8_849_182  # published: yolov3-tiny, COCO, its layers fused
    assert a.totals.buffers == sum(b.numel() for n, b in twin.named_buffers() if "running" in n) == 6_368
    model = specc.build(a).eval()
    assert list(map(tuple, (p.shape for p in model.parameters()))) == \
        list(map(tuple, (p.shape for p in twin.parameters())))
    twin.load_state_dict(dict(zip(twin.state_dict(), model.state_dict().values())))
    x = torch.randn(1, 3, 416, 416)
    with torch.no_grad():
        got, want = model(x), twin(x)
    assert [tuple(t.shape) for t in got] == [(1, 255, 13, 13), (1, 255, 26, 26)]
    torch.testing.assert_close(got, want)
