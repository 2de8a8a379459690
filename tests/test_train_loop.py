"""The course's optimizers, L2, decay, loss and batching, each against an independent oracle."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from specc.training.config import TrainConfig
from specc.training.data import SpecIO
from specc.training.distributed import World
from specc.training.loop import batches, learning_rate, optimizer, steps_per_epoch
from specc.training.tasks.classify import Classify


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _step(opt: torch.optim.Optimizer, net: nn.Module, grads: list[torch.Tensor]) -> None:
    for p, g in zip(net.parameters(), grads):
        p.grad = g.clone()
    opt.step()


def test_momentum_is_the_course_formula_from_the_first_step():
    net, beta, lr = _net(), 0.8, 0.1
    opt = optimizer(net, TrainConfig(optimizer="momentum", lr=lr, beta=beta), n_train=10)
    w = [p.detach().clone() for p in net.parameters()]
    v = [torch.zeros_like(p) for p in w]
    for seed in (1, 2, 3):
        grads = [torch.randn(p.shape, generator=torch.Generator().manual_seed(seed)) for p in w]
        _step(opt, net, grads)
        v = [beta * vi + (1 - beta) * g for vi, g in zip(v, grads)]  # v = beta v + (1 - beta) dW, from v = 0
        w = [wi - lr * vi for wi, vi in zip(w, v)]
    for p, expected in zip(net.parameters(), w):
        torch.testing.assert_close(p.detach(), expected)


def test_rmsprop_is_the_course_formula():
    net, beta, lr, eps = _net(), 0.9, 0.01, 1e-8
    opt = optimizer(net, TrainConfig(optimizer="rmsprop", lr=lr, beta=beta, eps=eps), n_train=10)
    w = [p.detach().clone() for p in net.parameters()]
    s = [torch.zeros_like(p) for p in w]
    for seed in (1, 2):
        grads = [torch.randn(p.shape, generator=torch.Generator().manual_seed(seed)) for p in w]
        _step(opt, net, grads)
        s = [beta * si + (1 - beta) * g**2 for si, g in zip(s, grads)]
        w = [wi - lr * g / (si.sqrt() + eps) for wi, g, si in zip(w, grads, s)]
    for p, expected in zip(net.parameters(), w):
        torch.testing.assert_close(p.detach(), expected)


def test_adam_is_the_course_formula_with_bias_correction():
    net, b1, b2, lr, eps = _net(), 0.8, 0.99, 0.01, 1e-7
    opt = optimizer(net, TrainConfig(optimizer="adam", lr=lr, beta1=b1, beta2=b2, eps=eps), n_train=10)
    w = [p.detach().clone() for p in net.parameters()]
    m = [torch.zeros_like(p) for p in w]
    s = [torch.zeros_like(p) for p in w]
    for t in (1, 2):
        grads = [torch.randn(p.shape, generator=torch.Generator().manual_seed(t)) for p in w]
        _step(opt, net, grads)
        m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads)]
        s = [b2 * si + (1 - b2) * g**2 for si, g in zip(s, grads)]
        w = [wi - lr * (mi / (1 - b1**t)) / ((si / (1 - b2**t)).sqrt() + eps) for wi, mi, si in zip(w, m, s)]
    for p, expected in zip(net.parameters(), w):
        torch.testing.assert_close(p.detach(), expected)


def test_l2_is_the_course_cost_term_on_weights_only():
    """One sgd step with l2 equals autograd on J = mean loss + lambda/(2m)·sum ||W||^2 (weights, not biases)."""
    lam, m, lr = 0.7, 50, 0.1
    x, y = torch.randn(8, 3, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1] * 4)
    ours, oracle = _net(), _net()
    opt = optimizer(ours, TrainConfig(optimizer="sgd", lr=lr, l2=lam), n_train=m)
    nn.functional.cross_entropy(ours(x), y).backward()
    opt.step()
    weights = [p for p in oracle.parameters() if p.ndim > 1]
    cost = nn.functional.cross_entropy(oracle(x), y) + lam / (2 * m) * sum((w**2).sum() for w in weights)
    cost.backward()
    with torch.no_grad():
        for p in oracle.parameters():
            p -= lr * p.grad
    for a, b in zip(ours.parameters(), oracle.parameters()):
        torch.testing.assert_close(a, b)


def test_decay_is_lr_over_one_plus_decay_times_epoch_index():
    cfg = TrainConfig(lr=0.2, decay=1.0)
    assert [learning_rate(cfg, e) for e in (1, 2, 3)] == pytest.approx([0.2, 0.1, 0.2 / 3])
    assert learning_rate(TrainConfig(lr=0.2), 7) == 0.2


def test_loss_is_cross_entropy_on_logits_or_bce_for_one_sigmoid():
    task = Classify(SpecIO((4,), 1, 3, 2, binary=False))
    logits, y = torch.tensor([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]]), torch.tensor([0, 2])
    expected = -(torch.log_softmax(logits, 1)[[0, 1], [0, 2]]).mean()
    torch.testing.assert_close(task.loss(logits, y), expected)
    assert task.metrics(task.sums(logits, y).tolist(), 2)["acc"] == 0.5
    binary = Classify(SpecIO((4,), 1, 1, 2, binary=True))
    z, yb = torch.tensor([[1.5], [-0.5], [0.2]]), torch.tensor([1, 1, 0])
    p = torch.sigmoid(z[:, 0])
    torch.testing.assert_close(binary.loss(z, yb), -(yb * p.log() + (1 - yb) * (1 - p).log()).mean())
    assert binary.metrics(binary.sums(z, yb).tolist(), 3)["acc"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("n, batch, size", [(100, 32, 1), (100, 32, 3), (10, 4, 4), (7, 7, 2)])
def test_ranks_share_each_mini_batch_exactly_once(n, batch, size):
    shares = [batches(n, batch, seed=5, epoch=2, world=World(r, size)) for r in range(size)]
    assert all(len(s) == steps_per_epoch(n, batch, World(0, size)) for s in shares)
    for step in range(len(shares[0])):
        together = torch.cat([s[step] for s in shares])
        assert len(together) <= batch and len(set(together.tolist())) == len(together)
    seen = torch.cat([i for s in shares for i in s]).tolist()
    assert len(seen) == len(set(seen)) and len(seen) > n - max(batch, size)
    assert all(torch.equal(a, b) for a, b in zip(shares[0], batches(n, batch, 5, 2, World(0, size))))
    if size == 1:
        assert sorted(seen) == list(range(n)) and not torch.equal(shares[0][0], batches(n, batch, 5, 3, World())[0])
