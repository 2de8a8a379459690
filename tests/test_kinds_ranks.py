"""Every layer kind on every input rank: what `specc check` accepts, torch builds and runs.

A kind that checks clean on an input it cannot take (`dwconv` on a vector did:
check said ok, then every builder raised) is a false success. Here each kind
of the statement table, as its usage example writes it and with one number per
window, follows an input of each rank (a vector, a 1-D signal, a map, a 3-D
volume), alone, then before `batchnorm` (the W401 rule reads the layer before
it) and before `fc`: whatever checks without errors must build, and run to the
output shape the report gives. torch is the oracle.
"""

from __future__ import annotations

import itertools
import re

import pytest
import torch

import specc
from specc import pipeline
from specc.lint.rules import bias_before_batchnorm
from specc.lint.view import GraphView
from specc.lower.statements import STATEMENTS

INPUTS = ("input 8", "input 8x4 layout=lc", "input 8x8x4", "input 4x8x8x4")
UNIFORM = ("conv 4 3 p=same", "conv 4 3 s=2", "dwconv 3", "dwconv 3 p=same", "dwconv 1 multiplier=2",
           "convtranspose 4 2 s=2", "convtranspose 4 3 s=2 p=same", "maxpool 2", "avgpool 3 s=1 p=same",
           "upsample 2", "upsample 2 mode=bilinear", "zeropad 1", "groupnorm 2", "fc 5 relu",
           "reshape 2x4", "reshape 4x8x8", "layernorm over=c", "droppath 0.2", "abs", "hardsigmoid")
AFTER = ("", "\nbatchnorm", "\nfc 3")


def _example(keyword: str) -> str:
    form = STATEMENTS[keyword]
    if form.merge:
        return f"{keyword} input"
    written = re.search(r"e\.g\. `([^`]*)`", form.usage)
    return written.group(1) if written else keyword


LINES = sorted({*(_example(k) for k, f in STATEMENTS.items() if f.node is not None), *UNIFORM})
SPECS = [f"{start}\n{line}{after}\n" for start, line, after in itertools.product(INPUTS, LINES, AFTER)]


def _torch_shape(shape: tuple[int, ...], batch: int = 2) -> tuple[int, ...]:
    """(N, C, *spatial) for a (*spatial, C) shape; (N, F) for a vector."""
    return (batch, *shape) if len(shape) == 1 else (batch, shape[-1], *shape[:-1])


def test_every_kind_is_tried_and_accepted_on_some_rank() -> None:
    accepted = {specc.check(spec).layers[0].layer.kind for spec in SPECS if specc.check(spec).ok}
    kinds = {f.kind for f in STATEMENTS.values() if f.node is not None}
    assert accepted == kinds


@pytest.mark.parametrize("spec", SPECS)
def test_what_checks_clean_builds_and_runs_to_the_reported_shape(spec: str) -> None:
    analysis = specc.check(spec)
    if not analysis.ok:
        return  # refused with a diagnostic: nothing to build
    model = specc.build(analysis).eval()
    with torch.no_grad():
        out = model(torch.randn(_torch_shape(analysis.model.input)))
    assert tuple(out.shape) == _torch_shape(analysis.output), spec


@pytest.mark.parametrize("spec", [s for s in SPECS if s.endswith("batchnorm\n")])
def test_the_bias_rule_reads_any_layer_before_a_norm_even_with_errors(spec: str) -> None:
    """Lint runs only on specs without errors; the rule must still hold on any graph."""
    statements, _ = pipeline.parse(spec)
    model, _ = pipeline.lower(statements, "m")
    model, reports, _, _ = pipeline.infer(model)
    for warning in bias_before_batchnorm.check(GraphView(model, reports)):
        assert warning.code == "W401"
