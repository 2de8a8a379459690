"""1-D and 3-D specs (lecture "1D and 3D generalizations") against torch twins.

tests/rank_strategies.py draws `input LxC layout=lc` and `input DxHxWxC`
stacks with the generator's own description; tests/rank_twin.py builds the
torch twin from it (Conv1d/Conv3d and their pools), never from specc's IR.
"""

from __future__ import annotations

import torch
from hypothesis import HealthCheck, given, settings
from rank_strategies import rank_specs
from rank_twin import rank_twin
from twins import Figures, channels_first, channels_last, count_buffers, count_params, single_threaded

import specc

RANKS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], report_multiple_bugs=False)


@settings(RANKS, max_examples=60)
@given(rank_specs())
def test_rank_twins_agree_with_the_generators_shapes(spec) -> None:
    assert [f.output for f in rank_twin(spec.input, spec.layers)] == [layer["shape"] for layer in spec.layers]


@settings(RANKS, max_examples=80)
@given(rank_specs())
def test_check_reports_every_1d_and_3d_layer_like_the_twin(spec) -> None:
    analysis = specc.check(spec.text, "rank.cnn")
    assert analysis.ok, [f"{d.span.line}: {d.message}" for d in analysis.errors]
    reported = [Figures(r.params, r.buffers, r.macs, tuple(r.output)) for r in analysis.layers]
    assert reported == rank_twin(spec.input, spec.layers)


@settings(RANKS, max_examples=40)
@given(rank_specs())
def test_built_1d_and_3d_module_has_the_twins_parameters_and_output(spec) -> None:
    found = rank_twin(spec.input, spec.layers)
    model = specc.build(spec.text)
    assert count_params(model) == sum(f.params for f in found)
    assert count_buffers(model) == sum(f.buffers for f in found)
    with torch.no_grad(), single_threaded():
        out = model.eval()(torch.zeros(channels_first(spec.input, 2)))
    assert channels_last(out.shape) == found[-1].output
