"""The real framework is the oracle: every figure of the check report for a
layer's output shape, parameters, buffers and MACs is compared with torch
modules built independently (tests/torch_reference.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from strategies import specs
from torch_reference import describe, measure

import specc
from specc.report.text import branches

# Graph specs and where their twins are: tests/test_examples_oracle.py, and tests/test_graphs.py for the last.
GRAPH_TWINS = {*__import__("test_examples_oracle").EXAMPLES, "residual-digits.cnn"}

SPECS = sorted((Path(__file__).parent.parent / "specs").glob("*.cnn"))
HEAVY = {"vgg16.cnn", "alexnet.cnn"}


def assert_matches(analysis: specc.Analysis, found: list[dict]) -> None:
    assert analysis.ok, analysis.diagnostics
    assert len(analysis.layers) == len(found)
    for report, torch_says in zip(analysis.layers, found):
        where = f"{report.layer.name} (line {report.layer.line})"
        assert tuple(report.output) == torch_says["output"], where
        assert report.params == torch_says["params"], where
        assert report.buffers == torch_says["buffers"], where
        assert report.macs == torch_says["macs"], where
    assert analysis.totals.params == sum(f["params"] for f in found)
    assert analysis.totals.macs == sum(f["macs"] for f in found)


def _chain(path: Path) -> bool:
    """A plain 2-D stack (or a vector one): what torch_reference's layer-by-layer twin can follow.
    Graphs, 1-D and 3-D examples are checked against their own twins in tests/test_examples_oracle.py."""
    analysis = specc.check(path)
    model = analysis.model
    if model is None or model.instances or len(model.input or ()) not in (1, 3):
        return False
    previous = ("input", *(layer.name for layer in model.layers))
    return all(layer.inputs == (before,) for layer, before in zip(model.layers, previous))


@pytest.mark.parametrize("path", [p for p in SPECS if _chain(p)], ids=lambda p: p.name)
def test_every_example_spec_matches_torch(path: Path) -> None:
    """Stacks, against layer-by-layer twins; graphs have hand-written twins (tests/test_examples_oracle.py)."""
    analysis = specc.check(path)
    if branches(analysis):
        assert path.name in GRAPH_TWINS, f"{path.name} branches: give it a twin in tests/twins_nets.py"
        return
    shape, layers = describe(analysis.model)
    assert_matches(analysis, measure(shape, layers, batch=1 if path.name in HEAVY else 2))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_generated_specs_match_torch(generated) -> None:
    analysis = specc.check(generated.text, "generated.cnn")
    assert_matches(analysis, measure(generated.input, list(generated.layers)))


SAME_CASES = [(n, k, s, d) for n in (5, 6, 7, 8) for k in (1, 2, 3, 4) for s in (1, 2, 3) for d in (1, 2)]


@pytest.mark.parametrize("n, k, s, d", SAME_CASES)
def test_same_padding_for_every_kernel_stride_and_dilation(n: int, k: int, s: int, d: int) -> None:
    # Even kernels and strides > 1 included: PyTorch's own padding="same" cannot express these.
    text = f"input {n}x{n + 1}x2\nconv 3 {k}x{k + 1} stride={s} padding=same dilation={d}\nmaxpool {k} s={s} p=same\n"
    layers = [dict(kind="conv", filters=3, kernel=(k, k + 1), stride=(s, s), padding="same", dilation=(d, d),
                   groups=1, bias=True, activation=None, slope=0.01),
              dict(kind="maxpool", kernel=(k, k), stride=(s, s), padding="same")]
    analysis = specc.check(text)
    assert_matches(analysis, measure((n, n + 1, 2), layers))
    assert analysis.layers[0].output[:2] == (-(-n // s), -(-(n + 1) // s))
