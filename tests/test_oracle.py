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


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_example_spec_matches_torch(path: Path) -> None:
    analysis = specc.check(path)
    shape, layers = describe(analysis.model)
    assert_matches(analysis, measure(shape, layers, batch=1 if path.name in HEAVY else 2))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs())
def test_generated_specs_match_torch(generated) -> None:
    analysis = specc.compile(generated.text, "generated.cnn")
    assert_matches(analysis, measure(generated.input, list(generated.layers)))
