"""Facts computed once and read where needed (issue 22): the graph's index of who reads each output
(ir.readers), a convtranspose's resolved padding, the layers' module paths, the checked model."""

from __future__ import annotations

import pytest

import specc
from specc import ir
from specc.lint.view import GraphView
from specc.pipeline import analyse_bytes

BRANCHES = """input 8x8x3
a: conv 4 3x3 p=same relu
b: conv 4 3x3 p=same from=a
c: conv 4 1x1 from=a
s: add b c c
fc 2
"""


def test_the_index_holds_the_one_reader_the_readers_in_order_or_none() -> None:
    analysis = specc.check(BRANCHES)
    assert not analysis.errors
    index = ir.readers(analysis.model.layers)
    assert index["input"] == "a"
    assert index["a"] == ["b", "c"]
    assert index["c"] == ["s", "s"]  # read twice by one merge: once per read
    assert index["fc1"] is None
    assert index.unique
    assert [ir.last_reader(index[name]) for name in ("a", "c", "fc1")] == ["c", "s", None]


def test_lint_walks_the_index_it_is_given() -> None:
    analysis = specc.check(BRANCHES)
    graph = GraphView(analysis.model, analysis.layers, ir.readers(analysis.model.layers))
    by_name = graph.by_name
    assert [r.layer.name for r in graph.successors(by_name["a"])] == ["b", "c"]
    assert [r.layer.name for r in graph.successors(by_name["c"])] == ["s", "s"]
    assert [r.layer.name for r in graph.chain_after(by_name["s"])] == ["fc1"]
    assert not graph.is_read(by_name["fc1"])


def test_a_computed_value_reads_an_output_after_its_last_reader_through_an_edge() -> None:
    """`a.c` names `a` after `b`, its last reader by `from=`: infer keeps a's output for it."""
    analysis = specc.check("input 8x8x3\na: conv 5 3x3\nb: conv 6 3x3 from=a\nconv a.c 1x1 from=b\n")
    assert not analysis.errors, analysis.errors
    assert analysis.layers[-1].output == (4, 4, 5)


def test_two_layers_of_one_name_keep_every_output_for_their_readers() -> None:
    """With E108 the readers cannot be told apart by name: the second `a` still reads the input."""
    analysis = specc.check("input 8x8x3\na: conv 4 3x3\na: conv 4 3x3 from=input\n")
    assert [d.code for d in analysis.errors] == ["E108"]
    assert [r.output for r in analysis.layers] == [(6, 6, 4), (6, 6, 4)]


def test_the_shape_rule_resolves_a_convtranspose_s_padding_once_for_the_emitter() -> None:
    analysis = specc.check("input 8x8x3\nconvtranspose 4 4x4 s=1 p=same\nconvtranspose 4 3x3 s=2 p=same\n"
                           "convtranspose 4 3x3 s=2 p=1 op=1\n")
    assert not analysis.errors
    resolved = [r.layer.resolved_padding for r in analysis.layers]
    assert resolved == [((1, 1), (0, 0), (1, 1)), ((1, 1), (1, 1), (0, 0)), ((1, 1), (1, 1), (0, 0))]
    assert [layer.resolved_padding for layer in analysis.model.layers] == resolved  # the model as inferred


def test_module_paths_are_the_attributes_of_the_top_level_and_the_names_inside_blocks() -> None:
    from specc.codegen import attributes, module_paths

    analysis = specc.check("input 8x8x3\nblock b() {\nforward: conv 3 3x3 p=same\n}\n"
                           "forward: conv 3 3x3 p=same\nr: b repeat=2\nfc 2\n")
    assert not analysis.errors
    paths = {path: layer.name for path, layer in module_paths(analysis.model.layers).items()}
    assert paths == {"forward_": "forward", "fc1": "fc1", "r.0.forward": "r.0.forward", "r.1.forward": "r.1.forward"}
    assert attributes(analysis) == {"forward": "forward_", "fc1": "fc1"}


def test_the_checked_model_of_an_analysis_without_one_is_refused() -> None:
    assert specc.check(BRANCHES).checked_model.name == "model"
    undecodable = analyse_bytes(b"\xff\xfe\x00", "x.cnn")
    with pytest.raises(ValueError, match="no model"):
        undecodable.checked_model  # noqa: B018
