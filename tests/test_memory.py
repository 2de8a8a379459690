"""The training-memory estimate (specc.memory) against what torch really keeps.

The oracle: a training step's own tensors, counted as torch holds them. A
``saved_tensors_hooks`` pack hook sees every tensor autograd keeps for
backward (counted once per storage, parameters excluded), and after one
optimizer step the gradients and the optimizer's state are summed tensor by
tensor. The documented tolerance is 5% of the total (docs/language.md): the
estimate leaves out the loss's few saved values and adam's step counters.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import specc
from specc.memory import estimate
from specc.train.config import TrainConfig
from specc.train.loop import optimizer as make_optimizer

SPECS = Path(__file__).parent.parent / "specs"
TOLERANCE = 0.05


def _tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


def measured(analysis: specc.Analysis, batch: int, optimizer: str) -> dict[str, int]:
    torch.manual_seed(0)
    net = specc.build(analysis).train()
    params = {p.untyped_storage().data_ptr() for p in net.parameters()}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in params:
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    shape = analysis.model.input
    x = torch.randn(batch, shape[2], shape[0], shape[1]) if len(shape) == 3 else torch.randn(batch, shape[0])
    opt = make_optimizer(net, TrainConfig(optimizer=optimizer), 100)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        logits = net.logits(x).flatten(1)
        loss = F.cross_entropy(logits, torch.zeros(batch, dtype=torch.long))
    loss.backward()
    opt.step()
    state = [v for per_param in opt.state.values() for v in per_param.values()]
    return {"parameters": _tensor_bytes(net.state_dict().values()),
            "gradients": _tensor_bytes(p.grad for p in net.parameters()),
            "optimizer_state": _tensor_bytes(state), "activations": sum(saved.values())}


@pytest.mark.parametrize("spec, optimizer", [
    ("lenet5.cnn", "adam"), ("digits.cnn", "sgd"), ("mlp.cnn", "momentum"), ("allconv.cnn", "rmsprop"),
    ("mobilenet-block.cnn", "adam"), ("signs.cnn", "adam"),
])
def test_the_estimate_matches_what_a_training_step_keeps(spec: str, optimizer: str) -> None:
    analysis = specc.check(SPECS / spec)
    real = measured(analysis, 4, optimizer)
    guess = estimate(analysis, 4, optimizer)
    assert guess.gradients == real["gradients"]
    assert abs(guess.parameters - real["parameters"]) <= 0.01 * real["parameters"]  # + batchnorm's int64 counters
    assert guess.optimizer_state <= real["optimizer_state"] <= guess.optimizer_state * 1.01 + 64
    assert abs(guess.activations - real["activations"]) <= TOLERANCE * real["activations"], (guess, real)
    assert abs(guess.total - sum(real.values())) <= TOLERANCE * sum(real.values())


def test_activations_grow_with_the_batch_and_the_optimizer_comes_from_the_spec() -> None:
    analysis = specc.check("input 8x8x1\nconv 4 3 relu\nfc 2 softmax\ntrain optimizer=sgd\n")
    one, eight = estimate(analysis, 1), estimate(analysis, 8)
    assert eight.activations == 8 * one.activations and one.optimizer == "sgd" and one.optimizer_state == 0
    assert estimate(analysis, 1, "adam").optimizer_state == 2 * one.gradients
