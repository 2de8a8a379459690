"""Several inputs (spec-io.md §1): labelled `input` lines, read by name; the report lists
them, and the compiled module takes them in the order declared, against a hand-written
torch twin."""

from __future__ import annotations

import json

import pytest
from harness import assert_diagnostics, checked

import specc
from specc.report.text import branches

SIAMESE = """\
model twins
a:      input 12x12x3
b:      input 12x12x3
        conv 4 3x3 p=same from=a
ea:     relu
        conv 4 3x3 p=same from=b
eb:     relu
        concat ea eb
        globalavgpool
        fc 2
"""


def test_every_input_is_named_in_order_with_its_shape():
    a = checked(SIAMESE)
    assert [(i.name, i.shape) for i in a.model.inputs] == [("a", (12, 12, 3)), ("b", (12, 12, 3))]
    assert a.model.input == (12, 12, 3) and a.model.input_span.line == 2
    assert [r.layer.inputs for r in a.layers[:3]] == [("a",), ("conv1",), ("b",)]
    assert a.layers[4].output == (12, 12, 8)


def test_json_keeps_input_and_adds_inputs():
    entry = json.loads(json.dumps(checked(SIAMESE).to_dict()))
    assert entry["input"] == [12, 12, 3]
    assert entry["inputs"] == [{"name": "a", "shape": [12, 12, 3]}, {"name": "b", "shape": [12, 12, 3]}]
    assert "inputs" not in checked("input 8x8x3\nconv 4 3\n").to_dict()  # one unlabelled input: as before


def test_the_text_report_lists_every_input():
    text = str(checked(SIAMESE))
    assert "inputs a 12x12x3, b 12x12x3" in text.splitlines()[0]


def test_a_labelled_input_alone_reads_as_a_chain():
    a = checked("x: input 8x8x3\nconv 4 3\nrelu\n")
    assert a.layers[0].layer.inputs == ("x",) and not branches(a)


def test_the_first_layer_after_an_input_reads_it():
    a = checked("a: input 8x8x3\nconv 4 3 p=same\nb: input 8x8x4\nadd b\n")
    assert a.layers[-1].layer.inputs == ("b", "b")
    a = checked("a: input 8x8x3\nca: conv 4 3 p=same\nb: input 8x8x4\nrelu\nadd ca\n")
    assert [r.layer.inputs for r in a.layers] == [("a",), ("b",), ("relu1", "ca")]


def test_two_unlabelled_inputs_are_an_error():
    a = assert_diagnostics("input 8x8x3\ninput 8x8x3\nconv 4 3\n", ("E110", 2, 1))
    assert "label each input" in a.diagnostics[0].help


def test_an_input_label_used_twice_is_an_error():
    assert_diagnostics("a: input 8x8x3\na: input 8x8x3\nconv 4 3\n", ("E108", 2, 1))


def test_input_names_nothing_once_the_inputs_are_labelled():
    assert_diagnostics("a: input 8x8x3\nconv 4 3 from=input\n", ("E112", 2, 15))
    a = checked("a: input 8x8x3\ninput 8x8x3\nconcat a input\n")  # an unlabelled one is `input`
    assert a.layers[0].layer.inputs == ("a", "input")


def test_an_input_is_read_only_below_it():
    assert_diagnostics("x: input 8x8x3\nconv 4 3 from=b\nb: input 8x8x3\n", ("E113", 2, 15))


def test_the_first_input_stands_above_every_layer():
    assert_diagnostics("conv 4 3\na: input 8x8x3\nb: input 8x8x3\n", ("E110", 2, 1))
    a = assert_diagnostics("conv 4 3\ninput 8x8x3\nrelu\n", ("E110", 2, 1))
    assert a.layers[1].layer.inputs == ("conv1",)  # a misplaced input breaks no chain: as before


def test_block_calls_read_inputs_by_label():
    a = checked("block enc(n) {\n  conv n 3 p=same\n  relu\n}\na: input 8x8x3\nb: input 8x8x3\n"
                "e1: enc 4 from=a\ne2: enc 4 from=b\nadd e1\n")
    assert [r.layer.inputs for r in a.layers] == [("a",), ("e1.conv1",), ("b",), ("e2.conv1",),
                                                  ("e2.relu1", "e1.relu1")]


def test_a_rejected_labelled_line_is_not_reported_again_where_it_is_read():
    # `input` in a block body is refused there; the body's reader of its label is told nothing more.
    assert_diagnostics("block f() {\na: input 8x8x3\nconv 4 3 from=a\n}\ninput 8x8x3\nf\n", ("E101", 2, 4))
    assert_diagnostics("input 8x8x3\nt: train epochs=1\nconv 4 3 from=t\n", ("E105", 2, 1))


def test_the_notebook_views_name_every_input():
    a = checked(SIAMESE)
    assert "inputs a 12x12x3, b 12x12x3" in a._repr_markdown_() and "inputs a 12x12x3" in a._repr_html_()


def test_draw_shows_one_node_per_input_each_feeding_its_reader():
    from specc.draw.adapter import from_analysis
    from specc.draw.mermaid import render

    graph = from_analysis(checked(SIAMESE))
    assert graph.inputs == (("a", "12x12x3"), ("b", "12x12x3"))
    text = render(graph)
    assert 'n0["a<br/>12x12x3"]' in text and 'n1["b<br/>12x12x3"]' in text
    assert "n0 --> n2" in text and "n1 --> n4" in text


torch = pytest.importorskip("torch")


def test_compiled_forward_takes_the_inputs_in_order_against_a_torch_twin():
    from torch import nn

    from specc.runtime.build import build

    model = build(specc.check(SIAMESE, "twins.cnn")).eval()
    assert model.input_shape == (3, 12, 12) and model.input_shapes == ((3, 12, 12), (3, 12, 12))

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.ca, self.cb = nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(8, 2)

        def forward(self, a, b):
            x = torch.cat([torch.relu(self.ca(a)), torch.relu(self.cb(b))], dim=1)
            return self.fc(x.mean(dim=(2, 3)))

    twin = Twin().eval()
    twin.load_state_dict(dict(zip(twin.state_dict(), model.state_dict().values())))
    a, b = torch.randn(2, 3, 12, 12), torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        torch.testing.assert_close(model(a, b), twin(a, b))
        assert not torch.allclose(model(a, b), model(b, a))  # the order is the declared one


def test_export_names_each_onnx_input_after_its_label_and_verifies_with_all(tmp_path):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from specc.exporting import ExportOptions, export

    spec = tmp_path / "twins.cnn"
    spec.write_text(SIAMESE)
    result = export(spec, tmp_path / "twins.onnx", ExportOptions(seed=0))
    assert [i.name for i in onnx.load(str(result.path)).graph.input] == ["a", "b"]
    assert [name for name, _ in result.inputs] == ["a", "b"] and result.input_name == "a"
    assert all(diff < 1e-4 for diff in result.max_abs_diff.values())
