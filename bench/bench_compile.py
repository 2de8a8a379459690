"""Benchmark: the module specc generates against a hand-written nn.Sequential.

Run: python bench/bench_compile.py [--repeat 15] [--steps 5] [--threads 1]

Forward + backward (cross-entropy on the logits) at batch 64 on CPU, for
LeNet-5 (specs/lenet5.cnn) and a small VGG-style network on 32x32x3, each
against an nn.Sequential of the same layers with the same weights. Target: the
generated module within 2% of the hand-written one (it adds only Python-level
attribute calls, no copies). Rounds are interleaved (A B, then B A, ...) so
machine noise hits both alike; medians are reported. Not a test: these
machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import specc  # noqa: E402

VGGISH = """model vggish
input 32x32x3
conv 32 3x3 padding=same relu
conv 32 3x3 padding=same relu
maxpool 2x2 stride=2
conv 64 3x3 padding=same relu
conv 64 3x3 padding=same relu
maxpool 2x2 stride=2
fc 256 relu
dropout 0.5
fc 10 softmax
"""


def lenet_by_hand() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 8, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def vggish_by_hand() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(4096, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))


def same_weights(generated: nn.Module, by_hand: nn.Module) -> None:
    with torch.no_grad():
        for a, b in zip(generated.parameters(), by_hand.parameters(), strict=True):
            b.copy_(a)


def step_time(forward, params, x: torch.Tensor, y: torch.Tensor, steps: int) -> float:
    """Seconds per forward + backward step, over ``steps`` steps."""
    start = time.perf_counter()
    for _ in range(steps):
        for p in params:
            p.grad = None
        nn.functional.cross_entropy(forward(x), y).backward()
    return (time.perf_counter() - start) / steps


def compare(name: str, generated: nn.Module, by_hand: nn.Module, repeat: int, steps: int, batch: int) -> None:
    same_weights(generated, by_hand)
    generated.train(), by_hand.train()
    x = torch.randn(batch, *generated.input_shape)
    y = torch.randint(0, generated.num_outputs, (batch,))
    torch.manual_seed(0)
    with torch.no_grad():
        assert torch.allclose(generated.eval().logits(x), by_hand.eval()(x), atol=1e-5)
    generated.train(), by_hand.train()
    contenders = {"specc": (generated.logits, list(generated.parameters())),
                  "by hand": (by_hand, list(by_hand.parameters()))}
    for forward, params in contenders.values():
        step_time(forward, params, x, y, 2)  # warm-up
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for round_ in range(repeat):
        order = list(contenders) if round_ % 2 == 0 else list(reversed(contenders))
        for key in order:
            times[key].append(step_time(*contenders[key], x, y, steps))
    ours, theirs = statistics.median(times["specc"]), statistics.median(times["by hand"])
    print(f"{name:8} batch {batch}: specc {ours * 1e3:8.2f} ms   by hand {theirs * 1e3:8.2f} ms   "
          f"ratio {ours / theirs:.3f}   (median of {repeat} x {steps} steps)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: steadier)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), forward + backward per step")
    compare("lenet5", specc.build(ROOT / "specs" / "lenet5.cnn"), lenet_by_hand(), args.repeat, args.steps, args.batch)
    compare("vggish", specc.build(VGGISH, path="vggish.cnn"), vggish_by_hand(), args.repeat, args.steps, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
