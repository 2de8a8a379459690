"""The generated module against the check report and an independent torch model.

For every example spec and hundreds of generated ones: parameters, buffers
and every layer's output shape (at batch 1 and 3, read with forward hooks on
the layer's attribute) equal the report; with the same weights, the output
equals tests/torch_reference.py's model, built from the generator's own
description (so padding sides, flatten order, slopes and eps are checked too).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import specs
from torch_reference import describe, reference_layer

import specc
from specc.codegen import attributes
from specc.report.text import branches

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.cnn"))
HEAVY = {"vgg16.cnn", "alexnet.cnn", "yolov3-tiny.cnn"}  # checked at batch 1 only, to keep the suite fast


def nchw(shape: tuple[int, ...], batch: int) -> tuple[int, ...]:
    return (batch, shape[-1], *shape[:-1]) if len(shape) >= 2 else (batch, *shape)  # channels first, any rank


def assert_matches_report(analysis: specc.Analysis, model: torch.nn.Module, batches=(1, 3)) -> None:
    """Parameters, buffers and per-layer shapes of ``model`` equal the check report."""
    assert analysis.ok, analysis.diagnostics
    assert sum(p.numel() for p in model.parameters()) == analysis.totals.params
    buffers = sum(b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked"))
    assert buffers == analysis.totals.buffers
    names = attributes(analysis)
    seen: dict[str, tuple[int, ...]] = {}
    for report in analysis.layers:
        if report.layer.merge or report.layer.shares is not None:  # an expression; REF's module (share=)
            continue
        # Top-level layers by their attribute; layers of block instances by their instance path.
        layer = model.get_submodule(names.get(report.layer.name, report.layer.name))
        where = f"{report.layer.name} (line {report.layer.line})"
        assert sum(p.numel() for p in layer.parameters()) == report.params, where
        layer.register_forward_hook(lambda m, i, out, key=report.layer.name: seen.__setitem__(key, tuple(out.shape)))
    model.eval()
    for batch in batches:
        with torch.no_grad():
            out = model(*(torch.zeros(nchw(i.shape, batch)) for i in analysis.model.inputs))  # every input
        outs = out if isinstance(out, tuple) else (out,)  # an `output` line of several: a tuple, in its order
        assert [tuple(o.shape) for o in outs] == [nchw(analysis.shape_of(n), batch) for n in analysis.model.outputs]
        for report in analysis.layers:
            if not report.layer.merge and report.layer.shares is None:
                assert seen[report.layer.name] == nchw(report.output, batch), f"{report.layer.name}, batch {batch}"


def reference(input_shape: tuple[int, ...], layers: list[dict]) -> torch.nn.Sequential:
    modules, shape = [], input_shape
    for layer in layers:
        module = reference_layer(layer, shape).eval()
        with torch.no_grad():
            out = module(torch.zeros(nchw(shape, 1)))
        shape = (out.shape[2], out.shape[3], out.shape[1]) if out.dim() == 4 else (out.shape[1],)
        modules.append(module)
    return torch.nn.Sequential(*modules).eval()


def assert_same_function(model: torch.nn.Module, ref: torch.nn.Sequential, input_shape) -> None:
    """Copy ``model``'s weights into ``ref`` in order and compare outputs on random input."""
    ours, theirs = list(model.parameters()), list(ref.parameters())
    assert [p.shape for p in ours] == [p.shape for p in theirs]
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for a, b in zip(ours, theirs):
            a.copy_(torch.randn(a.shape, generator=generator))
            b.copy_(a)
        x = torch.randn(nchw(input_shape, 3), generator=generator)
        expected = ref(x)
        torch.testing.assert_close(model.eval()(x), expected, rtol=1e-4, atol=1e-5)


def assert_logits(model: torch.nn.Module, input_shape) -> None:
    x = torch.randn(nchw(input_shape, 2))
    with torch.no_grad():
        out, logits = model(x), model.logits(x)
    final = {"softmax": lambda t: torch.softmax(t, dim=1), "sigmoid": torch.sigmoid, None: lambda t: t}
    torch.testing.assert_close(final[model.final_activation](logits), out)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_example_spec_module_matches_report(path: Path) -> None:
    analysis = specc.check(path)
    if not analysis.ok:
        pytest.skip(f"{path.name} does not check clean")
    model = specc.build(path)
    assert_matches_report(analysis, model, batches=(1,) if path.name in HEAVY else (1, 3))
    assert type(model).spec_name == analysis.model.name
    assert model.num_outputs == analysis.output[-1]
    if path.name not in HEAVY and len(analysis.model.inputs) == 1:  # several: tests/test_share.py
        assert_logits(model, analysis.model.input)
    # Graphs have their twins in tests/test_graphs.py, 1-D and 3-D specs in tests/test_rank_oracle.py.
    if path.name not in HEAVY and not branches(analysis) and len(analysis.model.input) in (1, 3):
        assert_same_function(model, reference(*describe(analysis.model)), analysis.model.input)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_generated_spec_module_matches_report_and_reference(generated) -> None:
    analysis = specc.check(generated.text, "generated.cnn")
    model = specc.build(generated.text)
    assert_matches_report(analysis, model)
    assert_same_function(model, reference(generated.input, list(generated.layers)), generated.input)
    assert_logits(model, generated.input)
    assert model.input_shape == nchw(generated.input, 1)[1:]


# Labels a user may write that are not usable attribute names as they are.
AWKWARD = ["forward", "training", "train", "eval", "parameters", "cuda", "to", "state_dict", "logits",
           "input_shape", "num_outputs", "spec_name", "final_activation", "class", "None", "lambda", "_x",
           "__init__", "__dict__", "_modules", "forward_", "layer_x", "conv1", "relu1", "x", "self", "torch", "nn"]


@st.composite
def awkwardly_labelled(draw):
    generated = draw(specs(max_layers=6))
    newline = "\r\n" if "\r\n" in generated.text else "\n"
    lines = generated.text.split(newline)
    start = next(i for i, line in enumerate(lines) if line.startswith("input")) + 1
    labels = draw(st.lists(st.sampled_from(AWKWARD), unique=True, min_size=len(generated.layers),
                           max_size=len(generated.layers)))
    for index, label in zip(range(start, start + len(generated.layers)), labels):
        text = lines[index].strip()
        head, sep, rest = text.partition(":")
        lines[index] = f"{label}: {rest.strip() if sep else text}"
    return generated, newline.join(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(awkwardly_labelled())
def test_awkward_labels_become_distinct_safe_attributes(drawn) -> None:
    generated, text = drawn
    analysis = specc.check(text, "labels.cnn")
    names = attributes(analysis)
    assert len(set(names.values())) == len(names)
    module_names = set(dir(torch.nn.Module())) | {"logits", "input_shape", "num_outputs", "spec_name",
                                                  "final_activation"}
    for label, attr in names.items():
        assert attr.isidentifier() and not attr.startswith("_") and attr not in module_names, attr
        if label.isidentifier() and not label.startswith("_") and label not in module_names | {"class", "None",
                                                                                                 "lambda"}:
            assert attr == label
    model = specc.build(text)
    assert_matches_report(analysis, model, batches=(2,))
    assert_same_function(model, reference(generated.input, list(generated.layers)), generated.input)
    assert math.isfinite(sum(p.sum().item() for p in model.parameters()))
