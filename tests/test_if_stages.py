"""`if=PARAM` through every stage (contract part 3, §5): a line left out passes its input on, and its label then
names that input. Each case of a block with optional lines, called with its conditions true and false, is held
against the same block written out by hand without those lines: check, compile (same modules, same state-dict
keys, same function with the same weights), export (verified in onnxruntime) and draw."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import specc
from specc.draw import draw
from specc.draw.adapter import from_analysis
from specc.exporting import ExportOptions, export

# x is optional: left out, `concat x` reads the block's input; the shortcut is optional too.
WITH_IF = """input 12x12x8
block unit(expand, res) {{
x:  conv 16 1x1 bias=false if=expand
    relu
    dwconv 3 p=1 relu
    conv 8 1x1
    add in if=res
    concat x
}}
u:  unit {expand} {res}
    conv 4 1x1
"""

WRITTEN_OUT = """input 12x12x8
block unit() {{
{expand}    relu
    dwconv 3 p=1 relu
    conv 8 1x1
{res}    concat {x}
}}
u:  unit
    conv 4 1x1
"""

CASES = [(expand, res) for expand in ("true", "false") for res in ("true", "false")]


def texts(expand: str, res: str) -> tuple[str, str]:
    written = WRITTEN_OUT.format(expand="x:  conv 16 1x1 bias=false\n" if expand == "true" else "",
                                 res="    add in\n" if res == "true" else "", x="x" if expand == "true" else "in")
    return WITH_IF.format(expand=expand, res=res), written


def rows(analysis: specc.Analysis) -> list[tuple]:
    return [(r.layer.name, r.layer.kind, r.layer.inputs, r.output, r.params, r.macs) for r in analysis.layers]


@pytest.mark.parametrize(("expand", "res"), CASES)
def test_check_reports_the_written_out_block(expand: str, res: str) -> None:
    with_if, written = (specc.check(text) for text in texts(expand, res))
    assert with_if.ok and written.ok, [d.message for d in (*with_if.diagnostics, *written.diagnostics)]
    assert rows(with_if) == rows(written)
    names = {r.layer.name: r for r in with_if.layers}
    assert ("u.x" in names) == (expand == "true") and ("u.add1" in names) == (res == "true")
    concat = names["u.concat1"]
    # the label of a left-out line names that line's input: here the block's, the network input
    assert concat.layer.inputs[1] == ("u.x" if expand == "true" else "input")
    assert concat.output == (12, 12, 8 + (16 if expand == "true" else 8))
    assert [d.code for d in with_if.diagnostics] == [d.code for d in written.diagnostics]  # W102 on conv 8


@pytest.mark.parametrize(("expand", "res"), CASES)
def test_compiled_module_is_the_written_out_one(expand: str, res: str) -> None:
    with_if, written = (specc.build(text).eval() for text in texts(expand, res))
    assert list(with_if.state_dict()) == list(written.state_dict())
    torch.manual_seed(0)
    for p in written.parameters():  # weights that make every layer matter (a zero bias would hide a swap)
        p.data.normal_()
    with_if.load_state_dict(written.state_dict())
    x = torch.randn(2, 8, 12, 12)
    with torch.no_grad():
        got, want = with_if(x), written(x)
    assert got.shape == want.shape == (2, 4, 12, 12)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    source = specc.compile(texts(expand, res)[0])
    assert ("nn.Conv2d(8, 16, kernel_size=1" in source) == (expand == "true")  # a left-out line builds nothing
    assert ("torch.cat([x, x_in], dim=1)" in source) == (expand == "false")  # concat x: the block's input


@pytest.mark.parametrize(("expand", "res"), CASES)
def test_export_is_verified_and_has_only_the_kept_layers(tmp_path: Path, expand: str, res: str) -> None:
    import onnx

    spec = tmp_path / "unit.cnn"
    spec.write_text(texts(expand, res)[0], encoding="utf-8")
    result = export(spec, tmp_path / "unit.onnx", ExportOptions(seed=0))
    assert result.max_abs_diff and max(result.max_abs_diff.values()) < 1e-4
    ops = [node.op_type for node in onnx.load(str(result.path)).graph.node]
    assert ops.count("Conv") == 3 + (expand == "true")  # dwconv, conv 8, conv 4, and the optional conv 16
    assert ("Add" in ops) == (res == "true") and "Concat" in ops


@pytest.mark.parametrize(("expand", "res"), CASES)
def test_drawing_has_the_kept_layers_and_the_edge_to_the_named_input(expand: str, res: str) -> None:
    analysis = specc.check(texts(expand, res)[0])
    graph = from_analysis(analysis)
    nodes = {node.id: node for node in graph.nodes}
    assert ("u.x" in nodes) == (expand == "true") and ("u.add1" in nodes) == (res == "true")
    assert nodes["u.concat1"].inputs[1] == ("u.x" if expand == "true" else "input")
    assert nodes["u.relu1"].inputs == (("u.x",) if expand == "true" else ("input",))
    for fmt in ("svg", "mermaid", "dot"):
        text = draw(graph, fmt)
        assert ("u.x" in text) == (expand == "true"), fmt
