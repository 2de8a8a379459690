"""Blocks, repeat= and computed values: naming, scoping, diagnostics once per body
line with call-site notes, the stride-placement trap, and the generated classes.
The torch oracle for whole networks is tests/test_examples_oracle.py and
tests/test_graph_oracle.py; these tests pin the language's rules."""

from __future__ import annotations

import pytest
import torch
from harness import checked

import specc
from specc.report import render

RES = """input 8x8x16
block res(f, s=1) {
        conv f 3x3 s=s p=same bias=false
        batchnorm
        relu
        conv f 3x3 p=same bias=false
main:   batchnorm
        conv f 1x1 s=s bias=false from=in
        batchnorm
        add main
        relu
}
stage1: res 16
        res 32 s=2 repeat=2
        globalavgpool
        fc 10 softmax
"""


def names(text: str) -> list[str]:
    return [r.layer.name for r in checked(text).layers]


def test_instances_name_their_layers_and_copies_count_from_zero() -> None:
    found = names(RES)
    assert found[:3] == ["stage1.conv1", "stage1.bn1", "stage1.relu1"]
    assert "stage1.main" in found and "res1.0.conv1" in found and "res1.1.main" in found
    assert found[-2:] == ["gpool1", "fc1"]


def test_a_parameter_named_s_binds_the_parameter_not_the_stride() -> None:
    """The stride-placement trap: params are equal either way, only shapes and MACs tell."""
    analysis = specc.check(RES)
    layers = {r.layer.name: r for r in analysis.layers}
    assert layers["stage1.conv1"].output == (8, 8, 16)  # s=1 by default
    assert layers["res1.0.conv1"].output == (4, 4, 32)  # s=2 passed to the block, used as a stride
    assert layers["res1.1.conv1"].output == (2, 2, 32)
    assert layers["res1.0.conv3"].output == (4, 4, 32)  # the projection shortcut strides too


def test_the_bare_label_of_a_repeat_is_its_last_copy_and_instance_labels_reach_inside() -> None:
    text = RES.replace("        globalavgpool", "        conv 8 1x1 from=stage1.main\n        globalavgpool")
    analysis = specc.check(text)
    assert analysis.ok
    (conv,) = [r for r in analysis.layers if r.layer.name == "conv1"]
    assert conv.layer.inputs == ("stage1.main",)
    repeat = "input 8x8x4\nc: conv 4 3x3 p=same relu repeat=3\nconv 4 1x1 from=c\nadd c.0\n"
    layers = {r.layer.name: r.layer for r in specc.check(repeat).layers}
    assert layers["c.1"].inputs == ("c.0",) and layers["conv1"].inputs == ("c.2",)
    assert layers["add1"].inputs == ("conv1", "c.0")


def test_values_computed_from_shapes() -> None:
    text = "input 8x8x6\nblock expand(t) {\n    conv in.c*t 1x1 relu\n    conv in.c/2 1x1\n}\nexpand 4\n"
    layers = specc.check(text).layers
    assert [r.output[-1] for r in layers] == [24, 3]
    (error,) = specc.check(text.replace("in.c/2", "in.c/5")).errors
    assert error.code == "E114" and "6/5" in error.message


def test_an_error_in_a_body_is_reported_once_with_a_note_per_call_site() -> None:
    text = ("input 8x8x4\nblock squash(k) {\n    conv 4 k\n}\nblock twice(k) {\n    squash k\n    squash k\n}\n"
            "twice 9\ntwice 9\n")
    analysis = specc.check(text)
    (error,) = analysis.errors
    assert error.code == "E201" and error.line == 3
    assert [n.span.line for n in error.notes] == [6, 9]  # innermost call first
    shown = render([analysis], "text", quiet=True, color=False)
    assert "note:" in shown and "called here as twice1.squash1" in shown


def test_a_block_is_closed_and_its_options_are_its_parameters() -> None:
    outside = "input 8x8x4\nskip: conv 4 1x1\nblock b() {\n    add skip\n}\nb\n"
    (error,) = specc.check(outside).errors
    assert error.code == "E112" and "closed" in error.help
    (wrong,) = specc.check(RES.replace("res 16", "res 16 stride=2")).errors
    assert wrong.code == "E115" and "`res` (line 2) takes f, s" in wrong.help


@pytest.mark.parametrize("text", ["input 8x8x4\nconv 4 3 repeat=0\n",
                                  "input 8x8x4\nblock b() {\n relu\n}\nb repeat=0\n"])
def test_repeat_zero_is_an_error(text: str) -> None:
    (error,) = specc.check(text).errors
    assert error.code == "E106" and "repeat" in error.message


def test_generated_classes_one_per_shape_sequential_for_repeats_and_state_dict_keys() -> None:
    source = specc.compile(RES)
    # res 16 on 8x8x16, then res 32 s=2 on 8x8x16 and on 4x4x32: three shapes, three classes.
    assert "class Res(" in source and "class Res2(" in source and "class Res3(" in source
    assert "self.res1 = nn.Sequential(Res2(), Res3())" in source
    same = specc.compile(RES.replace("res 32 s=2 repeat=2", "res 16 repeat=3"))
    assert "class Res2(" not in same and "nn.Sequential(*[Res() for _ in range(3)])" in same  # identical: one class
    module = specc.build(RES)
    keys = set(module.state_dict())
    assert {"stage1.conv1.weight", "res1.0.conv1.weight", "res1.1.main.running_mean"} <= keys
    assert module(torch.rand(2, 16, 8, 8)).shape == (2, 10)


def test_a_layer_passed_to_a_block_and_a_label_read_from_outside() -> None:
    """U-Net's pattern: `up f d1.skip` passes a layer inside one instance to another."""
    text = ("input 16x16x3\nblock down(f) {\nskip: conv f 3x3 p=same relu\n  maxpool 2x2\n}\n"
            "block up(f, skip) {\n  upsample_free: conv f 1x1 relu\n  concat skip\n}\n"
            "d1: down 8\n    conv 8 3x3 p=same relu\n    maxpool 1x1\n")
    analysis = specc.check(text.replace("upsample_free: ", ""))
    assert analysis.ok
    flat = "input 16x16x3\nskip: conv 8 3x3 p=same relu\nmaxpool 2x2\nconv 8 3x3 p=same relu\nconcat skip\n"
    assert specc.check(flat).errors  # 8x8 against 16x16: the merge is checked
    passed = ("input 16x16x3\nblock down(f) {\nskip: conv f 3x3 p=same relu\n  maxpool 2x2\n}\n"
              "block mix(f, other) {\n  conv f 3x3 p=same relu\n  add other\n}\n"
              "d1: down 8\n    maxpool 1x1\n    mix 8 d1\n")
    analysis = specc.check(passed)
    assert analysis.ok, render([analysis], "text", color=False)
    assert analysis.layers[-1].layer.inputs == ("mix1.conv1", "d1.pool1")
    module = specc.build(analysis)
    assert module(torch.rand(1, 3, 16, 16)).shape == (1, 8, 8, 8)


def test_expansion_hands_each_line_to_lowering_as_it_is_made() -> None:
    """Lowering builds each layer as expansion makes its line (issue 16's memory target):
    the lines come in source order, block bodies and copies included, and the spec's
    statement list is consumed."""
    from specc.lower.expand import expand
    from specc.syntax import parse

    items, _ = parse(RES)
    taken = []
    out = expand(items, lambda line: taken.append(line.name))
    assert items == [] and [st.keyword.text for st in out.others] == ["input"]
    assert taken == names(RES)


def test_lowering_holds_little_more_than_the_statements_it_consumes() -> None:
    """Before lines went to lowering one by one, a 20,000-line spec's lowering held every
    statement, every line and a growing list of layers at once: 27% above the statements."""
    import tracemalloc

    from specc.lower import lower
    from specc.syntax import parse

    text = "input 32x32x3\n" + "conv 8 3x3 padding=same relu\nbatchnorm\n" * 10_000
    tracemalloc.start()
    try:
        statements, _ = parse(text)
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        model, _ = lower(statements, "big")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(model.layers) == 20_000
    assert peak < 1.1 * held, f"lowering peaked at {peak / held:.2f}x the statements' memory"
