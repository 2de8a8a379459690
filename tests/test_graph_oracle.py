"""Random graph specs against torch twins built from the generator's own description.

tests/graph_strategies.py draws specs with blocks, calls, `repeat=`, `from=`,
labels, INSTANCE.LABEL references and add/concat/multiply, together with its
own expansion of them; tests/graph_twin.py builds the torch twin from that
expansion, never from specc's IR. `specc check` must report the twin's
totals, output shape and every layer's figures (in source order, block
bodies expanded in place), and its JSON report must wire each layer to the
layers the description says it reads (`inputs`) and name its block instance
(`block`); `specc.build` must make a module with the twin's parameters,
buffers and output shape.
"""

from __future__ import annotations

import json

import torch
from graph_lines import UNNAMED, Block, Graph, Line, Scope, expand
from graph_strategies import graph_specs
from graph_twin import Twin, twin
from hypothesis import HealthCheck, given, settings
from twins import Figures, channels_first, channels_last, count_buffers, count_params, single_threaded

import specc
import specc.report

SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
# One bug shrunk at a time: shrinking several distinct failures of big graphs takes minutes.
GRAPHS = settings(deadline=None, suppress_health_check=SLOW, report_multiple_bugs=False)


def assert_report_matches(text: str, twin_says) -> specc.Analysis:
    analysis = specc.check(text, "generated.cnn")
    assert analysis.ok, [f"{d.span.line}: {d.message}" for d in analysis.errors]
    totals = analysis.totals
    assert (totals.params, totals.buffers, totals.macs) == \
        (twin_says.total.params, twin_says.total.buffers, twin_says.total.macs)
    assert tuple(analysis.output) == twin_says.total.output
    return analysis


@settings(GRAPHS, max_examples=100)
@given(graph_specs())
def test_generated_twins_run_and_agree_with_the_generators_shapes(spec) -> None:
    # Passes without specc: the generator's shape rules and torch agree, and the wired twin runs at batch 3.
    built = twin(spec.input, spec.layers)
    assert [f.output for f in built.layers] == [layer["shape"] for layer in spec.layers]
    with torch.no_grad(), single_threaded():
        out = built.module(torch.zeros(channels_first(spec.input, 3)))
    assert channels_last(out.shape) == built.total.output


@settings(GRAPHS, max_examples=100)
@given(graph_specs())
def test_check_reports_the_twins_totals_and_output(spec) -> None:
    assert_report_matches(spec.text, twin(spec.input, spec.layers))


@settings(GRAPHS, max_examples=100)
@given(graph_specs())
def test_check_reports_every_layer_like_the_twin(spec) -> None:
    built = twin(spec.input, spec.layers)
    analysis = assert_report_matches(spec.text, built)
    reported = [Figures(r.params, r.buffers, r.macs, tuple(r.output)) for r in analysis.layers]
    assert reported == list(built.layers)


@settings(GRAPHS, max_examples=60)
@given(graph_specs())
def test_json_report_wires_every_layer_like_the_description(spec) -> None:
    # `inputs` names the layers read (["input"] for the network input), `block` the instance path or null.
    analysis = specc.check(spec.text, "generated.cnn")
    assert analysis.ok, [f"{d.span.line}: {d.message}" for d in analysis.errors]
    layers = json.loads(specc.report.render([analysis], "json"))["layers"]
    index = {layer["name"]: i for i, layer in enumerate(layers)} | {"input": -1}
    assert len(index) == len(layers) + 1, "layer names must be unique: inputs refer to them"
    assert [tuple(index[name] for name in layer["inputs"]) for layer in layers] == \
        [layer["inputs"] for layer in spec.layers]
    for reported, described in zip(layers, spec.layers):
        if described["block"] in (None, UNNAMED):
            assert (reported["block"] is None) == (described["block"] is None), reported["name"]
        else:
            assert reported["block"] == described["block"], reported["name"]


@settings(GRAPHS, max_examples=60)
@given(graph_specs())
def test_built_module_has_the_twins_parameters_buffers_and_output(spec) -> None:
    built = twin(spec.input, spec.layers)
    model = specc.build(spec.text)
    assert count_params(model) == built.total.params
    assert count_buffers(model) == built.total.buffers
    with torch.no_grad(), single_threaded():
        out = model.eval()(torch.zeros(channels_first(spec.input, 2)))
    assert channels_last(out.shape) == built.total.output


# The stride-placement trap, spelled out: a block parameter named `s`, used as `s=s` inside.
DOWN = Block("down", (("n", None), ("s", "1")), (
    Line("conv", ("n", "3x3"), (("s", "s"), ("p", "same"), ("bias", "false"))),
    Line("batchnorm"),
    Line("relu", label="main"),
    Line("conv", ("n", "1x1"), (("s", "s"), ("bias", "false")), source="in"),
    Line("add", ("main",))))


def trap(call: Line) -> tuple[str, Twin]:
    """The spec calling DOWN with ``call``, and its twin from the generator's expansion (not from specc)."""
    graph = Graph((8, 8, 3))
    expand((call,), {"down": DOWN}, Scope({}, {"input": -1}), graph, -1)
    return f"input 8x8x3\n{DOWN.text()}{call.text()}\n", twin((8, 8, 3), graph.layers)


def test_stride_placement_trap_a_parameter_named_s_is_the_stride_inside() -> None:
    # `s=2` at the call binds the block's parameter `s`; `s=s` inside makes it the convs' stride.
    # Params are the same whatever the stride: only MACs and the output shape reveal a misplaced stride.
    params = 3 * 9 * 4 + 8 + 3 * 4
    for call in (Line("down", ("4",), (("s", "2"),)), Line("down", ("4", "2"))):
        text, built = trap(call)
        assert built.total == Figures(params, 8, 4 * 4 * 4 * 27 + 4 * 4 * 4 * 3, (4, 4, 4))
        assert_report_matches(text, built)
    text, built = trap(Line("down", ("4",)))
    assert built.total == Figures(params, 8, 8 * 8 * 4 * 27 + 8 * 8 * 4 * 3, (8, 8, 4))
    assert_report_matches(text, built)
